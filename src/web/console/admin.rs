//! Admins manage users: add one (with a temporary password shown once), change role,
//! unit (for territorial contacts), active flag, work mobile and the languages an
//! operator speaks, reset a password. Every change is
//! audited; an admin cannot lock themselves out.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use secrecy::ExposeSecret;

use super::form::Posted;
use super::page::{render, Chrome, PageError};
use super::session::{self, Session};
use crate::app::AppState;
use crate::auth::manage::{self, UserRow};
use crate::auth::{passwords, users, Role, SpokenLanguages, UserError};
use crate::db::audit::{self, AuditEntry};

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    chrome: Chrome,
    users: Vec<UserRow>,
    roles: Vec<(&'static str, &'static str)>,
    units: Vec<(String, String)>,
    message: Option<String>,
    secret: Option<(String, String)>,
}

impl UsersPage {
    fn role_label(&self, role: &Role) -> &'static str {
        role_label(*role, &self.chrome)
    }
}

fn role_label(role: Role, chrome: &Chrome) -> &'static str {
    let (it, en) = match role {
        Role::Operator => ("Operatore", "Operator"),
        Role::Supervisor => ("Supervisore", "Supervisor"),
        Role::Manager => ("Responsabile", "Manager"),
        Role::Admin => ("Amministratore", "Admin"),
        Role::Contact => ("Referente territoriale", "Territorial contact"),
    };
    chrome.pick(it, en)
}

async fn page(
    state: &AppState,
    session: &Session,
    status: StatusCode,
    message: Option<String>,
    secret: Option<(String, String)>,
) -> Response {
    let users = match manage::list(&state.db).await {
        Ok(u) => u,
        Err(e) => return user_error(e, session),
    };
    let chrome = Chrome::of(session, "admin.users");
    let roles = Role::ALL
        .into_iter()
        .map(|r| (r.as_str(), role_label(r, &chrome)))
        .collect();
    let units = state
        .directory
        .current()
        .active_units()
        .map(|u| (u.code.clone(), u.name.clone()))
        .collect();
    let page = UsersPage {
        chrome,
        users,
        roles,
        units,
        message,
        secret,
    };
    (status, render(&page)).into_response()
}

/// `GET /admin/users`
pub async fn list(State(state): State<AppState>, session: Session) -> Response {
    if let Err(e) = session.require(&[Role::Admin]) {
        return e.into_response();
    }
    page(&state, &session, StatusCode::OK, None, None).await
}

fn refuse(session: &Session, it: &str, en: &str) -> Option<String> {
    Some(session.lang.pick(it, en).to_string())
}

/// `POST /admin/users`: adds a user with a temporary password.
pub async fn add(State(state): State<AppState>, posted: Posted) -> Response {
    let Posted { session, form } = posted;
    if let Err(e) = session.require(&[Role::Admin]) {
        return e.into_response();
    }
    let username = form.text("username").to_lowercase();
    let Ok(role) = form.text("role").parse::<Role>() else {
        let m = refuse(&session, "Ruolo sconosciuto.", "Unknown role.");
        return page(&state, &session, StatusCode::UNPROCESSABLE_ENTITY, m, None).await;
    };
    let unit = match checked_unit(&state, &session, role, form.text("unit")) {
        Ok(u) => u,
        Err(m) => {
            return page(
                &state,
                &session,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(m),
                None,
            )
            .await
        }
    };
    let password = manage::temporary_password();
    let now = Utc::now();
    let id = match users::add(&state.db, &username, role, &password, true, now).await {
        Ok(id) => id,
        Err(UserError::InvalidUsername) => {
            let m = refuse(
                &session,
                "Nome utente non valido: da 3 a 40 caratteri tra a-z, 0-9, '.', '_' e '-'.",
                "Invalid user name: 3 to 40 characters among a-z, 0-9, '.', '_' and '-'.",
            );
            return page(&state, &session, StatusCode::UNPROCESSABLE_ENTITY, m, None).await;
        }
        Err(UserError::Exists(_)) => {
            let m = refuse(
                &session,
                "Esiste già un utente con questo nome.",
                "A user with this name already exists.",
            );
            return page(&state, &session, StatusCode::UNPROCESSABLE_ENTITY, m, None).await;
        }
        Err(e) => return user_error(e, &session),
    };
    if let Err(e) = manage::update(&state.db, id, role, true, unit.as_deref()).await {
        return user_error(e, &session);
    }
    let detail = serde_json::json!({ "username": username, "role": role.as_str(), "unit": unit });
    if let Err(r) = audited(&state, &session, "user.add", id, detail).await {
        return r;
    }
    let secret = Some((username, password.expose_secret().to_string()));
    page(&state, &session, StatusCode::OK, None, secret).await
}

fn checked_unit(
    state: &AppState,
    session: &Session,
    role: Role,
    unit: &str,
) -> Result<Option<String>, String> {
    match (role, unit) {
        (Role::Contact, "") => Err(session
            .lang
            .pick(
                "Un referente territoriale deve appartenere a un'unità.",
                "A territorial contact must belong to a unit.",
            )
            .into()),
        (Role::Contact, code)
            if state
                .directory
                .current()
                .active_units()
                .any(|u| u.code == code) =>
        {
            Ok(Some(code.into()))
        }
        (Role::Contact, _) => Err(session
            .lang
            .pick("Unità sconosciuta.", "Unknown unit.")
            .into()),
        _ => Ok(None),
    }
}

/// `POST /admin/users/{id}`: role, unit, active.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    posted: Posted,
) -> Response {
    let Posted { session, form } = posted;
    if let Err(e) = session.require(&[Role::Admin]) {
        return e.into_response();
    }
    let Ok(role) = form.text("role").parse::<Role>() else {
        let m = refuse(&session, "Ruolo sconosciuto.", "Unknown role.");
        return page(&state, &session, StatusCode::UNPROCESSABLE_ENTITY, m, None).await;
    };
    let active = form.get("active").is_some();
    if id == session.user.id && (role != Role::Admin || !active) {
        let m = refuse(
            &session,
            "Non puoi togliere a te stesso il ruolo di amministratore né disattivarti.",
            "You cannot remove your own admin role or deactivate yourself.",
        );
        return page(&state, &session, StatusCode::UNPROCESSABLE_ENTITY, m, None).await;
    }
    let unit = match checked_unit(&state, &session, role, form.text("unit")) {
        Ok(u) => u,
        Err(m) => {
            return page(
                &state,
                &session,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(m),
                None,
            )
            .await
        }
    };
    // The work mobile, when the form has the field: empty clears it.
    let mobile = form.get("mobile").map(|m| m.trim().to_string());
    if let Some(m) = mobile.as_deref().filter(|m| !m.is_empty()) {
        if !matches!(crate::calls::caller::e164(m), Ok(Some(_))) {
            let m = refuse(
                &session,
                "Il cellulare non è un numero di telefono (es. +39 300 000 0009).",
                "The mobile is not a phone number (e.g. +39 300 000 0009).",
            );
            return page(&state, &session, StatusCode::UNPROCESSABLE_ENTITY, m, None).await;
        }
    }
    // The languages spoken, when the form has the field: codes of the voice menu.
    let languages = match form.get("languages").map(SpokenLanguages::parse) {
        None => None,
        Some(Ok(l)) => Some(l),
        Some(Err(e)) => {
            let m = session.lang.pick(
                "Lingue parlate: codici del menu vocale separati da virgole",
                "Languages spoken: codes of the voice menu separated by commas",
            );
            let m = Some(format!("{m} ({e})."));
            return page(&state, &session, StatusCode::UNPROCESSABLE_ENTITY, m, None).await;
        }
    };
    match manage::get(&state.db, id).await {
        Ok(Some(_)) => {}
        Ok(None) => return PageError::not_found(session.lang).into_response(),
        Err(e) => return user_error(e, &session),
    }
    if let Err(e) = manage::update(&state.db, id, role, active, unit.as_deref()).await {
        return user_error(e, &session);
    }
    if let Some(m) = &mobile {
        let value = Some(m.as_str()).filter(|m| !m.is_empty());
        if let Err(e) = manage::set_mobile(&state.db, id, value).await {
            return user_error(e, &session);
        }
    }
    if let Some(l) = &languages {
        if let Err(e) = manage::set_languages(&state.db, id, l).await {
            return user_error(e, &session);
        }
    }
    if !active {
        if let Err(e) = session::delete_all_of(&state.db, id).await {
            return PageError::from_db(e, session.lang).into_response();
        }
    }
    // Whether a mobile is set, never the number itself (the log holds no numbers).
    let detail = serde_json::json!({
        "role": role.as_str(),
        "active": active,
        "unit": unit,
        "mobile": mobile.map(|m| !m.is_empty()),
        "languages": languages.map(|l| l.to_string()),
    });
    if let Err(r) = audited(&state, &session, "user.update", id, detail).await {
        return r;
    }
    Redirect::to("/admin/users").into_response()
}

/// `POST /admin/users/{id}/reset`: a new temporary password, shown once.
pub async fn reset(State(state): State<AppState>, Path(id): Path<i64>, posted: Posted) -> Response {
    let Posted { session, .. } = posted;
    if let Err(e) = session.require(&[Role::Admin]) {
        return e.into_response();
    }
    let user = match manage::get(&state.db, id).await {
        Ok(Some(u)) => u,
        Ok(None) => return PageError::not_found(session.lang).into_response(),
        Err(e) => return user_error(e, &session),
    };
    let password = manage::temporary_password();
    if let Err(e) = passwords::set(&state.db, id, &password, true).await {
        return user_error(e, &session);
    }
    if let Err(e) = session::delete_all_of(&state.db, id).await {
        return PageError::from_db(e, session.lang).into_response();
    }
    if let Err(r) = audited(
        &state,
        &session,
        "user.password_reset",
        id,
        serde_json::json!({}),
    )
    .await
    {
        return r;
    }
    let secret = Some((user.username, password.expose_secret().to_string()));
    page(&state, &session, StatusCode::OK, None, secret).await
}

async fn audited(
    state: &AppState,
    session: &Session,
    action: &'static str,
    user_id: i64,
    detail: serde_json::Value,
) -> Result<(), Response> {
    let entry = AuditEntry {
        actor_user_id: Some(session.user.id),
        actor: session.actor(),
        action,
        object_kind: "user",
        object_id: user_id.to_string(),
        address: Some(session.address.clone()),
        detail,
    };
    audit::append(&state.db, Utc::now(), &entry)
        .await
        .map_err(|e| PageError::from_db(e, session.lang).into_response())
}

fn user_error(e: UserError, session: &Session) -> Response {
    match e {
        UserError::Db(e) => PageError::from_db(e, session.lang).into_response(),
        other => {
            tracing::error!(error = %other, "user management failed");
            PageError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                session.lang,
                other.to_string(),
            )
            .into_response()
        }
    }
}
