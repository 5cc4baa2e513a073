//! Personal API tokens. The token is shown once; only its SHA-256 is stored (a token has
//! 256 random bits, so a fast hash is enough and lookups stay one index probe).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::users::{AuthUser, UserError};
use crate::db::{Db, DbError};
use crate::with_db;

/// Prefix that makes tokens recognisable (e.g. by secret scanners).
pub const TOKEN_PREFIX: &str = "hlp_";

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates a token for `user_id`; returns the token (to show once) and its id.
pub async fn create(
    db: &Db,
    user_id: i64,
    label: &str,
    at: DateTime<Utc>,
) -> Result<(SecretString, i64), DbError> {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let id: i64 = with_db!(db, |pool| {
        sqlx::query_scalar(
            "insert into api_tokens (user_id, token_hash, label, created_at) values ($1, $2, $3, $4) returning id",
        )
        .bind(user_id)
        .bind(digest(&token))
        .bind(label)
        .bind(at)
        .fetch_one(pool)
        .await?
    });
    Ok((SecretString::from(token), id))
}

/// The active user owning this unrevoked token, if any.
pub async fn authenticate(db: &Db, token: &SecretString) -> Result<Option<AuthUser>, UserError> {
    let token = token.expose_secret();
    if !token.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    let row: Option<(i64, String, String)> = with_db!(db, |pool| {
        sqlx::query_as(
            "select u.id, u.username, u.role from api_tokens t join users u on u.id = t.user_id \
             where t.token_hash = $1 and t.revoked_at is null and u.active",
        )
        .bind(digest(token))
        .fetch_optional(pool)
        .await?
    });
    match row {
        Some((id, username, role)) => Ok(Some(AuthUser {
            id,
            username,
            role: role.parse()?,
        })),
        None => Ok(None),
    }
}
