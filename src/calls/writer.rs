//! Durable writes of call records. Opening a call and each of its transitions must be on
//! disk before it is acknowledged, and a durable commit costs a disk flush.
//!
//! - SQLite allows one writing transaction at a time, each with its own flush. One writer
//!   thread therefore takes every operation waiting for it and applies the batch in one
//!   transaction: one flush makes them all durable, and each caller is answered only
//!   after it (group commit; `sqlite_writer.rs`).
//! - PostgreSQL already flushes the commits of concurrent sessions together, so there each
//!   operation is one statement, run at once on its own connection: one round trip.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use super::model::CallId;
use super::sqlite_writer::{self, Op, Request, Written};
use super::state::CallState;
use super::store::{self, CallError, NewCall, Opened, Opening, Transition};
use crate::db::{Db, DbError};

/// Operations queued for the SQLite writer before callers wait (back-pressure).
const QUEUE: usize = 4096;

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
    /// Starts writing to `db` (on SQLite, the writer thread and its connection).
    pub fn start(db: &Db) -> Result<Self, DbError> {
        let route = match db {
            Db::Sqlite(pool) => {
                let (tx, rx) = mpsc::channel(QUEUE);
                sqlite_writer::spawn(pool.connect_options().get_filename(), rx)?;
                Route::Writer(tx)
            }
            Db::Postgres(pool) => Route::Direct(pool.clone()),
        };
        Ok(Self { route })
    }

    /// Opens a call record in state `offered`; durable when this returns.
    pub async fn open(&self, new: NewCall, at: DateTime<Utc>) -> Result<CallId, CallError> {
        let id = CallId::new();
        match self
            .submit(Op::Open(Opening {
                id,
                new,
                at,
                provider_sid: None,
                moves: Vec::new(),
            }))
            .await?
        {
            Written::Opened(Opened::New) => Ok(id),
            // Without a CallSid there is nothing to find tied already.
            Written::Opened(Opened::Known(_)) | Written::Moved(_) => Err(CallError::Conflict),
        }
    }

    /// Opens record `id` of a call at a cloud provider, ties its CallSid to it and makes
    /// `moves` (the steps its first webhook takes at once), all in one durable write:
    /// one commit, where a record opened and then moved would take one per step. A
    /// CallSid already tied to a call keeps it and nothing is written (`Opened::Known`).
    pub async fn open_from_provider(
        &self,
        id: CallId,
        new: NewCall,
        at: DateTime<Utc>,
        call_sid: &str,
        moves: Vec<Transition>,
    ) -> Result<Opened, CallError> {
        match self
            .submit(Op::Open(Opening {
                id,
                new,
                at,
                provider_sid: Some(call_sid.to_string()),
                moves,
            }))
            .await?
        {
            Written::Opened(opened) => Ok(opened),
            Written::Moved(_) => Err(CallError::Conflict),
        }
    }

    /// Applies a transition; durable when this returns.
    pub async fn transition(&self, id: CallId, change: Transition) -> Result<CallState, CallError> {
        match self.submit(Op::Transition { id, change }).await? {
            Written::Moved(state) => Ok(state),
            Written::Opened(_) => Err(CallError::Conflict),
        }
    }

    /// Runs `op`; what it did matches what it was (an open opens, a transition moves).
    async fn submit(&self, op: Op) -> Result<Written, CallError> {
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
                match op {
                    Op::Open(opening) => store::open_pg(&mut conn, &opening)
                        .await
                        .map(Written::Opened),
                    Op::Transition { id, change } => store::transition_pg(&mut conn, id, &change)
                        .await
                        .map(Written::Moved),
                }
            }
        }
    }
}
