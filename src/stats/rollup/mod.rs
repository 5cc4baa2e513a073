//! Statistics kept by day (`stats_days`): each day on the Rome clock and each territory
//! has its figures stored, so that a period of any length adds up a few rows per day.
//!
//! Triggers in the database mark a day (`stats_marks`) whenever a write can change its
//! figures; a marked day is recomputed whole from the records before it is read, so the
//! stored figures are never older than what they summarise. How a recomputation makes
//! sure that a write it could not see leaves the day marked differs by backend (see
//! [`refresh_day_sqlite`] and [`refresh_day_postgres`]). A background task keeps up with
//! the marks so that the dashboard rarely has more than today to redo.

mod day;
mod facts;

use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate, Utc};
use tokio_util::sync::CancellationToken;

pub use day::{DayFigures, Histogram, Totals};

use super::{Period, Scope};
use crate::config::Backend;
use crate::db::{Db, DbError, Tx};
use crate::{with_db, with_tx};

/// How often the background task looks for marked days.
const FOLLOW_EVERY: Duration = Duration::from_secs(30);
/// Days recomputed per round of the background task, oldest first.
const FOLLOW_BATCH: i64 = 64;

/// Recomputes every day of `period` that is marked, or was counted with another
/// repeat-caller window. Returns how many days were recomputed.
pub async fn refresh(db: &Db, period: &Period, repeat_window_days: u32) -> Result<usize, DbError> {
    let days = stale_days(db, Some(period), repeat_window_days, i64::MAX).await?;
    for day in &days {
        refresh_day(db, *day, repeat_window_days).await?;
    }
    Ok(days.len())
}

/// Recomputes the stale days of `period`, oldest first, until `deadline`; returns how
/// many are left (a page that must answer in time shows what is counted and says how
/// many days are not yet).
pub async fn refresh_until(
    db: &Db,
    period: &Period,
    repeat_window_days: u32,
    deadline: Instant,
) -> Result<usize, DbError> {
    let days = stale_days(db, Some(period), repeat_window_days, i64::MAX).await?;
    for (done, day) in days.iter().enumerate() {
        if Instant::now() >= deadline {
            return Ok(days.len() - done);
        }
        refresh_day(db, *day, repeat_window_days).await?;
    }
    Ok(0)
}

/// Recomputes up to `limit` stale days of any period, oldest first; returns how many.
pub async fn refresh_some(db: &Db, repeat_window_days: u32, limit: i64) -> Result<usize, DbError> {
    let days = stale_days(db, None, repeat_window_days, limit).await?;
    for day in &days {
        refresh_day(db, *day, repeat_window_days).await?;
    }
    Ok(days.len())
}

/// Recomputes every stale day; returns how many (after a bulk load, for instance).
pub async fn refresh_all(db: &Db, repeat_window_days: u32) -> Result<usize, DbError> {
    let mut done = 0;
    loop {
        let n = refresh_some(db, repeat_window_days, 1_000).await?;
        if n == 0 {
            return Ok(done);
        }
        done += n;
    }
}

async fn stale_days(
    db: &Db,
    period: Option<&Period>,
    repeat_window_days: u32,
    limit: i64,
) -> Result<Vec<NaiveDate>, DbError> {
    let (from, to) = match period {
        Some(p) => (Some(p.from), Some(p.to)),
        None => (None, None),
    };
    let window = i32::try_from(repeat_window_days).unwrap_or(i32::MAX);
    let sql = match db.backend() {
        Backend::Sqlite => {
            "select m.day from stats_marks m left join stats_counted c on c.day = m.day \
             where (c.changes is null or c.changes < m.changes or c.repeat_window_days <> $3) \
             and ($1 is null or m.day >= $1) and ($2 is null or m.day < $2) \
             order by m.day limit $4"
        }
        Backend::Postgres => {
            "select day from ( \
               select day from stats_marks union \
               select day from stats_days where repeat_window_days <> $3) d \
             where ($1 is null or day >= $1) and ($2 is null or day < $2) \
             order by day limit $4"
        }
    };
    Ok(with_db!(db, |pool| sqlx::query_scalar(sql)
        .bind(from)
        .bind(to)
        .bind(window)
        .bind(limit)
        .fetch_all(pool)
        .await?))
}

/// Recomputes one day's figures from the records.
async fn refresh_day(db: &Db, day: NaiveDate, repeat_window_days: u32) -> Result<(), DbError> {
    match db.backend() {
        Backend::Sqlite => refresh_day_sqlite(db, day, repeat_window_days).await,
        Backend::Postgres => refresh_day_postgres(db, day, repeat_window_days).await,
    }
}

/// SQLite: reads the day's count of changes and its records in one snapshot (a read
/// transaction, which blocks no writer), then stores the figures in a short write
/// transaction, only if no figures of a later count were stored meanwhile (by another
/// process, say); writes made after the snapshot leave the day stale, to be counted again.
async fn refresh_day_sqlite(
    db: &Db,
    day: NaiveDate,
    repeat_window_days: u32,
) -> Result<(), DbError> {
    let mut snapshot = db.begin().await?;
    let changes: i64 = with_tx!(&mut snapshot, |conn| sqlx::query_scalar(
        "select coalesce((select changes from stats_marks where day = $1), 0)"
    )
    .bind(day)
    .fetch_one(&mut *conn)
    .await?);
    let figures = facts::day(&mut snapshot, day, repeat_window_days).await?;
    snapshot.rollback().await?;

    let window = i32::try_from(repeat_window_days).unwrap_or(i32::MAX);
    let mut tx = db.begin_write().await?;
    let newer = with_tx!(&mut tx, |conn| sqlx::query(
        "insert into stats_counted (day, changes, repeat_window_days) values ($1, $2, $3) \
         on conflict (day) do update set changes = excluded.changes, \
           repeat_window_days = excluded.repeat_window_days \
         where excluded.changes > stats_counted.changes \
           or excluded.repeat_window_days <> stats_counted.repeat_window_days"
    )
    .bind(day)
    .bind(changes)
    .bind(window)
    .execute(&mut *conn)
    .await?
    .rows_affected());
    if newer == 0 {
        return tx.rollback().await;
    }
    store(&mut tx, day, &figures, repeat_window_days).await?;
    tx.commit().await
}

/// PostgreSQL: under a transaction-scoped advisory lock on the day (one recomputation
/// of a day at a time, across nodes), deletes the marks this transaction can see and
/// computes in the same transaction. Writers are not blocked (each adds its own mark
/// row); a write committed too late to be seen leaves its mark for the next round.
async fn refresh_day_postgres(
    db: &Db,
    day: NaiveDate,
    repeat_window_days: u32,
) -> Result<(), DbError> {
    let mut tx = db.begin_write().await?;
    if let Tx::Postgres(t) = &mut tx {
        // One key per day, in a range of its own: 0x5354 ("ST") in the high bits.
        let key = 0x5354_i64 << 48 | i64::from(day.num_days_from_ce());
        sqlx::query("select pg_advisory_xact_lock($1)")
            .bind(key)
            .execute(&mut **t)
            .await?;
        // A day's statements read a few thousand rows by index; compiling them (the
        // planner's estimates can be large on tables not analysed yet) took most of a
        // second per day, for nothing.
        sqlx::query("set local jit = off").execute(&mut **t).await?;
    }
    with_tx!(&mut tx, |conn| {
        sqlx::query("delete from stats_marks where day = $1")
            .bind(day)
            .execute(&mut *conn)
            .await?;
    });
    let figures = facts::day(&mut tx, day, repeat_window_days).await?;
    store(&mut tx, day, &figures, repeat_window_days).await?;
    tx.commit().await
}

/// Replaces the stored rows of `day`.
async fn store(
    tx: &mut Tx,
    day: NaiveDate,
    figures: &facts::ByTerritory,
    repeat_window_days: u32,
) -> Result<(), DbError> {
    let window = i32::try_from(repeat_window_days).unwrap_or(i32::MAX);
    let now = Utc::now();
    with_tx!(&mut *tx, |conn| {
        sqlx::query("delete from stats_days where day = $1")
            .bind(day)
            .execute(&mut *conn)
            .await?;
    });
    for (territory, f) in figures {
        let json = serde_json::to_string(f)
            .map_err(|e| DbError::Corrupt(format!("statistics of {day}: {e}")))?;
        with_tx!(&mut *tx, |conn| {
            sqlx::query(
                "insert into stats_days (day, territory, repeat_window_days, figures, built_at) \
                 values ($1, $2, $3, $4, $5)",
            )
            .bind(day)
            .bind(territory)
            .bind(window)
            .bind(&json)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        });
    }
    Ok(())
}

/// The stored figures of `scope` added up (recompute stale days first: [`refresh`]).
pub async fn load(db: &Db, scope: &Scope) -> Result<Totals, DbError> {
    let rows: Vec<(NaiveDate, String, String)> = with_db!(db, |pool| sqlx::query_as(
        "select day, territory, figures from stats_days \
         where day >= $1 and day < $2 and ($3 is null or territory = $3)"
    )
    .bind(scope.period.from)
    .bind(scope.period.to)
    .bind(&scope.territory)
    .fetch_all(pool)
    .await?);
    let mut totals = Totals::default();
    for (day, territory, json) in rows {
        let f: DayFigures = serde_json::from_str(&json)
            .map_err(|e| DbError::Corrupt(format!("statistics of {day} {territory}: {e}")))?;
        totals.add(day, &territory, &f);
    }
    Ok(totals)
}

/// Keeps the stored figures up with the marks until `stop`: a round at start (figures
/// of records written before this version, or while the service was down), then one
/// every [`FOLLOW_EVERY`].
pub fn follow(db: Db, repeat_window_days: u32, stop: CancellationToken) {
    tokio::spawn(async move {
        loop {
            match refresh_some(&db, repeat_window_days, FOLLOW_BATCH).await {
                // A full batch: more are waiting, go on without sleeping.
                Ok(n) if n as i64 == FOLLOW_BATCH && !stop.is_cancelled() => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "statistics not brought up to date"),
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(FOLLOW_EVERY) => {}
            }
        }
    });
}
