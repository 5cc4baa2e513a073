//! Working time on the Europe/Rome clock: business hours, Italian public holidays and
//! deadlines such as "escalate a P3 referral after 2 working days".
//!
//! Pure computation, no I/O. Wall-clock times become instants by the same rule as the
//! rotas': a time the clocks skip (02:00–02:59 on the last Sunday of March) is the end
//! of the gap, a time shown twice (the last Sunday of October) is its first showing.
//! Nothing here panics, even at the ends of chrono's range.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime};
use chrono::{Offset, TimeZone, Utc};
use chrono_tz::{GapInfo, Tz};

/// The time zone business hours are written in.
pub const TIME_ZONE: Tz = chrono_tz::Europe::Rome;

/// The Europe/Rome date at an instant; `None` past the end of chrono's range.
fn local_date(at: DateTime<Utc>) -> Option<NaiveDate> {
    let utc = at.naive_utc();
    let offset = TIME_ZONE.offset_from_utc_datetime(&utc).fix();
    utc.checked_add_offset(offset).map(|local| local.date())
}

/// The first instant the clocks in Rome show `local` or a later time: an ordinary time
/// is itself, a time shown twice its first showing (still summer time), a time the
/// clocks skip the end of the gap. `None` past the ends of chrono's range.
fn local_instant(local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match TIME_ZONE.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
        LocalResult::None => GapInfo::new(&local, &TIME_ZONE)?
            .end
            .map(|t| t.with_timezone(&Utc)),
    }
}

/// A time of day known to be valid, for constants.
const fn time(hour: u32, min: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(hour, min, 0) {
        Some(t) => t,
        None => panic!("invalid time of day"),
    }
}

/// When the offices are open: the same hours on every open day of the week, on the
/// Europe/Rome clock.
///
/// `open` must be before `close` (hours that cross midnight are not supported); with
/// `open >= close`, or no open day, the offices are never open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusinessHours {
    /// Open days, Monday first.
    pub days: [bool; 7],
    /// Opening time, inclusive.
    pub open: NaiveTime,
    /// Closing time, exclusive.
    pub close: NaiveTime,
}

impl Default for BusinessHours {
    /// Monday to Friday, 09:00–18:00.
    fn default() -> Self {
        BusinessHours {
            days: [true, true, true, true, true, false, false],
            open: time(9, 0),
            close: time(18, 0),
        }
    }
}

impl BusinessHours {
    /// Whether these hours are ever open: `open` before `close` on at least one day.
    pub fn ever_open(&self) -> bool {
        self.open < self.close && self.days.contains(&true)
    }

    /// The working time in one open day: `close − open` on the clock.
    pub fn day_length(&self) -> Duration {
        (self.close - self.open).max(Duration::zero())
    }
}

/// Easter Sunday of a Gregorian `year` (anonymous Gregorian algorithm, also known as
/// Meeus/Jones/Butcher). `None` only for years outside chrono's date range.
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c.div_euclid(4);
    let k = c.rem_euclid(4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l).div_euclid(451);
    let n = h + l - 7 * m + 114;
    let month = u32::try_from(n.div_euclid(31)).ok()?;
    let day = u32::try_from(n.rem_euclid(31) + 1).ok()?;
    NaiveDate::from_ymd_opt(year, month, day)
}

/// Italian national public holidays: New Year's Day, Epiphany (6 Jan), Easter Sunday,
/// Easter Monday, Liberation Day (25 Apr), Labour Day (1 May), Republic Day (2 Jun),
/// Assumption (15 Aug), All Saints (1 Nov), Immaculate Conception (8 Dec), Christmas
/// and St Stephen (25–26 Dec). Local patron saints' days are not included; see
/// [`Calendar::extra_holidays`].
pub fn is_public_holiday(date: NaiveDate) -> bool {
    const FIXED: [(u32, u32); 10] = [
        (1, 1),
        (1, 6),
        (4, 25),
        (5, 1),
        (6, 2),
        (8, 15),
        (11, 1),
        (12, 8),
        (12, 25),
        (12, 26),
    ];
    if FIXED.contains(&(date.month(), date.day())) {
        return true;
    }
    match easter_sunday(date.year()) {
        Some(easter) => date == easter || easter.succ_opt() == Some(date),
        None => false,
    }
}

/// Business hours plus holidays: national ones always, local ones (the patron saint's
/// day of the unit's town, say) listed in `extra_holidays`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    pub hours: BusinessHours,
    /// Further closed dates on top of [`is_public_holiday`].
    pub extra_holidays: Vec<NaiveDate>,
}

impl Calendar {
    /// A calendar with these hours and no local holidays.
    pub fn new(hours: BusinessHours) -> Self {
        Calendar {
            hours,
            extra_holidays: Vec::new(),
        }
    }

    /// Whether the Europe/Rome `date` is a working day: an open day of the week that is
    /// neither a public holiday nor one of the extra holidays.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        let weekday = date.weekday().num_days_from_monday() as usize;
        self.hours.days.get(weekday).copied().unwrap_or(false)
            && !is_public_holiday(date)
            && !self.extra_holidays.contains(&date)
    }

    /// The instants `[open, close)` the offices are open on the Europe/Rome `date`, if it
    /// is a working day with a non-empty opening.
    fn opening(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if !self.is_working_day(date) {
            return None;
        }
        let open = local_instant(date.and_time(self.hours.open))?;
        let close = local_instant(date.and_time(self.hours.close))?;
        (open < close).then_some((open, close))
    }

    /// Whether the offices are open at `at`: a working day, at or after opening and
    /// before closing.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        local_date(at)
            .and_then(|date| self.opening(date))
            .is_some_and(|(open, close)| open <= at && at < close)
    }

    /// The first instant by which `working` of business time has elapsed since `start`,
    /// counting only the open hours of working days.
    ///
    /// - Starting outside hours counts from the next opening; an amount that runs out
    ///   exactly at closing time ends at closing time, not at the next opening.
    /// - A zero or negative amount is `start` itself.
    /// - Open hours are real elapsed time between the instants of opening and closing,
    ///   so a 09:00–18:00 day is 9 h whatever the UTC offset that day.
    /// - If the offices are never open (see [`BusinessHours::ever_open`]) or the
    ///   deadline is beyond chrono's range, the result is [`DateTime::<Utc>::MAX_UTC`].
    pub fn add_working_time(&self, start: DateTime<Utc>, working: Duration) -> DateTime<Utc> {
        let mut remaining = working;
        if remaining <= Duration::zero() {
            return start;
        }
        if !self.hours.ever_open() {
            return DateTime::<Utc>::MAX_UTC;
        }
        let Some(mut date) = local_date(start) else {
            return DateTime::<Utc>::MAX_UTC;
        };
        loop {
            if let Some((open, close)) = self.opening(date) {
                let from = open.max(start);
                if from < close {
                    let available = close - from;
                    if remaining <= available {
                        return from + remaining;
                    }
                    remaining -= available;
                }
            }
            match date.succ_opt() {
                Some(next) => date = next,
                None => return DateTime::<Utc>::MAX_UTC,
            }
        }
    }

    /// [`add_working_time`](Self::add_working_time) of `days` full business days,
    /// `days × (close − open)`: from 17:00 on a working day, one working day later is
    /// 17:00 on the next working day.
    pub fn add_working_days(&self, start: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        if days == 0 {
            return start;
        }
        if !self.hours.ever_open() {
            return DateTime::<Utc>::MAX_UTC;
        }
        let working = i32::try_from(days)
            .ok()
            .and_then(|days| self.hours.day_length().checked_mul(days));
        match working {
            Some(working) => self.add_working_time(start, working),
            None => DateTime::<Utc>::MAX_UTC,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Weekday};
    use chrono_tz::Europe::Rome;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// An unambiguous Europe/Rome wall-clock time as an instant.
    fn rome(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Rome.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn default_calendar() -> Calendar {
        Calendar::default()
    }

    #[test]
    fn easter_2024_is_31_march() {
        assert_eq!(easter_sunday(2024), Some(date(2024, 3, 31)));
    }

    #[test]
    fn easter_2025_is_20_april() {
        assert_eq!(easter_sunday(2025), Some(date(2025, 4, 20)));
    }

    #[test]
    fn easter_2026_is_5_april() {
        assert_eq!(easter_sunday(2026), Some(date(2026, 4, 5)));
    }

    #[test]
    fn easter_2027_is_28_march() {
        assert_eq!(easter_sunday(2027), Some(date(2027, 3, 28)));
    }

    #[test]
    fn easter_matches_known_dates_including_the_earliest_and_latest_possible() {
        for (year, month, day) in [
            (2000, 4, 23),
            (2008, 3, 23),
            (2011, 4, 24),
            (2019, 4, 21),
            (2038, 4, 25),
            (1943, 4, 25),
            (1818, 3, 22),
            (2285, 3, 22),
        ] {
            assert_eq!(easter_sunday(year), Some(date(year, month, day)), "{year}");
        }
    }

    #[test]
    fn easter_is_always_a_sunday_between_22_march_and_25_april() {
        for year in 1583..=3000 {
            let easter = easter_sunday(year).unwrap();
            assert_eq!(easter.weekday(), Weekday::Sun, "{year}");
            assert!(
                easter >= date(year, 3, 22) && easter <= date(year, 4, 25),
                "{year}"
            );
        }
    }

    #[test]
    fn the_national_holidays_of_2026_are_exactly_the_twelve_listed() {
        let holidays: Vec<NaiveDate> = date(2026, 1, 1)
            .iter_days()
            .take_while(|d| d.year() == 2026)
            .filter(|d| is_public_holiday(*d))
            .collect();
        assert_eq!(
            holidays,
            vec![
                date(2026, 1, 1),
                date(2026, 1, 6),
                date(2026, 4, 5),
                date(2026, 4, 6),
                date(2026, 4, 25),
                date(2026, 5, 1),
                date(2026, 6, 2),
                date(2026, 8, 15),
                date(2026, 11, 1),
                date(2026, 12, 8),
                date(2026, 12, 25),
                date(2026, 12, 26),
            ]
        );
    }

    #[test]
    fn good_friday_and_christmas_eve_are_not_public_holidays() {
        assert!(!is_public_holiday(date(2026, 4, 3)));
        assert!(!is_public_holiday(date(2026, 12, 24)));
    }

    #[test]
    fn default_hours_are_monday_to_friday_nine_to_six() {
        let hours = BusinessHours::default();
        assert_eq!(hours.days, [true, true, true, true, true, false, false]);
        assert_eq!(hours.open, NaiveTime::from_hms_opt(9, 0, 0).unwrap());
        assert_eq!(hours.close, NaiveTime::from_hms_opt(18, 0, 0).unwrap());
        assert_eq!(hours.day_length(), Duration::hours(9));
    }

    #[test]
    fn two_working_days_from_friday_17_00_end_on_tuesday_17_00() {
        let cal = default_calendar();
        let start = rome(2026, 1, 16, 17, 0);
        assert_eq!(start.with_timezone(&Rome).weekday(), Weekday::Fri);
        assert_eq!(cal.add_working_days(start, 2), rome(2026, 1, 20, 17, 0));
    }

    #[test]
    fn one_working_day_from_friday_17_00_ends_on_monday_17_00() {
        let cal = default_calendar();
        assert_eq!(
            cal.add_working_days(rome(2026, 1, 16, 17, 0), 1),
            rome(2026, 1, 19, 17, 0)
        );
    }

    #[test]
    fn starting_on_saturday_counts_from_monday_09_00() {
        let cal = default_calendar();
        let saturday = rome(2026, 1, 17, 11, 30);
        assert_eq!(
            cal.add_working_time(saturday, Duration::hours(1)),
            rome(2026, 1, 19, 10, 0)
        );
        assert_eq!(
            cal.add_working_time(saturday, Duration::minutes(1)),
            rome(2026, 1, 19, 9, 1)
        );
        assert_eq!(cal.add_working_days(saturday, 2), rome(2026, 1, 20, 18, 0));
    }

    #[test]
    fn starting_before_opening_counts_from_opening_the_same_day() {
        let cal = default_calendar();
        assert_eq!(
            cal.add_working_time(rome(2026, 1, 14, 6, 15), Duration::hours(2)),
            rome(2026, 1, 14, 11, 0)
        );
    }

    #[test]
    fn starting_after_closing_counts_from_the_next_opening() {
        let cal = default_calendar();
        assert_eq!(
            cal.add_working_time(rome(2026, 1, 14, 21, 0), Duration::hours(2)),
            rome(2026, 1, 15, 11, 0)
        );
        assert_eq!(
            cal.add_working_time(rome(2026, 1, 14, 18, 0), Duration::hours(2)),
            rome(2026, 1, 15, 11, 0)
        );
    }

    #[test]
    fn working_time_that_runs_out_at_closing_ends_at_closing() {
        let cal = default_calendar();
        assert_eq!(
            cal.add_working_time(rome(2026, 1, 16, 17, 0), Duration::hours(1)),
            rome(2026, 1, 16, 18, 0)
        );
    }

    #[test]
    fn zero_or_negative_working_time_is_the_start_itself() {
        let cal = default_calendar();
        let saturday = rome(2026, 1, 17, 11, 30);
        assert_eq!(cal.add_working_time(saturday, Duration::zero()), saturday);
        assert_eq!(
            cal.add_working_time(saturday, Duration::hours(-3)),
            saturday
        );
        assert_eq!(cal.add_working_days(saturday, 0), saturday);
    }

    #[test]
    fn seconds_are_kept() {
        let cal = default_calendar();
        let start = rome(2026, 1, 14, 10, 0) + Duration::seconds(17);
        assert_eq!(
            cal.add_working_time(start, Duration::seconds(30)),
            rome(2026, 1, 14, 10, 0) + Duration::seconds(47)
        );
    }

    #[test]
    fn christmas_2026_two_working_days_from_thursday_24_december_10_00_end_tuesday_29_december_10_00(
    ) {
        // Thu 24: 10–18 = 8 h; Fri 25 and Sat 26 holidays, Sun 27 closed; Mon 28: 9 h
        // (17 h); Tue 29: the last hour, 09:00–10:00.
        let cal = default_calendar();
        let start = rome(2026, 12, 24, 10, 0);
        assert_eq!(start.with_timezone(&Rome).weekday(), Weekday::Thu);
        assert_eq!(cal.add_working_days(start, 2), rome(2026, 12, 29, 10, 0));
    }

    #[test]
    fn christmas_and_st_stephen_are_closed_even_on_weekdays() {
        let cal = default_calendar();
        // 2025: Thursday 25 and Friday 26 December.
        assert!(!cal.is_working_day(date(2025, 12, 25)));
        assert!(!cal.is_working_day(date(2025, 12, 26)));
        assert_eq!(
            cal.add_working_days(rome(2025, 12, 24, 10, 0), 1),
            rome(2025, 12, 29, 10, 0)
        );
    }

    #[test]
    fn easter_monday_2026_is_skipped() {
        // Fri 3 Apr 10–18 = 8 h; Sat, Sun (Easter), Mon 6 (Pasquetta) closed; Tue 7: 9 h
        // (17 h); Wed 8: the last hour.
        let cal = default_calendar();
        assert!(!cal.is_working_day(date(2026, 4, 6)));
        assert!(cal.is_working_day(date(2026, 4, 3)));
        assert_eq!(
            cal.add_working_days(rome(2026, 4, 3, 10, 0), 2),
            rome(2026, 4, 8, 10, 0)
        );
        assert!(!cal.is_open(rome(2026, 4, 6, 12, 0)));
    }

    #[test]
    fn across_the_spring_dst_change_a_business_day_is_still_nine_hours() {
        // Clocks go forward on Sunday 29 March 2026: Friday is UTC+1, Monday UTC+2.
        let cal = default_calendar();
        let friday = rome(2026, 3, 27, 17, 0);
        assert_eq!(friday, utc(2026, 3, 27, 16, 0));
        assert_eq!(cal.add_working_days(friday, 1), rome(2026, 3, 30, 17, 0));
        assert_eq!(cal.add_working_days(friday, 1), utc(2026, 3, 30, 15, 0));
        assert_eq!(cal.add_working_days(friday, 2), utc(2026, 3, 31, 15, 0));
        let morning = rome(2026, 3, 27, 10, 0);
        assert_eq!(cal.add_working_days(morning, 1), utc(2026, 3, 30, 8, 0));
        assert!(cal.is_open(utc(2026, 3, 30, 7, 0)));
        assert!(!cal.is_open(utc(2026, 3, 30, 6, 59)));
        assert!(!cal.is_open(utc(2026, 3, 30, 16, 0)));
    }

    #[test]
    fn across_the_autumn_dst_change_a_business_day_is_still_nine_hours() {
        // Clocks go back on Sunday 25 October 2026: Friday is UTC+2, Monday UTC+1.
        let cal = default_calendar();
        let friday = rome(2026, 10, 23, 17, 0);
        assert_eq!(friday, utc(2026, 10, 23, 15, 0));
        assert_eq!(cal.add_working_days(friday, 1), utc(2026, 10, 26, 16, 0));
        assert_eq!(cal.add_working_days(friday, 1), rome(2026, 10, 26, 17, 0));
        assert!(cal.is_open(utc(2026, 10, 26, 8, 0)));
        assert!(!cal.is_open(utc(2026, 10, 26, 7, 59)));
    }

    #[test]
    fn republic_day_on_a_tuesday_is_skipped() {
        // 2 June 2026 is a Tuesday: Mon 1 10–18 = 8 h, Wed 3: 9 h, Thu 4: the last hour.
        let cal = default_calendar();
        assert_eq!(date(2026, 6, 2).weekday(), Weekday::Tue);
        assert!(!cal.is_working_day(date(2026, 6, 2)));
        assert_eq!(
            cal.add_working_days(rome(2026, 6, 1, 10, 0), 2),
            rome(2026, 6, 4, 10, 0)
        );
    }

    #[test]
    fn assumption_on_a_friday_is_skipped() {
        // 15 August 2025 is a Friday: Thu 14 10–18 = 8 h, Mon 18: 9 h, Tue 19: last hour.
        let cal = default_calendar();
        assert_eq!(date(2025, 8, 15).weekday(), Weekday::Fri);
        assert_eq!(
            cal.add_working_days(rome(2025, 8, 14, 10, 0), 2),
            rome(2025, 8, 19, 10, 0)
        );
    }

    #[test]
    fn assumption_on_a_thursday_is_skipped() {
        // 15 August 2024 is a Thursday: Wed 14 from 17:00 = 1 h, Fri 16: 9 h, Mon 19: 8 h.
        let cal = default_calendar();
        assert_eq!(date(2024, 8, 15).weekday(), Weekday::Thu);
        assert_eq!(
            cal.add_working_days(rome(2024, 8, 14, 17, 0), 2),
            rome(2024, 8, 19, 17, 0)
        );
    }

    #[test]
    fn a_holiday_on_a_weekend_changes_nothing() {
        // 2 June 2024 is a Sunday, 15 August 2026 a Saturday.
        let cal = default_calendar();
        assert_eq!(
            cal.add_working_days(rome(2024, 5, 31, 17, 0), 2),
            rome(2024, 6, 4, 17, 0)
        );
        assert_eq!(
            cal.add_working_days(rome(2026, 8, 14, 17, 0), 2),
            rome(2026, 8, 18, 17, 0)
        );
    }

    #[test]
    fn extra_local_holidays_are_skipped() {
        // Rome's patron saints, Peter and Paul: Monday 29 June 2026.
        let cal = Calendar {
            extra_holidays: vec![date(2026, 6, 29)],
            ..Calendar::default()
        };
        assert!(!cal.is_working_day(date(2026, 6, 29)));
        assert!(!cal.is_open(rome(2026, 6, 29, 12, 0)));
        assert_eq!(
            cal.add_working_days(rome(2026, 6, 26, 17, 0), 2),
            rome(2026, 7, 1, 17, 0)
        );
        assert_eq!(
            default_calendar().add_working_days(rome(2026, 6, 26, 17, 0), 2),
            rome(2026, 6, 30, 17, 0)
        );
    }

    #[test]
    fn starting_inside_hours_on_a_holiday_counts_from_the_next_working_day() {
        let cal = default_calendar();
        assert_eq!(
            cal.add_working_time(rome(2026, 12, 8, 11, 0), Duration::hours(1)),
            rome(2026, 12, 9, 10, 0)
        );
    }

    #[test]
    fn is_open_includes_opening_and_excludes_closing() {
        let cal = default_calendar();
        assert!(cal.is_open(rome(2026, 1, 14, 9, 0)));
        assert!(cal.is_open(rome(2026, 1, 14, 17, 59)));
        assert!(!cal.is_open(rome(2026, 1, 14, 18, 0)));
        assert!(!cal.is_open(rome(2026, 1, 14, 8, 59)));
        assert!(!cal.is_open(rome(2026, 1, 17, 12, 0)));
        assert!(!cal.is_open(rome(2026, 1, 1, 12, 0)));
    }

    #[test]
    fn custom_hours_and_days_are_honoured() {
        // Saturday mornings only.
        let cal = Calendar::new(BusinessHours {
            days: [false, false, false, false, false, true, false],
            open: NaiveTime::from_hms_opt(8, 30, 0).unwrap(),
            close: NaiveTime::from_hms_opt(12, 30, 0).unwrap(),
        });
        assert!(cal.is_open(rome(2026, 1, 17, 8, 30)));
        assert!(!cal.is_open(rome(2026, 1, 16, 10, 0)));
        assert_eq!(
            cal.add_working_days(rome(2026, 1, 14, 10, 0), 2),
            rome(2026, 1, 24, 12, 30)
        );
    }

    #[test]
    fn an_opening_time_the_clocks_skip_opens_at_the_end_of_the_gap() {
        // Open every day 02:30–06:00. On 29 March 2026 02:30 never happens: the offices
        // open at 03:00 summer time (01:00 UTC) and that day holds 3 h.
        let cal = Calendar::new(BusinessHours {
            days: [true; 7],
            open: NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
            close: NaiveTime::from_hms_opt(6, 0, 0).unwrap(),
        });
        assert!(!cal.is_open(utc(2026, 3, 29, 0, 59)));
        assert!(cal.is_open(utc(2026, 3, 29, 1, 0)));
        assert_eq!(
            cal.add_working_time(utc(2026, 3, 29, 0, 0), Duration::hours(1)),
            utc(2026, 3, 29, 2, 0)
        );
        assert_eq!(
            cal.add_working_time(utc(2026, 3, 29, 0, 0), Duration::hours(3)),
            utc(2026, 3, 29, 4, 0)
        );
        // The fourth hour comes from the next day's opening, 02:30 summer time.
        assert_eq!(
            cal.add_working_time(utc(2026, 3, 29, 0, 0), Duration::hours(4)),
            utc(2026, 3, 30, 1, 30)
        );
    }

    #[test]
    fn an_opening_time_shown_twice_opens_at_its_first_showing() {
        // Open every day 02:30–06:00. On 25 October 2026 02:30 happens twice; the
        // offices open at the first one, summer time (00:30 UTC), and the day holds 4.5 h.
        let cal = Calendar::new(BusinessHours {
            days: [true; 7],
            open: NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
            close: NaiveTime::from_hms_opt(6, 0, 0).unwrap(),
        });
        assert!(!cal.is_open(utc(2026, 10, 25, 0, 29)));
        assert!(cal.is_open(utc(2026, 10, 25, 0, 30)));
        assert!(cal.is_open(utc(2026, 10, 25, 4, 59)));
        assert!(!cal.is_open(utc(2026, 10, 25, 5, 0)));
        assert_eq!(
            cal.add_working_time(utc(2026, 10, 25, 0, 0), Duration::minutes(270)),
            utc(2026, 10, 25, 5, 0)
        );
    }

    #[test]
    fn hours_that_are_never_open_give_the_end_of_time() {
        let closed_days = Calendar::new(BusinessHours {
            days: [false; 7],
            ..BusinessHours::default()
        });
        let backwards = Calendar::new(BusinessHours {
            open: NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
            close: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            ..BusinessHours::default()
        });
        let start = rome(2026, 1, 14, 10, 0);
        for cal in [closed_days, backwards] {
            assert!(!cal.hours.ever_open());
            assert!(!cal.is_open(start));
            assert_eq!(
                cal.add_working_time(start, Duration::hours(1)),
                DateTime::<Utc>::MAX_UTC
            );
            assert_eq!(cal.add_working_days(start, 2), DateTime::<Utc>::MAX_UTC);
            assert_eq!(cal.add_working_days(start, 0), start);
        }
    }

    #[test]
    fn a_deadline_past_the_end_of_the_calendar_is_the_end_of_time() {
        let cal = default_calendar();
        let start = rome(2026, 1, 14, 10, 0);
        assert_eq!(
            cal.add_working_time(
                DateTime::<Utc>::MAX_UTC - Duration::days(3),
                Duration::days(2)
            ),
            DateTime::<Utc>::MAX_UTC
        );
        assert!(cal.add_working_days(start, 1) < DateTime::<Utc>::MAX_UTC);
    }

    #[test]
    fn working_days_add_up_one_at_a_time() {
        // From every 59 minutes over three weeks around Easter 2026 and the DST change,
        // n days at once is the same as one day n times.
        let cal = default_calendar();
        let mut start = rome(2026, 3, 20, 0, 0);
        while start < rome(2026, 4, 10, 0, 0) {
            let mut step = start;
            for n in 1..=4 {
                step = cal.add_working_days(step, 1);
                assert_eq!(cal.add_working_days(start, n), step, "{start} + {n}");
            }
            start += Duration::minutes(59);
        }
    }

    #[test]
    fn the_ends_of_the_calendar_do_not_panic() {
        let every_day = Calendar::new(BusinessHours {
            days: [true; 7],
            ..BusinessHours::default()
        });
        let end = DateTime::<Utc>::MAX_UTC;
        for cal in [default_calendar(), every_day] {
            for at in [end, end - Duration::hours(10), DateTime::<Utc>::MIN_UTC] {
                cal.is_open(at);
            }
            assert_eq!(cal.add_working_time(end, Duration::hours(1)), end);
            assert_eq!(cal.add_working_days(end - Duration::hours(10), 2), end);
            assert!(cal.add_working_days(DateTime::<Utc>::MIN_UTC, 2) < end);
            assert_eq!(
                cal.add_working_days(DateTime::<Utc>::MIN_UTC, u32::MAX),
                end
            );
        }
    }
}
