//! The languages an operator speaks: a set of the voice menu's languages, so a caller who
//! chose one on the keypad is offered first to the operators who can talk to them.

use std::fmt;

use crate::telephony::media::prompts::Language;

/// The languages one operator speaks: never empty, each once, in the menu's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpokenLanguages(Vec<Language>);

/// A list of languages that cannot be an operator's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LanguagesError {
    /// A code the menu does not offer.
    #[error("unknown language `{0}`; expected codes among {codes}", codes = menu_codes())]
    Unknown(String),
    /// Nothing listed: an operator who speaks no language could never be offered a call.
    #[error("list at least one language (codes among {codes})", codes = menu_codes())]
    Empty,
}

fn menu_codes() -> String {
    Language::ALL
        .iter()
        .map(|l| l.code())
        .collect::<Vec<_>>()
        .join(", ")
}

impl SpokenLanguages {
    /// Parses codes separated by commas or spaces, as an admin types them (`it, en`).
    pub fn parse(text: &str) -> Result<Self, LanguagesError> {
        Self::from_codes(
            text.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|c| !c.is_empty()),
        )
    }

    /// Reads the stored JSON array. A code no longer in the menu is skipped rather than
    /// failing the whole user list; an empty result falls back to Italian, which every
    /// operator of an Italian line speaks.
    pub fn from_stored(json: &str) -> Self {
        let codes: Vec<String> = serde_json::from_str(json).unwrap_or_default();
        let known: Vec<Language> = codes
            .iter()
            .filter_map(|c| Language::from_code(c))
            .collect();
        Self::from_languages(known).unwrap_or_else(|_| Self(vec![Language::Italian]))
    }

    fn from_codes<'a>(codes: impl Iterator<Item = &'a str>) -> Result<Self, LanguagesError> {
        let languages = codes
            .map(|c| {
                let c = c.trim().to_lowercase();
                Language::from_code(&c).ok_or(LanguagesError::Unknown(c))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_languages(languages)
    }

    fn from_languages(languages: Vec<Language>) -> Result<Self, LanguagesError> {
        let ordered: Vec<Language> = Language::ALL
            .into_iter()
            .filter(|l| languages.contains(l))
            .collect();
        if ordered.is_empty() {
            return Err(LanguagesError::Empty);
        }
        Ok(Self(ordered))
    }

    /// Whether the operator speaks this language.
    pub fn speaks(&self, language: Language) -> bool {
        self.0.contains(&language)
    }

    /// The languages, in the menu's order.
    pub fn languages(&self) -> &[Language] {
        &self.0
    }

    /// The JSON array stored in `users.languages`.
    pub fn to_stored(&self) -> String {
        serde_json::Value::from(self.0.iter().map(|l| l.code()).collect::<Vec<_>>()).to_string()
    }
}

impl Default for SpokenLanguages {
    fn default() -> Self {
        Self(vec![Language::Italian])
    }
}

/// The codes separated by commas, as the console shows them (`it, en`).
impl fmt::Display for SpokenLanguages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let codes: Vec<&str> = self.0.iter().map(|l| l.code()).collect();
        f.write_str(&codes.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_in_any_case_and_order_and_kept_once_in_menu_order() {
        let l = SpokenLanguages::parse("EN, it ,en").unwrap();
        assert_eq!(l.languages(), &[Language::Italian, Language::English]);
        assert_eq!(l.to_string(), "it, en");
        assert_eq!(l.to_stored(), r#"["it","en"]"#);
    }

    #[test]
    fn a_code_the_menu_does_not_offer_is_refused_by_name() {
        let e = SpokenLanguages::parse("it,de").unwrap_err();
        assert_eq!(e, LanguagesError::Unknown("de".into()));
        assert!(e.to_string().contains("it, en, fr"));
    }

    #[test]
    fn an_empty_list_is_refused() {
        assert_eq!(
            SpokenLanguages::parse(" , ").unwrap_err(),
            LanguagesError::Empty
        );
    }

    #[test]
    fn stored_lists_round_trip_and_unreadable_ones_mean_italian() {
        let l = SpokenLanguages::parse("ru sq").unwrap();
        assert_eq!(SpokenLanguages::from_stored(&l.to_stored()), l);
        assert_eq!(
            SpokenLanguages::from_stored("nonsense"),
            SpokenLanguages::default()
        );
        assert_eq!(
            SpokenLanguages::from_stored(r#"["xx"]"#),
            SpokenLanguages::default()
        );
    }
}
