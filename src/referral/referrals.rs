//! Referrals as stored: no caller's number and no name — the subject's code, the
//! priority, exploitation types, services needed, language and mediator language, the
//! operator's message, the unit and why it was chosen — and where each stands: sent,
//! acknowledged (accepted), declined, closed with an outcome.

use chrono::{DateTime, Utc};

use crate::db::{Db, DbError};
use crate::triage::{Priority, Text};
use crate::with_db;

/// The pseudo-unit code of a referral to the regional coordinator.
pub const COORDINATOR: &str = "_coordinator";

/// A referral to create.
#[derive(Debug, Clone)]
pub struct NewReferral {
    /// The intake it comes from.
    pub intake_id: i64,
    /// The subject, when the intake has one.
    pub subject_id: Option<i64>,
    /// The unit (or [`COORDINATOR`]).
    pub unit_code: String,
    /// Priority in force.
    pub priority: Priority,
    /// Why this unit.
    pub reason: Text,
    /// Exploitation type codes.
    pub exploitation: Vec<String>,
    /// Service codes.
    pub services: Vec<String>,
    /// Language of the person concerned.
    pub language: Option<String>,
    /// Language a mediator is needed for.
    pub mediator_language: Option<String>,
    /// The operator's message (already checked for identifying data).
    pub message: String,
    /// Who sends it.
    pub created_by: i64,
}

/// A referral as read back.
#[derive(Debug, Clone)]
pub struct Referral {
    /// Id.
    pub id: i64,
    /// Intake.
    pub intake_id: i64,
    /// Subject code.
    pub subject_code: Option<String>,
    /// Unit (or [`COORDINATOR`]).
    pub unit_code: String,
    /// Priority.
    pub priority: Priority,
    /// Why this unit.
    pub reason: Text,
    /// Exploitation type codes.
    pub exploitation: Vec<String>,
    /// Service codes.
    pub services: Vec<String>,
    /// Language.
    pub language: Option<String>,
    /// Mediator language.
    pub mediator_language: Option<String>,
    /// Message.
    pub message: String,
    /// sent, acknowledged, declined, closed.
    pub state: String,
    /// Sent by (user name).
    pub created_by: String,
    /// Sent at.
    pub created_at: DateTime<Utc>,
    /// Acknowledged: when, by whom, how, note.
    pub acknowledged: Option<(DateTime<Utc>, String, String, String)>,
    /// Outcome recorded by the unit.
    pub outcome: Option<String>,
}

/// Why an acknowledgement was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum AckError {
    /// Already acknowledged or declined (by whom).
    #[error("already answered by {0}")]
    AlreadyAnswered(String),
    /// No such referral.
    #[error("no such referral")]
    NotFound,
    /// Storage.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for AckError {
    fn from(e: sqlx::Error) -> Self {
        AckError::Db(e.into())
    }
}

fn json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// Stores a referral; returns its id.
pub async fn create(db: &Db, r: &NewReferral, now: DateTime<Utc>) -> Result<i64, DbError> {
    Ok(with_db!(db, |pool| {
        sqlx::query_scalar(
        "insert into referrals (intake_id, subject_id, unit_code, priority, routing_reason_it, routing_reason_en, \
           exploitation, services, language, mediator_language, message, state, created_by, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'sent', $12, $13) returning id"
    )
    .bind(r.intake_id)
    .bind(r.subject_id)
    .bind(&r.unit_code)
    .bind(r.priority.as_str())
    .bind(&r.reason.it)
    .bind(&r.reason.en)
    .bind(json(&r.exploitation))
    .bind(json(&r.services))
    .bind(&r.language)
    .bind(&r.mediator_language)
    .bind(&r.message)
    .bind(r.created_by)
    .bind(now)
    .fetch_one(pool)
    .await?
    }))
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    intake_id: i64,
    subject_code: Option<String>,
    unit_code: String,
    priority: String,
    reason_it: String,
    reason_en: String,
    exploitation: String,
    services: String,
    language: Option<String>,
    mediator_language: Option<String>,
    message: String,
    state: String,
    created_by: String,
    created_at: DateTime<Utc>,
    acknowledged_at: Option<DateTime<Utc>>,
    acknowledged_by: Option<String>,
    ack_channel: Option<String>,
    ack_note: Option<String>,
    outcome: Option<String>,
}

const SELECT: &str = "select r.id, r.intake_id, s.code as subject_code, r.unit_code, r.priority, \
    r.routing_reason_it as reason_it, r.routing_reason_en as reason_en, \
    r.exploitation, r.services, r.language, r.mediator_language, r.message, r.state, u.username as created_by, r.created_at, \
    r.acknowledged_at, r.acknowledged_by, r.ack_channel, r.ack_note, r.outcome \
    from referrals r join users u on u.id = r.created_by left join subjects s on s.id = r.subject_id";

fn from_row(r: Row) -> Result<Referral, DbError> {
    let id = r.id;
    let corrupt = |what: &str| DbError::Corrupt(format!("referral {id}: {what}"));
    let list = |text: &str| serde_json::from_str::<Vec<String>>(text).map_err(|_| corrupt("codes"));
    Ok(Referral {
        id,
        intake_id: r.intake_id,
        subject_code: r.subject_code,
        priority: r.priority.parse().map_err(|_| corrupt("priority"))?,
        reason: Text::new(&r.reason_it, &r.reason_en),
        exploitation: list(&r.exploitation)?,
        services: list(&r.services)?,
        unit_code: r.unit_code,
        language: r.language,
        mediator_language: r.mediator_language,
        message: r.message,
        state: r.state,
        created_by: r.created_by,
        created_at: r.created_at,
        acknowledged: match (r.acknowledged_at, r.acknowledged_by, r.ack_channel) {
            (Some(at), Some(by), Some(channel)) => {
                Some((at, by, channel, r.ack_note.unwrap_or_default()))
            }
            _ => None,
        },
        outcome: r.outcome,
    })
}

/// One referral.
pub async fn get(db: &Db, id: i64) -> Result<Option<Referral>, DbError> {
    let row: Option<Row> = with_db!(db, |pool| sqlx::query_as(&format!(
        "{SELECT} where r.id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?);
    row.map(from_row).transpose()
}

/// A unit's referrals, newest first.
pub async fn for_unit(db: &Db, unit: &str, limit: i64) -> Result<Vec<Referral>, DbError> {
    let rows: Vec<Row> = with_db!(db, |pool| sqlx::query_as(&format!(
        "{SELECT} where r.unit_code = $1 order by r.created_at desc, r.id desc limit $2"
    ))
    .bind(unit)
    .bind(limit)
    .fetch_all(pool)
    .await?);
    rows.into_iter().map(from_row).collect()
}

/// An intake's referrals, oldest first.
pub async fn for_intake(db: &Db, intake: i64) -> Result<Vec<Referral>, DbError> {
    let rows: Vec<Row> = with_db!(db, |pool| sqlx::query_as(&format!(
        "{SELECT} where r.intake_id = $1 order by r.created_at, r.id"
    ))
    .bind(intake)
    .fetch_all(pool)
    .await?);
    rows.into_iter().map(from_row).collect()
}

/// Records the unit's answer (accepted or declined) if nobody answered yet.
pub async fn answer(
    db: &Db,
    id: i64,
    accepted: bool,
    by: &str,
    channel: &str,
    note: &str,
    now: DateTime<Utc>,
) -> Result<(), AckError> {
    let state = if accepted { "acknowledged" } else { "declined" };
    let changed = with_db!(db, |pool| {
        sqlx::query(
        "update referrals set state = $1, acknowledged_at = $2, acknowledged_by = $3, ack_channel = $4, ack_note = $5 \
         where id = $6 and state = 'sent'"
    )
    .bind(state)
    .bind(now)
    .bind(by)
    .bind(channel)
    .bind(note)
    .bind(id)
    .execute(pool)
    .await?
    .rows_affected()
    });
    if changed == 1 {
        return Ok(());
    }
    match get(db, id).await? {
        None => Err(AckError::NotFound),
        Some(r) => Err(AckError::AlreadyAnswered(
            r.acknowledged.map(|(_, by, _, _)| by).unwrap_or_default(),
        )),
    }
}

/// Records the unit's outcome (contact made, programme, placement, …).
pub async fn record_outcome(
    db: &Db,
    id: i64,
    outcome: &str,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    with_db!(db, |pool| {
        sqlx::query(
        "update referrals set outcome = $1, outcome_at = $2, state = case when state = 'acknowledged' then 'closed' else state end \
         where id = $3"
    )
    .bind(outcome)
    .bind(now)
    .bind(id)
    .execute(pool)
    .await
    .map(|_| ())
    })?;
    Ok(())
}

/// Keeps the digest of an acknowledgement link sent to `contact`. Storing the same link
/// twice is not an error: a step's e-mail and SMS to one contact run at the same time
/// and both may issue it.
pub async fn store_link(
    db: &Db,
    referral: i64,
    digest: &str,
    contact: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), DbError> {
    with_db!(db, |pool| {
        sqlx::query(
        "insert into referral_links (referral_id, token_hash, contact_code, created_at, expires_at) values ($1, $2, $3, $4, $5) \
         on conflict (token_hash) do nothing"
    )
    .bind(referral)
    .bind(digest)
    .bind(contact)
    .bind(now)
    .bind(expires_at)
    .execute(pool)
    .await
    .map(|_| ())
    })?;
    Ok(())
}

/// When the link issued to `contact` for a referral expires, if one was issued.
pub async fn link_expiry(
    db: &Db,
    referral: i64,
    contact: &str,
) -> Result<Option<DateTime<Utc>>, DbError> {
    Ok(with_db!(db, |pool| {
        sqlx::query_scalar(
        "select expires_at from referral_links where referral_id = $1 and contact_code = $2 order by id limit 1"
    )
    .bind(referral)
    .bind(contact)
    .fetch_optional(pool)
    .await?
    }))
}

/// Whether a link (by digest) exists and is unused.
pub async fn link_unused(db: &Db, digest: &str) -> Result<Option<bool>, DbError> {
    let used: Option<Option<DateTime<Utc>>> = with_db!(db, |pool| sqlx::query_scalar(
        "select used_at from referral_links where token_hash = $1"
    )
    .bind(digest)
    .fetch_optional(pool)
    .await?);
    Ok(used.map(|u| u.is_none()))
}

/// Marks a link used; false when it was used already (a second click, a replay).
pub async fn use_link(db: &Db, digest: &str, now: DateTime<Utc>) -> Result<bool, DbError> {
    let changed = with_db!(db, |pool| sqlx::query(
        "update referral_links set used_at = $1 where token_hash = $2 and used_at is null"
    )
    .bind(now)
    .bind(digest)
    .execute(pool)
    .await?
    .rows_affected());
    Ok(changed == 1)
}
