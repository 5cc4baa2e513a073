//! SQLite's group-commit writer on a thread of its own, with a connection of its own:
//! each batch runs synchronously in one transaction, without a thread hand-off per
//! statement. The SQL and the rules are those of `store.rs`; values are written in the
//! same forms the rest of the service reads (RFC 3339 times, hyphenated ids).

use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use super::model::CallId;
use super::state::CallState;
use super::store::{self, CallError, Opened, Opening, Transition};
use crate::db::DbError;

const MAX_BATCH: usize = 256;

/// An operation for the writer.
pub(super) enum Op {
    Open(Opening),
    Transition { id: CallId, change: Transition },
}

/// What an operation did.
#[derive(Debug)]
pub(super) enum Written {
    /// A record opened, or (`Known`) a CallSid found already tied to one.
    Opened(Opened),
    /// A transition made: the new state.
    Moved(CallState),
}

/// An operation and where to answer.
pub(super) struct Request {
    pub op: Op,
    pub reply: oneshot::Sender<Result<Written, CallError>>,
}

/// Opens the writer's connection and starts its thread.
pub(super) fn spawn(path: &Path, queue: mpsc::Receiver<Request>) -> Result<(), DbError> {
    let conn = Connection::open(path).map_err(|e| DbError::Config(format!("call writer: {e}")))?;
    conn.execute_batch(
        "pragma synchronous = full; pragma foreign_keys = on; pragma busy_timeout = 5000;",
    )
    .map_err(|e| DbError::Config(format!("call writer: {e}")))?;
    std::thread::Builder::new()
        .name("call-writer".into())
        .spawn(move || run(conn, queue))
        .map_err(|e| DbError::Config(format!("call writer thread: {e}")))?;
    Ok(())
}

fn run(mut conn: Connection, mut queue: mpsc::Receiver<Request>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        metrics::histogram!("helpline_call_log_batch_size").record(batch.len() as f64);
        match apply(&mut conn, &batch) {
            Ok(results) => {
                for (request, result) in batch.drain(..).zip(results) {
                    let _ = request.reply.send(result);
                }
            }
            Err(e) => {
                // One operation's storage error (or the commit) failed the batch: apply
                // each alone, so one bad operation cannot fail the others.
                tracing::warn!(error = %e, size = batch.len(), "call batch failed; applying its operations one by one");
                for request in batch.drain(..) {
                    let result = match apply(&mut conn, std::slice::from_ref(&request)) {
                        Ok(mut r) => r.pop().unwrap_or(Err(CallError::Conflict)),
                        Err(e) => Err(writer_error(e)),
                    };
                    let _ = request.reply.send(result);
                }
            }
        }
    }
}

fn writer_error(e: rusqlite::Error) -> CallError {
    CallError::Db(DbError::Writer(e))
}

fn apply(
    conn: &mut Connection,
    batch: &[Request],
) -> Result<Vec<Result<Written, CallError>>, rusqlite::Error> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut results = Vec::with_capacity(batch.len());
    for request in batch {
        results.push(match &request.op {
            Op::Open(opening) => open(&tx, opening)?.map(Written::Opened),
            Op::Transition { id, change } => transition(&tx, *id, change)?.map(Written::Moved),
        });
    }
    tx.commit()?;
    Ok(results)
}

fn ts(at: DateTime<Utc>) -> String {
    // The form sqlx writes and reads for `DateTime<Utc>` on SQLite.
    at.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// `Ok(Err(_))` is a refusal by the lifecycle; `Err(_)` a storage failure.
fn open(
    conn: &Connection,
    opening: &Opening,
) -> Result<Result<Opened, CallError>, rusqlite::Error> {
    let Opening {
        id,
        new,
        at,
        provider_sid,
        moves,
    } = opening;
    let at = *at;
    let state = match store::state_after(at, moves) {
        Ok(s) => s,
        Err(refused) => return Ok(Err(refused)),
    };
    if let Some(sid) = provider_sid {
        // Under the write lock: a CallSid already known (the provider's webhook twice)
        // keeps its call, and nothing is written.
        let owner: Option<String> = conn
            .prepare_cached("select call_id from cpaas_calls where call_sid = ?1")?
            .query_row(params![sid], |row| row.get(0))
            .optional()?;
        if let Some(owner) = owner {
            return Ok(owner
                .parse::<CallId>()
                .map(Opened::Known)
                .map_err(|_| CallError::Conflict));
        }
    }
    let seq = moves.len() + 1;
    conn.prepare_cached(
        "insert into calls (id, channel, line, caller_hash, territory_hint, language, state, seq, opened_at, \
         opened_by) values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        id.to_string(),
        new.channel.as_str(),
        new.line,
        new.caller.hash,
        new.caller.territory_hint,
        new.language,
        state.as_str(),
        seq,
        ts(at),
        new.opened_by
    ])?;
    let mut event = conn.prepare_cached(
        "insert into call_events (call_id, seq, state, at, reason, actor_user_id) \
         values (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    event.execute(params![
        id.to_string(),
        1,
        CallState::Offered.as_str(),
        ts(at),
        None::<String>,
        new.opened_by
    ])?;
    for (n, change) in (2..).zip(moves) {
        event.execute(params![
            id.to_string(),
            n,
            change.to.as_str(),
            ts(change.at),
            change.reason,
            change.actor_user_id
        ])?;
    }
    if let Some(sid) = provider_sid {
        conn.prepare_cached(
            "insert into cpaas_calls (call_sid, call_id, created_at) values (?1, ?2, ?3)",
        )?
        .execute(params![sid, id.to_string(), ts(at)])?;
    }
    Ok(Ok(Opened::New))
}

/// As [`open`], for a transition.
fn transition(
    conn: &Connection,
    id: CallId,
    change: &Transition,
) -> Result<Result<CallState, CallError>, rusqlite::Error> {
    let from: String = CallState::ALL
        .into_iter()
        .filter(|s| s.can_become(change.to))
        .map(|s| format!(",{s},"))
        .collect();
    let inserted: Option<i32> = conn
        .prepare_cached(
            "insert into call_events (call_id, seq, state, at, reason, actor_user_id) \
             select c.id, c.seq + 1, ?2, ?3, ?4, ?5 from calls c \
             join call_events e on e.call_id = c.id and e.seq = c.seq \
             where c.id = ?1 and instr(?6, ',' || c.state || ',') > 0 and e.at <= ?3 \
             returning seq",
        )?
        .query_row(
            params![
                id.to_string(),
                change.to.as_str(),
                ts(change.at),
                change.reason,
                change.actor_user_id,
                from
            ],
            |row| row.get(0),
        )
        .optional()?;
    if inserted.is_some() {
        return Ok(Ok(change.to));
    }
    let current: Option<(String, String)> = conn
        .prepare_cached(
            "select c.state, e.at from calls c \
             join call_events e on e.call_id = c.id and e.seq = c.seq where c.id = ?1",
        )?
        .query_row(params![id.to_string()], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?;
    let Some((state, last_at)) = current else {
        return Ok(Err(CallError::NotFound(id)));
    };
    let last_at = DateTime::parse_from_rfc3339(&last_at)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
        })?;
    // Under the write lock nothing else moves the call: a refusal is the lifecycle's.
    Ok(match store::check_str(&state, last_at, change) {
        Err(refused) => Err(refused),
        Ok(()) => Err(CallError::Conflict),
    })
}
