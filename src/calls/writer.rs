//! Durable writes of call records. Opening a call and each of its transitions must be on
//! disk before it is acknowledged, and a durable commit costs a disk flush.
//!
//! - SQLite allows one writing transaction at a time, each with its own flush. One writer
//!   task therefore takes every operation waiting for it and applies the batch in one
//!   transaction: one flush makes them all durable, and each caller is answered only
//!   after it (group commit).
//! - PostgreSQL already flushes the commits of concurrent sessions together, so there each
//!   operation is one statement, run at once on its own connection: one round trip.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use super::model::CallId;
use super::state::CallState;
use super::store::{self, CallError, NewCall, Transition};
use crate::db::{Conn, Db, DbError};

/// Most operations in one transaction: bounds the time any one of them waits.
const MAX_BATCH: usize = 256;
/// Operations queued for the writer before callers wait (back-pressure).
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

/// Writes call records and transitions durably.
#[derive(Clone)]
pub struct CallLog {
    route: Route,
}

#[derive(Clone)]
enum Route {
    /// SQLite: to the group-commit writer.
    Writer(mpsc::Sender<Request>),
    /// PostgreSQL: straight to the server.
    Direct(PgPool),
}

impl CallLog {
    /// Starts writing to `db` (on SQLite, the writer task).
    pub fn start(db: &Db) -> Self {
        let route = match db {
            Db::Sqlite(_) => {
                let (tx, rx) = mpsc::channel(QUEUE);
                tokio::spawn(run(db.clone(), rx));
                Route::Writer(tx)
            }
            Db::Postgres(pool) => Route::Direct(pool.clone()),
        };
        Self { route }
    }

    /// Opens a call record in state `offered`; durable when this returns.
    pub async fn open(&self, new: NewCall, at: DateTime<Utc>) -> Result<CallId, CallError> {
        let id = CallId::new();
        self.submit(Op::Open { id, new, at }).await?;
        Ok(id)
    }

    /// Applies a transition; durable when this returns.
    pub async fn transition(&self, id: CallId, change: Transition) -> Result<CallState, CallError> {
        self.submit(Op::Transition { id, change }).await
    }

    async fn submit(&self, op: Op) -> Result<CallState, CallError> {
        match &self.route {
            Route::Writer(writer) => {
                let (reply, answer) = oneshot::channel();
                let stopped = || CallError::Db(DbError::Unavailable(sqlx::Error::PoolClosed));
                writer
                    .send(Request { op, reply })
                    .await
                    .map_err(|_| stopped())?;
                answer.await.map_err(|_| stopped())?
            }
            // One statement commits durably by itself: no BEGIN and COMMIT round trips.
            Route::Direct(pool) => {
                let mut conn = pool.acquire().await.map_err(DbError::from)?;
                apply_one(&mut Conn::Postgres(&mut conn), &op).await
            }
        }
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
    let mut tx = db.begin_write().await?;
    let mut results = Vec::with_capacity(requests.len());
    for request in requests {
        let result = apply_one(&mut tx.conn(), &request.op).await;
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

async fn apply_one(conn: &mut Conn<'_>, op: &Op) -> Result<CallState, CallError> {
    match op {
        Op::Open { id, new, at } => store::open_in(conn, *id, new, *at)
            .await
            .map(|()| CallState::Offered),
        Op::Transition { id, change } => store::transition_in(conn, *id, change).await,
    }
}
