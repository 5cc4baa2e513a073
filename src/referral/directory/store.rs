//! The managed directory's versions in the database: the newest is in use, the older
//! ones are its history. A change is a new row whose number is the previous plus one,
//! so two admins saving at once cannot both win: the second gets [`StoreError::Conflict`]
//! and applies its edit again to the newer version.

use chrono::{DateTime, Utc};

use super::Entries;
use crate::db::audit::{self, AuditEntry};
use crate::db::{Db, DbError};
use crate::with_db;

/// Reading or writing the stored directory failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Somebody saved another version first.
    #[error("the directory changed meanwhile")]
    Conflict,
    /// A stored version cannot be read back (edited by hand?).
    #[error("directory version {version} in the database cannot be read: {message}")]
    Unreadable {
        /// The version.
        version: i64,
        /// Why.
        message: String,
    },
}

/// One version, for the history shown to admins.
#[derive(Debug, Clone)]
pub struct DirectoryVersion {
    /// Its number, from 1.
    pub version: i64,
    /// When it was saved.
    pub changed_at: DateTime<Utc>,
    /// Who saved it (a user name), none for the seed.
    pub changed_by: Option<String>,
    /// What changed.
    pub summary: String,
}

/// The newest version's number, if any (a cheap check other nodes poll).
pub async fn newest(db: &Db) -> Result<Option<i64>, DbError> {
    let n: Option<i64> = with_db!(db, |pool| {
        sqlx::query_scalar("select max(version) from directory_versions")
            .fetch_one(pool)
            .await?
    });
    Ok(n)
}

/// The newest version and its entries, if the database has any.
pub async fn load(db: &Db) -> Result<Option<(i64, Entries)>, StoreError> {
    let row: Option<(i64, String)> = with_db!(db, |pool| {
        sqlx::query_as(
            "select version, entries from directory_versions order by version desc limit 1",
        )
        .fetch_optional(pool)
        .await
        .map_err(DbError::from)?
    });
    let Some((version, json)) = row else {
        return Ok(None);
    };
    let entries = serde_json::from_str(&json).map_err(|e| StoreError::Unreadable {
        version,
        message: e.to_string(),
    })?;
    Ok(Some((version, entries)))
}

/// Stores `entries` as version 1 unless some version exists (several nodes may start
/// at once on an empty database: one seed wins, the others keep it).
pub async fn seed(
    db: &Db,
    entries: &Entries,
    summary: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let json = to_json(entries)?;
    with_db!(db, |pool| {
        sqlx::query(
            "insert into directory_versions (version, entries, changed_at, changed_by, summary) \
             values (1, $1, $2, null, $3) on conflict (version) do nothing",
        )
        .bind(&json)
        .bind(at)
        .bind(summary)
        .execute(pool)
        .await
        .map_err(DbError::from)?;
    });
    Ok(())
}

/// Saves `entries` as version `version` (the newest plus one) with its audit entry, in
/// one transaction.
pub async fn save(
    db: &Db,
    version: i64,
    entries: &Entries,
    summary: &str,
    audit_entry: &AuditEntry,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let json = to_json(entries)?;
    let mut tx = db.begin().await?;
    let inserted = crate::with_tx!(&mut tx, |conn| {
        sqlx::query(
            "insert into directory_versions (version, entries, changed_at, changed_by, summary) \
             values ($1, $2, $3, $4, $5)",
        )
        .bind(version)
        .bind(&json)
        .bind(at)
        .bind(audit_entry.actor_user_id)
        .bind(summary)
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(DbError::from)
    });
    match inserted {
        Ok(()) => {}
        Err(e) if e.is_unique_violation() => return Err(StoreError::Conflict),
        Err(e) => return Err(e.into()),
    }
    audit::append_tx(&mut tx, at, audit_entry).await?;
    tx.commit().await?;
    Ok(())
}

/// The newest `limit` versions, newest first.
pub async fn history(db: &Db, limit: i64) -> Result<Vec<DirectoryVersion>, DbError> {
    let rows: Vec<(i64, DateTime<Utc>, Option<String>, String)> = with_db!(db, |pool| {
        sqlx::query_as(
            "select v.version, v.changed_at, u.username, v.summary from directory_versions v \
             left join users u on u.id = v.changed_by order by v.version desc limit $1",
        )
        .bind(limit)
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(
            |(version, changed_at, changed_by, summary)| DirectoryVersion {
                version,
                changed_at,
                changed_by,
                summary,
            },
        )
        .collect())
}

fn to_json(entries: &Entries) -> Result<String, StoreError> {
    serde_json::to_string(entries).map_err(|e| StoreError::Unreadable {
        version: 0,
        message: e.to_string(),
    })
}
