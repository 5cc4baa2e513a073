//! The Europe/Rome wall clock turned into instants, around midnight and the two nights
//! a year when the clocks change.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime};
use chrono::{TimeZone, Utc};
use chrono_tz::Tz;

use super::WeeklyShift;

/// The time zone rotas are written in.
pub const ROTA_TIME_ZONE: Tz = chrono_tz::Europe::Rome;

/// The instant a Europe/Rome date and time stands for: the first moment the clocks in
/// Rome show that time or a later one.
///
/// - An ordinary time is itself.
/// - A time shown twice (02:00–02:59 on the last Sunday of October) is its first
///   showing, still on summer time.
/// - A time never shown (02:00–02:59 on the last Sunday of March) is the end of the
///   gap, 03:00 summer time.
///
/// Starts and ends follow the same rule, so two shifts that meet on paper meet in time
/// (no gap, no overlap), and a shift lasts what the clocks on the wall say it lasts.
pub fn local_instant(local: NaiveDateTime) -> DateTime<Utc> {
    match ROTA_TIME_ZONE.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => end_of_gap(local),
    }
}

/// The first instant whose wall-clock time is `local` or later, for a `local` the clocks
/// skip. Bisection over whole seconds: within a day of a gap the wall clock only moves
/// forward (the zone's changes are months apart), and every UTC offset is within ±15 h.
fn end_of_gap(local: NaiveDateTime) -> DateTime<Utc> {
    let shows = |u: DateTime<Utc>| u.with_timezone(&ROTA_TIME_ZONE).naive_local();
    let naive = local.and_utc();
    let mut before = naive - Duration::hours(15);
    let mut after = naive + Duration::hours(15);
    while (after - before).num_seconds() > 1 {
        let mid = before + Duration::seconds((after - before).num_seconds() / 2);
        if shows(mid) >= local {
            after = mid;
        } else {
            before = mid;
        }
    }
    after
}

/// The Europe/Rome date at an instant.
pub fn local_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&ROTA_TIME_ZONE).date_naive()
}

/// The instants `[start, end)` of a shift from `start` to `end` starting on the local
/// `date`; an `end` at or before `start` is on the next day.
pub fn shift_instants(
    date: NaiveDate,
    start: NaiveTime,
    end: NaiveTime,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let end_date = if end <= start {
        date.succ_opt().unwrap_or(date)
    } else {
        date
    };
    (
        local_instant(date.and_time(start)),
        local_instant(end_date.and_time(end)),
    )
}

impl WeeklyShift {
    /// The instants of this shift's occurrence starting on `date`, if it starts that day.
    pub fn on(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        (date.weekday() == self.weekday).then(|| shift_instants(date, self.start, self.end))
    }
}
