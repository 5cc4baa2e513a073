//! Conditions over an intake's answers, written in the region's TOML files: when a
//! question is shown (`config/intake.toml`) and when a triage rule applies
//! (`config/triage.toml`). One grammar for both, so a region learns it once:
//!
//! ```toml
//! when = { question = "danger", is = "yes" }
//! when = { question = "needs", any_of = ["shelter", "emergency_shelter"] }
//! when = { question = "municipality", answered = true }
//! when = { all = [{ question = "minor", is = "yes" }, { question = "danger", is = "yes" }] }
//! when = { any = [...] }
//! when = { not = { question = "relevance", is = "pertinent" } }
//! ```

use serde::Deserialize;

use super::answers::Answers;

/// What a condition may name: the questionnaire's questions and their options.
pub trait Vocabulary {
    /// Whether a question with this id exists.
    fn has_question(&self, question: &str) -> bool;
    /// Whether `question` offers `option` (always false for free-text questions).
    fn has_option(&self, question: &str, option: &str) -> bool;
}

/// A condition as written in a file; check it with [`Condition::validate`] once loaded.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The question tested by `is`, `any_of` or `answered`.
    pub question: Option<String>,
    /// The question's answer is (or, for several choices, includes) this option.
    pub is: Option<String>,
    /// The answer is or includes at least one of these options.
    pub any_of: Option<Vec<String>>,
    /// The question was answered (true) or not (false).
    pub answered: Option<bool>,
    /// Every one of these holds.
    pub all: Option<Vec<Condition>>,
    /// At least one of these holds.
    pub any: Option<Vec<Condition>>,
    /// This does not hold.
    pub not: Option<Box<Condition>>,
}

impl Condition {
    /// A condition that `question`'s answer is or includes `option`.
    pub fn is(question: &str, option: &str) -> Self {
        Self {
            question: Some(question.into()),
            is: Some(option.into()),
            ..Self::empty()
        }
    }

    fn empty() -> Self {
        Self {
            question: None,
            is: None,
            any_of: None,
            answered: None,
            all: None,
            any: None,
            not: None,
        }
    }

    /// Whether the condition holds for these answers.
    pub fn holds(&self, answers: &Answers) -> bool {
        if let Some(all) = &self.all {
            return all.iter().all(|c| c.holds(answers));
        }
        if let Some(any) = &self.any {
            return any.iter().any(|c| c.holds(answers));
        }
        if let Some(not) = &self.not {
            return !not.holds(answers);
        }
        let Some(question) = &self.question else {
            return false;
        };
        if let Some(option) = &self.is {
            return answers.has(question, option);
        }
        if let Some(options) = &self.any_of {
            return options.iter().any(|o| answers.has(question, o));
        }
        if let Some(answered) = self.answered {
            return answers.get(question).is_some() == answered;
        }
        false
    }

    /// Checks that the condition has exactly one form and names only questions and
    /// options of `vocabulary`; the error says what is wrong, in English, for the file's
    /// author (the caller adds the file and key).
    pub fn validate(&self, vocabulary: &dyn Vocabulary) -> Result<(), String> {
        let forms = [
            self.all.is_some(),
            self.any.is_some(),
            self.not.is_some(),
            self.is.is_some(),
            self.any_of.is_some(),
            self.answered.is_some(),
        ]
        .into_iter()
        .filter(|f| *f)
        .count();
        if forms != 1 {
            return Err(
                "expected exactly one of `is`, `any_of`, `answered`, `all`, `any`, `not`".into(),
            );
        }
        let nested = self.all.as_deref().or(self.any.as_deref());
        if let Some(list) = nested {
            if self.question.is_some() {
                return Err("`question` cannot stand beside `all` or `any`".into());
            }
            if list.is_empty() {
                return Err("`all` and `any` need at least one condition".into());
            }
            return list
                .iter()
                .enumerate()
                .try_for_each(|(i, c)| c.validate(vocabulary).map_err(|e| format!("[{i}]: {e}")));
        }
        if let Some(not) = &self.not {
            if self.question.is_some() {
                return Err("`question` cannot stand beside `not`".into());
            }
            return not.validate(vocabulary).map_err(|e| format!("not: {e}"));
        }
        let Some(question) = &self.question else {
            return Err("`is`, `any_of` and `answered` need a `question`".into());
        };
        if !vocabulary.has_question(question) {
            return Err(format!("unknown question `{question}`"));
        }
        let options = self.is.iter().chain(self.any_of.iter().flatten());
        for option in options {
            if !vocabulary.has_option(question, option) {
                return Err(format!("question `{question}` has no option `{option}`"));
            }
        }
        if self.any_of.as_ref().is_some_and(Vec::is_empty) {
            return Err("`any_of` needs at least one option".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::triage::Answer;

    struct Vocab;
    impl Vocabulary for Vocab {
        fn has_question(&self, q: &str) -> bool {
            ["danger", "minor", "needs", "notes"].contains(&q)
        }
        fn has_option(&self, q: &str, o: &str) -> bool {
            match q {
                "danger" | "minor" => ["yes", "no", "unknown"].contains(&o),
                "needs" => ["shelter", "health"].contains(&o),
                _ => false,
            }
        }
    }

    fn parse(text: &str) -> Condition {
        #[derive(Deserialize)]
        struct W {
            when: Condition,
        }
        toml::from_str::<W>(text).unwrap().when
    }

    fn answers() -> Answers {
        let mut a = Answers::default();
        a.set("danger", Answer::Choice("yes".into()));
        a.set("needs", Answer::Choices(vec!["health".into()]));
        a
    }

    #[test]
    fn simple_and_nested_conditions_hold_as_written() {
        let a = answers();
        assert!(parse(r#"when = { question = "danger", is = "yes" }"#).holds(&a));
        assert!(
            parse(r#"when = { question = "needs", any_of = ["shelter", "health"] }"#).holds(&a)
        );
        assert!(parse(r#"when = { question = "minor", answered = false }"#).holds(&a));
        assert!(!parse(
            r#"when = { all = [{ question = "danger", is = "yes" }, { question = "minor", is = "yes" }] }"#
        )
        .holds(&a));
        assert!(parse(
            r#"when = { any = [{ question = "danger", is = "no" }, { not = { question = "minor", is = "yes" } }] }"#
        )
        .holds(&a));
    }

    #[test]
    fn unknown_questions_and_options_are_named() {
        let e = parse(r#"when = { question = "dangerr", is = "yes" }"#).validate(&Vocab);
        assert_eq!(e.unwrap_err(), "unknown question `dangerr`");
        let e =
            parse(r#"when = { all = [{ question = "danger", is = "maybe" }] }"#).validate(&Vocab);
        assert_eq!(
            e.unwrap_err(),
            "[0]: question `danger` has no option `maybe`"
        );
    }

    #[test]
    fn a_condition_with_two_forms_or_none_is_refused() {
        let e = parse(r#"when = { question = "danger", is = "yes", answered = true }"#);
        assert!(e.validate(&Vocab).is_err());
        assert!(parse(r#"when = { question = "danger" }"#)
            .validate(&Vocab)
            .is_err());
        assert!(parse(r#"when = { question = "danger", is = "yes" }"#)
            .validate(&Vocab)
            .is_ok());
    }

    #[test]
    fn unknown_keys_are_refused_when_read() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct W {
            when: Condition,
        }
        assert!(toml::from_str::<W>(r#"when = { question = "danger", equals = "yes" }"#).is_err());
    }
}
