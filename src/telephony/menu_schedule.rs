//! When a line plays the language menu: always, never, or only within a daily window on
//! the Rome clock (e.g. out of office hours, when fewer operators and no mediator are at
//! hand), as `[[lines]] menu` says. `[sip] menu` is the switch above all lines.

use chrono::{DateTime, NaiveTime, Utc};

/// A line's `menu` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuSchedule {
    /// Every call hears the menu.
    Always,
    /// No call does: calls ring the operators at once, as without a menu.
    Never,
    /// Calls arriving from `from` (included) to `to` (excluded) on the Rome clock; a
    /// window that ends before it starts runs over midnight (`20:00-08:00`).
    Between {
        /// Start of the window.
        from: NaiveTime,
        /// End of the window.
        to: NaiveTime,
    },
}

/// What `[[lines]] menu` may say, for error messages.
pub const EXPECTED: &str =
    "expected \"always\", \"never\" or a daily window on the Rome clock, e.g. \"20:00-08:00\"";

impl MenuSchedule {
    /// Reads `always`, `never` or `HH:MM-HH:MM`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        match text {
            "always" => return Ok(Self::Always),
            "never" => return Ok(Self::Never),
            _ => {}
        }
        let bad = || format!("`{text}`: {EXPECTED}");
        let (from, to) = text.split_once('-').ok_or_else(bad)?;
        let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| bad());
        let (from, to) = (time(from)?, time(to)?);
        if from == to {
            // An empty window (or a whole day) is surely a slip: say which one is meant.
            return Err(format!(
                "`{text}`: the window starts and ends at the same time; \
                 write \"always\" or \"never\""
            ));
        }
        Ok(Self::Between { from, to })
    }

    /// Whether a call arriving at `at` hears the menu.
    pub fn plays_at(&self, at: DateTime<Utc>) -> bool {
        match *self {
            Self::Always => true,
            Self::Never => false,
            Self::Between { from, to } => {
                let now = at.with_timezone(&crate::stats::ZONE).time();
                if from < to {
                    from <= now && now < to
                } else {
                    now >= from || now < to
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn rome(h: u32, m: u32) -> DateTime<Utc> {
        // 2 December: Rome is UTC+1.
        Utc.with_ymd_and_hms(2026, 12, 2, h, m, 0).unwrap() - chrono::Duration::hours(1)
    }

    #[test]
    fn always_and_never_mean_what_they_say() {
        assert!(MenuSchedule::parse("always").unwrap().plays_at(rome(3, 0)));
        assert!(!MenuSchedule::parse(" never ")
            .unwrap()
            .plays_at(rome(12, 0)));
    }

    #[test]
    fn a_window_is_read_on_the_rome_clock_with_its_end_excluded() {
        let day = MenuSchedule::parse("08:00-20:00").unwrap();
        assert!(!day.plays_at(rome(7, 59)));
        assert!(day.plays_at(rome(8, 0)));
        assert!(day.plays_at(rome(19, 59)));
        assert!(!day.plays_at(rome(20, 0)));
    }

    #[test]
    fn a_window_that_ends_before_it_starts_runs_over_midnight() {
        let night = MenuSchedule::parse("20:00-08:00").unwrap();
        assert!(night.plays_at(rome(23, 0)));
        assert!(night.plays_at(rome(0, 30)));
        assert!(!night.plays_at(rome(8, 0)));
        assert!(!night.plays_at(rome(12, 0)));
    }

    #[test]
    fn anything_else_is_refused_with_what_is_expected() {
        for text in ["sometimes", "8-20", "08:00", "25:00-08:00", "08:00-08:00"] {
            let e = MenuSchedule::parse(text).unwrap_err();
            assert!(e.contains(&format!("`{text}`")), "{e}");
        }
        assert!(MenuSchedule::parse("8-20").unwrap_err().contains("always"));
    }
}
