//! The job table: enqueue, claim with a lease, complete inside the handler's transaction,
//! fail with backoff, release on shutdown.
//!
//! A claim is fenced by (node, attempt number): a node whose lease expired, and whose
//! job was taken over, can no longer complete or fail it.

use chrono::{DateTime, Utc};

use super::{Job, NewJob};
use crate::db::{Db, DbError, Tx};
use crate::{with_db, with_tx};

/// A job's row as claimed.
#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    kind: String,
    payload: String,
    attempts: i32,
    max_attempts: i32,
}

/// Adds a job; with an idempotency key already used, returns the existing job's id.
pub async fn enqueue(
    db: &Db,
    job: &NewJob,
    default_max_attempts: u32,
    now: DateTime<Utc>,
) -> Result<i64, DbError> {
    let payload = job.payload.to_string();
    let max_attempts =
        i32::try_from(job.max_attempts.unwrap_or(default_max_attempts)).unwrap_or(i32::MAX);
    let id: Option<i64> = with_db!(db, |pool| {
        sqlx::query_scalar(
            "insert into jobs (kind, payload, idempotency_key, run_at, max_attempts, created_at, priority) \
             values ($1, $2, $3, $4, $5, $6, $7) on conflict (idempotency_key) do nothing returning id",
        )
        .bind(&job.kind)
        .bind(&payload)
        .bind(&job.idempotency_key)
        .bind(job.run_at)
        .bind(max_attempts)
        .bind(now)
        .bind(job.priority)
        .fetch_optional(pool)
        .await?
    });
    match (id, &job.idempotency_key) {
        (Some(id), _) => Ok(id),
        (None, Some(key)) => Ok(with_db!(db, |pool| {
            sqlx::query_scalar("select id from jobs where idempotency_key = $1")
                .bind(key)
                .fetch_one(pool)
                .await?
        })),
        (None, None) => Err(DbError::Corrupt("insert into jobs returned no id".into())),
    }
}

/// Adds a job inside another job's transaction, so that it is queued if and only if
/// that job completes (an escalation step and the steps it queues).
pub async fn enqueue_in(
    tx: &mut Tx,
    job: &NewJob,
    default_max_attempts: u32,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    let payload = job.payload.to_string();
    let max_attempts =
        i32::try_from(job.max_attempts.unwrap_or(default_max_attempts)).unwrap_or(i32::MAX);
    with_tx!(tx, |conn| {
        sqlx::query(
            "insert into jobs (kind, payload, idempotency_key, run_at, max_attempts, created_at, priority) \
             values ($1, $2, $3, $4, $5, $6, $7) on conflict (idempotency_key) do nothing",
        )
        .bind(&job.kind)
        .bind(&payload)
        .bind(&job.idempotency_key)
        .bind(job.run_at)
        .bind(max_attempts)
        .bind(now)
        .bind(job.priority)
        .execute(&mut *conn)
        .await?;
    });
    Ok(())
}

/// The claim statement: due jobs, or jobs whose owner's lease ran out; the most urgent
/// first, then in due order.
macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "update jobs set state = 'running', attempts = attempts + 1, locked_by = $1, locked_until = $2 \
             where id in (select id from jobs \
               where (state = 'pending' and run_at <= $3) or (state = 'running' and locked_until < $3) \
               order by priority desc, run_at limit $4",
            $lock,
            ") returning id, kind, payload, attempts, max_attempts"
        )
    };
}

fn claim_sql(db: &Db) -> &'static str {
    match db {
        // One writer at a time: the update with its subquery is atomic.
        Db::Sqlite(_) => claim_sql!(""),
        // Several nodes: rows another node is claiming right now are skipped, not waited for.
        Db::Postgres(_) => claim_sql!(" for update skip locked"),
    }
}

/// Claims up to `limit` jobs that are due, or whose owner's lease ran out.
pub async fn claim(
    db: &Db,
    node: &str,
    limit: usize,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<Vec<Job>, DbError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows: Vec<JobRow> = with_db!(db, |pool| {
        sqlx::query_as(claim_sql(db))
            .bind(node)
            .bind(lease_until)
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await?
    });
    rows.into_iter()
        .map(|r| {
            let payload = serde_json::from_str(&r.payload)
                .map_err(|e| DbError::Corrupt(format!("job {} payload: {e}", r.id)))?;
            Ok(Job {
                id: r.id,
                kind: r.kind,
                payload,
                attempt: r.attempts,
                max_attempts: r.max_attempts,
            })
        })
        .collect()
}

/// When the next pending job falls due (it may be due already), if any is pending.
pub async fn next_due(db: &Db) -> Result<Option<DateTime<Utc>>, DbError> {
    Ok(with_db!(db, |pool| {
        sqlx::query_scalar("select min(run_at) from jobs where state = 'pending'")
            .fetch_one(pool)
            .await?
    }))
}

/// Marks a claimed job done, inside the handler's transaction so its effects and its
/// completion commit together. False when the claim was lost (the caller rolls back).
pub(super) async fn complete_in(
    tx: &mut Tx,
    job: &Job,
    node: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let updated = with_tx!(tx, |conn| {
        sqlx::query(
            "update jobs set state = 'done', finished_at = $1, locked_by = null, locked_until = null, \
             last_error = null where id = $2 and attempts = $3 and locked_by = $4 and state = 'running'",
        )
        .bind(now)
        .bind(job.id)
        .bind(job.attempt)
        .bind(node)
        .execute(&mut *conn)
        .await?
        .rows_affected()
    });
    Ok(updated == 1)
}

/// Records a failed attempt: back to pending at `retry_at`, or failed for good.
pub async fn fail(
    db: &Db,
    job: &Job,
    node: &str,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let (state, run_at, finished_at) = match retry_at {
        Some(at) => ("pending", at, None),
        None => ("failed", now, Some(now)),
    };
    let updated = with_db!(db, |pool| {
        sqlx::query(
            "update jobs set state = $1, run_at = $2, finished_at = $3, locked_by = null, locked_until = null, \
             last_error = $4 where id = $5 and attempts = $6 and locked_by = $7 and state = 'running'",
        )
        .bind(state)
        .bind(run_at)
        .bind(finished_at)
        .bind(error)
        .bind(job.id)
        .bind(job.attempt)
        .bind(node)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(updated == 1)
}

/// Gives back every claim this node still holds (graceful shutdown), so another node can
/// take them at once instead of waiting for the lease to run out.
pub async fn release(db: &Db, node: &str) -> Result<u64, DbError> {
    Ok(with_db!(db, |pool| {
        sqlx::query(
            "update jobs set state = 'pending', locked_by = null, locked_until = null \
             where locked_by = $1 and state = 'running'",
        )
        .bind(node)
        .execute(pool)
        .await?
        .rows_affected()
    }))
}

/// Queue figures for metrics and the admin page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueStats {
    /// Pending and due now.
    pub due: i64,
    /// Pending, due later.
    pub scheduled: i64,
    /// Claimed by a node.
    pub running: i64,
    /// Given up after the last attempt.
    pub failed: i64,
    /// How late the oldest due job is, in seconds (0 when none is due).
    pub lag_seconds: f64,
}

/// Current queue figures.
pub async fn stats(db: &Db, now: DateTime<Utc>) -> Result<QueueStats, DbError> {
    type Row = (
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<DateTime<Utc>>,
    );
    let (due, scheduled, running, failed, oldest): Row = with_db!(db, |pool| {
        sqlx::query_as(
            "select \
               sum(case when state = 'pending' and run_at <= $1 then 1 else 0 end), \
               sum(case when state = 'pending' and run_at > $1 then 1 else 0 end), \
               sum(case when state = 'running' then 1 else 0 end), \
               sum(case when state = 'failed' then 1 else 0 end), \
               min(case when state = 'pending' and run_at <= $1 then run_at end) \
             from jobs where state in ('pending', 'running', 'failed')",
        )
        .bind(now)
        .fetch_one(pool)
        .await?
    });
    let lag_seconds = oldest
        .map(|t| (now - t).num_milliseconds().max(0) as f64 / 1000.0)
        .unwrap_or(0.0);
    Ok(QueueStats {
        due: due.unwrap_or(0),
        scheduled: scheduled.unwrap_or(0),
        running: running.unwrap_or(0),
        failed: failed.unwrap_or(0),
        lag_seconds,
    })
}

/// Pushes a running job's lease forward.
pub async fn extend(db: &Db, job: &Job, node: &str, until: DateTime<Utc>) -> Result<(), DbError> {
    with_db!(db, |pool| {
        sqlx::query(
            "update jobs set locked_until = $1 where id = $2 and attempts = $3 and locked_by = $4 and state = 'running'",
        )
        .bind(until)
        .bind(job.id)
        .bind(job.attempt)
        .bind(node)
        .execute(pool)
        .await?;
    });
    Ok(())
}
