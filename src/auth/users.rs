//! Users and roles.

use std::fmt;
use std::str::FromStr;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Utc};
use rand::distributions::Alphanumeric;
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::db::{Db, DbError};
use crate::with_db;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Answers calls, runs intakes, sends referrals.
    Operator,
    /// An operator who also reads the audit log and merges subjects.
    Supervisor,
    /// Reads statistics and reports, keeps the directory.
    Manager,
    /// Manages users and configuration.
    Admin,
    /// A territorial unit's on-call contact.
    Contact,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [
        Role::Operator,
        Role::Supervisor,
        Role::Manager,
        Role::Admin,
        Role::Contact,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Supervisor => "supervisor",
            Role::Manager => "manager",
            Role::Admin => "admin",
            Role::Contact => "contact",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UserError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UserError::UnknownRole(s.to_string()))
    }
}

/// A signed-in (or token-authenticated) user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    /// Id.
    pub id: i64,
    /// User name.
    pub username: String,
    /// Role.
    pub role: Role,
}

/// Errors about users.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// Not one of the roles.
    #[error("unknown role `{0}`; expected one of operator, supervisor, manager, admin, contact")]
    UnknownRole(String),
    /// A name that cannot be a user name.
    #[error("user name must be 3 to 40 characters among a-z, 0-9, '.', '_' and '-'")]
    InvalidUsername,
    /// Too weak.
    #[error("password must be at least {MIN_PASSWORD_CHARS} characters")]
    WeakPassword,
    /// Taken.
    #[error("user `{0}` already exists")]
    Exists(String),
    /// Not found.
    #[error("no user `{0}`")]
    NotFound(String),
    /// Languages that cannot be a user's.
    #[error(transparent)]
    Languages(#[from] super::languages::LanguagesError),
    /// Hashing failed.
    #[error("password hashing failed")]
    Hash,
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for UserError {
    fn from(e: sqlx::Error) -> Self {
        UserError::Db(e.into())
    }
}

/// Minimum password length.
pub const MIN_PASSWORD_CHARS: usize = 12;

fn valid_username(name: &str) -> bool {
    (3..=40).contains(&name.len())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &SecretString) -> Result<String, UserError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| UserError::Hash)
}

/// Adds a user; returns its id.
pub async fn add(
    db: &Db,
    username: &str,
    role: Role,
    password: &SecretString,
    must_change_password: bool,
    at: DateTime<Utc>,
) -> Result<i64, UserError> {
    if !valid_username(username) {
        return Err(UserError::InvalidUsername);
    }
    if password.expose_secret().chars().count() < MIN_PASSWORD_CHARS {
        return Err(UserError::WeakPassword);
    }
    let hash = hash_password(password)?;
    let result: Result<i64, sqlx::Error> = with_db!(db, |pool| {
        sqlx::query_scalar(
            "insert into users (username, role, password_hash, must_change_password, created_at) \
             values ($1, $2, $3, $4, $5) returning id",
        )
        .bind(username)
        .bind(role.as_str())
        .bind(&hash)
        .bind(must_change_password)
        .bind(at)
        .fetch_one(pool)
        .await
    });
    match result.map_err(DbError::from) {
        Ok(id) => Ok(id),
        Err(e) if e.is_unique_violation() => Err(UserError::Exists(username.to_string())),
        Err(e) => Err(e.into()),
    }
}

/// The active user with this name.
pub async fn find(db: &Db, username: &str) -> Result<AuthUser, UserError> {
    let row: Option<(i64, String, String)> = with_db!(db, |pool| {
        sqlx::query_as("select id, username, role from users where username = $1 and active")
            .bind(username)
            .fetch_optional(pool)
            .await?
    });
    let (id, username, role) = row.ok_or_else(|| UserError::NotFound(username.to_string()))?;
    Ok(AuthUser {
        id,
        username,
        role: role.parse()?,
    })
}

/// Number of users.
pub async fn count(db: &Db) -> Result<i64, DbError> {
    Ok(with_db!(db, |pool| sqlx::query_scalar(
        "select count(*) from users"
    )
    .fetch_one(pool)
    .await?))
}

/// On a database without users, creates `admin` with a random one-time password that
/// must be changed at first sign-in, and returns the password to show once.
pub async fn ensure_first_admin(
    db: &Db,
    at: DateTime<Utc>,
) -> Result<Option<SecretString>, UserError> {
    if count(db).await? > 0 {
        return Ok(None);
    }
    let password: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect();
    let password = SecretString::from(password);
    match add(db, "admin", Role::Admin, &password, true, at).await {
        Ok(_) => Ok(Some(password)),
        // Another node created it first.
        Err(UserError::Exists(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_are_lowercase_words() {
        assert!(valid_username("anna.rossi"));
        assert!(!valid_username("Anna"));
        assert!(!valid_username("an"));
        assert!(!valid_username("anna rossi"));
    }

    #[test]
    fn password_hashes_are_argon2id_and_salted() {
        let p = SecretString::from("correct horse battery".to_string());
        let a = hash_password(&p).unwrap();
        let b = hash_password(&p).unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
    }

    #[test]
    fn unknown_roles_are_refused() {
        assert!("root".parse::<Role>().is_err());
        assert_eq!("manager".parse::<Role>().unwrap(), Role::Manager);
    }
}
