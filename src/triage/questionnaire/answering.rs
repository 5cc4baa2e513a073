//! Answering the questionnaire: which steps and questions are shown for the answers so
//! far, checking answers before they are saved, and reading them from a form post.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Question, QuestionKind, Questionnaire, Step};
use crate::triage::anonymity::find_identifying;
use crate::triage::answers::{Answer, Answers};
use crate::triage::rules::Text;

/// The longest free text accepted, in characters: notes are a summary, not a transcript.
pub const MAX_TEXT_CHARS: usize = 2000;

/// Why an answer was refused; the message never repeats the answer itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnswerError {
    /// The question (form field) the error is about.
    pub question: String,
    /// What is wrong, for the operator.
    pub message: Text,
}

impl AnswerError {
    fn new(question: &str, it: &str, en: &str) -> Self {
        Self {
            question: question.to_string(),
            message: Text::new(it, en),
        }
    }
}

/// Whether answers are being saved for good or as a draft during the call.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Final,
    Draft,
}

impl Questionnaire {
    /// The steps shown for these answers: those whose condition holds and that have at
    /// least one question shown.
    pub fn visible_steps<'a>(&'a self, answers: &Answers) -> impl Iterator<Item = &'a Step> + 'a {
        let shown = self.visible_answers(answers);
        self.steps.iter().filter(move |step| {
            step_shown(step, &shown) && step.questions.iter().any(|q| question_shown(q, &shown))
        })
    }

    /// The questions of `step` shown for these answers (none when the step is hidden).
    pub fn visible_questions<'a>(
        &'a self,
        step: &'a Step,
        answers: &Answers,
    ) -> impl Iterator<Item = &'a Question> + 'a {
        let shown = self.visible_answers(answers);
        let step_visible = step_shown(step, &shown);
        step.questions
            .iter()
            .filter(move |q| step_visible && question_shown(q, &shown))
    }

    /// The answers to the questions still shown: a changed answer can hide questions
    /// answered before (relevance changed to "not pertinent" hides almost everything),
    /// and their answers must not be kept. Invalid answers are dropped too.
    pub fn visible_answers(&self, answers: &Answers) -> Answers {
        self.walk(answers, Mode::Draft).0
    }

    /// Checks a finished intake: answers to hidden questions are dropped, unknown
    /// questions and options, answers of the wrong kind, identifying data in free text
    /// and missing required answers are refused. Returns the answers to keep, with
    /// several choices in questionnaire order and free text trimmed.
    pub fn check(&self, answers: &Answers) -> Result<Answers, Vec<AnswerError>> {
        self.result(answers, Mode::Final)
    }

    /// Like [`Questionnaire::check`], but lets required questions go unanswered: for
    /// saving a draft while the call goes on.
    pub fn check_draft(&self, answers: &Answers) -> Result<Answers, Vec<AnswerError>> {
        self.result(answers, Mode::Draft)
    }

    /// Reads answers from a form post. A `multiple` question arrives as repeated
    /// `question=option` pairs; an empty value means unanswered. Fields whose name
    /// starts with `_` belong to the form itself (`_csrf`, `_step`, `_action`) and are
    /// ignored; any other unknown field is refused. The result still needs
    /// [`Questionnaire::check`] or [`Questionnaire::check_draft`].
    pub fn answers_from_form(
        &self,
        pairs: &[(String, String)],
    ) -> Result<Answers, Vec<AnswerError>> {
        let mut values: BTreeMap<&str, (&Question, Vec<&str>)> = BTreeMap::new();
        let mut errors = Vec::new();
        for (name, value) in pairs {
            if name.starts_with('_') {
                continue;
            }
            let Some(q) = self.question(name) else {
                if !errors.iter().any(|e: &AnswerError| e.question == *name) {
                    errors.push(unknown_question(name));
                }
                continue;
            };
            let entry = values.entry(q.id.as_str()).or_insert((q, Vec::new()));
            let value = value.trim();
            if !value.is_empty() && !entry.1.contains(&value) {
                entry.1.push(value);
            }
        }
        let mut answers = Answers::default();
        for (id, (q, given)) in values {
            match (q.kind, given.as_slice()) {
                (_, []) => {}
                (QuestionKind::Multiple, _) => {
                    answers.set(
                        id,
                        Answer::Choices(given.iter().map(|v| v.to_string()).collect()),
                    );
                }
                (QuestionKind::Text, [text]) => answers.set(id, Answer::Text(text.to_string())),
                (_, [choice]) => answers.set(id, Answer::Choice(choice.to_string())),
                _ => errors.push(AnswerError::new(
                    id,
                    "Una sola risposta per questa domanda.",
                    "Only one answer to this question.",
                )),
            }
        }
        if errors.is_empty() {
            Ok(answers)
        } else {
            Err(errors)
        }
    }

    fn result(&self, answers: &Answers, mode: Mode) -> Result<Answers, Vec<AnswerError>> {
        let (kept, errors) = self.walk(answers, mode);
        if errors.is_empty() {
            Ok(kept)
        } else {
            Err(errors)
        }
    }

    /// Goes through the questions in order, keeping the valid answers to those shown;
    /// each condition is tested on the answers kept so far, which is all it may name.
    fn walk(&self, answers: &Answers, mode: Mode) -> (Answers, Vec<AnswerError>) {
        let mut errors: Vec<AnswerError> = answers
            .0
            .keys()
            .filter(|id| self.question(id).is_none())
            .map(|id| unknown_question(id))
            .collect();
        let mut kept = Answers::default();
        for step in &self.steps {
            if !step_shown(step, &kept) {
                continue;
            }
            for q in &step.questions {
                if !question_shown(q, &kept) {
                    continue;
                }
                match answers.get(&q.id).map(|a| normalise(q, a)) {
                    Some(Ok(Some(answer))) => kept.set(q.id.as_str(), answer),
                    Some(Err(e)) => errors.push(e),
                    None | Some(Ok(None)) if q.required && mode == Mode::Final => {
                        errors.push(AnswerError::new(
                            &q.id,
                            "Risposta obbligatoria.",
                            "An answer is required.",
                        ));
                    }
                    None | Some(Ok(None)) => {}
                }
            }
        }
        (kept, errors)
    }
}

fn step_shown(step: &Step, answers: &Answers) -> bool {
    step.show_if.as_ref().is_none_or(|c| c.holds(answers))
}

fn question_shown(q: &Question, answers: &Answers) -> bool {
    q.show_if.as_ref().is_none_or(|c| c.holds(answers))
}

fn unknown_question(id: &str) -> AnswerError {
    AnswerError::new(id, "Domanda sconosciuta.", "Unknown question.")
}

/// The answer as it is kept, `None` when it amounts to no answer (empty text, no
/// choice), or why it is refused.
fn normalise(q: &Question, answer: &Answer) -> Result<Option<Answer>, AnswerError> {
    let not_an_option = || {
        AnswerError::new(
            &q.id,
            "Opzione non prevista per questa domanda.",
            "Not an option of this question.",
        )
    };
    match (q.kind, answer) {
        (QuestionKind::Text, Answer::Text(text)) => {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            if text.chars().count() > MAX_TEXT_CHARS {
                return Err(AnswerError::new(
                    &q.id,
                    "Testo troppo lungo: al massimo 2000 caratteri.",
                    "Text too long: 2000 characters at most.",
                ));
            }
            if let Some(finding) = find_identifying(text) {
                return Err(AnswerError::new(&q.id, finding.it(), finding.en()));
            }
            Ok(Some(Answer::Text(text.to_string())))
        }
        (QuestionKind::Multiple, Answer::Choices(codes)) => {
            if codes.iter().any(|c| q.option(c).is_none()) {
                return Err(not_an_option());
            }
            let in_order: Vec<String> = q
                .options
                .iter()
                .filter(|o| codes.contains(&o.code))
                .map(|o| o.code.clone())
                .collect();
            Ok((!in_order.is_empty()).then_some(Answer::Choices(in_order)))
        }
        (QuestionKind::Text | QuestionKind::Multiple, _) => Err(wrong_kind(q)),
        (_, Answer::Choice(code)) if code.is_empty() => Ok(None),
        (_, Answer::Choice(code)) => match q.option(code) {
            Some(_) => Ok(Some(answer.clone())),
            None => Err(not_an_option()),
        },
        (_, _) => Err(wrong_kind(q)),
    }
}

fn wrong_kind(q: &Question) -> AnswerError {
    AnswerError::new(
        &q.id,
        "Tipo di risposta sbagliato per questa domanda.",
        "Wrong kind of answer for this question.",
    )
}
