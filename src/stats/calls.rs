//! Call figures for the dashboard: totals by final state, first-time and repeat callers,
//! waiting and talk times, calls by weekday and hour on the Rome clock, and the outcomes
//! the operators closed them with. Counted by day in `rollup`.

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
    pub(crate) fn of_state(state: &str) -> Self {
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
    /// Calls by the outcome the operator closed them with (`listening`,
    /// `referral_sent`, …); `None` for calls not closed.
    pub by_closing: Vec<(Option<String>, i64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_not_over_count_as_open() {
        assert_eq!(Outcome::of_state("ringing"), Outcome::Open);
        assert_eq!(Outcome::of_state("answered"), Outcome::Open);
        assert_eq!(Outcome::of_state("ended"), Outcome::Answered);
    }
}
