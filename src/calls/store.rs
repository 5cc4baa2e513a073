//! Storage of call records and their events. A transition is a compare-and-set on the
//! call's event count, so two concurrent changes to one call cannot both win. Writes are
//! ordered by `writer.rs`; on SQLite they run in the writer thread (`sqlite_writer.rs`).

use chrono::{DateTime, Duration, Utc};

use sqlx::PgConnection;

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

/// How opening a provider's call went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// The record was written, tied to the CallSid.
    New,
    /// The CallSid was already tied to this call (the provider posted its webhook again,
    /// perhaps at the same moment): nothing was written.
    Known(CallId),
}

/// A record to open: a call, when it came, and the moves it makes at once.
#[derive(Debug)]
pub(super) struct Opening {
    pub id: CallId,
    pub new: NewCall,
    pub at: DateTime<Utc>,
    /// A cloud provider's CallSid, tied to the record in the same write.
    pub provider_sid: Option<String>,
    /// Moves made at once, written with the record (checked by [`state_after`]).
    pub moves: Vec<Transition>,
}

/// The state a call opened at `at` is in after `moves`, which must follow the lifecycle
/// from `offered`, each no earlier than the one before.
pub(super) fn state_after(at: DateTime<Utc>, moves: &[Transition]) -> Result<CallState, CallError> {
    let mut state = CallState::Offered;
    let mut last = at;
    for change in moves {
        check(state, last, change)?;
        state = change.to;
        last = change.at;
    }
    Ok(state)
}

/// The events of a call opened with `moves`, as columns: seq, state, at, reason, actor.
type EventColumns = (
    Vec<i32>,
    Vec<&'static str>,
    Vec<DateTime<Utc>>,
    Vec<Option<String>>,
    Vec<Option<i64>>,
);

fn event_columns(new: &NewCall, at: DateTime<Utc>, moves: &[Transition]) -> EventColumns {
    let mut cols: EventColumns = (
        vec![1],
        vec![CallState::Offered.as_str()],
        vec![at],
        vec![None],
        vec![new.opened_by],
    );
    for (n, change) in (2..).zip(moves) {
        cols.0.push(n);
        cols.1.push(change.to.as_str());
        cols.2.push(change.at);
        cols.3.push(change.reason.clone());
        cols.4.push(change.actor_user_id);
    }
    cols
}

/// PostgreSQL: writes a new call record, its first event and the events of `moves`
/// (checked by [`state_after`]) in one statement: one round trip, atomic, durable at its
/// commit. With a provider's CallSid, its row goes in the same statement, and nothing is
/// written if the CallSid already names a call. SQLite's writes are in
/// `sqlite_writer.rs`.
pub(super) async fn open_pg(
    conn: &mut PgConnection,
    opening: &Opening,
) -> Result<Opened, CallError> {
    let Opening {
        id,
        new,
        at,
        provider_sid,
        moves,
    } = opening;
    let (at, provider_sid) = (*at, provider_sid.as_deref());
    let state = state_after(at, moves)?;
    let (seqs, states, ats, reasons, actors) = event_columns(new, at, moves);
    // The record and its events are written only when the CallSid's row is: a CallSid
    // already known keeps its call (a concurrent twin waits for the first's commit, then
    // inserts nothing). The foreign keys are checked at the end of the statement.
    let sql = if provider_sid.is_some() {
        "with s as (insert into cpaas_calls (call_sid, call_id, created_at) values ($16, $1, $8) \
           on conflict (call_sid) do nothing returning call_id), \
         c as (insert into calls (id, channel, line, caller_hash, territory_hint, language, state, seq, \
           opened_at, opened_by) select $1, $2, $3, $4, $5, $6, $7, $10, $8, $9 from s returning id), \
         e as (insert into call_events (call_id, seq, state, at, reason, actor_user_id) \
           select c.id, ev.seq, ev.state, ev.at, ev.reason, ev.actor from c, \
           unnest($11::int4[], $12::text[], $13::timestamptz[], $14::text[], $15::int8[]) \
           as ev (seq, state, at, reason, actor)) \
         select count(*) from s"
    } else {
        "with c as (insert into calls (id, channel, line, caller_hash, territory_hint, language, state, seq, \
           opened_at, opened_by) values ($1, $2, $3, $4, $5, $6, $7, $10, $8, $9) returning id), \
         e as (insert into call_events (call_id, seq, state, at, reason, actor_user_id) \
           select c.id, ev.seq, ev.state, ev.at, ev.reason, ev.actor from c, \
           unnest($11::int4[], $12::text[], $13::timestamptz[], $14::text[], $15::int8[]) \
           as ev (seq, state, at, reason, actor)) \
         select count(*) from c"
    };
    let query = sqlx::query_scalar::<_, i64>(sql)
        .bind(id)
        .bind(new.channel.as_str())
        .bind(&new.line)
        .bind(&new.caller.hash)
        .bind(&new.caller.territory_hint)
        .bind(&new.language)
        .bind(state.as_str())
        .bind(at)
        .bind(new.opened_by)
        .bind(seqs.last().copied().unwrap_or(1))
        .bind(&seqs)
        .bind(&states)
        .bind(&ats)
        .bind(&reasons)
        .bind(&actors);
    let query = match provider_sid {
        Some(sid) => query.bind(sid),
        None => query,
    };
    if query.fetch_one(&mut *conn).await? == 1 {
        return Ok(Opened::New);
    }
    let Some(sid) = provider_sid else {
        return Err(CallError::Conflict);
    };
    let owner: Option<CallId> =
        sqlx::query_scalar("select call_id from cpaas_calls where call_sid = $1")
            .bind(sid)
            .fetch_optional(&mut *conn)
            .await?;
    owner.map(Opened::Known).ok_or(CallError::Conflict)
}

/// PostgreSQL: applies a transition in one statement (read, compare-and-set, new event);
/// returns the new state. The states it may come from are the typed state machine's,
/// passed in; a refusal is re-derived from the row in Rust. A lost race (another node
/// changed the call in between) is retried from the winner's state.
pub(super) async fn transition_pg(
    conn: &mut PgConnection,
    id: CallId,
    change: &Transition,
) -> Result<CallState, CallError> {
    let from: Vec<&str> = CallState::ALL
        .into_iter()
        .filter(|s| s.can_become(change.to))
        .map(CallState::as_str)
        .collect();
    for _ in 0..5 {
        let row: Option<(String, i32, DateTime<Utc>, Option<i32>)> = sqlx::query_as(
            "with cur as (select c.state, c.seq, e.at as last_at from calls c \
               join call_events e on e.call_id = c.id and e.seq = c.seq where c.id = $1), \
             upd as (update calls set state = $2, seq = calls.seq + 1 from cur \
               where calls.id = $1 and calls.seq = cur.seq and cur.state = any($3) and cur.last_at <= $4 \
               returning calls.seq), \
             ins as (insert into call_events (call_id, seq, state, at, reason, actor_user_id) \
               select $1, upd.seq, $2, $4, $5, $6 from upd returning seq) \
             select cur.state, cur.seq, cur.last_at, (select seq from ins) from cur",
        )
        .bind(id)
        .bind(change.to.as_str())
        .bind(&from)
        .bind(change.at)
        .bind(&change.reason)
        .bind(change.actor_user_id)
        .fetch_optional(&mut *conn)
        .await?;
        let (state, _, last_at, new_seq) = row.ok_or(CallError::NotFound(id))?;
        check(parse_state(&state)?, last_at, change)?;
        if new_seq.is_some() {
            return Ok(change.to);
        }
    }
    Err(CallError::Conflict)
}

/// [`check`] for a state read as text.
pub(super) fn check_str(
    state: &str,
    last_at: DateTime<Utc>,
    change: &Transition,
) -> Result<(), CallError> {
    check(parse_state(state)?, last_at, change)
}

/// The lifecycle and time-order rules for one change.
fn check(state: CallState, last_at: DateTime<Utc>, change: &Transition) -> Result<(), CallError> {
    state.transition(change.to)?;
    if change.at < last_at {
        return Err(CallError::OutOfOrder { last: last_at });
    }
    Ok(())
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

/// Records the language the caller chose in the voice menu. Written straight rather than
/// through the group-commit writer: it is no transition, and losing it in a crash would
/// only lose the routing hint (the next transition, durable, follows within moments).
#[tracing::instrument(skip(db))]
pub async fn set_language(db: &Db, id: CallId, language: &str) -> Result<(), DbError> {
    with_db!(db, |pool| {
        sqlx::query("update calls set language = $1 where id = $2")
            .bind(language)
            .bind(id)
            .execute(pool)
            .await
            .map(|_| ())?
    });
    Ok(())
}

/// A call's state now (`None`: no such call).
pub async fn state(db: &Db, id: CallId) -> Result<Option<CallState>, DbError> {
    let s: Option<String> = with_db!(db, |pool| sqlx::query_scalar(
        "select state from calls where id = $1"
    )
    .bind(id)
    .fetch_optional(pool)
    .await?);
    s.as_deref().map(parse_state).transpose()
}

/// The record of a cloud provider's call, by its CallSid.
pub async fn provider_call(db: &Db, call_sid: &str) -> Result<Option<CallId>, DbError> {
    Ok(with_db!(db, |pool| sqlx::query_scalar(
        "select call_id from cpaas_calls where call_sid = $1"
    )
    .bind(call_sid)
    .fetch_optional(pool)
    .await?))
}

/// How far back a waiting call can have arrived: no call waits longer than this (the
/// ring timeout and the overflow are minutes at most), and the count stays a short
/// range of the `opened_at` index rather than every call ever made.
const WAITING_AT_MOST_MINUTES: i64 = 60;

/// A caller's place in the queue at `now`: 1 plus the calls still waiting for an
/// operator (in the menu, queued, ringing or overflowed) that arrived before this one.
pub async fn queue_position(db: &Db, id: CallId, now: DateTime<Utc>) -> Result<usize, DbError> {
    let since = now - Duration::minutes(WAITING_AT_MOST_MINUTES);
    let ahead: i64 = with_db!(db, |pool| {
        sqlx::query_scalar(
            "select count(*) from calls c where c.state in ('menu', 'queued', 'ringing', 'overflowed') \
             and c.opened_at >= $2 \
             and c.opened_at < (select opened_at from calls where id = $1)",
        )
        .bind(id)
        .bind(since)
        .fetch_one(pool)
        .await?
    });
    Ok(usize::try_from(ahead).unwrap_or(0) + 1)
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
