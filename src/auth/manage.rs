//! Managing users from the console: the list, role, active flag, unit of a territorial
//! contact, the languages an operator speaks, and temporary passwords.

use chrono::{DateTime, Utc};
use rand::distributions::Alphanumeric;
use rand::Rng;
use secrecy::SecretString;

use super::languages::SpokenLanguages;
use super::users::{Role, UserError};
use crate::db::Db;
use crate::with_db;

/// A user as the admin page lists it.
#[derive(Debug, Clone)]
pub struct UserRow {
    /// Id.
    pub id: i64,
    /// Name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Can sign in.
    pub active: bool,
    /// Unit of a territorial contact.
    pub unit_code: Option<String>,
    /// Still on a temporary password.
    pub must_change_password: bool,
    /// Work mobile: a night operator's, rung when calls overflow.
    pub mobile: Option<String>,
    /// The languages they speak (the voice menu's).
    pub languages: SpokenLanguages,
    /// Created.
    pub created_at: DateTime<Utc>,
}

type Row = (
    i64,
    String,
    String,
    bool,
    Option<String>,
    bool,
    Option<String>,
    String,
    DateTime<Utc>,
);

/// Every user, by name.
pub async fn list(db: &Db) -> Result<Vec<UserRow>, UserError> {
    let rows: Vec<Row> = with_db!(db, |pool| {
        sqlx::query_as(
        "select id, username, role, active, unit_code, must_change_password, mobile, languages, \
         created_at \
         from users order by username"
    )
    .fetch_all(pool)
    .await?
    });
    rows.into_iter()
        .map(
            |(
                id,
                username,
                role,
                active,
                unit_code,
                must_change_password,
                mobile,
                languages,
                created_at,
            )| {
                Ok(UserRow {
                    id,
                    username,
                    role: role.parse()?,
                    active,
                    unit_code,
                    must_change_password,
                    mobile,
                    languages: SpokenLanguages::from_stored(&languages),
                    created_at,
                })
            },
        )
        .collect()
}

/// One user.
pub async fn get(db: &Db, id: i64) -> Result<Option<UserRow>, UserError> {
    Ok(list(db).await?.into_iter().find(|u| u.id == id))
}

/// Sets role, active flag and unit.
pub async fn update(
    db: &Db,
    id: i64,
    role: Role,
    active: bool,
    unit_code: Option<&str>,
) -> Result<(), UserError> {
    with_db!(db, |pool| sqlx::query(
        "update users set role = $1, active = $2, unit_code = $3 where id = $4"
    )
    .bind(role.as_str())
    .bind(active)
    .bind(unit_code)
    .bind(id)
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// Sets or clears a user's work mobile (written as people write it; E.164 when dialled).
pub async fn set_mobile(db: &Db, id: i64, mobile: Option<&str>) -> Result<(), UserError> {
    with_db!(db, |pool| sqlx::query(
        "update users set mobile = $1 where id = $2"
    )
    .bind(mobile)
    .bind(id)
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// Sets the languages a user speaks.
pub async fn set_languages(db: &Db, id: i64, languages: &SpokenLanguages) -> Result<(), UserError> {
    with_db!(db, |pool| sqlx::query(
        "update users set languages = $1 where id = $2"
    )
    .bind(languages.to_stored())
    .bind(id)
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// The unit of a territorial contact.
pub async fn unit_of(db: &Db, id: i64) -> Result<Option<String>, UserError> {
    let unit: Option<Option<String>> = with_db!(db, |pool| sqlx::query_scalar(
        "select unit_code from users where id = $1"
    )
    .bind(id)
    .fetch_optional(pool)
    .await?);
    Ok(unit.flatten())
}

/// A random temporary password (20 letters and digits), to be replaced at first sign-in.
pub fn temporary_password() -> SecretString {
    SecretString::from(
        rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(20)
            .map(char::from)
            .collect::<String>(),
    )
}
