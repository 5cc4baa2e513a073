//! The countries an operator can record as a subject's nationality: every ISO 3166-1
//! alpha-2 code with its Italian and English name, plus Kosovo's user-assigned `XK`
//! (used by the EU and Italian authorities; Kosovo has no ISO code).
//!
//! Generated once from the ISO 3166-1 list and its Italian translation (Debian's
//! iso-codes), with a few names shortened to the form operators say on the phone
//! (e.g. "Bolivia", "Russia"). Kept sorted by code so that lookups can bisect.

/// A country: its ISO 3166-1 alpha-2 code and names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country {
    /// Two upper-case letters, e.g. `NG`.
    pub code: &'static str,
    /// Italian name.
    pub it: &'static str,
    /// English name.
    pub en: &'static str,
}

/// Every country, sorted by code.
pub fn countries() -> impl ExactSizeIterator<Item = Country> {
    COUNTRIES
        .iter()
        .map(|&(code, it, en)| Country { code, it, en })
}

/// The country with this code (upper case, as in the table).
pub fn country(code: &str) -> Option<Country> {
    COUNTRIES
        .binary_search_by(|(c, _, _)| (*c).cmp(code))
        .ok()
        .and_then(|i| COUNTRIES.get(i))
        .map(|&(code, it, en)| Country { code, it, en })
}

/// (code, Italian, English), sorted by code.
#[rustfmt::skip]
const COUNTRIES: &[(&str, &str, &str)] = &[
    ("AD", "Andorra", "Andorra"),
    ("AE", "Emirati Arabi Uniti", "United Arab Emirates"),
    ("AF", "Afghanistan", "Afghanistan"),
    ("AG", "Antigua e Barbuda", "Antigua and Barbuda"),
    ("AI", "Anguilla", "Anguilla"),
    ("AL", "Albania", "Albania"),
    ("AM", "Armenia", "Armenia"),
    ("AO", "Angola", "Angola"),
    ("AQ", "Antartide", "Antarctica"),
    ("AR", "Argentina", "Argentina"),
    ("AS", "Samoa americane", "American Samoa"),
    ("AT", "Austria", "Austria"),
    ("AU", "Australia", "Australia"),
    ("AW", "Aruba", "Aruba"),
    ("AX", "Isole Åland", "Åland Islands"),
    ("AZ", "Azerbaigian", "Azerbaijan"),
    ("BA", "Bosnia-Erzegovina", "Bosnia and Herzegovina"),
    ("BB", "Barbados", "Barbados"),
    ("BD", "Bangladesh", "Bangladesh"),
    ("BE", "Belgio", "Belgium"),
    ("BF", "Burkina Faso", "Burkina Faso"),
    ("BG", "Bulgaria", "Bulgaria"),
    ("BH", "Bahrein", "Bahrain"),
    ("BI", "Burundi", "Burundi"),
    ("BJ", "Benin", "Benin"),
    ("BL", "Saint-Barthélemy", "Saint Barthélemy"),
    ("BM", "Bermuda", "Bermuda"),
    ("BN", "Brunei", "Brunei"),
    ("BO", "Bolivia", "Bolivia"),
    ("BQ", "Paesi Bassi caraibici", "Bonaire, Sint Eustatius and Saba"),
    ("BR", "Brasile", "Brazil"),
    ("BS", "Bahamas", "Bahamas"),
    ("BT", "Bhutan", "Bhutan"),
    ("BV", "Isola Bouvet", "Bouvet Island"),
    ("BW", "Botswana", "Botswana"),
    ("BY", "Bielorussia", "Belarus"),
    ("BZ", "Belize", "Belize"),
    ("CA", "Canada", "Canada"),
    ("CC", "Isole Cocos (Keeling)", "Cocos (Keeling) Islands"),
    ("CD", "Repubblica Democratica del Congo", "Democratic Republic of the Congo"),
    ("CF", "Repubblica Centrafricana", "Central African Republic"),
    ("CG", "Repubblica del Congo", "Republic of the Congo"),
    ("CH", "Svizzera", "Switzerland"),
    ("CI", "Costa d'Avorio", "Côte d'Ivoire (Ivory Coast)"),
    ("CK", "Isole Cook", "Cook Islands"),
    ("CL", "Cile", "Chile"),
    ("CM", "Camerun", "Cameroon"),
    ("CN", "Cina", "China"),
    ("CO", "Colombia", "Colombia"),
    ("CR", "Costa Rica", "Costa Rica"),
    ("CU", "Cuba", "Cuba"),
    ("CV", "Capo Verde", "Cabo Verde"),
    ("CW", "Curaçao", "Curaçao"),
    ("CX", "Isola di Natale", "Christmas Island"),
    ("CY", "Cipro", "Cyprus"),
    ("CZ", "Cechia (Repubblica Ceca)", "Czechia (Czech Republic)"),
    ("DE", "Germania", "Germany"),
    ("DJ", "Gibuti", "Djibouti"),
    ("DK", "Danimarca", "Denmark"),
    ("DM", "Dominica", "Dominica"),
    ("DO", "Repubblica Dominicana", "Dominican Republic"),
    ("DZ", "Algeria", "Algeria"),
    ("EC", "Ecuador", "Ecuador"),
    ("EE", "Estonia", "Estonia"),
    ("EG", "Egitto", "Egypt"),
    ("EH", "Sahara occidentale", "Western Sahara"),
    ("ER", "Eritrea", "Eritrea"),
    ("ES", "Spagna", "Spain"),
    ("ET", "Etiopia", "Ethiopia"),
    ("FI", "Finlandia", "Finland"),
    ("FJ", "Figi", "Fiji"),
    ("FK", "Isole Falkland (Malvine)", "Falkland Islands (Malvinas)"),
    ("FM", "Micronesia", "Micronesia"),
    ("FO", "Isole Fær Øer", "Faroe Islands"),
    ("FR", "Francia", "France"),
    ("GA", "Gabon", "Gabon"),
    ("GB", "Regno Unito", "United Kingdom"),
    ("GD", "Grenada", "Grenada"),
    ("GE", "Georgia", "Georgia"),
    ("GF", "Guyana francese", "French Guiana"),
    ("GG", "Guernsey", "Guernsey"),
    ("GH", "Ghana", "Ghana"),
    ("GI", "Gibilterra", "Gibraltar"),
    ("GL", "Groenlandia", "Greenland"),
    ("GM", "Gambia", "Gambia"),
    ("GN", "Guinea", "Guinea"),
    ("GP", "Guadalupa", "Guadeloupe"),
    ("GQ", "Guinea equatoriale", "Equatorial Guinea"),
    ("GR", "Grecia", "Greece"),
    ("GS", "Georgia del Sud e Isole Sandwich Australi", "South Georgia and the South Sandwich Islands"),
    ("GT", "Guatemala", "Guatemala"),
    ("GU", "Guam", "Guam"),
    ("GW", "Guinea-Bissau", "Guinea-Bissau"),
    ("GY", "Guyana", "Guyana"),
    ("HK", "Hong Kong", "Hong Kong"),
    ("HM", "Isole Heard e McDonald", "Heard Island and McDonald Islands"),
    ("HN", "Honduras", "Honduras"),
    ("HR", "Croazia", "Croatia"),
    ("HT", "Haiti", "Haiti"),
    ("HU", "Ungheria", "Hungary"),
    ("ID", "Indonesia", "Indonesia"),
    ("IE", "Irlanda", "Ireland"),
    ("IL", "Israele", "Israel"),
    ("IM", "Isola di Man", "Isle of Man"),
    ("IN", "India", "India"),
    ("IO", "Territorio britannico dell'Oceano Indiano", "British Indian Ocean Territory"),
    ("IQ", "Iraq", "Iraq"),
    ("IR", "Iran", "Iran"),
    ("IS", "Islanda", "Iceland"),
    ("IT", "Italia", "Italy"),
    ("JE", "Jersey", "Jersey"),
    ("JM", "Giamaica", "Jamaica"),
    ("JO", "Giordania", "Jordan"),
    ("JP", "Giappone", "Japan"),
    ("KE", "Kenya", "Kenya"),
    ("KG", "Kirghizistan", "Kyrgyzstan"),
    ("KH", "Cambogia", "Cambodia"),
    ("KI", "Kiribati", "Kiribati"),
    ("KM", "Comore", "Comoros"),
    ("KN", "Saint Kitts e Nevis", "Saint Kitts and Nevis"),
    ("KP", "Corea del Nord", "North Korea"),
    ("KR", "Corea del Sud", "South Korea"),
    ("KW", "Kuwait", "Kuwait"),
    ("KY", "Isole Cayman", "Cayman Islands"),
    ("KZ", "Kazakistan", "Kazakhstan"),
    ("LA", "Laos", "Laos"),
    ("LB", "Libano", "Lebanon"),
    ("LC", "Saint Lucia", "Saint Lucia"),
    ("LI", "Liechtenstein", "Liechtenstein"),
    ("LK", "Sri Lanka", "Sri Lanka"),
    ("LR", "Liberia", "Liberia"),
    ("LS", "Lesotho", "Lesotho"),
    ("LT", "Lituania", "Lithuania"),
    ("LU", "Lussemburgo", "Luxembourg"),
    ("LV", "Lettonia", "Latvia"),
    ("LY", "Libia", "Libya"),
    ("MA", "Marocco", "Morocco"),
    ("MC", "Monaco", "Monaco"),
    ("MD", "Moldavia", "Moldova"),
    ("ME", "Montenegro", "Montenegro"),
    ("MF", "Saint-Martin (Francia)", "Saint Martin (French part)"),
    ("MG", "Madagascar", "Madagascar"),
    ("MH", "Isole Marshall", "Marshall Islands"),
    ("MK", "Macedonia del Nord", "North Macedonia"),
    ("ML", "Mali", "Mali"),
    ("MM", "Myanmar (Birmania)", "Myanmar"),
    ("MN", "Mongolia", "Mongolia"),
    ("MO", "Macao", "Macao"),
    ("MP", "Isole Marianne Settentrionali", "Northern Mariana Islands"),
    ("MQ", "Martinica", "Martinique"),
    ("MR", "Mauritania", "Mauritania"),
    ("MS", "Montserrat", "Montserrat"),
    ("MT", "Malta", "Malta"),
    ("MU", "Maurizio", "Mauritius"),
    ("MV", "Maldive", "Maldives"),
    ("MW", "Malawi", "Malawi"),
    ("MX", "Messico", "Mexico"),
    ("MY", "Malaysia", "Malaysia"),
    ("MZ", "Mozambico", "Mozambique"),
    ("NA", "Namibia", "Namibia"),
    ("NC", "Nuova Caledonia", "New Caledonia"),
    ("NE", "Niger", "Niger"),
    ("NF", "Isola Norfolk", "Norfolk Island"),
    ("NG", "Nigeria", "Nigeria"),
    ("NI", "Nicaragua", "Nicaragua"),
    ("NL", "Paesi Bassi", "Netherlands"),
    ("NO", "Norvegia", "Norway"),
    ("NP", "Nepal", "Nepal"),
    ("NR", "Nauru", "Nauru"),
    ("NU", "Niue", "Niue"),
    ("NZ", "Nuova Zelanda", "New Zealand"),
    ("OM", "Oman", "Oman"),
    ("PA", "Panama", "Panama"),
    ("PE", "Perù", "Peru"),
    ("PF", "Polinesia francese", "French Polynesia"),
    ("PG", "Papua Nuova Guinea", "Papua New Guinea"),
    ("PH", "Filippine", "Philippines"),
    ("PK", "Pakistan", "Pakistan"),
    ("PL", "Polonia", "Poland"),
    ("PM", "Saint-Pierre e Miquelon", "Saint Pierre and Miquelon"),
    ("PN", "Pitcairn", "Pitcairn"),
    ("PR", "Portorico", "Puerto Rico"),
    ("PS", "Palestina", "Palestine"),
    ("PT", "Portogallo", "Portugal"),
    ("PW", "Palau", "Palau"),
    ("PY", "Paraguay", "Paraguay"),
    ("QA", "Qatar", "Qatar"),
    ("RE", "Riunione", "Réunion"),
    ("RO", "Romania", "Romania"),
    ("RS", "Serbia", "Serbia"),
    ("RU", "Russia", "Russia"),
    ("RW", "Ruanda", "Rwanda"),
    ("SA", "Arabia Saudita", "Saudi Arabia"),
    ("SB", "Isole Salomone", "Solomon Islands"),
    ("SC", "Seychelles", "Seychelles"),
    ("SD", "Sudan", "Sudan"),
    ("SE", "Svezia", "Sweden"),
    ("SG", "Singapore", "Singapore"),
    ("SH", "Sant'Elena, Ascensione e Tristan da Cunha", "Saint Helena, Ascension and Tristan da Cunha"),
    ("SI", "Slovenia", "Slovenia"),
    ("SJ", "Svalbard e Jan Mayen", "Svalbard and Jan Mayen"),
    ("SK", "Slovacchia", "Slovakia"),
    ("SL", "Sierra Leone", "Sierra Leone"),
    ("SM", "San Marino", "San Marino"),
    ("SN", "Senegal", "Senegal"),
    ("SO", "Somalia", "Somalia"),
    ("SR", "Suriname", "Suriname"),
    ("SS", "Sudan del Sud", "South Sudan"),
    ("ST", "São Tomé e Príncipe", "Sao Tome and Principe"),
    ("SV", "El Salvador", "El Salvador"),
    ("SX", "Sint Maarten (Olanda)", "Sint Maarten (Dutch part)"),
    ("SY", "Siria", "Syria"),
    ("SZ", "Eswatini (Swaziland)", "Eswatini (Swaziland)"),
    ("TC", "Isole Turks e Caicos", "Turks and Caicos Islands"),
    ("TD", "Ciad", "Chad"),
    ("TF", "Territori francesi meridionali", "French Southern Territories"),
    ("TG", "Togo", "Togo"),
    ("TH", "Thailandia", "Thailand"),
    ("TJ", "Tagikistan", "Tajikistan"),
    ("TK", "Tokelau", "Tokelau"),
    ("TL", "Timor Est", "Timor-Leste"),
    ("TM", "Turkmenistan", "Turkmenistan"),
    ("TN", "Tunisia", "Tunisia"),
    ("TO", "Tonga", "Tonga"),
    ("TR", "Turchia", "Türkiye (Turkey)"),
    ("TT", "Trinidad e Tobago", "Trinidad and Tobago"),
    ("TV", "Tuvalu", "Tuvalu"),
    ("TW", "Taiwan", "Taiwan"),
    ("TZ", "Tanzania", "Tanzania"),
    ("UA", "Ucraina", "Ukraine"),
    ("UG", "Uganda", "Uganda"),
    ("UM", "Isole minori esterne degli Stati Uniti d'America", "United States Minor Outlying Islands"),
    ("US", "Stati Uniti", "United States"),
    ("UY", "Uruguay", "Uruguay"),
    ("UZ", "Uzbekistan", "Uzbekistan"),
    ("VA", "Città del Vaticano", "Vatican City"),
    ("VC", "Saint Vincent e Grenadine", "Saint Vincent and the Grenadines"),
    ("VE", "Venezuela", "Venezuela"),
    ("VG", "Isole Vergini britanniche", "British Virgin Islands"),
    ("VI", "Isole Vergini americane", "United States Virgin Islands"),
    ("VN", "Vietnam", "Vietnam"),
    ("VU", "Vanuatu", "Vanuatu"),
    ("WF", "Wallis e Futuna", "Wallis and Futuna"),
    ("WS", "Samoa", "Samoa"),
    ("XK", "Kosovo", "Kosovo"),
    ("YE", "Yemen", "Yemen"),
    ("YT", "Mayotte", "Mayotte"),
    ("ZA", "Sudafrica", "South Africa"),
    ("ZM", "Zambia", "Zambia"),
    ("ZW", "Zimbabwe", "Zimbabwe"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_by_code_without_duplicates() {
        assert!(COUNTRIES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn every_code_is_two_upper_case_letters_and_every_name_is_given() {
        for c in countries() {
            assert!(c.code.len() == 2 && c.code.bytes().all(|b| b.is_ascii_uppercase()));
            assert!(!c.it.is_empty() && !c.en.is_empty(), "{}", c.code);
        }
        assert_eq!(countries().len(), 250);
    }

    #[test]
    fn the_nationalities_most_met_on_the_line_are_found_by_code() {
        assert_eq!(country("NG").map(|c| c.it), Some("Nigeria"));
        assert_eq!(country("AL").map(|c| c.it), Some("Albania"));
        assert_eq!(country("MA").map(|c| c.it), Some("Marocco"));
        assert_eq!(country("CN").map(|c| c.en), Some("China"));
        assert_eq!(country("RO").map(|c| c.en), Some("Romania"));
        assert_eq!(country("XK").map(|c| c.en), Some("Kosovo"));
    }

    #[test]
    fn lower_case_and_unknown_codes_are_not_countries() {
        assert_eq!(country("ng"), None);
        assert_eq!(country("ZZ"), None);
        assert_eq!(country("unknown"), None);
    }
}
