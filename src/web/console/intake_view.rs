//! The intake step as the template renders it: each question turned into the control
//! that suits it (radio buttons for a few options, a list for many, checkboxes grouped
//! under their headings, a text field with its warning), in the page's language, with
//! the answers so far and any error beside its question.

use crate::triage::questionnaire::{Question, QuestionKind};
use crate::triage::{Answer, Answers, Text};
use crate::web::i18n::Lang;

/// More options than this show as a list rather than radio buttons.
const MAX_RADIOS: usize = 12;

/// One option as shown.
pub struct OptionView {
    /// Code (the form value).
    pub code: String,
    /// Label.
    pub label: String,
    /// Chosen now.
    pub checked: bool,
}

/// Options under one heading (none for ungrouped options).
pub struct GroupView {
    /// The heading.
    pub label: Option<String>,
    /// Its options.
    pub options: Vec<OptionView>,
}

/// One question as shown.
pub struct QuestionView {
    /// Id (the form field's name).
    pub id: String,
    /// Label.
    pub label: String,
    /// Guidance.
    pub help: Option<String>,
    /// Warning (notes).
    pub warning: Option<String>,
    /// `radio`, `select`, `checkbox`, `text` or `textarea`.
    pub control: &'static str,
    /// Must be answered before the intake is complete.
    pub required: bool,
    /// Options in groups.
    pub groups: Vec<GroupView>,
    /// Current free text.
    pub text: String,
    /// What is wrong with the answer just given.
    pub error: Option<String>,
}

fn pick(lang: Lang, t: &Text) -> String {
    lang.pick(&t.it, &t.en).to_string()
}

/// Builds the view of `q` with `answers`, any text typed in `typed` (kept after a
/// refusal so nothing typed is lost) and `error`.
pub fn question_view(
    lang: Lang,
    q: &Question,
    answers: &Answers,
    typed: Option<&str>,
    error: Option<&Text>,
) -> QuestionView {
    let chosen = |code: &str| answers.has(&q.id, code);
    let option = |o: &crate::triage::questionnaire::QuestionOption| OptionView {
        code: o.code.clone(),
        label: lang.pick(&o.it, &o.en).to_string(),
        checked: chosen(&o.code),
    };
    let groups = if q.groups.is_empty() {
        vec![GroupView {
            label: None,
            options: q.options.iter().map(option).collect(),
        }]
    } else {
        let mut groups: Vec<GroupView> = q
            .groups
            .iter()
            .map(|g| GroupView {
                label: Some(lang.pick(&g.it, &g.en).to_string()),
                options: q.options_in(&g.code).map(option).collect(),
            })
            .collect();
        let loose: Vec<OptionView> = q
            .options
            .iter()
            .filter(|o| o.group.is_none())
            .map(option)
            .collect();
        if !loose.is_empty() {
            groups.push(GroupView {
                label: None,
                options: loose,
            });
        }
        groups
    };
    let control = match q.kind {
        QuestionKind::Multiple => "checkbox",
        QuestionKind::Text if q.warning.is_some() => "textarea",
        QuestionKind::Text => "text",
        _ if q.options.len() > MAX_RADIOS => "select",
        _ => "radio",
    };
    let text = match (typed, answers.get(&q.id)) {
        (Some(t), _) => t.to_string(),
        (None, Some(Answer::Text(t))) => t.clone(),
        _ => String::new(),
    };
    QuestionView {
        id: q.id.clone(),
        label: pick(lang, &q.label),
        help: q.help.as_ref().map(|h| pick(lang, h)),
        warning: q.warning.as_ref().map(|w| pick(lang, w)),
        control,
        required: q.required,
        groups,
        text,
        error: error.map(|e| pick(lang, e)),
    }
}

/// A readable answer for the summary.
pub fn answer_text(lang: Lang, q: &Question, answer: &Answer) -> String {
    let label = |code: &str| {
        q.option(code)
            .map(|o| lang.pick(&o.it, &o.en).to_string())
            .unwrap_or_else(|| code.to_string())
    };
    match answer {
        Answer::Choice(c) => label(c),
        Answer::Choices(cs) => cs.iter().map(|c| label(c)).collect::<Vec<_>>().join(", "),
        Answer::Text(t) => t.clone(),
    }
}
