//! What the demo writes besides the calls: its operators, and intakes in batches (one
//! transaction for many, where the console would commit each).

use chrono::{DateTime, Utc};
use rand::RngCore;
use secrecy::SecretString;

use crate::auth::{users, Role, UserError};
use crate::calls::CallId;
use crate::db::{Db, DbError};
use crate::with_db;

/// How many demo operators answer the calls.
pub const OPERATORS: usize = 6;

/// Calls already in the database.
pub async fn count_calls(db: &Db) -> Result<i64, DbError> {
    Ok(with_db!(db, |pool| sqlx::query_scalar::<_, i64>(
        "select count(*) from calls"
    )
    .fetch_one(pool)
    .await?))
}

/// The demo operators' ids, made when missing. Their passwords are random and never
/// shown: the accounts exist so that calls and intakes name an operator, not to sign in.
pub async fn operators(db: &Db, now: DateTime<Utc>) -> Result<Vec<i64>, UserError> {
    let mut ids = Vec::with_capacity(OPERATORS);
    for n in 1..=OPERATORS {
        let name = format!("demo.operator{n}");
        let existing: Option<i64> = with_db!(db, |pool| sqlx::query_scalar(
            "select id from users where username = $1"
        )
        .bind(&name)
        .fetch_optional(pool)
        .await
        .map_err(DbError::from)?);
        let id = match existing {
            Some(id) => id,
            None => {
                let mut secret = [0u8; 24];
                rand::thread_rng().fill_bytes(&mut secret);
                let password = SecretString::from(hex::encode(secret));
                users::add(db, &name, Role::Operator, &password, true, now).await?
            }
        };
        ids.push(id);
    }
    Ok(ids)
}

/// An intake as the console leaves it once complete: opened (version 1) and saved once
/// with its answers and triage (version 2).
pub struct IntakeRow {
    /// The call.
    pub call_id: CallId,
    /// The checked answers, as JSON.
    pub answers: String,
    /// The triage, as JSON.
    pub triage: String,
    /// The triage's priority.
    pub priority: &'static str,
    /// The operator.
    pub by: i64,
    /// Opened.
    pub created_at: DateTime<Utc>,
    /// Completed.
    pub updated_at: DateTime<Utc>,
}

/// Writes intakes in one transaction; returns their ids, in order.
pub async fn insert_intakes(db: &Db, rows: &[IntakeRow]) -> Result<Vec<i64>, DbError> {
    let sql = "insert into intakes (call_id, source, answers, status, triage, priority, created_by, \
               created_at, updated_at, version) values ($1, 'call', $2, 'complete', $3, $4, $5, $6, $7, 2) \
               returning id";
    let ids = with_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        let mut ids = Vec::with_capacity(rows.len());
        for r in rows {
            let id: i64 = sqlx::query_scalar(sql)
                .bind(r.call_id)
                .bind(&r.answers)
                .bind(&r.triage)
                .bind(r.priority)
                .bind(r.by)
                .bind(r.created_at)
                .bind(r.updated_at)
                .fetch_one(&mut *tx)
                .await?;
            ids.push(id);
        }
        tx.commit().await?;
        ids
    });
    Ok(ids)
}
