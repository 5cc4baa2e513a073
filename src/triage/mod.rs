//! The anonymous intake and its triage: the questionnaire an operator is guided through
//! (`config/intake.toml`), the rules that keep identifying data out of it, and the
//! rules that decide urgency, services and the safety script (`config/triage.toml`).

pub mod answers;
pub mod condition;
pub mod priority;
pub mod rules;

pub use answers::{Answer, Answers};
pub use condition::{Condition, Vocabulary};
pub use priority::Priority;
pub use rules::{Text, Triage, TriageError, TriageRules};
