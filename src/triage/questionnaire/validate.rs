//! Checking a questionnaire file as a whole, so that a region's mistake stops the
//! service at start with the offending key rather than confusing an operator mid-call.

use std::collections::HashSet;

use super::{Question, QuestionKind, Questionnaire};
use crate::triage::condition::{Condition, Vocabulary};
use crate::triage::rules::Text;

impl Questionnaire {
    pub(super) fn check_file(&self) -> Result<(), String> {
        if self.steps.is_empty() {
            return Err("key `steps`: empty; expected at least one step".into());
        }
        let mut step_ids = HashSet::new();
        let mut question_ids = HashSet::new();
        let mut earlier: Vec<&Question> = Vec::new();
        for (s, step) in self.steps.iter().enumerate() {
            let key = format!("steps[{s}]");
            check_id(&format!("{key}.id"), &step.id)?;
            if !step_ids.insert(step.id.as_str()) {
                return Err(format!("key `{key}.id`: step `{}` appears twice", step.id));
            }
            check_text(&format!("{key}.title"), &step.title)?;
            check_optional_text(&format!("{key}.help"), step.help.as_ref())?;
            if step.questions.is_empty() {
                return Err(format!(
                    "key `{key}.questions`: empty; expected at least one question"
                ));
            }
            if let Some(c) = &step.show_if {
                self.check_condition(&format!("{key}.show_if"), c, &earlier)?;
            }
            for (i, q) in step.questions.iter().enumerate() {
                let key = format!("{key}.questions[{i}]");
                check_id(&format!("{key}.id"), &q.id)?;
                if !question_ids.insert(q.id.as_str()) {
                    return Err(format!("key `{key}.id`: question `{}` appears twice", q.id));
                }
                check_question(&key, q)?;
                if let Some(c) = &q.show_if {
                    self.check_condition(&format!("{key}.show_if"), c, &earlier)?;
                }
                earlier.push(q);
            }
        }
        Ok(())
    }

    fn check_condition(
        &self,
        key: &str,
        c: &Condition,
        earlier: &[&Question],
    ) -> Result<(), String> {
        c.validate(&Earlier(earlier)).map_err(|e| {
            if c.validate(self).is_ok() {
                format!(
                    "key `{key}`: names a question asked only at or after this point; expected questions of earlier steps or earlier in the same step"
                )
            } else {
                format!("key `{key}`: {e}")
            }
        })
    }
}

/// The questions asked before a condition, which are all it may name.
struct Earlier<'a>(&'a [&'a Question]);

impl Vocabulary for Earlier<'_> {
    fn has_question(&self, question: &str) -> bool {
        self.0.iter().any(|q| q.id == question)
    }

    fn has_option(&self, question: &str, option: &str) -> bool {
        self.0
            .iter()
            .any(|q| q.id == question && q.option(option).is_some())
    }
}

fn check_question(key: &str, q: &Question) -> Result<(), String> {
    check_text(&format!("{key}.label"), &q.label)?;
    check_optional_text(&format!("{key}.help"), q.help.as_ref())?;
    check_optional_text(&format!("{key}.warning"), q.warning.as_ref())?;
    let kind = q.kind.name();
    match q.kind {
        QuestionKind::Text if !q.options.is_empty() => {
            return Err(format!(
                "key `{key}.options`: a `text` question has no options; remove `options`"
            ));
        }
        QuestionKind::Text => {}
        _ if q.options.is_empty() => {
            return Err(format!(
                "key `{key}.options`: empty; a `{kind}` question needs at least one option"
            ));
        }
        _ => {}
    }
    if !q.groups.is_empty() && q.kind != QuestionKind::Multiple {
        return Err(format!(
            "key `{key}.groups`: only `multiple` questions group their options; this one is `{kind}`"
        ));
    }
    let mut groups = HashSet::new();
    for (g, group) in q.groups.iter().enumerate() {
        check_code(&format!("{key}.groups[{g}].code"), &group.code)?;
        if !groups.insert(group.code.as_str()) {
            return Err(format!(
                "key `{key}.groups[{g}].code`: `{}` appears twice",
                group.code
            ));
        }
        check_text(
            &format!("{key}.groups[{g}]"),
            &Text::new(group.it.as_str(), group.en.as_str()),
        )?;
    }
    let mut codes = HashSet::new();
    for (o, option) in q.options.iter().enumerate() {
        let key = format!("{key}.options[{o}]");
        check_code(&format!("{key}.code"), &option.code)?;
        if !codes.insert(option.code.as_str()) {
            return Err(format!("key `{key}.code`: `{}` appears twice", option.code));
        }
        check_text(&key, &Text::new(option.it.as_str(), option.en.as_str()))?;
        match (&option.group, groups.is_empty()) {
            (Some(g), false) if !groups.contains(g.as_str()) => {
                let mut known: Vec<&str> = groups.iter().copied().collect();
                known.sort_unstable();
                return Err(format!(
                    "key `{key}.group`: unknown group `{g}`; expected one of {}",
                    known.join(", ")
                ));
            }
            (Some(_), true) => {
                return Err(format!(
                    "key `{key}.group`: the question lists no `groups`; add them or remove `group`"
                ));
            }
            (None, false) => {
                return Err(format!(
                    "key `{key}.group`: missing; the question groups its options, so every option needs a group"
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Question and step ids are form field names: lower case, digits and `_`, not
/// starting with `_` (reserved for the form's own fields).
fn check_id(key: &str, id: &str) -> Result<(), String> {
    let valid = !id.is_empty()
        && !id.starts_with('_')
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "key `{key}`: `{id}` is not an id; expected lower-case letters, digits and `_`"
        ))
    }
}

/// Option codes may also be upper case (territory codes such as `FI`).
fn check_code(key: &str, code: &str) -> Result<(), String> {
    let valid = !code.is_empty()
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "key `{key}`: `{code}` is not a code; expected letters, digits, `_` and `-`"
        ))
    }
}

fn check_text(key: &str, text: &Text) -> Result<(), String> {
    if text.it.trim().is_empty() || text.en.trim().is_empty() {
        return Err(format!(
            "key `{key}`: expected both an Italian (`it`) and an English (`en`) text"
        ));
    }
    Ok(())
}

fn check_optional_text(key: &str, text: Option<&Text>) -> Result<(), String> {
    text.map_or(Ok(()), |t| check_text(key, t))
}
