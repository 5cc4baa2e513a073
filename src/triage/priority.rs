//! The urgency of a call, decided by the triage rules: P1 (emergency) to P4
//! (information only). Ordered so that the most urgent is the smallest.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::rules::Text;

/// How urgent a call is. `P1 < P2 < P3 < P4`, so `min()` over priorities gives the most
/// urgent one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Priority {
    /// Emergency: act during the call (112, emergency shelter tonight).
    P1,
    /// Urgent: a referral the territory handles within the day.
    P2,
    /// Standard: an assessment interview or a service, booked in the ordinary way.
    P3,
    /// Information only: no referral needed.
    P4,
}

/// A priority code that is not `P1`..`P4`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a priority; expected P1, P2, P3 or P4")]
pub struct ParsePriorityError(String);

impl Priority {
    /// Every priority, most urgent first.
    pub const ALL: [Priority; 4] = [Priority::P1, Priority::P2, Priority::P3, Priority::P4];

    /// The code, `"P1"` to `"P4"`, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::P1 => "P1",
            Priority::P2 => "P2",
            Priority::P3 => "P3",
            Priority::P4 => "P4",
        }
    }

    /// The Italian label, e.g. "emergenza".
    pub fn label_it(self) -> &'static str {
        match self {
            Priority::P1 => "emergenza",
            Priority::P2 => "urgente",
            Priority::P3 => "ordinaria",
            Priority::P4 => "solo informazioni",
        }
    }

    /// The English label, e.g. "emergency".
    pub fn label_en(self) -> &'static str {
        match self {
            Priority::P1 => "emergency",
            Priority::P2 => "urgent",
            Priority::P3 => "standard",
            Priority::P4 => "information only",
        }
    }

    /// Both labels, for the places that carry bilingual [`Text`].
    pub fn label(self) -> Text {
        Text::new(self.label_it(), self.label_en())
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Priority {
    type Err = ParsePriorityError;

    /// Accepts exactly the codes `P1`..`P4`: the same spelling as the files and the
    /// database, so that a typo in a file is refused rather than guessed.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| ParsePriorityError(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p1_is_the_most_urgent() {
        assert!(Priority::P1 < Priority::P2);
        assert_eq!(
            [Priority::P3, Priority::P1, Priority::P4]
                .into_iter()
                .min()
                .unwrap(),
            Priority::P1
        );
    }

    #[test]
    fn codes_round_trip_through_text_and_json() {
        for p in Priority::ALL {
            assert_eq!(p.to_string().parse::<Priority>().unwrap(), p);
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
            assert_eq!(serde_json::from_str::<Priority>(&json).unwrap(), p);
        }
    }

    #[test]
    fn an_unknown_code_is_refused_with_the_expected_ones() {
        let err = "p1".parse::<Priority>().unwrap_err().to_string();
        assert_eq!(err, "`p1` is not a priority; expected P1, P2, P3 or P4");
    }

    #[test]
    fn labels_are_given_in_both_languages() {
        assert_eq!(Priority::P1.label(), Text::new("emergenza", "emergency"));
        assert_eq!(Priority::P4.label_en(), "information only");
    }
}
