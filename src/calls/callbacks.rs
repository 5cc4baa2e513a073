//! Callback tasks: a call nobody answered (not an operator, not the on-call mobile) is
//! not forgotten. It waits on the board until an operator takes it, calls back and says
//! how it went. The number is sealed on the task (`seal.rs`), shown only to the operator
//! who took it (audited), and erased when the task is closed or, untouched, when it
//! expires (`[privacy] callback_retention_hours`, a durable job).

use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;

use super::model::CallId;
use super::seal::{NumberSeal, SealError};
use crate::clock::Clock;
use crate::db::audit::{self, AuditEntry};
use crate::db::{Db, DbError};
use crate::jobs::{BoxFuture, Job, JobFailure, JobHandler, JobTx, Jobs, NewJob, PRIORITY_NORMAL};
use crate::{with_db, with_tx};

/// Kind of the job that erases an untouched task's number.
pub const EXPIRE_KIND: &str = "callback.expire";

/// How a callback ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The caller was reached.
    Reached,
    /// Nobody answered.
    NoAnswer,
    /// Someone else answered: the operator said nothing of the help-line.
    SomeoneElse,
    /// The operator decided not to call (for the caller's safety, say).
    NotCalled,
    /// Nobody took it in time; the number was erased.
    Expired,
}

impl Outcome {
    /// The outcomes an operator may choose.
    pub const CHOSEN: [Outcome; 4] = [
        Outcome::Reached,
        Outcome::NoAnswer,
        Outcome::SomeoneElse,
        Outcome::NotCalled,
    ];

    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Reached => "reached",
            Outcome::NoAnswer => "no_answer",
            Outcome::SomeoneElse => "someone_else",
            Outcome::NotCalled => "not_called",
            Outcome::Expired => "expired",
        }
    }

    /// Label in Italian and English.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            Outcome::Reached => ("raggiunto", "reached"),
            Outcome::NoAnswer => ("non risponde", "no answer"),
            Outcome::SomeoneElse => ("ha risposto un'altra persona", "someone else answered"),
            Outcome::NotCalled => ("non richiamato (sicurezza)", "not called (safety)"),
            Outcome::Expired => ("scaduto", "expired"),
        }
    }

    /// One an operator may choose, by stored name.
    pub fn chosen(name: &str) -> Option<Self> {
        Self::CHOSEN.into_iter().find(|o| o.as_str() == name)
    }
}

/// A callback task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Id.
    pub id: i64,
    /// The missed call.
    pub call_id: CallId,
    /// When it was missed.
    pub created_at: DateTime<Utc>,
    /// Territory guessed from the prefix.
    pub territory_hint: Option<String>,
    /// The line called.
    pub line: Option<String>,
    /// Who took it, and when.
    pub claimed: Option<(i64, String, DateTime<Utc>)>,
    /// When it was closed, and how.
    pub closed: Option<(DateTime<Utc>, String)>,
}

/// What can go wrong with a task.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    /// No such task.
    #[error("no such callback task")]
    NotFound,
    /// Another operator has it.
    #[error("another operator ({0}) has taken this callback")]
    TakenBy(String),
    /// Already closed.
    #[error("this callback is already closed")]
    Closed,
    /// The operator has not taken it.
    #[error("take the callback before seeing the number or closing it")]
    NotYours,
    /// The number cannot be opened.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// Storage.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for CallbackError {
    fn from(e: sqlx::Error) -> Self {
        CallbackError::Db(e.into())
    }
}

/// Opens the task of a missed call with its sealed number, and queues its expiry.
pub async fn create(
    db: &Db,
    jobs: &Jobs,
    call: CallId,
    sealed: &str,
    now: DateTime<Utc>,
    retention: Duration,
) -> Result<i64, DbError> {
    let id: i64 = with_db!(db, |pool| {
        sqlx::query_scalar(
        "insert into callbacks (call_id, created_at, sealed_number) values ($1, $2, $3) returning id"
    )
    .bind(call)
    .bind(now)
    .bind(sealed)
    .fetch_one(pool)
    .await?
    });
    let job = NewJob {
        kind: EXPIRE_KIND.to_string(),
        payload: serde_json::json!({ "callback_id": id }),
        run_at: now + retention,
        idempotency_key: Some(format!("callback.expire:{id}")),
        max_attempts: None,
        priority: PRIORITY_NORMAL,
    };
    jobs.enqueue(&job, now).await?;
    Ok(id)
}

type TaskRow = (
    i64,
    CallId,
    DateTime<Utc>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<String>,
);

const SELECT: &str = "select k.id, k.call_id, k.created_at, c.territory_hint, c.line, \
     k.claimed_by, u.username, k.claimed_at, k.closed_at, k.outcome \
     from callbacks k join calls c on c.id = k.call_id left join users u on u.id = k.claimed_by";

fn task(
    (id, call_id, created_at, territory_hint, line, by, name, at, closed_at, outcome): TaskRow,
) -> Task {
    Task {
        id,
        call_id,
        created_at,
        territory_hint,
        line,
        claimed: match (by, at) {
            (Some(by), Some(at)) => Some((by, name.unwrap_or_default(), at)),
            _ => None,
        },
        closed: closed_at.zip(outcome),
    }
}

/// Open tasks, oldest first.
pub async fn open_tasks(db: &Db) -> Result<Vec<Task>, DbError> {
    let sql = format!("{SELECT} where k.closed_at is null order by k.created_at, k.id");
    let rows: Vec<TaskRow> = with_db!(db, |pool| sqlx::query_as(&sql).fetch_all(pool).await?);
    Ok(rows.into_iter().map(task).collect())
}

/// One task.
pub async fn get(db: &Db, id: i64) -> Result<Task, CallbackError> {
    let sql = format!("{SELECT} where k.id = $1");
    let row: Option<TaskRow> = with_db!(db, |pool| sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await?);
    row.map(task).ok_or(CallbackError::NotFound)
}

fn entry(user: (i64, &str), action: &'static str, id: i64, address: Option<String>) -> AuditEntry {
    AuditEntry {
        actor_user_id: Some(user.0),
        actor: format!("user:{}", user.1),
        action,
        object_kind: "callback",
        object_id: id.to_string(),
        address,
        detail: serde_json::json!({}),
    }
}

/// `user` takes the task (again, if already theirs; from another operator only with
/// `take_over`, a supervisor's right when that operator has gone off shift); audited.
pub async fn claim(
    db: &Db,
    id: i64,
    user: (i64, &str),
    take_over: bool,
    address: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), CallbackError> {
    let t = get(db, id).await?;
    if t.closed.is_some() {
        return Err(CallbackError::Closed);
    }
    let changed = with_db!(db, |pool| sqlx::query(
        "update callbacks set claimed_by = $2, claimed_at = $3 \
         where id = $1 and closed_at is null and (claimed_by is null or claimed_by = $2 or $4)"
    )
    .bind(id)
    .bind(user.0)
    .bind(now)
    .bind(take_over)
    .execute(pool)
    .await?
    .rows_affected());
    if changed == 0 {
        let t = get(db, id).await?;
        return Err(match (t.closed, t.claimed) {
            (Some(_), _) => CallbackError::Closed,
            (None, Some((_, name, _))) => CallbackError::TakenBy(name),
            (None, None) => CallbackError::NotFound,
        });
    }
    let mut e = entry(user, "callback.claim", id, address);
    if let Some((by, _, _)) = t.claimed.filter(|(by, _, _)| *by != user.0) {
        e.detail = serde_json::json!({ "taken_over_from": by });
    }
    audit::append(db, now, &e).await?;
    Ok(())
}

/// A task's call, sealed number, taker and closing time.
type SealedRow = (CallId, Option<String>, Option<i64>, Option<DateTime<Utc>>);

/// The number, for the operator who took the task; the view is audited.
pub async fn reveal(
    db: &Db,
    seal: &NumberSeal,
    id: i64,
    user: (i64, &str),
    address: Option<String>,
    now: DateTime<Utc>,
) -> Result<SecretString, CallbackError> {
    let row: Option<SealedRow> = with_db!(db, |pool| sqlx::query_as(
        "select call_id, sealed_number, claimed_by, closed_at from callbacks where id = $1"
    )
    .bind(id)
    .fetch_optional(pool)
    .await?);
    let (call, sealed, by, closed) = row.ok_or(CallbackError::NotFound)?;
    if closed.is_some() {
        return Err(CallbackError::Closed);
    }
    if by != Some(user.0) {
        return Err(CallbackError::NotYours);
    }
    let sealed = sealed.ok_or(CallbackError::Closed)?;
    let number = seal.open(call, &sealed)?;
    audit::append(db, now, &entry(user, "callback.view_number", id, address)).await?;
    Ok(number)
}

/// Closes the task with its outcome and erases the number; audited.
pub async fn close(
    db: &Db,
    id: i64,
    user: (i64, &str),
    outcome: Outcome,
    address: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), CallbackError> {
    let changed = with_db!(db, |pool| {
        sqlx::query(
        "update callbacks set closed_by = $2, closed_at = $3, outcome = $4, sealed_number = null \
         where id = $1 and closed_at is null and claimed_by = $2"
    )
    .bind(id)
    .bind(user.0)
    .bind(now)
    .bind(outcome.as_str())
    .execute(pool)
    .await?
    .rows_affected()
    });
    if changed == 0 {
        let t = get(db, id).await?;
        return Err(if t.closed.is_some() {
            CallbackError::Closed
        } else {
            CallbackError::NotYours
        });
    }
    let mut e = entry(user, "callback.close", id, address);
    e.detail = serde_json::json!({ "outcome": outcome.as_str() });
    audit::append(db, now, &e).await?;
    Ok(())
}

/// Handler of [`EXPIRE_KIND`]: an untouched task past its retention loses its number.
/// A task already closed is left as it is.
pub struct ExpireHandler(pub Clock);

impl JobHandler for ExpireHandler {
    fn kind(&self) -> &'static str {
        EXPIRE_KIND
    }

    fn run<'a>(
        &'a self,
        job: &'a Job,
        _node: &'a str,
        tx: &'a mut JobTx,
    ) -> BoxFuture<'a, Result<(), JobFailure>> {
        Box::pin(async move {
            let id = job
                .payload
                .get("callback_id")
                .and_then(serde_json::Value::as_i64)
                .ok_or_else(|| JobFailure::permanent("callback.expire: callback_id missing"))?;
            let now = self.0.now();
            with_tx!(tx.get().await?, |conn| {
                sqlx::query(
                    "update callbacks set closed_at = $2, outcome = 'expired', sealed_number = null \
                     where id = $1 and closed_at is null",
                )
                .bind(id)
                .bind(now)
                .execute(&mut *conn)
                .await?;
            });
            Ok(())
        })
    }
}
