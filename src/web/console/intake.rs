//! The guided intake: opened from a call on the board or afterwards for a walk-in, an
//! e-mail or a callback; one step at a time, each saved as a draft as the operator goes
//! (nothing is lost if the call drops), with the triage shown as soon as answers allow
//! it; completed once every required answer is given. Every view and change is audited.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;

use super::form::{FormData, Posted};
use super::intake_view::{answer_text, question_view, QuestionView};
use super::page::{render, Chrome, PageError};
use super::session::Session;
use crate::app::AppState;
use crate::auth::Role;
use crate::calls::CallId;
use crate::db::audit::{self, AuditEntry};
use crate::triage::intakes::{self, Intake, IntakeError, Source};
use crate::triage::questionnaire::{AnswerError, Step};
use crate::triage::{Answers, Priority, Triage};
use crate::web::i18n::Lang;

/// Roles that run intakes.
pub const INTAKE_ROLES: [Role; 2] = [Role::Operator, Role::Supervisor];

/// Form fields that belong to the page, not to the questionnaire.
const CONTROL_FIELDS: [&str; 3] = ["csrf", "version", "go"];

pub(super) fn intake_error(e: IntakeError, lang: Lang) -> Response {
    match e {
        IntakeError::NotFound => PageError::not_found(lang).into_response(),
        IntakeError::Conflict => PageError::new(
            StatusCode::CONFLICT,
            lang,
            lang.pick(
                "Un'altra persona ha salvato questa scheda nel frattempo: riaprila per vedere le sue modifiche, poi ripeti le tue.",
                "Someone else saved this intake meanwhile: reopen it to see their changes, then repeat yours.",
            ),
        )
        .into_response(),
        IntakeError::UnknownSource => PageError::bad_form(lang).into_response(),
        IntakeError::Db(e) => PageError::from_db(e, lang).into_response(),
    }
}

pub(super) async fn audited(
    state: &AppState,
    session: &Session,
    action: &'static str,
    kind: &'static str,
    id: String,
    detail: serde_json::Value,
) -> Result<(), Response> {
    let entry = AuditEntry {
        actor_user_id: Some(session.user.id),
        actor: session.actor(),
        action,
        object_kind: kind,
        object_id: id,
        address: Some(session.address.clone()),
        detail,
    };
    audit::append(&state.db, Utc::now(), &entry)
        .await
        .map_err(|e| PageError::from_db(e, session.lang).into_response())
}

/// `GET /calls/{id}/intake`: the call's intake, opened on first use.
pub async fn for_call(
    State(state): State<AppState>,
    session: Session,
    Path(call): Path<String>,
) -> Response {
    if let Err(e) = session.require(&INTAKE_ROLES) {
        return e.into_response();
    }
    let Ok(call) = call.parse::<uuid::Uuid>().map(CallId) else {
        return PageError::not_found(session.lang).into_response();
    };
    let id = match intakes::open(
        &state.db,
        Some(call),
        Source::Call,
        session.user.id,
        Utc::now(),
    )
    .await
    {
        Ok(id) => id,
        Err(e) => return intake_error(e, session.lang),
    };
    if let Err(r) = audited(
        &state,
        &session,
        "intake.open",
        "intake",
        id.to_string(),
        serde_json::json!({ "call": call }),
    )
    .await
    {
        return r;
    }
    state.board.poke();
    Redirect::to(&format!("/intakes/{id}")).into_response()
}

#[derive(Template)]
#[template(path = "intake_new.html")]
struct NewPage {
    chrome: Chrome,
    sources: Vec<(&'static str, &'static str)>,
}

/// `GET /intakes/new`: an intake without a call.
pub async fn new_form(session: Session) -> Response {
    if let Err(e) = session.require(&INTAKE_ROLES) {
        return e.into_response();
    }
    let sources = Source::WITHOUT_CALL
        .into_iter()
        .map(|s| {
            let (it, en) = s.labels();
            (s.as_str(), session.lang.pick(it, en))
        })
        .collect();
    render(&NewPage {
        chrome: Chrome::of(&session, "intake.new"),
        sources,
    })
}

/// `POST /intakes`
pub async fn create(State(state): State<AppState>, posted: Posted) -> Response {
    let Posted { session, form } = posted;
    if let Err(e) = session.require(&INTAKE_ROLES) {
        return e.into_response();
    }
    let source = match form.text("source").parse::<Source>() {
        Ok(s) if s != Source::Call => s,
        _ => {
            return PageError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                session.lang,
                session.lang.pick(
                    "Scegli da dove arriva la richiesta.",
                    "Choose where the request comes from.",
                ),
            )
            .into_response()
        }
    };
    let id = match intakes::open(&state.db, None, source, session.user.id, Utc::now()).await {
        Ok(id) => id,
        Err(e) => return intake_error(e, session.lang),
    };
    if let Err(r) = audited(
        &state,
        &session,
        "intake.open",
        "intake",
        id.to_string(),
        serde_json::json!({ "source": source.as_str() }),
    )
    .await
    {
        return r;
    }
    Redirect::to(&format!("/intakes/{id}")).into_response()
}

/// A step in the side list.
pub struct StepLink {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// The one shown.
    pub current: bool,
}

#[derive(Template)]
#[template(path = "intake_step.html")]
struct StepPage {
    chrome: Chrome,
    intake_id: i64,
    version: i64,
    steps: Vec<StepLink>,
    step_id: String,
    title: String,
    help: Option<String>,
    questions: Vec<QuestionView>,
    errors: Vec<String>,
    triage: Option<TriagePanel>,
    complete: bool,
}

/// The triage as the side panel shows it.
pub struct TriagePanel {
    /// "P1".
    pub priority: String,
    /// "P1: minore a rischio, pericolo immediato".
    pub summary: String,
    /// Safety lines.
    pub safety: Vec<String>,
    /// Overridden by the operator, with the reason.
    pub overridden: Option<String>,
}

pub(super) fn triage_panel(lang: Lang, intake: &Intake) -> Option<TriagePanel> {
    let triage = intake.triage.as_ref()?;
    let summary = match lang {
        Lang::It => triage.summary_it(),
        Lang::En => triage.summary_en(),
    };
    let priority = intake.priority().unwrap_or(triage.priority);
    Some(TriagePanel {
        priority: priority.as_str().to_string(),
        summary,
        safety: triage
            .safety
            .iter()
            .map(|t| lang.pick(&t.it, &t.en).to_string())
            .collect(),
        overridden: intake
            .priority_override
            .as_ref()
            .map(|(p, reason)| format!("{p}: {reason}")),
    })
}

/// `?step=ID`
#[derive(Debug, Deserialize)]
pub struct StepQuery {
    step: Option<String>,
}

/// `GET /intakes/{id}`: a step of the intake (the first, or `?step=`).
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    Query(q): Query<StepQuery>,
) -> Response {
    if let Err(e) = session.require(&INTAKE_ROLES) {
        return e.into_response();
    }
    let intake = match intakes::get(&state.db, id).await {
        Ok(i) => i,
        Err(e) => return intake_error(e, session.lang),
    };
    if let Err(r) = audited(
        &state,
        &session,
        "intake.view",
        "intake",
        id.to_string(),
        serde_json::json!({ "step": q.step }),
    )
    .await
    {
        return r;
    }
    let questionnaire = &state.questionnaire;
    let visible: Vec<&Step> = questionnaire.visible_steps(&intake.answers).collect();
    let step = q
        .step
        .as_deref()
        .and_then(|s| visible.iter().find(|v| v.id == s).copied())
        .or_else(|| visible.first().copied());
    let Some(step) = step else {
        return Redirect::to(&format!("/intakes/{id}/summary")).into_response();
    };
    step_page(&state, &session, &intake, step, None, &[], StatusCode::OK)
}

fn step_page(
    state: &AppState,
    session: &Session,
    intake: &Intake,
    step: &Step,
    typed: Option<&FormData>,
    errors: &[AnswerError],
    status: StatusCode,
) -> Response {
    let lang = session.lang;
    let questionnaire = &state.questionnaire;
    let steps = questionnaire
        .visible_steps(&intake.answers)
        .map(|s| StepLink {
            id: s.id.clone(),
            title: lang.pick(&s.title.it, &s.title.en).to_string(),
            current: s.id == step.id,
        })
        .collect();
    // After a refusal the page shows what was typed, not what is stored.
    let shown_answers = match typed {
        Some(form) => merged(state, intake, step, form).unwrap_or_else(|_| intake.answers.clone()),
        None => intake.answers.clone(),
    };
    let questions = step
        .questions
        .iter()
        .filter(|q| {
            questionnaire
                .visible_questions(step, &shown_answers)
                .any(|v| v.id == q.id)
        })
        .map(|q| {
            let error = errors
                .iter()
                .find(|e| e.question == q.id)
                .map(|e| &e.message);
            question_view(
                lang,
                q,
                &shown_answers,
                typed.and_then(|f| f.get(&q.id)),
                error,
            )
        })
        .collect();
    let page = StepPage {
        chrome: Chrome::of(session, "intake.title"),
        intake_id: intake.id,
        version: intake.version,
        steps,
        step_id: step.id.clone(),
        title: lang.pick(&step.title.it, &step.title.en).to_string(),
        help: step
            .help
            .as_ref()
            .map(|h| lang.pick(&h.it, &h.en).to_string()),
        questions,
        errors: errors
            .iter()
            .map(|e| lang.pick(&e.message.it, &e.message.en).to_string())
            .collect(),
        triage: triage_panel(lang, intake),
        complete: intake.complete,
    };
    (status, render(&page)).into_response()
}

/// The intake's answers with this step's replaced by the form's (an unticked box or an
/// emptied field removes the answer).
fn merged(
    state: &AppState,
    intake: &Intake,
    step: &Step,
    form: &FormData,
) -> Result<Answers, Vec<AnswerError>> {
    let pairs: Vec<(String, String)> = form
        .0
        .iter()
        .filter(|(k, _)| !CONTROL_FIELDS.contains(&k.as_str()))
        .filter(|(k, _)| step.questions.iter().any(|q| &q.id == k))
        .cloned()
        .collect();
    let stranger = form.0.iter().find(|(k, _)| {
        !CONTROL_FIELDS.contains(&k.as_str()) && !step.questions.iter().any(|q| &q.id == k)
    });
    if let Some((name, _)) = stranger {
        return Err(vec![AnswerError {
            question: name.clone(),
            message: crate::triage::Text::new(
                "Il modulo contiene un campo che questo passo non prevede.",
                "The form holds a field this step does not have.",
            ),
        }]);
    }
    let given = state.questionnaire.answers_from_form(&pairs)?;
    let mut answers = intake.answers.clone();
    for q in &step.questions {
        answers.0.remove(&q.id);
    }
    for (k, v) in given.0 {
        answers.set(k, v);
    }
    Ok(answers)
}

/// `POST /intakes/{id}/steps/{step}`: saves the step as a draft and goes on.
pub async fn save_step(
    State(state): State<AppState>,
    Path((id, step_id)): Path<(i64, String)>,
    posted: Posted,
) -> Response {
    let Posted { session, form } = posted;
    if let Err(e) = session.require(&INTAKE_ROLES) {
        return e.into_response();
    }
    let lang = session.lang;
    let intake = match intakes::get(&state.db, id).await {
        Ok(i) => i,
        Err(e) => return intake_error(e, lang),
    };
    let Some(step) = state.questionnaire.step(&step_id) else {
        return PageError::not_found(lang).into_response();
    };
    let Ok(version) = form.text("version").parse::<i64>() else {
        return PageError::bad_form(lang).into_response();
    };
    let checked =
        merged(&state, &intake, step, &form).and_then(|a| state.questionnaire.check_draft(&a));
    let answers = match checked {
        Ok(a) => a,
        Err(errors) => {
            tracing::info!(intake = id, fields = ?errors.iter().map(|e| &e.question).collect::<Vec<_>>(), "intake answers refused");
            return step_page(
                &state,
                &session,
                &intake,
                step,
                Some(&form),
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let triage = state.triage.evaluate(&answers);
    if let Err(e) = intakes::save(
        &state.db,
        id,
        version,
        &answers,
        &triage,
        intake.complete,
        Utc::now(),
    )
    .await
    {
        return intake_error(e, lang);
    }
    let detail = serde_json::json!({ "step": step.id, "priority": triage.priority.as_str() });
    if let Err(r) = audited(
        &state,
        &session,
        "intake.save",
        "intake",
        id.to_string(),
        detail,
    )
    .await
    {
        return r;
    }
    // The next step shown for the new answers (a "yes" to danger brings the emergency
    // step right after), else the summary.
    let visible: Vec<&Step> = state.questionnaire.visible_steps(&answers).collect();
    let next = visible
        .iter()
        .position(|s| s.id == step.id)
        .and_then(|i| visible.get(i + 1));
    let to = match (form.text("go"), next) {
        ("stay", _) => format!("/intakes/{id}?step={}", step.id),
        (_, Some(next)) => format!("/intakes/{id}?step={}", next.id),
        (_, None) => format!("/intakes/{id}/summary"),
    };
    Redirect::to(&to).into_response()
}

/// A row of the routing proposal.
pub struct ProposalRow {
    /// Row index (form field suffix).
    pub index: usize,
    /// Proposed unit code (or the coordinator's).
    pub unit: String,
    /// Services it is for, in words.
    pub services: String,
    /// Why.
    pub reason: String,
}

/// One answered question in the summary.
pub struct SummaryLine {
    /// The question.
    pub label: String,
    /// The answer.
    pub answer: String,
}

#[derive(Template)]
#[template(path = "intake_summary.html")]
struct SummaryPage {
    chrome: Chrome,
    intake_id: i64,
    version: i64,
    lines: Vec<SummaryLine>,
    triage: Option<TriagePanel>,
    services: Vec<String>,
    priorities: Vec<&'static str>,
    complete: bool,
    subject: Option<String>,
    errors: Vec<String>,
    first_step: String,
    call_id: Option<String>,
    proposals: Vec<ProposalRow>,
    sent: Vec<(i64, String, String, String)>,
    unit_choices: Vec<(String, String)>,
    outcomes: Vec<(&'static str, &'static str, bool)>,
    closing: Option<String>,
    languages: Vec<(&'static str, &'static str, bool)>,
}

async fn summary_page(
    state: &AppState,
    session: &Session,
    intake: &Intake,
    errors: &[AnswerError],
    status: StatusCode,
) -> Response {
    let lang = session.lang;
    let closing = match intake.call_id {
        Some(call) => match crate::calls::outcome::get(&state.db, call).await {
            Ok(c) => c,
            Err(e) => return PageError::from_db(e, lang).into_response(),
        },
        None => None,
    };
    let outcomes = crate::calls::outcome::Outcome::ALL
        .into_iter()
        .map(|o| {
            let (it, en) = o.labels();
            (
                o.as_str(),
                lang.pick(it, en),
                closing.as_ref().is_some_and(|c| c.outcome == o),
            )
        })
        .collect();
    let closing = closing.map(|c| {
        let (it, en) = c.outcome.labels();
        match c.wrap_up_seconds {
            Some(s) => format!(
                "{} · {} {}:{:02}",
                lang.pick(it, en),
                lang.t("intake.wrap_up"),
                s / 60,
                s % 60
            ),
            None => lang.pick(it, en).to_string(),
        }
    });
    let proposals = if intake
        .triage
        .as_ref()
        .is_some_and(|t| t.priority != crate::triage::Priority::P4)
    {
        match super::referrals_page::proposal(state, intake).await {
            Ok(p) => p,
            Err(e) => return PageError::from_db(e, lang).into_response(),
        }
    } else {
        Vec::new()
    };
    let proposals = proposals
        .into_iter()
        .enumerate()
        .map(|(index, p)| ProposalRow {
            index,
            unit: p
                .unit
                .unwrap_or_else(|| crate::referral::referrals::COORDINATOR.to_string()),
            services: crate::referral::routing::service_names(
                &state.directory.current(),
                lang,
                &p.services,
            ),
            reason: lang.pick(&p.reason.it, &p.reason.en).to_string(),
        })
        .collect();
    let sent = match crate::referral::referrals::for_intake(&state.db, intake.id).await {
        Ok(list) => list
            .into_iter()
            .map(|r| {
                let unit = super::referrals_page::unit_name(state, lang, &r.unit_code);
                let ack = r.acknowledged.map(|(_, by, _, _)| by).unwrap_or_default();
                (r.id, unit, r.state, ack)
            })
            .collect(),
        Err(e) => return PageError::from_db(e, lang).into_response(),
    };
    let mut unit_choices: Vec<(String, String)> = state
        .directory
        .current()
        .active_units()
        .map(|u| (u.code.clone(), u.name.clone()))
        .collect();
    unit_choices.push((
        crate::referral::referrals::COORDINATOR.to_string(),
        super::referrals_page::unit_name(state, lang, crate::referral::referrals::COORDINATOR),
    ));
    let spoken = intake.answers.choice("language").unwrap_or("");
    let languages = crate::triage::languages::languages()
        .map(|l| (l.code, lang.pick(l.it, l.en), l.code == spoken))
        .collect();
    let lines = state
        .questionnaire
        .questions()
        .filter_map(|q| {
            intake.answers.get(&q.id).map(|a| SummaryLine {
                label: lang.pick(&q.label.it, &q.label.en).to_string(),
                answer: answer_text(lang, q, a),
            })
        })
        .collect();
    let services = intake
        .triage
        .as_ref()
        .map(|t| services_of(state, lang, t))
        .unwrap_or_default();
    let page = SummaryPage {
        chrome: Chrome::of(session, "intake.summary"),
        intake_id: intake.id,
        version: intake.version,
        lines,
        triage: triage_panel(lang, intake),
        services,
        priorities: Priority::ALL.iter().map(|p| p.as_str()).collect(),
        complete: intake.complete,
        subject: intake.subject.as_ref().map(|(_, code)| code.clone()),
        errors: errors
            .iter()
            .map(|e| lang.pick(&e.message.it, &e.message.en).to_string())
            .collect(),
        first_step: state
            .questionnaire
            .steps
            .first()
            .map(|s| s.id.clone())
            .unwrap_or_default(),
        call_id: intake.call_id.map(|c| c.to_string()),
        proposals,
        sent,
        unit_choices,
        outcomes,
        closing,
        languages,
    };
    (status, render(&page)).into_response()
}

fn services_of(state: &AppState, lang: Lang, triage: &Triage) -> Vec<String> {
    let directory = state.directory.current();
    triage
        .services
        .iter()
        .map(|code| crate::referral::routing::service_label(&directory, lang, code))
        .collect()
}

/// `GET /intakes/{id}/summary`
pub async fn summary(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> Response {
    if let Err(e) = session.require(&INTAKE_ROLES) {
        return e.into_response();
    }
    let intake = match intakes::get(&state.db, id).await {
        Ok(i) => i,
        Err(e) => return intake_error(e, session.lang),
    };
    if let Err(r) = audited(
        &state,
        &session,
        "intake.view",
        "intake",
        id.to_string(),
        serde_json::json!({ "step": "summary" }),
    )
    .await
    {
        return r;
    }
    summary_page(&state, &session, &intake, &[], StatusCode::OK).await
}

/// `POST /intakes/{id}/complete`: every required answer given, the intake is final.
pub async fn complete(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    posted: Posted,
) -> Response {
    let Posted { session, form } = posted;
    if let Err(e) = session.require(&INTAKE_ROLES) {
        return e.into_response();
    }
    let intake = match intakes::get(&state.db, id).await {
        Ok(i) => i,
        Err(e) => return intake_error(e, session.lang),
    };
    let Ok(version) = form.text("version").parse::<i64>() else {
        return PageError::bad_form(session.lang).into_response();
    };
    let answers = match state.questionnaire.check(&intake.answers) {
        Ok(a) => a,
        Err(errors) => {
            return summary_page(
                &state,
                &session,
                &intake,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let triage = state.triage.evaluate(&answers);
    if let Err(e) = intakes::save(&state.db, id, version, &answers, &triage, true, Utc::now()).await
    {
        return intake_error(e, session.lang);
    }
    let detail = serde_json::json!({ "priority": triage.priority.as_str() });
    if let Err(r) = audited(
        &state,
        &session,
        "intake.complete",
        "intake",
        id.to_string(),
        detail,
    )
    .await
    {
        return r;
    }
    Redirect::to(&format!("/intakes/{id}/summary")).into_response()
}

/// `POST /intakes/{id}/override`: the operator sets the priority, with a reason.
pub async fn override_priority(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    posted: Posted,
) -> Response {
    let Posted { session, form } = posted;
    if let Err(e) = session.require(&INTAKE_ROLES) {
        return e.into_response();
    }
    let lang = session.lang;
    let intake = match intakes::get(&state.db, id).await {
        Ok(i) => i,
        Err(e) => return intake_error(e, lang),
    };
    let reason = form.text("reason");
    let priority = match form.text("priority") {
        "" => None,
        p => match p.parse::<Priority>() {
            Ok(p) => Some(p),
            Err(_) => return PageError::bad_form(lang).into_response(),
        },
    };
    let refusal = match (priority, reason) {
        (Some(_), "") => Some((
            "Scrivi il motivo della modifica della priorità.",
            "Write why the priority is changed.",
        )),
        (Some(_), r) if crate::triage::find_identifying(r).is_some() => Some((
            "Il motivo contiene dati che identificano una persona: toglili.",
            "The reason contains identifying data: remove it.",
        )),
        _ => None,
    };
    if let Some((it, en)) = refusal {
        let error = AnswerError {
            question: "reason".into(),
            message: crate::triage::Text::new(it, en),
        };
        return summary_page(
            &state,
            &session,
            &intake,
            &[error],
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let setting = priority.map(|p| (p, reason));
    if let Err(e) = intakes::set_override(&state.db, id, setting, Utc::now()).await {
        return intake_error(e, lang);
    }
    let detail = serde_json::json!({
        "computed": intake.triage.as_ref().map(|t| t.priority.as_str()),
        "override": priority.map(|p| p.as_str()),
        "reason": reason,
    });
    if let Err(r) = audited(
        &state,
        &session,
        "intake.override",
        "intake",
        id.to_string(),
        detail,
    )
    .await
    {
        return r;
    }
    Redirect::to(&format!("/intakes/{id}/summary")).into_response()
}
