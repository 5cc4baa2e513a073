//! The signed-in user's own account: changing the password (required after a
//! temporary one).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use secrecy::SecretString;

use super::form::Posted;
use super::page::{render, Chrome, PageError};
use super::session::{self, Session};
use crate::app::AppState;
use crate::auth::passwords::{self, SignIn};
use crate::auth::UserError;
use crate::db::audit::{self, AuditEntry};

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    chrome: Chrome,
    must_change: bool,
    message: Option<&'static str>,
    ok: bool,
}

fn page(session: &Session, message: Option<&'static str>, ok: bool) -> Response {
    render(&PasswordPage {
        chrome: Chrome::of(session, "account.change_password"),
        must_change: session.must_change_password,
        message,
        ok,
    })
}

/// `GET /account/password`
pub async fn show(session: Session) -> Response {
    page(&session, None, false)
}

/// `POST /account/password`
pub async fn change(State(state): State<AppState>, posted: Posted) -> Response {
    let Posted { session, form } = posted;
    let lang = session.lang;
    let refuse = |it: &'static str, en: &'static str| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            page(&session, Some(lang.pick(it, en)), false),
        )
            .into_response()
    };
    let current = SecretString::from(form.get("current").unwrap_or("").to_string());
    let new = form.get("new").unwrap_or("");
    if new != form.get("repeat").unwrap_or("") {
        return refuse(
            "Le due nuove password non coincidono.",
            "The two new passwords differ.",
        );
    }
    match passwords::verify(&state.db, &session.user.username, &current).await {
        Ok(SignIn::Ok(..)) => {}
        Ok(SignIn::Wrong) => {
            return refuse(
                "La password attuale non è corretta.",
                "The current password is wrong.",
            )
        }
        Err(e) => return user_error(e, &session),
    }
    if new == form.get("current").unwrap_or("") {
        return refuse(
            "La nuova password deve essere diversa da quella attuale.",
            "The new password must differ from the current one.",
        );
    }
    let new = SecretString::from(new.to_string());
    match passwords::set(&state.db, session.user.id, &new, false).await {
        Ok(()) => {}
        Err(UserError::WeakPassword) => {
            return refuse(
                "La nuova password deve avere almeno 12 caratteri.",
                "The new password must have at least 12 characters.",
            )
        }
        Err(e) => return user_error(e, &session),
    }
    let now = Utc::now();
    // Other sessions of this user end; this one goes on.
    let ended = session::delete_all_of(&state.db, session.user.id).await;
    let entry = AuditEntry {
        actor_user_id: Some(session.user.id),
        actor: session.actor(),
        action: "user.password_change",
        object_kind: "user",
        object_id: session.user.id.to_string(),
        address: Some(session.address.clone()),
        detail: serde_json::json!({}),
    };
    if let Err(e) = ended {
        return PageError::from_db(e, lang).into_response();
    }
    if let Err(e) = audit::append(&state.db, now, &entry).await {
        return PageError::from_db(e, lang).into_response();
    }
    match session::create(
        &state.db,
        session.user.id,
        &session.address,
        now,
        state.config.console.session_hours,
    )
    .await
    {
        Ok(token) => {
            let jar =
                axum_extra::extract::CookieJar::new().add(session::cookie(token, session.tls));
            (jar, Redirect::to("/")).into_response()
        }
        Err(e) => PageError::from_db(e, lang).into_response(),
    }
}

fn user_error(e: UserError, session: &Session) -> Response {
    match e {
        UserError::Db(e) => PageError::from_db(e, session.lang).into_response(),
        other => {
            tracing::error!(error = %other, "password change failed");
            PageError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                session.lang,
                other.to_string(),
            )
            .into_response()
        }
    }
}
