//! The triage rules, read from `config/triage.toml`: which answers make a call P1..P4
//! and why, which services it needs, and which safety lines the operator reads.
//!
//! Kept in a file so that the region can change them without a new release; loaded
//! once at start, then checked against the questionnaire and the directory with
//! [`TriageRules::validate`], so that a rule naming an unknown question, option or
//! service refuses to start, naming the key.

mod evaluate;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::condition::{Condition, Vocabulary};
use super::priority::Priority;

pub use evaluate::Triage;

/// The rules compiled into the binary, used when the default file is missing.
pub const EMBEDDED_TRIAGE: &str = include_str!("../../config/triage.toml");

/// Triage rules that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct TriageError {
    source_name: String,
    message: String,
}

/// A string in Italian and English: the operator's language and the fallback.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    /// Italian.
    pub it: String,
    /// English.
    pub en: String,
}

impl Text {
    /// A text from its two translations.
    pub fn new(it: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            it: it.into(),
            en: en.into(),
        }
    }
}

/// The whole rules file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriageRules {
    /// The priority of a call that no rule matches.
    pub default_priority: Priority,
    /// The reason given when no rule matches.
    pub default_reason: Text,
    /// Priority rules, in the order their reasons are read out.
    pub rules: Vec<Rule>,
    /// Which answers call for which services.
    #[serde(default)]
    pub services: Vec<ServiceMapping>,
    /// Lines of the safety script, in the order they are read out.
    #[serde(default)]
    pub safety: Vec<SafetyLine>,
    /// Where the rules came from, for errors found after parsing.
    #[serde(skip)]
    source_name: String,
}

/// One priority rule: when its condition holds, the call is at least this urgent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable id, recorded with the triage so that statistics can say which rule fired.
    pub id: String,
    /// The priority the rule gives.
    pub priority: Priority,
    /// Why, in words the operator reads out, e.g. "pericolo immediato".
    pub reason: Text,
    /// When the rule applies.
    pub when: Condition,
}

/// Answers that call for some services of the directory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceMapping {
    /// When the services are needed.
    pub when: Condition,
    /// Service codes of the directory.
    pub codes: Vec<String>,
}

/// One line of the operator's safety script.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafetyLine {
    /// When the line is read; without it, on every call.
    #[serde(default)]
    pub when: Option<Condition>,
    /// What the operator reads or does.
    pub text: Text,
}

impl TriageRules {
    /// Reads and checks the rules file; `embedded_fallback` allows the compiled-in rules
    /// when the file does not exist.
    pub fn load(path: &Path, embedded_fallback: bool) -> Result<Self, TriageError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && embedded_fallback => {
                Self::parse(EMBEDDED_TRIAGE, "built-in triage rules")
            }
            Err(e) => Err(TriageError {
                source_name: path.display().to_string(),
                message: e.to_string(),
            }),
        }
    }

    /// Parses rules text and checks what can be checked without the questionnaire and
    /// the directory (ids, empty texts); `source_name` appears in errors.
    pub fn parse(text: &str, source_name: &str) -> Result<Self, TriageError> {
        let mut rules: TriageRules = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| format!(" (at line {})", line_of(text, s.start)))
                .unwrap_or_default();
            TriageError {
                source_name: source_name.to_string(),
                message: format!("{}{at}", e.message()),
            }
        })?;
        rules.source_name = source_name.to_string();
        rules.check().map_err(|m| rules.error(m))?;
        Ok(rules)
    }

    /// Checks the rules against the questionnaire (`vocabulary`) and the directory's
    /// service codes (`services`): every condition names real questions and options,
    /// every service is offered by the directory, and no rule id appears twice.
    pub fn validate(
        &self,
        vocabulary: &dyn Vocabulary,
        services: &[&str],
    ) -> Result<(), TriageError> {
        self.check_against(vocabulary, services)
            .map_err(|m| self.error(m))
    }

    fn error(&self, message: String) -> TriageError {
        TriageError {
            source_name: self.source_name.clone(),
            message,
        }
    }

    fn check(&self) -> Result<(), String> {
        check_text("default_reason", &self.default_reason)?;
        let mut ids = HashSet::new();
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.id.is_empty() {
                return Err(format!("key `rules[{i}].id`: empty id"));
            }
            if !ids.insert(rule.id.as_str()) {
                return Err(format!(
                    "key `rules[{i}].id`: `{}` appears twice; expected a unique id",
                    rule.id
                ));
            }
            check_text(&format!("rules[{i}].reason"), &rule.reason)?;
        }
        for (i, mapping) in self.services.iter().enumerate() {
            if mapping.codes.is_empty() {
                return Err(format!(
                    "key `services[{i}].codes`: empty; expected at least one service code"
                ));
            }
        }
        for (i, line) in self.safety.iter().enumerate() {
            check_text(&format!("safety[{i}].text"), &line.text)?;
        }
        Ok(())
    }

    fn check_against(&self, vocabulary: &dyn Vocabulary, services: &[&str]) -> Result<(), String> {
        self.check()?;
        let condition = |key: String, c: &Condition| {
            c.validate(vocabulary)
                .map_err(|e| format!("key `{key}`: {e}"))
        };
        for (i, rule) in self.rules.iter().enumerate() {
            condition(format!("rules[{i}].when"), &rule.when)?;
        }
        for (i, mapping) in self.services.iter().enumerate() {
            condition(format!("services[{i}].when"), &mapping.when)?;
            for code in &mapping.codes {
                if !services.contains(&code.as_str()) {
                    return Err(format!(
                        "key `services[{i}].codes`: unknown service `{code}`; expected one of {}",
                        services.join(", ")
                    ));
                }
            }
        }
        for (i, line) in self.safety.iter().enumerate() {
            if let Some(when) = &line.when {
                condition(format!("safety[{i}].when"), when)?;
            }
        }
        Ok(())
    }
}

fn check_text(key: &str, text: &Text) -> Result<(), String> {
    if text.it.trim().is_empty() || text.en.trim().is_empty() {
        return Err(format!(
            "key `{key}`: expected both `it` and `en`, not empty"
        ));
    }
    Ok(())
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}
