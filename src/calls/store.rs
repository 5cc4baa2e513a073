//! Storage of call records and their events. A transition is a compare-and-set on the
//! call's event count, so two concurrent changes to one call cannot both win.

use chrono::{DateTime, Duration, Utc};

use super::caller::CallerFingerprint;
use super::model::{CallEvent, CallId, CallRecord, Channel, Timings};
use super::state::{CallState, IllegalTransition};
use crate::db::{Db, DbError};
use crate::with_db;

/// What is needed to open a call record.
#[derive(Debug, Clone)]
pub struct NewCall {
    /// How the call arrived.
    pub channel: Channel,
    /// The help-line number dialled.
    pub line: Option<String>,
    /// What is kept of the caller's number.
    pub caller: CallerFingerprint,
    /// Conversation language, when known.
    pub language: Option<String>,
    /// The user who opened it (manual calls).
    pub opened_by: Option<i64>,
}

/// A requested change of state.
#[derive(Debug, Clone)]
pub struct Transition {
    /// The state to enter.
    pub to: CallState,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Short machine reason.
    pub reason: Option<String>,
    /// The user reporting it.
    pub actor_user_id: Option<i64>,
}

/// Errors of the call store.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// No such call.
    #[error("no call with id {0}")]
    NotFound(CallId),
    /// The lifecycle does not allow it.
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    /// The event would be earlier than the call's last event.
    #[error("the event time is before the call's last event ({last})")]
    OutOfOrder {
        /// Time of the last event.
        last: DateTime<Utc>,
    },
    /// Another change kept winning the race for this call.
    #[error("the call kept changing while this change was applied; try again")]
    Conflict,
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for CallError {
    fn from(e: sqlx::Error) -> Self {
        CallError::Db(e.into())
    }
}

/// Opens a call record in state `offered` at `at`.
#[tracing::instrument(skip_all, fields(channel = new.channel.as_str()))]
pub async fn open(db: &Db, new: &NewCall, at: DateTime<Utc>) -> Result<CallId, CallError> {
    let id = CallId::new();
    let offered = CallState::Offered.as_str();
    with_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "insert into calls (id, channel, line, caller_hash, territory_hint, language, state, seq, opened_at, opened_by) \
             values ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9)",
        )
        .bind(id)
        .bind(new.channel.as_str())
        .bind(&new.line)
        .bind(&new.caller.hash)
        .bind(&new.caller.territory_hint)
        .bind(&new.language)
        .bind(offered)
        .bind(at)
        .bind(new.opened_by)
        .execute(&mut *tx)
        .await?;
        sqlx::query("insert into call_events (call_id, seq, state, at, actor_user_id) values ($1, 1, $2, $3, $4)")
            .bind(id)
            .bind(offered)
            .bind(at)
            .bind(new.opened_by)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    });
    Ok(id)
}

/// Applies a transition; returns the new state. Retries a lost race a few times, since
/// the loser may still be legal from the winner's state.
#[tracing::instrument(skip_all, fields(call = %id, to = change.to.as_str()))]
pub async fn transition(db: &Db, id: CallId, change: &Transition) -> Result<CallState, CallError> {
    for _ in 0..5 {
        let current: Option<(String, i32, DateTime<Utc>)> = with_db!(db, |pool| {
            sqlx::query_as(
                "select c.state, c.seq, e.at from calls c \
                 join call_events e on e.call_id = c.id and e.seq = c.seq where c.id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        let (state, seq, last_at) = current.ok_or(CallError::NotFound(id))?;
        let state = parse_state(&state)?;
        let to = state.transition(change.to)?;
        if change.at < last_at {
            return Err(CallError::OutOfOrder { last: last_at });
        }
        let won = with_db!(db, |pool| {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query(
                "update calls set state = $1, seq = seq + 1 where id = $2 and seq = $3",
            )
            .bind(to.as_str())
            .bind(id)
            .bind(seq)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 1 {
                sqlx::query(
                    "insert into call_events (call_id, seq, state, at, reason, actor_user_id) \
                     values ($1, $2, $3, $4, $5, $6)",
                )
                .bind(id)
                .bind(seq + 1)
                .bind(to.as_str())
                .bind(change.at)
                .bind(&change.reason)
                .bind(change.actor_user_id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
            }
            updated == 1
        });
        if won {
            return Ok(to);
        }
    }
    Err(CallError::Conflict)
}

#[derive(sqlx::FromRow)]
struct CallRow {
    id: CallId,
    channel: String,
    line: Option<String>,
    caller_hash: Option<String>,
    territory_hint: Option<String>,
    language: Option<String>,
    state: String,
    opened_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    seq: i32,
    state: String,
    at: DateTime<Utc>,
    reason: Option<String>,
}

/// Loads a call with its events, derived times and the repeat-caller count over the
/// last `repeat_window_days`.
#[tracing::instrument(skip_all, fields(call = %id))]
pub async fn load(db: &Db, id: CallId, repeat_window_days: u32) -> Result<CallRecord, CallError> {
    let (row, events): (Option<CallRow>, Vec<EventRow>) = with_db!(db, |pool| {
        let row = sqlx::query_as::<_, CallRow>(
            "select id, channel, line, caller_hash, territory_hint, language, state, opened_at from calls where id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?;
        let events = sqlx::query_as::<_, EventRow>(
            "select seq, state, at, reason from call_events where call_id = $1 order by seq",
        )
        .bind(id)
        .fetch_all(pool)
        .await?;
        (row, events)
    });
    let row = row.ok_or(CallError::NotFound(id))?;
    let previous_calls = match &row.caller_hash {
        Some(hash) => {
            let since = row.opened_at - Duration::days(i64::from(repeat_window_days));
            let n: i64 = with_db!(db, |pool| {
                sqlx::query_scalar(
                    "select count(*) from calls where caller_hash = $1 and opened_at >= $2 and opened_at < $3",
                )
                .bind(hash)
                .bind(since)
                .bind(row.opened_at)
                .fetch_one(pool)
                .await?
            });
            Some(n)
        }
        None => None,
    };
    let events = events
        .into_iter()
        .map(|e| {
            Ok(CallEvent {
                seq: e.seq,
                state: parse_state(&e.state)?,
                at: e.at,
                reason: e.reason,
            })
        })
        .collect::<Result<Vec<_>, CallError>>()?;
    let timings = Timings::from_events(&events)
        .ok_or_else(|| DbError::Corrupt(format!("call {id} has no events")))?;
    Ok(CallRecord {
        id: row.id,
        channel: row.channel.parse().map_err(DbError::Corrupt)?,
        line: row.line,
        territory_hint: row.territory_hint,
        language: row.language,
        state: parse_state(&row.state)?,
        previous_calls,
        timings,
        events,
    })
}

/// Number of calls in each state (for metrics).
pub async fn count_by_state(db: &Db) -> Result<Vec<(String, i64)>, DbError> {
    let rows = with_db!(db, |pool| {
        sqlx::query_as::<_, (String, i64)>("select state, count(*) from calls group by state")
            .fetch_all(pool)
            .await?
    });
    Ok(rows)
}

fn parse_state(s: &str) -> Result<CallState, DbError> {
    s.parse()
        .map_err(|e: super::state::UnknownState| DbError::Corrupt(e.to_string()))
}
