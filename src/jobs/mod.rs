//! Durable jobs: everything that must happen later (an escalation step, a notification
//! retry) is a row, claimed by exactly one worker, retried with backoff, and never lost
//! across a crash or restart.
//!
//! Exactly once: a handler's database effects are written in the same transaction that
//! marks the job done, so a node that dies mid-job leaves nothing behind and another node
//! runs it again after the lease. Effects outside the database (an e-mail, an SMS) carry
//! the job's id as an idempotency key so a provider can drop the repeat.

pub mod selftest;
pub mod store;
pub mod tx;
pub mod worker;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::db::{Db, DbError};

pub use store::QueueStats;
pub use tx::{JobTx, WriteGate};
pub use worker::{Worker, WorkerHandle};

/// A boxed future, for handlers behind `dyn`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A job to add.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Which handler runs it.
    pub kind: String,
    /// Its input.
    pub payload: serde_json::Value,
    /// Not before this time.
    pub run_at: DateTime<Utc>,
    /// At most one job per key is ever queued.
    pub idempotency_key: Option<String>,
    /// Overrides `jobs.max_attempts`.
    pub max_attempts: Option<u32>,
    /// Among due jobs, higher goes first ([`PRIORITY_NORMAL`] unless there is a reason).
    pub priority: i32,
}

/// The priority of most jobs.
pub const PRIORITY_NORMAL: i32 = 0;

/// A claimed job.
#[derive(Debug, Clone)]
pub struct Job {
    /// Id.
    pub id: i64,
    /// Kind.
    pub kind: String,
    /// Input.
    pub payload: serde_json::Value,
    /// 1 for the first attempt.
    pub attempt: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
}

/// Why an attempt failed.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct JobFailure {
    /// What went wrong (no personal data).
    pub message: String,
    /// Retrying cannot help (bad payload): fail at once.
    pub permanent: bool,
}

impl JobFailure {
    /// A failure worth retrying.
    pub fn retry(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: false,
        }
    }

    /// A failure no retry can mend.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: true,
        }
    }
}

impl From<DbError> for JobFailure {
    fn from(e: DbError) -> Self {
        JobFailure::retry(e.to_string())
    }
}

impl From<sqlx::Error> for JobFailure {
    fn from(e: sqlx::Error) -> Self {
        JobFailure::retry(DbError::from(e).to_string())
    }
}

/// Runs jobs of one kind.
pub trait JobHandler: Send + Sync + 'static {
    /// The kind this handler runs.
    fn kind(&self) -> &'static str;

    /// Runs one attempt. Database effects go through `tx`, which commits only together
    /// with the job's completion; it is begun at its first use, so read first, wait on
    /// the network, and only then write.
    fn run<'a>(
        &'a self,
        job: &'a Job,
        node: &'a str,
        tx: &'a mut JobTx,
    ) -> BoxFuture<'a, Result<(), JobFailure>>;
}

/// Adds jobs and wakes the local worker.
#[derive(Clone)]
pub struct Jobs {
    db: Db,
    wake: Arc<Notify>,
    default_max_attempts: u32,
    clock: Clock,
}

impl Jobs {
    /// A queue on `db`.
    pub fn new(db: Db, default_max_attempts: u32) -> Self {
        Self {
            db,
            wake: Arc::new(Notify::new()),
            default_max_attempts,
            clock: Clock::default(),
        }
    }

    /// The same queue reading time from `clock`.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The queue's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Adds a job (or finds the one with the same idempotency key).
    pub async fn enqueue(&self, job: &NewJob, now: DateTime<Utc>) -> Result<i64, DbError> {
        let id = store::enqueue(&self.db, job, self.default_max_attempts, now).await?;
        if job.run_at <= now {
            self.wake.notify_one();
        }
        Ok(id)
    }

    /// Current queue figures.
    pub async fn stats(&self, now: DateTime<Utc>) -> Result<QueueStats, DbError> {
        store::stats(&self.db, now).await
    }

    /// Wakes the local worker (jobs were added inside a transaction it cannot see).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Attempts a job gets unless it says otherwise.
    pub fn default_max_attempts(&self) -> u32 {
        self.default_max_attempts
    }

    pub(crate) fn wake_signal(&self) -> Arc<Notify> {
        self.wake.clone()
    }
}
