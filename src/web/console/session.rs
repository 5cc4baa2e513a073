//! Browser sessions of the console: a random cookie (only its SHA-256 is stored), a
//! CSRF token per session, absolute and idle expiry, and the extractor that turns a
//! request into its signed-in user or a redirect to the sign-in form.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::page::PageError;
use crate::app::AppState;
use crate::auth::{AuthUser, Role};
use crate::db::{Db, DbError};
use crate::web::i18n::Lang;
use crate::with_db;

/// The session cookie.
pub const SESSION_COOKIE: &str = "helpline_session";

/// A signed-in user's session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Row id.
    pub id: i64,
    /// The user.
    pub user: AuthUser,
    /// The token every form of this session carries.
    pub csrf: String,
    /// The user must choose a new password before anything else.
    pub must_change_password: bool,
    /// The client's address (for the audit log).
    pub address: String,
    /// The console's language for this request.
    pub lang: Lang,
    /// Whether the request came over TLS (the session cookie is then Secure).
    pub tls: bool,
}

impl Session {
    /// Whether the user has one of `roles`.
    pub fn is(&self, roles: &[Role]) -> bool {
        roles.contains(&self.user.role)
    }

    /// Refuses with 403 unless the user has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), PageError> {
        if self.is(roles) {
            Ok(())
        } else {
            Err(PageError::forbidden(self.lang))
        }
    }

    /// A readable actor for the audit log.
    pub fn actor(&self) -> String {
        format!("user:{}", self.user.username)
    }
}

/// A fresh random token (256 bits, URL-safe).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Starts a session; returns the cookie's value.
pub async fn create(
    db: &Db,
    user_id: i64,
    address: &str,
    now: DateTime<Utc>,
    hours: u64,
) -> Result<String, DbError> {
    let token = random_token();
    let expires = now + Duration::hours(i64::try_from(hours).unwrap_or(12));
    with_db!(db, |pool| {
        sqlx::query(
        "insert into sessions (token_hash, user_id, csrf_token, address, created_at, last_seen_at, expires_at) \
         values ($1, $2, $3, $4, $5, $5, $6)"
    )
    .bind(digest(&token))
    .bind(user_id)
    .bind(random_token())
    .bind(address)
    .bind(now)
    .bind(expires)
    .execute(pool)
    .await
    .map(|_| ())
    })?;
    Ok(token)
}

/// Ends a session.
pub async fn delete(db: &Db, token: &str) -> Result<(), DbError> {
    with_db!(db, |pool| sqlx::query(
        "delete from sessions where token_hash = $1"
    )
    .bind(digest(token))
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// Ends every session of a user (password changed, user disabled).
pub async fn delete_all_of(db: &Db, user_id: i64) -> Result<(), DbError> {
    with_db!(db, |pool| sqlx::query(
        "delete from sessions where user_id = $1"
    )
    .bind(user_id)
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}

type SessionRow = (i64, i64, String, String, String, bool, DateTime<Utc>);

/// The live session behind a cookie, touched as used now.
pub async fn find(
    db: &Db,
    token: &str,
    now: DateTime<Utc>,
    idle_minutes: u64,
) -> Result<Option<(i64, AuthUser, String, bool)>, DbError> {
    let idle_since = now - Duration::minutes(i64::try_from(idle_minutes).unwrap_or(240));
    let row: Option<SessionRow> = with_db!(db, |pool| {
        sqlx::query_as(
        "select s.id, u.id, u.username, u.role, s.csrf_token, u.must_change_password, s.last_seen_at \
         from sessions s join users u on u.id = s.user_id \
         where s.token_hash = $1 and u.active and s.expires_at > $2 and s.last_seen_at > $3"
    )
    .bind(digest(token))
    .bind(now)
    .bind(idle_since)
    .fetch_optional(pool)
    .await?
    });
    let Some((id, user_id, username, role, csrf, must_change, last_seen)) = row else {
        return Ok(None);
    };
    // Touch at most once a minute: a busy board must not write on every request.
    if now - last_seen > Duration::minutes(1) {
        with_db!(db, |pool| sqlx::query(
            "update sessions set last_seen_at = $1 where id = $2"
        )
        .bind(now)
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ()))?;
    }
    let role = role
        .parse()
        .map_err(|_| DbError::Corrupt(format!("user {user_id} has an unknown role")))?;
    Ok(Some((
        id,
        AuthUser {
            id: user_id,
            username,
            role,
        },
        csrf,
        must_change,
    )))
}

/// The session cookie: HttpOnly, SameSite=Strict, Secure when the console is served
/// over TLS (behind a proxy that says so).
pub fn cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, value))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .path("/")
        .build()
}

/// Whether the request came over TLS (directly or through a proxy saying so).
pub fn is_tls(parts: &Parts) -> bool {
    parts.uri.scheme_str() == Some("https")
        || parts
            .headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
}

/// The client's address as the audit log records it.
pub fn client_address(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Pages a user with a one-time password may still reach.
const ALLOWED_BEFORE_NEW_PASSWORD: [&str; 3] = ["/account/password", "/logout", "/assets/"];

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let lang = Lang::from_request_parts(parts, state)
            .await
            .unwrap_or_default();
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()) else {
            return Err(Redirect::to("/login").into_response());
        };
        let found = find(
            &state.db,
            &token,
            Utc::now(),
            state.config.console.session_idle_minutes,
        )
        .await
        .map_err(|e| PageError::from_db(e, lang).into_response())?;
        let Some((id, user, csrf, must_change_password)) = found else {
            return Err(Redirect::to("/login").into_response());
        };
        let path = parts.uri.path();
        if must_change_password
            && !ALLOWED_BEFORE_NEW_PASSWORD
                .iter()
                .any(|p| path.starts_with(p))
        {
            return Err(Redirect::to("/account/password").into_response());
        }
        Ok(Session {
            id,
            user,
            csrf,
            must_change_password,
            address: client_address(parts),
            lang,
            tls: is_tls(parts),
        })
    }
}
