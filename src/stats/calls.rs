//! Call figures for the dashboard: totals by final state, first-time and repeat callers,
//! waiting and talk times, and calls by weekday and hour on the Rome clock.
//!
//! The grouping runs in the database, so a year of a million calls comes back as a few
//! hundred rows. SQLite and PostgreSQL store times differently (RFC 3339 text, timestamptz),
//! so the few expressions on times are written once per backend ([`Dialect`]); the rest
//! of each statement is shared.

use chrono::{Datelike, NaiveDateTime, Timelike};

use super::{Scope, ZONE};
use crate::config::Backend;
use crate::db::{Db, DbError};
use crate::with_db;

/// The final state of a call as the dashboard counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered and ended.
    Answered,
    /// The caller hung up before an answer.
    Abandoned,
    /// Sent to the on-call mobile and nothing recorded since.
    Overflowed,
    /// Nobody answered.
    Missed,
    /// A technical failure.
    Failed,
    /// Not over yet (or never closed).
    Open,
}

impl Outcome {
    /// Every outcome, in the order shown.
    pub const ALL: [Outcome; 6] = [
        Outcome::Answered,
        Outcome::Abandoned,
        Outcome::Overflowed,
        Outcome::Missed,
        Outcome::Failed,
        Outcome::Open,
    ];

    /// The console text key of its label.
    pub fn label_key(self) -> &'static str {
        match self {
            Outcome::Answered => "stats.outcome.answered",
            Outcome::Abandoned => "stats.outcome.abandoned",
            Outcome::Overflowed => "stats.outcome.overflowed",
            Outcome::Missed => "stats.outcome.missed",
            Outcome::Failed => "stats.outcome.failed",
            Outcome::Open => "stats.outcome.open",
        }
    }

    /// From a call's current state as stored.
    fn of_state(state: &str) -> Self {
        match state {
            "ended" => Outcome::Answered,
            "abandoned" => Outcome::Abandoned,
            "overflowed" => Outcome::Overflowed,
            "missed" => Outcome::Missed,
            "failed" => Outcome::Failed,
            _ => Outcome::Open,
        }
    }
}

/// Median and 90th percentile of a duration, in seconds; none over an empty set.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Spread {
    /// How many calls were measured.
    pub count: i64,
    /// Median.
    pub median: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
}

/// Every call figure of one scope.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CallFigures {
    /// Calls that arrived in the period.
    pub total: i64,
    /// Calls by final state, in [`Outcome::ALL`] order.
    pub by_outcome: Vec<(Outcome, i64)>,
    /// Calls that went to the on-call mobile at some point, whatever came after.
    pub through_overflow: i64,
    /// Calls from a number not seen in the repeat-caller window before.
    pub first_time: i64,
    /// Calls from a number seen in the window before (possibly before the period).
    pub repeat: i64,
    /// Calls without a number to compare (withheld or not given).
    pub withheld: i64,
    /// Arrival to answer, for answered calls.
    pub wait: Spread,
    /// Answer to end, for calls answered and ended.
    pub talk: Spread,
    /// Calls by weekday (Monday first) and hour on the Rome clock.
    pub heat: [[i64; 24]; 7],
}

/// The time expressions that differ between the backends.
pub(super) struct Dialect {
    pub(super) backend: Backend,
}

impl Dialect {
    /// Milliseconds from `a` to `b`, as an integer. SQLite's julianday is a double with
    /// sub-millisecond error, hence the rounding.
    pub(super) fn millis(&self, a: &str, b: &str) -> String {
        match self.backend {
            Backend::Sqlite => {
                format!("cast(round((julianday({b}) - julianday({a})) * 86400000.0) as integer)")
            }
            Backend::Postgres => {
                format!("cast(round(extract(epoch from ({b} - {a})) * 1000) as bigint)")
            }
        }
    }

    /// `t` is at most `$4` days of 24 hours before `of`, as the call record's own count
    /// (whole hours on PostgreSQL too, whose day arithmetic follows the session's zone).
    fn within_days_before(&self, t: &str, of: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("julianday({t}) >= julianday({of}) - $4"),
            Backend::Postgres => format!("{t} >= {of} - make_interval(hours => $4 * 24)"),
        }
    }

    /// The UTC hour of `t` as `YYYY-MM-DDTHH`. Rome's offset is always a whole number of
    /// hours, so each UTC hour is exactly one Rome hour; converting the few thousand
    /// buckets in Rust avoids time-zone tables in SQLite.
    fn utc_hour(&self, t: &str) -> String {
        match self.backend {
            // Stored by the call writer as RFC 3339 in UTC: the first 13 characters.
            Backend::Sqlite => format!("substr({t}, 1, 13)"),
            Backend::Postgres => format!("to_char({t} at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24')"),
        }
    }
}

/// The calls of the scope: `$1` start, `$2` end, `$3` territory or null.
const IN_SCOPE: &str =
    "c.opened_at >= $1 and c.opened_at < $2 and ($3 is null or c.territory_hint = $3)";

/// Computes every call figure of `scope`; `repeat_window_days` is the privacy setting
/// that also drives the board's repeat-caller hint.
#[tracing::instrument(skip(db))]
pub async fn figures(
    db: &Db,
    scope: &Scope,
    repeat_window_days: u32,
) -> Result<CallFigures, DbError> {
    let (start, end) = scope.bounds()?;
    let territory = scope.territory.clone();
    let sql = Dialect {
        backend: db.backend(),
    };
    let window = i32::try_from(repeat_window_days).unwrap_or(i32::MAX);

    let states: Vec<(String, i64, i64)> = with_db!(db, |pool| sqlx::query_as(&format!(
        "select c.state, count(*), sum(case when exists (select 1 from call_events o \
           where o.call_id = c.id and o.state = 'overflowed') then 1 else 0 end) \
         from calls c where {IN_SCOPE} group by c.state"
    ))
    .bind(start)
    .bind(end)
    .bind(&territory)
    .fetch_all(pool)
    .await?);

    let callers: (i64, Option<i64>, Option<i64>) = with_db!(db, |pool| sqlx::query_as(&format!(
        "select count(*), sum(case when c.caller_hash is null then 1 else 0 end), \
           sum(case when c.caller_hash is not null and exists (select 1 from calls p \
             where p.caller_hash = c.caller_hash and p.opened_at < c.opened_at and {}) \
           then 1 else 0 end) \
         from calls c where {IN_SCOPE}",
        sql.within_days_before("p.opened_at", "c.opened_at")
    ))
    .bind(start)
    .bind(end)
    .bind(&territory)
    .bind(window)
    .fetch_one(pool)
    .await?);

    let hours: Vec<(String, i64)> = with_db!(db, |pool| sqlx::query_as(&format!(
        "select {} as h, count(*) from calls c where {IN_SCOPE} group by 1",
        sql.utc_hour("c.opened_at")
    ))
    .bind(start)
    .bind(end)
    .bind(&territory)
    .fetch_all(pool)
    .await?);

    let wait = spread(
        db,
        &format!(
            "select {} as v from calls c join call_events a on a.call_id = c.id \
             and a.state = 'answered' where {IN_SCOPE}",
            sql.millis("c.opened_at", "a.at")
        ),
        scope,
    )
    .await?;
    let talk = spread(
        db,
        &format!(
            "select {} as v from calls c join call_events a on a.call_id = c.id \
             and a.state = 'answered' join call_events e on e.call_id = c.id \
             and e.state = 'ended' where {IN_SCOPE}",
            sql.millis("a.at", "e.at")
        ),
        scope,
    )
    .await?;

    let (total, withheld, repeat) = callers;
    let (withheld, repeat) = (withheld.unwrap_or(0), repeat.unwrap_or(0));
    let mut by_outcome: Vec<(Outcome, i64)> = Outcome::ALL.iter().map(|o| (*o, 0)).collect();
    let mut through_overflow = 0;
    for (state, n, overflowed) in states {
        let outcome = Outcome::of_state(&state);
        for (o, count) in by_outcome.iter_mut() {
            if *o == outcome {
                *count += n;
            }
        }
        through_overflow += overflowed;
    }
    Ok(CallFigures {
        total,
        by_outcome,
        through_overflow,
        first_time: total - withheld - repeat,
        repeat,
        withheld,
        wait,
        talk,
        heat: heat_map(&hours)?,
    })
}

/// Spreads the per-UTC-hour counts over the Rome week.
fn heat_map(hours: &[(String, i64)]) -> Result<[[i64; 24]; 7], DbError> {
    let mut heat = [[0i64; 24]; 7];
    for (bucket, n) in hours {
        let utc = NaiveDateTime::parse_from_str(&format!("{bucket}:00"), "%Y-%m-%dT%H:%M")
            .map_err(|_| DbError::Corrupt(format!("call time bucket `{bucket}`")))?
            .and_utc()
            .with_timezone(&ZONE);
        let day = utc.weekday().num_days_from_monday() as usize;
        heat[day][utc.hour() as usize] += n;
    }
    Ok(heat)
}

/// Median and p90 of the millisecond column `v` of `values`, interpolated between the
/// two nearest ranks (as PostgreSQL's percentile_cont). SQLite has no percentile
/// aggregate, so the database sorts and only the two rows around each rank come back,
/// never the whole column. `values` binds `$1` start, `$2` end, `$3` territory or null
/// (the other sections' scopes bind the same).
pub(super) async fn spread(db: &Db, values: &str, scope: &Scope) -> Result<Spread, DbError> {
    let (start, end) = scope.bounds()?;
    let territory = scope.territory.clone();
    let count: i64 = with_db!(db, |pool| sqlx::query_scalar(&format!(
        "select count(*) from ({values}) x"
    ))
    .bind(start)
    .bind(end)
    .bind(&territory)
    .fetch_one(pool)
    .await?);
    if count == 0 {
        return Ok(Spread::default());
    }
    let mut at = Vec::with_capacity(2);
    for p in [0.5, 0.9] {
        let rank = (count - 1) as f64 * p;
        let lower = rank.floor();
        let pair: Vec<i64> = with_db!(db, |pool| sqlx::query_scalar(&format!(
            "select v from ({values}) x order by v limit 2 offset $4"
        ))
        .bind(start)
        .bind(end)
        .bind(&territory)
        .bind(lower as i64)
        .fetch_all(pool)
        .await?);
        at.push(interpolate(&pair, rank - lower));
    }
    Ok(Spread {
        count,
        median: at.first().copied().flatten(),
        p90: at.get(1).copied().flatten(),
    })
}

/// The value `fraction` of the way from the first to the second of `pair`, in seconds.
fn interpolate(pair: &[i64], fraction: f64) -> Option<f64> {
    let low = *pair.first()? as f64;
    let high = pair.get(1).map_or(low, |h| *h as f64);
    Some((low + (high - low) * fraction) / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_between_neighbouring_ranks() {
        assert_eq!(interpolate(&[10_000, 20_000], 0.5), Some(15.0));
        assert_eq!(interpolate(&[30_000], 0.0), Some(30.0));
        assert_eq!(interpolate(&[], 0.0), None);
    }

    #[test]
    fn utc_hours_land_on_the_rome_weekday_and_hour() {
        // Sunday 31 March 2024 00:30 UTC is 01:30 in Rome (winter time); the same day
        // 22:30 UTC is Monday 00:30 in Rome (summer time from 02:00).
        let heat = heat_map(&[("2024-03-31T00".into(), 2), ("2024-03-31T22".into(), 1)]).unwrap();
        assert_eq!(heat[6][1], 2);
        assert_eq!(heat[0][0], 1);
        assert_eq!(heat.iter().flatten().sum::<i64>(), 3);
    }

    #[test]
    fn states_not_over_count_as_open() {
        assert_eq!(Outcome::of_state("ringing"), Outcome::Open);
        assert_eq!(Outcome::of_state("answered"), Outcome::Open);
        assert_eq!(Outcome::of_state("ended"), Outcome::Answered);
    }
}
