//! Sign-in, sign-out, the language switch and the start page.

use askama::Template;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::header::REFERER;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;
use chrono::Utc;
use secrecy::SecretString;

use super::form::{read_form, same_token, Posted};
use super::page::{render, Chrome, PageError};
use super::session::{self, client_address, is_tls, random_token, Session, SESSION_COOKIE};
use crate::app::AppState;
use crate::auth::passwords::{self, SignIn};
use crate::auth::Role;
use crate::db::audit::{self, AuditEntry};
use crate::web::i18n::{Lang, LANG_COOKIE};

/// Double-submit cookie protecting the sign-in form (there is no session yet).
const LOGIN_CSRF_COOKIE: &str = "helpline_login_csrf";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    csrf: String,
    username: String,
    message: Option<&'static str>,
}

fn login_page(
    lang: Lang,
    jar: CookieJar,
    secure: bool,
    username: String,
    message: Option<&'static str>,
) -> (CookieJar, Response) {
    let csrf = random_token();
    let cookie = Cookie::build((LOGIN_CSRF_COOKIE, csrf.clone()))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .path("/login")
        .build();
    let page = LoginPage {
        chrome: Chrome::anonymous(lang, "login.title"),
        csrf,
        username,
        message,
    };
    (jar.add(cookie), render(&page))
}

/// `GET /login`
pub async fn show(State(state): State<AppState>, req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    if Session::from_request_parts(&mut parts, &state)
        .await
        .is_ok()
    {
        return Redirect::to("/").into_response();
    }
    let lang = Lang::from_request_parts(&mut parts, &state)
        .await
        .unwrap_or_default();
    let jar = CookieJar::from_headers(&parts.headers);
    login_page(lang, jar, is_tls(&parts), String::new(), None).into_response()
}

/// `POST /login`
pub async fn submit(State(state): State<AppState>, req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let lang = Lang::from_request_parts(&mut parts, &state)
        .await
        .unwrap_or_default();
    let jar = CookieJar::from_headers(&parts.headers);
    let address = client_address(&parts);
    let secure = is_tls(&parts);
    let form = match read_form(Request::from_parts(parts, body), &state, lang).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let expected = jar
        .get(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    if !same_token(form.text("csrf"), &expected) {
        return PageError::csrf(lang).into_response();
    }
    let username = form.text("username").to_lowercase();
    let password = SecretString::from(form.get("password").unwrap_or("").to_string());
    match sign_in(&state, &username, &password, &address).await {
        Ok(Ok((token, must_change))) => {
            let jar = jar
                .remove(Cookie::build(LOGIN_CSRF_COOKIE).path("/login"))
                .add(session::cookie(token, secure));
            let next = if must_change {
                "/account/password"
            } else {
                "/"
            };
            (jar, Redirect::to(next)).into_response()
        }
        Ok(Err(refusal)) => {
            let (status, key) = match refusal {
                Refusal::Wrong => (StatusCode::UNAUTHORIZED, "login.failed"),
                Refusal::Locked => (StatusCode::TOO_MANY_REQUESTS, "login.locked"),
            };
            let (jar, page) = login_page(lang, jar, secure, username, Some(lang.t(key)));
            (status, jar, page).into_response()
        }
        Err(e) => PageError::from_db(e, lang).into_response(),
    }
}

enum Refusal {
    Wrong,
    Locked,
}

async fn sign_in(
    state: &AppState,
    username: &str,
    password: &SecretString,
    address: &str,
) -> Result<Result<(String, bool), Refusal>, crate::db::DbError> {
    let cfg = &state.config.console;
    let db = &state.db;
    let now = Utc::now();
    let locked = |now| {
        passwords::locked_until(
            db,
            username,
            address,
            now,
            cfg.lockout_failures,
            cfg.lockout_minutes,
        )
    };
    // What was typed as a name is logged only when it names an account: people type
    // anything into that field, a phone number included.
    let account = || async {
        match crate::auth::users::find(db, username).await {
            Ok(user) => Ok(Some(user)),
            Err(crate::auth::UserError::NotFound(_)) => Ok(None),
            Err(e) => Err(user_db(e)),
        }
    };
    if locked(now).await?.is_some() {
        let user = account().await?.map(|u| u.username);
        tracing::warn!(
            user = user.as_deref().unwrap_or("(no such account)"),
            address,
            "sign-in refused: locked from this address"
        );
        return Ok(Err(Refusal::Locked));
    }
    let outcome = passwords::verify(db, username, password)
        .await
        .map_err(user_db)?;
    let SignIn::Ok(user, must_change) = outcome else {
        passwords::record_attempt(db, username, address, now, false).await?;
        if let Some(until) = locked(now).await? {
            let user = account().await?;
            let name = user
                .as_ref()
                .map(|u| u.username.as_str())
                .unwrap_or("(no such account)");
            tracing::warn!(user = name, address, %until, "sign-in locked from this address after repeated failures");
            audit::append(
                db,
                now,
                &AuditEntry {
                    actor_user_id: None,
                    actor: "system".into(),
                    action: "auth.lock",
                    object_kind: "user",
                    object_id: user
                        .map(|u| u.id.to_string())
                        .unwrap_or_else(|| "unknown".into()),
                    address: Some(address.to_string()),
                    detail: serde_json::json!({ "until": until }),
                },
            )
            .await?;
            return Ok(Err(Refusal::Locked));
        }
        return Ok(Err(Refusal::Wrong));
    };
    passwords::record_attempt(db, username, address, now, true).await?;
    let token = session::create(db, user.id, address, now, cfg.session_hours).await?;
    audit::append(
        db,
        now,
        &AuditEntry {
            actor_user_id: Some(user.id),
            actor: format!("user:{}", user.username),
            action: "auth.sign_in",
            object_kind: "user",
            object_id: user.id.to_string(),
            address: Some(address.to_string()),
            detail: serde_json::json!({}),
        },
    )
    .await?;
    Ok(Ok((token, must_change)))
}

fn user_db(e: crate::auth::UserError) -> crate::db::DbError {
    match e {
        crate::auth::UserError::Db(e) => e,
        other => crate::db::DbError::Corrupt(other.to_string()),
    }
}

/// `POST /logout`
pub async fn logout(State(state): State<AppState>, jar: CookieJar, posted: Posted) -> Response {
    let Posted { session, .. } = posted;
    if let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()) {
        if let Err(e) = session::delete(&state.db, &token).await {
            return PageError::from_db(e, session.lang).into_response();
        }
    }
    let entry = AuditEntry {
        actor_user_id: Some(session.user.id),
        actor: session.actor(),
        action: "auth.sign_out",
        object_kind: "user",
        object_id: session.user.id.to_string(),
        address: Some(session.address.clone()),
        detail: serde_json::json!({}),
    };
    if let Err(e) = audit::append(&state.db, Utc::now(), &entry).await {
        tracing::warn!(error = %e, "sign-out not audited");
    }
    (
        jar.remove(Cookie::build(SESSION_COOKIE).path("/")),
        Redirect::to("/login"),
    )
        .into_response()
}

/// `GET /lang/{code}`: switches the console's language and goes back to the page it was
/// chosen on (only a path of this site: never an open redirect).
pub async fn switch_lang(Path(code): Path<String>, headers: HeaderMap, jar: CookieJar) -> Response {
    let lang = Lang::from_code(&code);
    let cookie = Cookie::build((LANG_COOKIE, lang.code()))
        .same_site(SameSite::Strict)
        .path("/")
        .permanent()
        .build();
    let back = headers
        .get(REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<Uri>().ok())
        .and_then(|uri| uri.path_and_query().map(|p| p.as_str().to_string()))
        .filter(|p| p.starts_with('/') && !p.starts_with("//") && !p.starts_with("/lang/"))
        .unwrap_or_else(|| "/".into());
    (jar.add(cookie), Redirect::to(&back)).into_response()
}

/// `GET /`: signed out, the sign-in form; signed in, the user's start page.
pub async fn home(session: Session) -> Response {
    let to = match session.user.role {
        Role::Contact => "/cases",
        _ => "/board",
    };
    Redirect::to(to).into_response()
}
