//! Subjects in the console: give an intake a new pseudonymous code or link it to an
//! existing one, look a code up and see its history, and (supervisors) merge two codes
//! found to be one person. Every view and change is audited.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::form::Posted;
use super::intake::{audited, intake_error, INTAKE_ROLES};
use super::page::{render, Chrome, PageError};
use super::session::Session;
use crate::app::AppState;
use crate::auth::Role;
use crate::triage::intakes;
use crate::triage::subjects::{self, SubjectIntake};

fn unknown_code(session: &Session) -> Response {
    PageError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        session.lang,
        session.lang.pick(
            "Nessun soggetto con questo codice (forma: TOS-2026-00042).",
            "No subject with this code (form: TOS-2026-00042).",
        ),
    )
    .into_response()
}

/// `POST /intakes/{id}/subject`: `new=1` for a new code, or `code=` to link.
pub async fn link(State(state): State<AppState>, Path(id): Path<i64>, posted: Posted) -> Response {
    let Posted { session, form } = posted;
    if let Err(e) = session.require(&INTAKE_ROLES) {
        return e.into_response();
    }
    let now = Utc::now();
    if let Err(e) = intakes::get(&state.db, id).await {
        return intake_error(e, session.lang);
    }
    let subject = if form.get("new").is_some() {
        match subjects::create(
            &state.db,
            &state.config.console.subject_prefix,
            session.user.id,
            now,
        )
        .await
        {
            Ok(s) => {
                let detail = serde_json::json!({ "code": s.code });
                if let Err(r) = audited(
                    &state,
                    &session,
                    "subject.create",
                    "subject",
                    s.id.to_string(),
                    detail,
                )
                .await
                {
                    return r;
                }
                s
            }
            Err(e) => return PageError::from_db(e, session.lang).into_response(),
        }
    } else {
        match subjects::find(&state.db, form.text("code")).await {
            Ok(Some(s)) => s,
            Ok(None) => return unknown_code(&session),
            Err(e) => return PageError::from_db(e, session.lang).into_response(),
        }
    };
    if let Err(e) = intakes::set_subject(&state.db, id, subject.id, now).await {
        return intake_error(e, session.lang);
    }
    let detail = serde_json::json!({ "intake": id, "code": subject.code });
    if let Err(r) = audited(
        &state,
        &session,
        "subject.link",
        "subject",
        subject.id.to_string(),
        detail,
    )
    .await
    {
        return r;
    }
    Redirect::to(&format!("/intakes/{id}/summary")).into_response()
}

#[derive(Template)]
#[template(path = "subject.html")]
struct SubjectPage {
    chrome: Chrome,
    code: String,
    created_at: DateTime<Utc>,
    intakes: Vec<SubjectIntake>,
    can_merge: bool,
}

/// `?code=`
#[derive(Debug, Deserialize)]
pub struct Search {
    code: Option<String>,
}

/// `GET /subjects?code=`: looks a code up.
pub async fn search(session: Session, Query(q): Query<Search>) -> Response {
    if let Err(e) = session.require(&INTAKE_ROLES) {
        return e.into_response();
    }
    match q.code.as_deref().and_then(subjects::normalise_code) {
        Some(code) => Redirect::to(&format!("/subjects/{code}")).into_response(),
        None => unknown_code(&session),
    }
}

/// `GET /subjects/{code}`: the subject's anonymous profile.
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(code): Path<String>,
) -> Response {
    if let Err(e) = session.require(&INTAKE_ROLES) {
        return e.into_response();
    }
    let subject = match subjects::find(&state.db, &code).await {
        Ok(Some(s)) => s,
        Ok(None) => return PageError::not_found(session.lang).into_response(),
        Err(e) => return PageError::from_db(e, session.lang).into_response(),
    };
    if subject.code != code {
        // A merged or differently typed code: show the subject under its code.
        return Redirect::to(&format!("/subjects/{}", subject.code)).into_response();
    }
    let history = match subjects::history(&state.db, subject.id).await {
        Ok(h) => h,
        Err(e) => return PageError::from_db(e, session.lang).into_response(),
    };
    if let Err(r) = audited(
        &state,
        &session,
        "subject.view",
        "subject",
        subject.id.to_string(),
        serde_json::json!({ "code": subject.code }),
    )
    .await
    {
        return r;
    }
    render(&SubjectPage {
        chrome: Chrome::of(&session, "intake.subject"),
        code: subject.code,
        created_at: subject.created_at,
        intakes: history,
        can_merge: session.is(&[Role::Supervisor]),
    })
}

/// `POST /subjects/{code}/merge`: merges `from` (another code) into this subject.
pub async fn merge(
    State(state): State<AppState>,
    Path(code): Path<String>,
    posted: Posted,
) -> Response {
    let Posted { session, form } = posted;
    if let Err(e) = session.require(&[Role::Supervisor]) {
        return e.into_response();
    }
    let (into, from) = match (
        subjects::find(&state.db, &code).await,
        subjects::find(&state.db, form.text("from")).await,
    ) {
        (Ok(Some(a)), Ok(Some(b))) => (a, b),
        (Err(e), _) | (_, Err(e)) => return PageError::from_db(e, session.lang).into_response(),
        _ => return unknown_code(&session),
    };
    if into.id == from.id {
        return PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            session.lang,
            session.lang.pick(
                "I due codici sono già lo stesso soggetto.",
                "The two codes are already one subject.",
            ),
        )
        .into_response();
    }
    if let Err(e) = subjects::merge(&state.db, from.id, into.id).await {
        return PageError::from_db(e, session.lang).into_response();
    }
    let detail = serde_json::json!({ "from": from.code, "into": into.code });
    if let Err(r) = audited(
        &state,
        &session,
        "subject.merge",
        "subject",
        into.id.to_string(),
        detail,
    )
    .await
    {
        return r;
    }
    Redirect::to(&format!("/subjects/{}", into.code)).into_response()
}
