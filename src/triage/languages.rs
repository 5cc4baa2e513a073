//! The languages an operator can record as the one a caller speaks best: a curated list
//! of the languages met on anti-trafficking lines in Italy (the trafficked and exploited
//! communities' languages and the mediators' ones), by ISO 639 code.
//!
//! Codes are ISO 639-1 where one exists, else ISO 639-3 (`pcm` Nigerian Pidgin, `bin`
//! Edo, `mnk` Mandinka, ...), as the directory's mediators use them. Italian names
//! follow the ISO 639-3 Italian translation (Debian's iso-codes) where it has one, in
//! the form used in Italian (e.g. "Tigrino", "Singalese" for the untranslated entries).
//! The list is in the order operators scan it: Italian and the European languages, then
//! by region.

/// A language: its ISO 639 code and names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Language {
    /// ISO 639-1 (two letters) or ISO 639-3 (three letters), lower case.
    pub code: &'static str,
    /// Italian name.
    pub it: &'static str,
    /// English name.
    pub en: &'static str,
}

/// Every language of the list, in display order.
pub fn languages() -> impl ExactSizeIterator<Item = Language> {
    LANGUAGES
        .iter()
        .map(|&(code, it, en)| Language { code, it, en })
}

/// The language with this code.
pub fn language(code: &str) -> Option<Language> {
    languages().find(|l| l.code == code)
}

/// (code, Italian, English), in display order.
#[rustfmt::skip]
const LANGUAGES: &[(&str, &str, &str)] = &[
    ("it", "Italiano", "Italian"),
    ("en", "Inglese", "English"),
    ("fr", "Francese", "French"),
    ("es", "Spagnolo", "Spanish"),
    ("pt", "Portoghese", "Portuguese"),
    ("de", "Tedesco", "German"),
    // Eastern Europe and the Balkans.
    ("ro", "Rumeno", "Romanian"),
    ("ru", "Russo", "Russian"),
    ("uk", "Ucraino", "Ukrainian"),
    ("pl", "Polacco", "Polish"),
    ("bg", "Bulgaro", "Bulgarian"),
    ("hu", "Ungherese", "Hungarian"),
    ("sq", "Albanese", "Albanian"),
    ("sr", "Serbo", "Serbian"),
    ("hr", "Croato", "Croatian"),
    ("bs", "Bosniaco", "Bosnian"),
    ("mk", "Macedone", "Macedonian"),
    ("ka", "Georgiano", "Georgian"),
    ("tr", "Turco", "Turkish"),
    // North Africa, the Middle East, South and East Asia.
    ("ar", "Arabo", "Arabic"),
    ("zgh", "Tamazight (berbero)", "Tamazight (Berber)"),
    ("fa", "Persiano (farsi)", "Persian (Farsi)"),
    ("ps", "Pashto", "Pashto"),
    ("ku", "Curdo", "Kurdish"),
    ("ur", "Urdu", "Urdu"),
    ("hi", "Hindi", "Hindi"),
    ("pa", "Punjabi", "Punjabi"),
    ("bn", "Bengalese", "Bengali"),
    ("ta", "Tamil", "Tamil"),
    ("si", "Singalese", "Sinhala"),
    ("zh", "Cinese", "Chinese"),
    ("th", "Thailandese", "Thai"),
    ("vi", "Vietnamita", "Vietnamese"),
    ("tl", "Tagalog (filippino)", "Tagalog (Filipino)"),
    // The Horn of Africa.
    ("am", "Amarico", "Amharic"),
    ("ti", "Tigrino", "Tigrinya"),
    ("so", "Somalo", "Somali"),
    // West and Central Africa.
    ("pcm", "Pidgin nigeriano", "Nigerian Pidgin"),
    ("bin", "Edo (bini)", "Edo (Bini)"),
    ("yo", "Yoruba", "Yoruba"),
    ("ig", "Igbo", "Igbo"),
    ("ha", "Hausa", "Hausa"),
    ("tw", "Twi", "Twi"),
    ("wo", "Wolof", "Wolof"),
    ("ff", "Fula (peul)", "Fula (Fulani)"),
    ("bm", "Bambara", "Bambara"),
    ("mnk", "Mandinka", "Mandinka"),
    ("kri", "Krio", "Krio"),
    ("ln", "Lingala", "Lingala"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_lower_case_iso_639_codes() {
        let mut seen = std::collections::HashSet::new();
        for l in languages() {
            assert!((2..=3).contains(&l.code.len()), "{}", l.code);
            assert!(l.code.bytes().all(|b| b.is_ascii_lowercase()), "{}", l.code);
            assert!(seen.insert(l.code), "{} twice", l.code);
            assert!(!l.it.is_empty() && !l.en.is_empty());
        }
    }

    #[test]
    fn the_mediation_languages_of_the_network_are_listed() {
        for code in ["ru", "pt", "zh", "en", "pcm", "bin", "ro", "fr", "es", "sq"] {
            assert!(language(code).is_some(), "missing {code}");
        }
        assert_eq!(language("pcm").map(|l| l.it), Some("Pidgin nigeriano"));
        assert_eq!(language("bin").map(|l| l.en), Some("Edo (Bini)"));
        assert_eq!(language("xx"), None);
    }
}
