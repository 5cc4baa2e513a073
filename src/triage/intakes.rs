//! Storage of intakes: the answers (JSON, already checked for identifying data), their
//! triage, the operator's priority override, and the subject they are about. Saves
//! name the version they edited, so two operators on one intake cannot overwrite each
//! other unknowingly.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::answers::Answers;
use super::priority::Priority;
use super::rules::Triage;
use crate::calls::CallId;
use crate::db::{Db, DbError};
use crate::with_db;

/// Where an intake comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A call on the line (bound to its record).
    Call,
    /// A person who came in.
    WalkIn,
    /// An e-mail.
    Email,
    /// A callback by the help-line.
    Callback,
}

impl Source {
    /// Sources an operator may choose for an intake without a call.
    pub const WITHOUT_CALL: [Source; 3] = [Source::WalkIn, Source::Email, Source::Callback];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Call => "call",
            Source::WalkIn => "walk_in",
            Source::Email => "email",
            Source::Callback => "callback",
        }
    }

    /// Italian and English labels.
    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            Source::Call => ("Telefonata", "Phone call"),
            Source::WalkIn => ("Accesso diretto", "Walk-in"),
            Source::Email => ("E-mail", "E-mail"),
            Source::Callback => ("Richiamata", "Callback"),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Source {
    type Err = IntakeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Source::Call,
            Source::WalkIn,
            Source::Email,
            Source::Callback,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
        .ok_or(IntakeError::UnknownSource)
    }
}

/// Why an intake could not be read or saved.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// No such intake.
    #[error("no such intake")]
    NotFound,
    /// Someone saved it since it was read.
    #[error("the intake was changed by someone else since it was opened")]
    Conflict,
    /// Not one of the sources.
    #[error("unknown intake source")]
    UnknownSource,
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for IntakeError {
    fn from(e: sqlx::Error) -> Self {
        IntakeError::Db(e.into())
    }
}

/// An intake as stored.
#[derive(Debug, Clone)]
pub struct Intake {
    /// Id.
    pub id: i64,
    /// The call it is about.
    pub call_id: Option<CallId>,
    /// Where it comes from.
    pub source: Source,
    /// The subject's id and code, when linked.
    pub subject: Option<(i64, String)>,
    /// Answers so far.
    pub answers: Answers,
    /// Draft or complete.
    pub complete: bool,
    /// The triage of the answers.
    pub triage: Option<Triage>,
    /// The operator's priority override and its reason.
    pub priority_override: Option<(Priority, String)>,
    /// Who opened it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Last save.
    pub updated_at: DateTime<Utc>,
    /// Version, for saves.
    pub version: i64,
}

impl Intake {
    /// The priority in force: the override, else the triage's.
    pub fn priority(&self) -> Option<Priority> {
        self.priority_override
            .as_ref()
            .map(|(p, _)| *p)
            .or(self.triage.as_ref().map(|t| t.priority))
    }
}

/// Opens an empty draft; for a call, returns the call's existing intake if it has one.
pub async fn open(
    db: &Db,
    call: Option<CallId>,
    source: Source,
    by: i64,
    now: DateTime<Utc>,
) -> Result<i64, IntakeError> {
    if let Some(call) = call {
        if let Some(id) = for_call(db, call).await? {
            return Ok(id);
        }
    }
    let inserted: Result<i64, sqlx::Error> = with_db!(db, |pool| {
        sqlx::query_scalar(
        "insert into intakes (call_id, source, answers, status, created_by, created_at, updated_at) \
         values ($1, $2, '{}', 'draft', $3, $4, $4) returning id"
    )
    .bind(call)
    .bind(source.as_str())
    .bind(by)
    .bind(now)
    .fetch_one(pool)
    .await
    });
    match inserted.map_err(DbError::from) {
        Ok(id) => Ok(id),
        // Two operators opened the call's intake at once: both get the one that won.
        Err(e) if e.is_unique_violation() && call.is_some() => {
            for_call(db, call.ok_or(IntakeError::NotFound)?)
                .await?
                .ok_or(IntakeError::NotFound)
        }
        // No such call.
        Err(e) if e.is_foreign_key_violation() => Err(IntakeError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// The intake of a call.
pub async fn for_call(db: &Db, call: CallId) -> Result<Option<i64>, IntakeError> {
    Ok(with_db!(db, |pool| sqlx::query_scalar(
        "select id from intakes where call_id = $1"
    )
    .bind(call)
    .fetch_optional(pool)
    .await?))
}

type Row = (
    i64,
    Option<CallId>,
    String,
    Option<i64>,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    i64,
);

/// Reads an intake.
pub async fn get(db: &Db, id: i64) -> Result<Intake, IntakeError> {
    let row: Option<Row> = with_db!(db, |pool| {
        sqlx::query_as(
        "select i.id, i.call_id, i.source, s.id, s.code, i.answers, i.status, i.triage, \
                i.priority_override, i.override_reason, u.username, i.created_at, i.updated_at, i.version \
         from intakes i join users u on u.id = i.created_by \
         left join subjects s on s.id = i.subject_id where i.id = $1"
    )
    .bind(id)
    .fetch_optional(pool)
    .await?
    });
    let Some(r) = row else {
        return Err(IntakeError::NotFound);
    };
    let corrupt = |what: &str| IntakeError::Db(DbError::Corrupt(format!("intake {id}: {what}")));
    let answers: Answers = serde_json::from_str(&r.5).map_err(|_| corrupt("answers"))?;
    let triage = match r.7 {
        Some(t) => Some(serde_json::from_str(&t).map_err(|_| corrupt("triage"))?),
        None => None,
    };
    let priority_override = match (r.8, r.9) {
        (Some(p), reason) => Some((
            p.parse().map_err(|_| corrupt("priority"))?,
            reason.unwrap_or_default(),
        )),
        (None, _) => None,
    };
    Ok(Intake {
        id: r.0,
        call_id: r.1,
        source: r.2.parse().map_err(|_| corrupt("source"))?,
        subject: r.3.zip(r.4),
        answers,
        complete: r.6 == "complete",
        triage,
        priority_override,
        created_by: r.10,
        created_at: r.11,
        updated_at: r.12,
        version: r.13,
    })
}

/// Saves answers and their triage if nobody saved since `version`; returns the new version.
pub async fn save(
    db: &Db,
    id: i64,
    version: i64,
    answers: &Answers,
    triage: &Triage,
    complete: bool,
    now: DateTime<Utc>,
) -> Result<i64, IntakeError> {
    let answers = serde_json::to_string(answers).map_err(|e| DbError::Corrupt(e.to_string()))?;
    let triage_json = serde_json::to_string(triage).map_err(|e| DbError::Corrupt(e.to_string()))?;
    let status = if complete { "complete" } else { "draft" };
    let updated: Option<i64> = with_db!(db, |pool| {
        sqlx::query_scalar(
        "update intakes set answers = $1, triage = $2, priority = $3, status = $4, updated_at = $5, \
         version = version + 1 where id = $6 and version = $7 returning version"
    )
    .bind(&answers)
    .bind(&triage_json)
    .bind(triage.priority.as_str())
    .bind(status)
    .bind(now)
    .bind(id)
    .bind(version)
    .fetch_optional(pool)
    .await?
    });
    match updated {
        Some(v) => Ok(v),
        None => match get(db, id).await {
            Ok(_) => Err(IntakeError::Conflict),
            Err(e) => Err(e),
        },
    }
}

/// Sets (or, with `None`, clears) the operator's override of the priority.
pub async fn set_override(
    db: &Db,
    id: i64,
    priority: Option<(Priority, &str)>,
    now: DateTime<Utc>,
) -> Result<(), IntakeError> {
    let (p, reason) = match priority {
        Some((p, r)) => (Some(p.as_str()), Some(r)),
        None => (None, None),
    };
    with_db!(db, |pool| sqlx::query(
        "update intakes set priority_override = $1, override_reason = $2, updated_at = $3, \
         version = version + 1 where id = $4"
    )
    .bind(p)
    .bind(reason)
    .bind(now)
    .bind(id)
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// Links an intake to a subject.
pub async fn set_subject(
    db: &Db,
    id: i64,
    subject_id: i64,
    now: DateTime<Utc>,
) -> Result<(), IntakeError> {
    with_db!(db, |pool| sqlx::query(
        "update intakes set subject_id = $1, updated_at = $2, version = version + 1 where id = $3"
    )
    .bind(subject_id)
    .bind(now)
    .bind(id)
    .execute(pool)
    .await
    .map(|_| ()))?;
    Ok(())
}
