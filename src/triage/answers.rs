//! An intake's answers: what the operator recorded for each question of the
//! questionnaire, by question id. The questionnaire (`questionnaire.rs`) says which
//! answers are valid; the triage rules (`rules.rs`) read them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One answer to one question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Answer {
    /// One option's code (single choice, yes/no/unknown, country, language, territory).
    Choice(String),
    /// Several options' codes (multiple choice, checklists), in questionnaire order.
    Choices(Vec<String>),
    /// Free text (municipality, notes), already checked for identifying data.
    Text(String),
}

/// Every answer of one intake, by question id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Answers(pub BTreeMap<String, Answer>);

impl Answers {
    /// The answer to `question`, if given.
    pub fn get(&self, question: &str) -> Option<&Answer> {
        self.0.get(question)
    }

    /// Whether `question` was answered with `option` (as its single choice or one of
    /// its several).
    pub fn has(&self, question: &str, option: &str) -> bool {
        match self.get(question) {
            Some(Answer::Choice(c)) => c == option,
            Some(Answer::Choices(cs)) => cs.iter().any(|c| c == option),
            _ => false,
        }
    }

    /// The single choice given to `question`.
    pub fn choice(&self, question: &str) -> Option<&str> {
        match self.get(question) {
            Some(Answer::Choice(c)) => Some(c),
            _ => None,
        }
    }

    /// Records or replaces an answer.
    pub fn set(&mut self, question: impl Into<String>, answer: Answer) {
        self.0.insert(question.into(), answer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_matches_a_single_choice_and_one_of_several() {
        let mut a = Answers::default();
        a.set("danger", Answer::Choice("yes".into()));
        a.set(
            "needs",
            Answer::Choices(vec!["health".into(), "legal".into()]),
        );
        assert!(a.has("danger", "yes"));
        assert!(!a.has("danger", "no"));
        assert!(a.has("needs", "legal"));
        assert!(!a.has("needs", "job"));
        assert!(!a.has("missing", "yes"));
    }

    #[test]
    fn answers_round_trip_through_json() {
        let mut a = Answers::default();
        a.set("minor", Answer::Choice("yes".into()));
        a.set("notes", Answer::Text("ok".into()));
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(
            json,
            r#"{"minor":{"kind":"choice","value":"yes"},"notes":{"kind":"text","value":"ok"}}"#
        );
        assert_eq!(serde_json::from_str::<Answers>(&json).unwrap(), a);
    }
}
