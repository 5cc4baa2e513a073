//! Signing in with a password, changing it, and the sign-in throttle: after
//! `lockout_failures` failures one account is locked from one address for
//! `lockout_minutes`, and the lock is logged.

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;
use chrono::{DateTime, Duration, Utc};
use secrecy::{ExposeSecret, SecretString};
use sha2::Digest;

use super::users::{hash_password, AuthUser, UserError, MIN_PASSWORD_CHARS};
use crate::db::{Db, DbError};
use crate::with_db;

/// A password hash no password matches, verified when the user does not exist so that
/// a wrong name takes as long as a wrong password.
const DECOY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$8mT3dRwyl7oJ+K4Vd5f5f1xHn2yKqgQ5kT4mS5m1N3o";

/// The outcome of a password check.
#[derive(Debug)]
pub enum SignIn {
    /// Right password: the user, and whether a new password must be chosen first.
    Ok(AuthUser, bool),
    /// Wrong name or password (the two are not told apart).
    Wrong,
}

type UserRow = (i64, String, String, String, bool);

/// Checks a user's password.
pub async fn verify(db: &Db, username: &str, password: &SecretString) -> Result<SignIn, UserError> {
    let row: Option<UserRow> = with_db!(db, |pool| sqlx::query_as(
        "select id, username, role, password_hash, must_change_password from users \
         where username = $1 and active"
    )
    .bind(username)
    .fetch_optional(pool)
    .await?);
    let hash = row
        .as_ref()
        .map(|r| r.3.clone())
        .unwrap_or_else(|| DECOY_HASH.to_string());
    let password = password.clone();
    // argon2id takes tens of milliseconds of CPU by design: off the async threads, so
    // a shift signing in at once does not stall every other request.
    let matches = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.expose_secret().as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .map_err(|_| UserError::Hash)?;
    match row {
        Some((id, username, role, _, must_change)) if matches => Ok(SignIn::Ok(
            AuthUser {
                id,
                username,
                role: role.parse()?,
            },
            must_change,
        )),
        _ => Ok(SignIn::Wrong),
    }
}

/// Sets a user's password (`must_change`: a temporary one, to be replaced at next sign-in).
pub async fn set(
    db: &Db,
    user_id: i64,
    password: &SecretString,
    must_change: bool,
) -> Result<(), UserError> {
    if password.expose_secret().chars().count() < MIN_PASSWORD_CHARS {
        return Err(UserError::WeakPassword);
    }
    let hash = hash_password(password)?;
    with_db!(db, |pool| sqlx::query(
        "update users set password_hash = $1, must_change_password = $2 where id = $3"
    )
    .bind(&hash)
    .bind(must_change)
    .bind(user_id)
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// What sign-in attempts are stored under: a digest of the name typed, since people
/// type anything into a user-name field, a phone number included.
fn attempt_key(username: &str) -> String {
    hex::encode(sha2::Sha256::digest(username.as_bytes()))
}

/// Until when `username` is locked from `address`, if it is at `now`: the lock starts
/// at the `failures`-th failure within `minutes` of the first of them (no success in
/// between) and lasts `minutes`. Attempts during a lock are neither checked nor counted.
pub async fn locked_until(
    db: &Db,
    username: &str,
    address: &str,
    now: DateTime<Utc>,
    failures: u32,
    minutes: u64,
) -> Result<Option<DateTime<Utc>>, DbError> {
    let window = Duration::minutes(i64::try_from(minutes).unwrap_or(15));
    let recent: Vec<(DateTime<Utc>, bool)> = with_db!(db, |pool| {
        sqlx::query_as(
        "select at, succeeded from login_attempts where username = $1 and address = $2 and at > $3 \
         order by at desc limit $4"
    )
    .bind(attempt_key(username))
    .bind(address)
    .bind(now - window - window)
    .bind(i64::from(failures))
    .fetch_all(pool)
    .await?
    });
    let failed: Vec<DateTime<Utc>> = recent
        .iter()
        .take_while(|(_, ok)| !ok)
        .map(|(at, _)| *at)
        .collect();
    let (Some(newest), Some(oldest)) = (failed.first(), failed.last()) else {
        return Ok(None);
    };
    let until = *newest + window;
    let locked = failed.len() >= failures as usize && *newest - *oldest <= window && until > now;
    Ok(locked.then_some(until))
}

/// Records a sign-in attempt.
pub async fn record_attempt(
    db: &Db,
    username: &str,
    address: &str,
    now: DateTime<Utc>,
    succeeded: bool,
) -> Result<(), DbError> {
    with_db!(db, |pool| sqlx::query(
        "insert into login_attempts (username, address, at, succeeded) values ($1, $2, $3, $4)"
    )
    .bind(attempt_key(username))
    .bind(address)
    .bind(now)
    .bind(succeeded)
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decoy_hash_parses_so_unknown_users_cost_a_real_verification() {
        assert!(PasswordHash::new(DECOY_HASH).is_ok());
    }
}
