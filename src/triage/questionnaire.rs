//! The guided intake: the steps and questions an operator goes through during a call,
//! read from `config/intake.toml` so that the region can change them without a release.
//!
//! Steps and questions appear only when their `show_if` condition holds on the answers
//! given before them, so a condition may only name questions asked earlier: checked at
//! load, with the offending key named, like every other mistake in the file. Answering
//! (visibility, checking answers, reading a form) is in `questionnaire/answering.rs`,
//! checking the file as a whole in `questionnaire/validate.rs`.

mod answering;
#[cfg(test)]
mod tests;
mod validate;

use std::path::Path;

use serde::Deserialize;

use super::condition::{Condition, Vocabulary};
use super::countries::countries;
use super::languages::languages;
use super::rules::Text;

pub use answering::AnswerError;

/// The intake compiled into the binary, used when the default file is missing.
pub const EMBEDDED_INTAKE: &str = include_str!("../../config/intake.toml");

/// The option code every country, language and yes/no question also offers.
pub const UNKNOWN: &str = "unknown";

/// A questionnaire file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct QuestionnaireError {
    source_name: String,
    message: String,
}

/// The whole intake questionnaire.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Questionnaire {
    /// The steps, in the order the operator goes through them.
    pub steps: Vec<Step>,
    #[serde(skip)]
    source_name: String,
}

/// One page of the guided intake.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Stable id, unique among steps.
    pub id: String,
    /// Title shown atop the step.
    pub title: Text,
    /// Guidance for the operator.
    #[serde(default)]
    pub help: Option<Text>,
    /// When the step is shown; always when absent.
    #[serde(default)]
    pub show_if: Option<Condition>,
    /// The step's questions, in order.
    pub questions: Vec<Question>,
}

/// One question.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// Stable id, unique in the questionnaire: the key of its answer and form field.
    pub id: String,
    /// The question as shown.
    pub label: Text,
    /// Guidance for the operator.
    #[serde(default)]
    pub help: Option<Text>,
    /// What kind of answer it takes.
    pub kind: QuestionKind,
    /// Whether a final intake must answer it when it is shown.
    #[serde(default)]
    pub required: bool,
    /// Headings the options of a `multiple` question are grouped under.
    #[serde(default)]
    pub groups: Vec<OptionGroup>,
    /// The options; for `yes_no_unknown`, `country` and `language` they are filled in
    /// from the built-in lists when the file is read.
    #[serde(default)]
    pub options: Vec<QuestionOption>,
    /// When the question is shown; always (within its step) when absent.
    #[serde(default)]
    pub show_if: Option<Condition>,
    /// A warning shown beside the field (what must not be written in notes).
    #[serde(default)]
    pub warning: Option<Text>,
}

/// The kinds of question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    /// One option.
    Single,
    /// Any number of options (checklists).
    Multiple,
    /// Yes, no or unknown.
    YesNoUnknown,
    /// An ISO 3166-1 country, or unknown.
    Country,
    /// A language of the built-in list, or unknown.
    Language,
    /// A territory of the network (options listed in the file).
    Territory,
    /// Free text, checked for identifying data.
    Text,
}

impl QuestionKind {
    /// Whether the options come from built-in lists rather than from the file.
    fn has_builtin_options(self) -> bool {
        matches!(self, Self::YesNoUnknown | Self::Country | Self::Language)
    }

    fn name(self) -> &'static str {
        match self {
            Self::Single => "single",
            Self::Multiple => "multiple",
            Self::YesNoUnknown => "yes_no_unknown",
            Self::Country => "country",
            Self::Language => "language",
            Self::Territory => "territory",
            Self::Text => "text",
        }
    }
}

/// One option of a question.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionOption {
    /// Stable code: what is stored and what conditions and triage rules name.
    pub code: String,
    /// Italian label.
    pub it: String,
    /// English label.
    pub en: String,
    /// The code of the question's group this option is listed under.
    #[serde(default)]
    pub group: Option<String>,
}

/// A heading for options of a `multiple` question.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionGroup {
    /// Stable code, named by the options' `group`.
    pub code: String,
    /// Italian heading.
    pub it: String,
    /// English heading.
    pub en: String,
}

impl Question {
    /// The option with this code.
    pub fn option(&self, code: &str) -> Option<&QuestionOption> {
        self.options.iter().find(|o| o.code == code)
    }

    /// The options listed under `group`, in order.
    pub fn options_in<'a>(&'a self, group: &'a str) -> impl Iterator<Item = &'a QuestionOption> {
        self.options
            .iter()
            .filter(move |o| o.group.as_deref() == Some(group))
    }
}

impl Questionnaire {
    /// Reads and checks the questionnaire file; `embedded_fallback` allows the
    /// compiled-in intake when the file does not exist.
    pub fn load(path: &Path, embedded_fallback: bool) -> Result<Self, QuestionnaireError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && embedded_fallback => {
                Self::parse(EMBEDDED_INTAKE, "built-in intake")
            }
            Err(e) => Err(QuestionnaireError {
                source_name: path.display().to_string(),
                message: e.to_string(),
            }),
        }
    }

    /// Parses and checks questionnaire text; `source_name` appears in errors.
    pub fn parse(text: &str, source_name: &str) -> Result<Self, QuestionnaireError> {
        let err = |message: String| QuestionnaireError {
            source_name: source_name.to_string(),
            message,
        };
        let mut q: Questionnaire = serde_path_to_error::deserialize(toml::Deserializer::new(text))
            .map_err(|e| {
                let key = e.path().to_string();
                let inner = e.into_inner();
                let at = inner
                    .span()
                    .map(|s| format!(" (at line {})", line_of(text, s.start)))
                    .unwrap_or_default();
                let key = if key == "." {
                    String::new()
                } else {
                    format!("key `{key}`: ")
                };
                err(format!("{key}{}{at}", inner.message()))
            })?;
        q.source_name = source_name.to_string();
        q.fill_builtin_options().map_err(err)?;
        q.validate()?;
        Ok(q)
    }

    /// Checks the questionnaire as a whole: ids unique and well formed, texts given in
    /// both languages, options where the kind needs them, groups that exist, and
    /// conditions that name only questions asked before them.
    pub fn validate(&self) -> Result<(), QuestionnaireError> {
        self.check_file().map_err(|message| QuestionnaireError {
            source_name: self.source_name.clone(),
            message,
        })
    }

    /// The step with this id.
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// The question with this id.
    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions().find(|q| q.id == id)
    }

    /// Every question, in order.
    pub fn questions(&self) -> impl Iterator<Item = &Question> {
        self.steps.iter().flat_map(|s| s.questions.iter())
    }

    /// Puts the built-in options into `yes_no_unknown`, `country` and `language`
    /// questions, refusing files that list their own.
    fn fill_builtin_options(&mut self) -> Result<(), String> {
        for (s, step) in self.steps.iter_mut().enumerate() {
            for (i, q) in step.questions.iter_mut().enumerate() {
                if !q.kind.has_builtin_options() {
                    continue;
                }
                if !q.options.is_empty() {
                    return Err(format!(
                        "key `steps[{s}].questions[{i}].options`: a `{}` question takes its options from the built-in list; remove `options`",
                        q.kind.name()
                    ));
                }
                q.options = builtin_options(q.kind);
            }
        }
        Ok(())
    }
}

impl Vocabulary for Questionnaire {
    fn has_question(&self, question: &str) -> bool {
        self.question(question).is_some()
    }

    fn has_option(&self, question: &str, option: &str) -> bool {
        self.question(question)
            .is_some_and(|q| q.option(option).is_some())
    }
}

fn builtin_options(kind: QuestionKind) -> Vec<QuestionOption> {
    let option = |code: &str, it: &str, en: &str| QuestionOption {
        code: code.into(),
        it: it.into(),
        en: en.into(),
        group: None,
    };
    let mut options: Vec<QuestionOption> = match kind {
        QuestionKind::YesNoUnknown => {
            return vec![
                option("yes", "Sì", "Yes"),
                option("no", "No", "No"),
                option(UNKNOWN, "Non so", "Don't know"),
            ]
        }
        QuestionKind::Country => countries().map(|c| option(c.code, c.it, c.en)).collect(),
        QuestionKind::Language => languages().map(|l| option(l.code, l.it, l.en)).collect(),
        _ => return Vec::new(),
    };
    // Countries are listed as operators look for them: by Italian name.
    if kind == QuestionKind::Country {
        options.sort_by_key(|o| sort_key(&o.it));
    }
    options.push(option(UNKNOWN, "Non nota", "Unknown"));
    options
}

/// A name folded for alphabetical order: lower case, common accents dropped.
fn sort_key(name: &str) -> String {
    name.to_lowercase()
        .chars()
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ä' | 'å' | 'ã' => 'a',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ò' | 'ó' | 'ô' | 'ö' | 'õ' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            other => other,
        })
        .collect()
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}
