//! The anonymous intake and its triage: the questionnaire an operator is guided through
//! (`config/intake.toml`), the rules that keep identifying data out of it, and the
//! rules that decide urgency, services and the safety script (`config/triage.toml`).

pub mod anonymity;
pub mod answers;
pub mod condition;
pub mod countries;
pub mod intakes;
pub mod languages;
pub mod mediation;
pub mod priority;
pub mod questionnaire;
pub mod rules;
pub mod subjects;

pub use anonymity::{find_identifying, Finding, IdentifyingKind};
pub use answers::{Answer, Answers};
pub use condition::{Condition, Vocabulary};
pub use priority::Priority;
pub use questionnaire::{
    AnswerError, Question, QuestionKind, Questionnaire, QuestionnaireError, Step,
};
pub use rules::{Text, Triage, TriageError, TriageRules};
