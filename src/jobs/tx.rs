//! The transaction a job's database effects go into, begun only when the handler first
//! writes and committed together with the job's completion.
//!
//! Begun late on purpose: a notification job waits on the network (SMTP, the SMS
//! provider) before it writes, and holding a transaction across that wait would keep a
//! pooled connection (and, on SQLite, possibly the write lock) busy for nothing, so that
//! more workers meant fewer connections for everyone else.
//!
//! On SQLite the node's job writes also take turns in the process ([`WriteGate`]):
//! SQLite has one writer at a time, and writers that find the lock taken sleep in its
//! busy handler (1, 2, 5 … 100 ms) instead of starting the moment it is free.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::db::{Db, DbError, Tx};

/// Lets one job write transaction at a time into a SQLite database, in arrival order;
/// lets everything through on PostgreSQL, whose row locks need no such help.
#[derive(Clone, Debug)]
pub struct WriteGate(Option<Arc<Semaphore>>);

/// A turn to write; the next writer goes when it is dropped.
#[derive(Debug)]
pub struct WriteTurn {
    _permit: Option<OwnedSemaphorePermit>,
}

impl WriteGate {
    /// The gate suited to `db`'s backend.
    pub fn for_db(db: &Db) -> Self {
        match db {
            Db::Sqlite(_) => Self(Some(Arc::new(Semaphore::new(1)))),
            Db::Postgres(_) => Self(None),
        }
    }

    /// Waits for this writer's turn.
    pub async fn turn(&self) -> Result<WriteTurn, DbError> {
        match &self.0 {
            None => Ok(WriteTurn { _permit: None }),
            Some(s) => s
                .clone()
                .acquire_owned()
                .await
                .map(|p| WriteTurn { _permit: Some(p) })
                // The semaphore is never closed; say so rather than panic if it ever is.
                .map_err(|_| DbError::Config("job write gate closed".into())),
        }
    }
}

/// A job's transaction, opened on first use. Passed to [`JobHandler::run`](super::JobHandler::run).
#[derive(Debug)]
pub struct JobTx {
    db: Db,
    gate: WriteGate,
    open: Option<(Tx, WriteTurn)>,
}

impl JobTx {
    pub(super) fn new(db: Db, gate: WriteGate) -> Self {
        Self {
            db,
            gate,
            open: None,
        }
    }

    /// The transaction, begun now if this is its first use. Read what the job needs
    /// before calling this: from here until the job completes, the transaction is open
    /// (on SQLite, holding the write lock).
    pub async fn get(&mut self) -> Result<&mut Tx, DbError> {
        let open = match self.open.take() {
            Some(open) => open,
            None => {
                let turn = self.gate.turn().await?;
                (self.db.begin_write().await?, turn)
            }
        };
        Ok(&mut self.open.insert(open).0)
    }

    /// Gives the transaction back without committing anything.
    pub(super) async fn rollback(mut self) -> Result<(), DbError> {
        match self.open.take() {
            Some((tx, _turn)) => tx.rollback().await,
            None => Ok(()),
        }
    }

    /// Commits, then lets the next writer go.
    pub(super) async fn commit(mut self) -> Result<(), DbError> {
        match self.open.take() {
            Some((tx, _turn)) => tx.commit().await,
            None => Ok(()),
        }
    }
}
