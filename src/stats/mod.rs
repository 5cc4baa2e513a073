//! Statistics for the managers of the regional system: figures over a period of whole
//! days on the Rome clock, optionally for one territory, added up from the figures kept
//! for each day (`rollup`).

pub mod calls;
pub mod cases;
mod dashboard;
pub mod mediation;
pub mod referrals;
pub mod report;
pub mod rollup;

pub use dashboard::{dashboard, dashboard_within, Dashboard};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// The clock every period and every hour of day is read on: the help-line's own.
pub const ZONE: Tz = chrono_tz::Europe::Rome;

/// Whole days on the Rome clock, from `from` (included) to `to` (excluded), so that
/// consecutive periods neither overlap nor leave a gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// First day.
    pub from: NaiveDate,
    /// The day after the last one.
    pub to: NaiveDate,
}

/// Why a period was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    /// A field is not a date.
    #[error("`{field}` is not a date; expected YYYY-MM-DD")]
    NotADate {
        /// `from` or `to`.
        field: &'static str,
    },
    /// The period ends before it starts.
    #[error("the period ends before it starts")]
    Reversed,
    /// A day whose midnight the Rome clock does not show (never happens for Europe/Rome,
    /// whose changes are at 02:00 and 03:00, but the type does not know that).
    #[error("{0} has no midnight on the Rome clock")]
    NoMidnight(NaiveDate),
}

impl Period {
    /// Parses the two dates of a form (`YYYY-MM-DD`); `from` after `to` is refused, an
    /// empty period (`from` = `to`) is allowed and counts nothing.
    pub fn parse(from: &str, to: &str) -> Result<Self, PeriodError> {
        let date = |s: &str, field| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| PeriodError::NotADate { field })
        };
        let (from, to) = (date(from, "from")?, date(to, "to")?);
        if from > to {
            return Err(PeriodError::Reversed);
        }
        Ok(Self { from, to })
    }

    /// The period as UTC instants `[start, end)`, which is how calls are stored. A day
    /// with a clock change is 23 or 25 hours long.
    pub fn utc_bounds(&self) -> Result<(DateTime<Utc>, DateTime<Utc>), PeriodError> {
        let midnight = |d: NaiveDate| {
            ZONE.from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .ok_or(PeriodError::NoMidnight(d))
        };
        Ok((midnight(self.from)?, midnight(self.to)?))
    }
}

/// What a set of figures is about: a period and, optionally, one territory (calls are
/// placed in a territory by the caller's landline prefix; mobiles and withheld numbers
/// have none and are counted only when no territory is chosen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The days.
    pub period: Period,
    /// A territory code of the directory, e.g. `FI`.
    pub territory: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_is_read_on_the_rome_clock_across_a_clock_change() {
        let p = Period::parse("2024-03-31", "2024-04-01").unwrap();
        let (start, end) = p.utc_bounds().unwrap();
        assert_eq!(start.to_rfc3339(), "2024-03-30T23:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2024-03-31T22:00:00+00:00");
        assert_eq!((end - start).num_hours(), 23);
    }

    #[test]
    fn a_period_ending_before_it_starts_is_refused() {
        assert_eq!(
            Period::parse("2024-05-02", "2024-05-01"),
            Err(PeriodError::Reversed)
        );
    }

    #[test]
    fn dates_that_do_not_exist_are_refused_with_their_field() {
        assert_eq!(
            Period::parse("2024-02-30", "2024-03-01"),
            Err(PeriodError::NotADate { field: "from" })
        );
        assert_eq!(
            Period::parse("2024-02-01", "01/03/2024"),
            Err(PeriodError::NotADate { field: "to" })
        );
    }

    #[test]
    fn an_empty_period_is_allowed() {
        assert!(Period::parse("2024-02-01", "2024-02-01").is_ok());
    }
}
