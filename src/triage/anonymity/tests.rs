//! Tests of the anonymity check: what operators really type, found or let through.

use super::*;

fn kind(text: &str) -> Option<IdentifyingKind> {
    find_identifying(text).map(|f| f.kind)
}

fn assert_all(kind_expected: Option<IdentifyingKind>, texts: &[&str]) {
    for text in texts {
        assert_eq!(kind(text), kind_expected, "{text:?}");
    }
}

#[test]
fn phone_numbers_are_found_in_the_forms_people_type_them() {
    assert_all(
        Some(IdentifyingKind::PhoneNumber),
        &[
            "mi ha lasciato il +39 333 123 4567 per richiamarla",
            "numero 0039 333 1234567",
            "0039-055-1234567",
            "cell 333-1234567",
            "fisso 055 123456",
            "(055) 12 34 56",
            "3331234567",
            "ha chiamato dal +234 803 123 4567",
            "+2348031234567",
            "333.123.4567",
            "055/123456",
            "055.12.34.56",
            "scrive da 0803 123 4567 (Nigeria)",
            "tel:3331234567.",
            "numero 12 34 56 78",
            "12345678",
            "+44 20 7946 0958",
            "richiamare al 3331234567 dopo le 18:30",
            "il 12/03/2026 18 3331234567",
        ],
    );
}

#[test]
fn dates_times_years_ages_and_short_numbers_are_not_phone_numbers() {
    assert_all(
        None,
        &[
            "chiamata del 12/03/2026 alle 18:30",
            "il 12.03.2026 e il 15-03-26",
            "arrivata il 2026-03-12",
            "in Italia da 04/2025, prima in Spagna dal 09.2023",
            "in Italia dal 2019, prima in Libia 2017-2018",
            "dal 2019/20 lavora nei campi",
            "ha 17 anni, forse 16",
            "chiamare il 112 o il 118",
            "abita in via Roma 12, scala B, interno 4",
            "CAP 50100",
            "lavora dalle 8.30-12.30 e dalle 14.00-19.00",
            "orario 8.00 - 20.00 tutti i giorni",
            "deve 30.000 euro, poi saliti a 1.500.000 naira",
            "pagava 300000 naira al mese",
            "il numero verde 800 186 086 le è stato dato da un'amica",
            "l'Anello Forte 800 290 290",
            "3 figli di 2, 5 e 7 anni",
            "turni di 12 ore, 7 giorni su 7",
            "stanza 4 con 6 persone",
        ],
    );
}

#[test]
fn e_mail_addresses_are_found_also_when_spelt_out() {
    assert_all(
        Some(IdentifyingKind::Email),
        &[
            "scrivere a mario.rossi80@example.it",
            "MARIO@EXAMPLE.COM",
            "mario @ example.it",
            "nome at dominio dot it",
            "nome(at)dominio(dot)com",
            "nome [at] dominio [dot] org",
            "nome chiocciola dominio punto it",
        ],
    );
}

#[test]
fn at_signs_and_the_word_at_in_ordinary_text_are_not_addresses() {
    assert_all(
        None,
        &[
            "she is at the station now",
            "lavora at home, dice",
            "profilo @mario sui social",
            "a quel punto è scappata",
            "prezzo 10@ora",
        ],
    );
}

#[test]
fn fiscal_codes_are_found_with_omocodia_and_in_any_case() {
    assert_all(
        Some(IdentifyingKind::FiscalCode),
        &[
            "CF RSSMRA80A01H501U",
            "cf: rssmra80a01h501u",
            "RSSMRA8LA01H501U",
            "RSS MRA 80A01 H501U",
            "codice (RSSMRA80A01H50MU)",
        ],
    );
}

#[test]
fn sixteen_letter_words_and_near_misses_are_not_fiscal_codes() {
    assert_all(
        None,
        &[
            "precipitevolissimevolmente",
            "RSSMRA80Z01H501U non è valido",
            "rss mra 80a01 h501u",
        ],
    );
}

#[test]
fn identity_document_numbers_are_found() {
    assert_all(
        Some(IdentifyingKind::IdentityDocument),
        &[
            "carta d'identità CA12345AA",
            "carta ca12345aa",
            "CA 12345 AA",
            "passaporto YA1234567",
            "passaporto YA 1234567",
            "passaporto nigeriano A12345678",
            "vecchia carta AA1234567",
        ],
    );
}

#[test]
fn words_next_to_numbers_are_not_document_numbers() {
    assert_all(
        None,
        &[
            "di 12345 persone",
            "targa AB123CD",
            "h24 e 7 giorni su 7",
            "servizio COVID19",
        ],
    );
}

#[test]
fn ibans_are_found_compact_and_in_groups() {
    assert_all(
        Some(IdentifyingKind::Iban),
        &[
            "IBAN IT60X0542811101000000123456",
            "IT60 X054 2811 1010 0000 0123 456 per i soldi",
            "it60 x054 2811 1010 0000 0123 456",
            "GB82 WEST 1234 5698 7654 32",
            "DE89370400440532013000",
            // A typo in the check digits still names the account.
            "IT61X0542811101000000123456",
        ],
    );
}

#[test]
fn letters_and_digits_in_prose_are_not_ibans() {
    assert_all(
        None,
        &[
            "ha24 anni e lavora in campagna con altri",
            "IT 2026 era il codice del corso",
        ],
    );
}

#[test]
fn the_checksum_is_computed_as_iso_13616_says() {
    assert!(iban_checksum_holds(b"IT60X0542811101000000123456"));
    assert!(iban_checksum_holds(b"GB82WEST12345698765432"));
    assert!(!iban_checksum_holds(b"IT61X0542811101000000123456"));
}

#[test]
fn ordinary_notes_pass() {
    assert_all(
        None,
        &[
            "",
            "Donna nigeriana, parla pidgin, chiede aiuto per uscire dalla strada.",
            "Chiama un'amica della vittima: la ragazza è a Firenze, zona Cascine.",
            "Richiamerà martedì dopo le 18.",
        ],
    );
}

#[test]
fn messages_never_repeat_the_text_and_come_in_both_languages() {
    let text = "chiamare il 3331234567";
    let finding = find_identifying(text).unwrap();
    assert_eq!(
        finding.it(),
        "Il testo contiene un numero di telefono: toglilo prima di salvare."
    );
    assert_eq!(
        finding.en(),
        "The text contains a phone number: remove it before saving."
    );
    assert!(!finding.to_string().contains("333"));
    assert!(!format!("{finding:?}").contains("333"));
}

#[test]
fn a_code_is_reported_as_what_it_is_rather_than_as_its_digits() {
    assert_eq!(
        kind("IT60X0542811101000000123456"),
        Some(IdentifyingKind::Iban)
    );
    assert_eq!(kind("YA1234567"), Some(IdentifyingKind::IdentityDocument));
}
