//! Mediation in the console: the operator asks for a mediator for a language, sees who
//! speaks it and who is free now, and moves the request along; a mediation board lists
//! the open requests. Every change is audited.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};

use super::form::Posted;
use super::intake::{audited, intake_error, INTAKE_ROLES};
use super::page::{render, Chrome, PageError};
use super::session::Session;
use crate::app::AppState;
use crate::referral::rota::{self, Person, Target};
use crate::triage::intakes;
use crate::triage::languages;
use crate::triage::mediation::{self, Mediation, MediationError, MediationState};
use crate::web::i18n::Lang;

pub(super) fn mediation_error(e: MediationError, lang: Lang) -> Response {
    let (it, en) = match e {
        MediationError::NotFound => return PageError::not_found(lang).into_response(),
        MediationError::Db(e) => return PageError::from_db(e, lang).into_response(),
        MediationError::Illegal { .. } | MediationError::UnknownState => (
            "Questo passaggio non è possibile dallo stato attuale della richiesta.",
            "This step is not possible from the request's current state.",
        ),
        MediationError::MediatorNeeded => ("Scegli il mediatore.", "Choose the mediator."),
        MediationError::Conflict => (
            "La richiesta è stata cambiata da un'altra persona: ricarica la pagina.",
            "Someone else changed the request: reload the page.",
        ),
    };
    PageError::new(StatusCode::UNPROCESSABLE_ENTITY, lang, lang.pick(it, en)).into_response()
}

/// Audits a change to mediation request `id` and goes back to its page.
pub(super) async fn audited_back(
    state: &AppState,
    session: &Session,
    action: &'static str,
    id: i64,
    detail: serde_json::Value,
) -> Response {
    if let Err(r) = audited(state, session, action, "mediation", id.to_string(), detail).await {
        return r;
    }
    Redirect::to(&format!("/mediation/{id}")).into_response()
}

fn language_name(lang: Lang, code: &str) -> String {
    languages::language(code)
        .map(|l| lang.pick(l.it, l.en).to_string())
        .unwrap_or_else(|| code.to_string())
}

/// `POST /intakes/{id}/mediation`: asks for a mediator for `language`.
pub async fn request(
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
    let language = form.text("language");
    if languages::language(language).is_none() {
        return PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            session.lang,
            session.lang.pick(
                "Scegli la lingua della mediazione.",
                "Choose the mediation language.",
            ),
        )
        .into_response();
    }
    let mid = match mediation::request(
        &state.db,
        intake.call_id,
        Some(id),
        language,
        session.user.id,
        state.clock.now(),
    )
    .await
    {
        Ok(m) => m,
        Err(e) => return mediation_error(e, session.lang),
    };
    // The mediators on call for the language are told at once (e-mail, SMS), and again
    // by the chain of `[escalation.mediation]` until one answers.
    let called = match state
        .escalation
        .call_mediators(mid, language, state.clock.now())
        .await
    {
        Ok(n) => n,
        Err(e) => return PageError::from_db(e, session.lang).into_response(),
    };
    let detail = serde_json::json!({ "intake": id, "language": language, "notifications": called });
    audited_back(&state, &session, "mediation.request", mid, detail).await
}

/// A mediator as the request page lists them.
pub struct MediatorRow {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Mobile, to call them (staff, never a caller).
    pub mobile: String,
    /// Engaged in another mediation now.
    pub engaged: bool,
    /// On call now for this language (the mediators' rota).
    pub on_call: bool,
}

#[derive(Template)]
#[template(path = "mediation.html")]
struct RequestPage {
    chrome: Chrome,
    m: Mediation,
    language: String,
    state_label: String,
    events: Vec<(String, String, DateTime<Utc>)>,
    mediators: Vec<MediatorRow>,
    moves: Vec<(&'static str, String, bool)>,
    /// The request's call is in progress on this node: the mediator can be dialled in.
    live: bool,
    can_dial: bool,
    can_drop: bool,
}

/// The directory's mediators for the request's language, each marked on call now (the
/// mediators' rota) and engaged in another request: who can be called now first, in the
/// rota's order, then the others in the directory's.
pub(super) async fn mediator_rows(
    state: &AppState,
    m: &Mediation,
    lang: Lang,
) -> Result<Vec<MediatorRow>, Response> {
    let engaged = mediation::engaged_mediators(&state.db)
        .await
        .map_err(|e| mediation_error(e, lang))?;
    let target = Target::Mediators(m.language.clone());
    let on_call: Vec<String> = rota::on_call(&state.db, &target, state.clock.now())
        .await
        .map_err(|e| PageError::from_db(e, lang).into_response())?
        .into_iter()
        .filter_map(|oc| match oc.person {
            Person::Mediator(code) => Some(code),
            _ => None,
        })
        .collect();
    let mut rows: Vec<(Option<usize>, MediatorRow)> = state
        .directory
        .current()
        .mediators
        .iter()
        .filter(|d| d.languages.iter().any(|l| l == &m.language))
        .map(|d| {
            let rank = on_call.iter().position(|c| c == &d.code);
            let row = MediatorRow {
                on_call: rank.is_some(),
                code: d.code.clone(),
                name: d.name.clone(),
                mobile: d.mobile.clone(),
                engaged: engaged.contains(&d.code)
                    && m.mediator_code.as_deref() != Some(d.code.as_str()),
            };
            (rank, row)
        })
        .collect();
    rows.sort_by_key(|(rank, d)| (rank.is_none(), d.engaged, *rank));
    Ok(rows.into_iter().map(|(_, row)| row).collect())
}

/// `GET /mediation/{id}`
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> Response {
    if let Err(e) = session.require(&INTAKE_ROLES) {
        return e.into_response();
    }
    let lang = session.lang;
    let m = match mediation::get(&state.db, id).await {
        Ok(m) => m,
        Err(e) => return mediation_error(e, lang),
    };
    let mediators = match mediator_rows(&state, &m, lang).await {
        Ok(rows) => rows,
        Err(r) => return r,
    };
    let label = |s: MediationState| {
        let (it, en) = s.labels();
        lang.pick(it, en).to_string()
    };
    let moves = m
        .state
        .next()
        .iter()
        .filter(|s| s.manual())
        .map(|s| (s.as_str(), label(*s), MediationState::names_mediator(*s)))
        .collect();
    let events = m
        .events
        .iter()
        .map(|(s, med, at)| (label(*s), med.clone().unwrap_or_default(), *at))
        .collect();
    let live = m.call_id.is_some_and(|c| state.live.is_live(c));
    render(&RequestPage {
        chrome: Chrome::of(&session, "mediation.title"),
        live,
        can_dial: live && m.state.next().contains(&MediationState::Ringing),
        can_drop: live && matches!(m.state, MediationState::Ringing | MediationState::Joined),
        language: language_name(lang, &m.language),
        state_label: label(m.state),
        events,
        mediators,
        moves,
        m,
    })
}

/// `POST /mediation/{id}`: `to` a next state, with `mediator` when it names one.
pub async fn change(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    posted: Posted,
) -> Response {
    let Posted { session, form } = posted;
    if let Err(e) = session.require(&INTAKE_ROLES) {
        return e.into_response();
    }
    let to = match form.text("to").parse::<MediationState>() {
        // Ringing and leaving are the call's to report, not an operator's to claim.
        Ok(t) if !t.manual() => return mediation_error(MediationError::UnknownState, session.lang),
        Ok(t) => t,
        Err(e) => return mediation_error(e, session.lang),
    };
    let mediator = Some(form.text("mediator")).filter(|m| !m.is_empty());
    if let Some(code) = mediator {
        if !state
            .directory
            .current()
            .mediators
            .iter()
            .any(|d| d.code == code)
        {
            return mediation_error(MediationError::MediatorNeeded, session.lang);
        }
    }
    if let Err(e) =
        mediation::transition(&state.db, id, to, mediator, session.user.id, Utc::now()).await
    {
        return mediation_error(e, session.lang);
    }
    let detail = serde_json::json!({ "to": to.as_str(), "mediator": mediator });
    audited_back(&state, &session, "mediation.change", id, detail).await
}

/// One open request on the board.
pub struct BoardRow {
    /// Id.
    pub id: i64,
    /// Language name.
    pub language: String,
    /// State label.
    pub state: String,
    /// Mediator.
    pub mediator: String,
    /// Asked at.
    pub requested_at: DateTime<Utc>,
}

#[derive(Template)]
#[template(path = "mediation_board.html")]
struct BoardPage {
    chrome: Chrome,
    rows: Vec<BoardRow>,
}

/// `GET /mediation`: open requests.
pub async fn board(State(state): State<AppState>, session: Session) -> Response {
    if let Err(e) = session.require(&INTAKE_ROLES) {
        return e.into_response();
    }
    let lang = session.lang;
    let open = match mediation::open_requests(&state.db).await {
        Ok(o) => o,
        Err(e) => return mediation_error(e, lang),
    };
    let rows = open
        .into_iter()
        .map(|m| {
            let (it, en) = m.state.labels();
            BoardRow {
                id: m.id,
                language: language_name(lang, &m.language),
                state: lang.pick(it, en).to_string(),
                mediator: m.mediator_code.unwrap_or_default(),
                requested_at: m.requested_at,
            }
        })
        .collect();
    render(&BoardPage {
        chrome: Chrome::of(&session, "mediation.board"),
        rows,
    })
}
