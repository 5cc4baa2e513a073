//! What a caller on a provider-hosted number hears, said by the provider's text-to-
//! speech: the same texts as the SIP line's recordings (`prompts/texts.toml`, compiled
//! in), so both kinds of number greet, offer the menu and say "closed" alike.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::telephony::media::Language;

/// One language's texts.
#[derive(Debug, Clone, Deserialize)]
pub struct Texts {
    /// The greeting.
    pub welcome: String,
    /// This language's line of the language menu.
    pub menu: String,
    /// All operators are busy.
    pub busy_hold: String,
    /// The line is closed; 112 in danger.
    pub closed: String,
}

static FILE: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/prompts/texts.toml"));

/// Texts by language code.
fn all() -> &'static HashMap<String, Texts> {
    static TEXTS: OnceLock<HashMap<String, Texts>> = OnceLock::new();
    // The file is compiled in and a unit test reads every language of it: it parses.
    TEXTS.get_or_init(|| toml::from_str(FILE).unwrap_or_default())
}

/// A language's texts (Italian's if the file lacked it, which the tests rule out).
pub fn texts(language: Language) -> Option<&'static Texts> {
    all()
        .get(language.code())
        .or_else(|| all().get(Language::Italian.code()))
}

/// The tag of the provider's voice for a language.
pub fn voice(language: Language) -> &'static str {
    match language {
        Language::Italian => "it-IT",
        Language::English => "en-GB",
        Language::French => "fr-FR",
        Language::Spanish => "es-ES",
        Language::Romanian => "ro-RO",
        Language::Russian => "ru-RU",
        Language::Chinese => "cmn-CN",
        Language::Albanian => "sq-AL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_its_texts() {
        for language in Language::ALL {
            let t = texts(language).expect("texts");
            assert!(!t.welcome.is_empty() && !t.menu.is_empty() && !t.closed.is_empty());
            assert_eq!(
                all().get(language.code()).map(|t| &t.menu),
                Some(&t.menu),
                "{language:?} has its own"
            );
        }
        assert!(texts(Language::English)
            .expect("en")
            .menu
            .contains("press 2"));
        assert!(texts(Language::Italian)
            .expect("it")
            .closed
            .contains("1 1 2"));
    }
}
