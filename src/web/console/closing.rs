//! Closing a call from the console: the outcome and, from it, the wrap-up time.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;

use super::form::Posted;
use super::intake::{audited, INTAKE_ROLES};
use super::page::PageError;
use crate::app::AppState;
use crate::calls::outcome::{self, Outcome};
use crate::calls::CallId;

/// `POST /calls/{id}/close`: `outcome`, and `back` (a console path) to return to.
pub async fn close(
    State(state): State<AppState>,
    Path(call): Path<String>,
    posted: Posted,
) -> Response {
    let Posted { session, form } = posted;
    if let Err(e) = session.require(&INTAKE_ROLES) {
        return e.into_response();
    }
    let lang = session.lang;
    let Ok(call) = call.parse::<uuid::Uuid>().map(CallId) else {
        return PageError::not_found(lang).into_response();
    };
    let Ok(chosen) = form.text("outcome").parse::<Outcome>() else {
        return PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang,
            lang.pick(
                "Scegli l'esito della chiamata.",
                "Choose the call's outcome.",
            ),
        )
        .into_response();
    };
    let closing = match outcome::close(&state.db, call, chosen, session.user.id, Utc::now()).await {
        Ok(c) => c,
        Err(e) if e.is_foreign_key_violation() => {
            return PageError::not_found(lang).into_response()
        }
        Err(e) => return PageError::from_db(e, lang).into_response(),
    };
    let detail = serde_json::json!({ "outcome": chosen.as_str(), "wrap_up_seconds": closing.wrap_up_seconds });
    if let Err(r) = audited(
        &state,
        &session,
        "call.close",
        "call",
        call.to_string(),
        detail,
    )
    .await
    {
        return r;
    }
    let back = form.text("back");
    let back = if back.starts_with('/') && !back.starts_with("//") {
        back
    } else {
        "/board"
    };
    Redirect::to(back).into_response()
}
