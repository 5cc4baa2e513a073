//! Group commit for call records. Opening a call and each of its transitions must be
//! durable before it is acknowledged, but a durable commit costs a disk flush. Writer
//! tasks therefore take every operation waiting for them and apply the batch in one
//! transaction: one flush makes them all durable, and each caller is answered only after
//! it. Operations on one call always go to the same writer, so they stay in order.
//!
//! SQLite has one writer (it allows one writing transaction at a time anyway);
//! PostgreSQL has `database.writers`, whose commits the server flushes together too.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};

use super::model::CallId;
use super::state::CallState;
use super::store::{self, CallError, NewCall, Transition};
use crate::config::Backend;
use crate::db::{Conn, Db, DbError};

/// Most operations in one transaction: bounds the time any one of them waits.
const MAX_BATCH: usize = 256;
/// Operations queued per writer before callers wait (back-pressure).
const QUEUE: usize = 4096;

enum Op {
    Open {
        id: CallId,
        new: NewCall,
        at: DateTime<Utc>,
    },
    Transition {
        id: CallId,
        change: Transition,
    },
}

struct Request {
    op: Op,
    reply: oneshot::Sender<Result<CallState, CallError>>,
}

/// Writes call records and transitions durably, in batches.
#[derive(Clone)]
pub struct CallLog {
    writers: Arc<[mpsc::Sender<Request>]>,
}

impl CallLog {
    /// Starts the writer tasks on `db`.
    pub fn start(db: &Db, writers: usize) -> Self {
        let n = match db.backend() {
            Backend::Sqlite => 1,
            Backend::Postgres => writers.max(1),
        };
        let senders: Vec<mpsc::Sender<Request>> = (0..n)
            .map(|_| {
                let (tx, rx) = mpsc::channel(QUEUE);
                tokio::spawn(run(db.clone(), rx));
                tx
            })
            .collect();
        Self {
            writers: senders.into(),
        }
    }

    /// Opens a call record in state `offered`; durable when this returns.
    pub async fn open(&self, new: NewCall, at: DateTime<Utc>) -> Result<CallId, CallError> {
        let id = CallId::new();
        self.submit(id, Op::Open { id, new, at }).await?;
        Ok(id)
    }

    /// Applies a transition; durable when this returns.
    pub async fn transition(&self, id: CallId, change: Transition) -> Result<CallState, CallError> {
        self.submit(id, Op::Transition { id, change }).await
    }

    async fn submit(&self, id: CallId, op: Op) -> Result<CallState, CallError> {
        // UUIDv7's low bits are random: an even spread, and the same writer for one call.
        let shard = (id.0.as_u128() % self.writers.len() as u128) as usize;
        let (reply, answer) = oneshot::channel();
        let stopped = || CallError::Db(DbError::Unavailable(sqlx::Error::PoolClosed));
        self.writers[shard]
            .send(Request { op, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run(db: Db, mut queue: mpsc::Receiver<Request>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        metrics::histogram!("helpline_call_log_batch_size").record(batch.len() as f64);
        write(&db, &mut batch).await;
    }
}

/// Applies and answers a batch. If the batch's transaction fails as a whole (a statement
/// error, a failed commit), each operation is applied alone, so that one bad operation
/// cannot fail the others and each caller learns its own outcome.
async fn write(db: &Db, batch: &mut Vec<Request>) {
    match apply(db, batch).await {
        Ok(results) => {
            for (request, result) in batch.drain(..).zip(results) {
                let _ = request.reply.send(result);
            }
        }
        Err(e) if batch.len() == 1 => {
            if let Some(request) = batch.pop() {
                let _ = request.reply.send(Err(CallError::Db(e)));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, size = batch.len(), "call batch failed; applying its operations one by one");
            for request in batch.drain(..) {
                let one = std::slice::from_ref(&request);
                let result = match apply(db, one).await {
                    Ok(mut r) => r.pop().unwrap_or(Err(CallError::Conflict)),
                    Err(e) => Err(CallError::Db(e)),
                };
                let _ = request.reply.send(result);
            }
        }
    }
}

/// One transaction for all `requests`: per-operation refusals (unknown call, illegal
/// transition) write nothing and leave the transaction usable; a storage error aborts it.
async fn apply(
    db: &Db,
    requests: &[Request],
) -> Result<Vec<Result<CallState, CallError>>, DbError> {
    if let (Db::Postgres(pool), [request]) = (db, requests) {
        // One PostgreSQL statement commits durably by itself: no BEGIN and COMMIT round trips.
        let mut conn = pool.acquire().await?;
        return match apply_one(&mut Conn::Postgres(&mut conn), request).await {
            Err(CallError::Db(e)) => Err(e),
            other => Ok(vec![other]),
        };
    }
    let mut tx = db.begin_write().await?;
    let mut results = Vec::with_capacity(requests.len());
    for request in requests {
        let result = apply_one(&mut tx.conn(), request).await;
        match result {
            Err(CallError::Db(e)) => {
                let _ = tx.rollback().await;
                return Err(e);
            }
            other => results.push(other),
        }
    }
    tx.commit().await?;
    Ok(results)
}

async fn apply_one(conn: &mut Conn<'_>, request: &Request) -> Result<CallState, CallError> {
    match &request.op {
        Op::Open { id, new, at } => store::open_in(conn, *id, new, *at)
            .await
            .map(|()| CallState::Offered),
        Op::Transition { id, change } => store::transition_in(conn, *id, change).await,
    }
}
