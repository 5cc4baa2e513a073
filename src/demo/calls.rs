//! Synthetic calls: when they arrive (a day/night and weekday pattern, a few campaign
//! peaks), how (mostly SIP), from whom (fictitious numbers, some callers coming back,
//! landlines of the directory's territories, mobiles, foreign and withheld numbers), and
//! how they go (answered and ended most, some abandoned, overflowed or missed), with
//! skewed waits and talk times. Pure: the same seed gives the same calls.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Rome;
use rand::rngs::StdRng;
use rand::Rng;

use super::random::{item_rng, log_normal, weighted};
use crate::calls::{CallState, Channel};
use crate::referral::Directory;

const STREAM_OUTCOME: u64 = 1;
const STREAM_CALL: u64 = 2;
const STREAM_CALLER: u64 = 3;
const STREAM_PEAKS: u64 = 4;

/// Calls by hour of the day on the Rome clock: the line is open all night, but most
/// calls come in office hours, with a lull at lunch.
const HOURS: [f64; 24] = [
    2.0, 1.5, 1.0, 0.8, 0.7, 0.8, 1.5, 3.0, 5.0, 7.0, 8.0, 8.0, 7.0, 6.0, 6.0, 7.0, 7.0, 7.0, 6.0,
    5.0, 4.0, 4.0, 3.0, 2.5,
];
/// Calls by weekday, Monday first: fewer at the weekend.
const WEEKDAYS: [f64; 7] = [1.15, 1.1, 1.05, 1.05, 1.0, 0.7, 0.6];
/// Residents by province (thousands), for landline callers of each territory.
pub(super) const POPULATION: [(&str, f64); 10] = [
    ("FI", 990.0),
    ("PI", 420.0),
    ("LU", 385.0),
    ("AR", 335.0),
    ("LI", 330.0),
    ("PT", 290.0),
    ("SI", 265.0),
    ("PO", 260.0),
    ("GR", 220.0),
    ("MS", 190.0),
];
/// Mobile prefixes of the Italian operators.
const MOBILE: [&str; 12] = [
    "320", "328", "329", "333", "334", "338", "340", "345", "347", "349", "351", "388",
];
/// Country codes and the national numbers' leading digits of foreign mobiles most seen.
const FOREIGN: [(&str, f64); 6] = [
    ("+234 80", 40.0),
    ("+40 72", 25.0),
    ("+355 69", 10.0),
    ("+55 11 9", 10.0),
    ("+212 6", 10.0),
    ("+380 67", 5.0),
];

/// How a call goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Course {
    Answered,
    OverflowAnswered,
    AbandonedQueued,
    AbandonedRinging,
    Missed,
    OverflowMissed,
    /// Sent to the on-call mobile, nothing recorded since (a live state).
    OverflowOpen,
    Failed,
}

const COURSES: [(Course, f64); 8] = [
    (Course::Answered, 75.0),
    (Course::OverflowAnswered, 4.0),
    (Course::AbandonedQueued, 6.0),
    (Course::AbandonedRinging, 6.0),
    (Course::Missed, 2.0),
    (Course::OverflowMissed, 5.5),
    (Course::OverflowOpen, 0.5),
    (Course::Failed, 1.0),
];
const CHANNELS: [(Channel, f64); 3] = [
    (Channel::Sip, 88.0),
    (Channel::Cpaas, 8.0),
    (Channel::Manual, 4.0),
];

/// One step after `offered`.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The state entered.
    pub state: CallState,
    /// Milliseconds after the call arrived.
    pub after_ms: i64,
    /// The machine reason the service writes for it.
    pub reason: &'static str,
    /// Reported by the operator who took the call.
    pub by_operator: bool,
}

/// One synthetic call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallPlan {
    /// How it arrived.
    pub channel: Channel,
    /// The fictitious number it came from; `None` when withheld.
    pub caller: Option<String>,
    /// When it arrived.
    pub opened_at: DateTime<Utc>,
    /// What happened, in order.
    pub steps: Vec<Step>,
    /// Which of the demo operators took (or opened) it.
    pub operator: usize,
}

impl CallPlan {
    /// Whether an operator talked with the caller and the call is over.
    pub fn answered(&self) -> bool {
        self.steps
            .last()
            .is_some_and(|s| s.state == CallState::Ended)
    }
}

/// Draws the calls of one run.
#[derive(Debug, Clone)]
pub struct Generator {
    seed: u64,
    /// Every day of the period with the running total of its weight.
    days: Vec<(NaiveDate, f64)>,
    /// Landline prefixes with the weight of their territory.
    prefixes: Vec<(String, f64)>,
    /// Callers who call more than once are drawn from the first `returning` callers.
    returning: u64,
    operators: usize,
}

impl Generator {
    /// A generator of `calls` calls between `from` and `to` (Rome dates, both included),
    /// answered by `operators` operators.
    pub fn new(
        seed: u64,
        calls: u64,
        from: NaiveDate,
        to: NaiveDate,
        directory: &Directory,
        operators: usize,
    ) -> Self {
        let count = (to - from).num_days().max(0) + 1;
        // Campaigns and raids: about one peak day every four months, and its echo.
        let peaks: Vec<i64> = (0..(count / 120).max(1) as u64)
            .map(|j| item_rng(seed, STREAM_PEAKS, j).gen_range(0..count))
            .collect();
        let mut total = 0.0;
        let days = (0..count)
            .map(|i| {
                let day = from + Duration::days(i);
                let mut w = WEEKDAYS[day.weekday().num_days_from_monday() as usize];
                if peaks.contains(&i) {
                    w *= 4.0;
                } else if peaks.contains(&(i - 1)) {
                    w *= 2.0;
                }
                total += w;
                (day, total)
            })
            .collect();
        let prefixes = directory
            .territories
            .iter()
            .flat_map(|t| {
                let people = POPULATION
                    .iter()
                    .find(|(code, _)| *code == t.code)
                    .map_or(150.0, |(_, p)| *p);
                let share = people / t.prefixes.len().max(1) as f64;
                t.prefixes.iter().map(move |p| (p.clone(), share))
            })
            .collect();
        Self {
            seed,
            days,
            prefixes,
            returning: (calls / 25).max(1),
            operators: operators.max(1),
        }
    }

    fn channel_and_course(&self, index: u64) -> (Channel, Course) {
        let mut rng = item_rng(self.seed, STREAM_OUTCOME, index);
        let channel = *weighted(&mut rng, &CHANNELS).unwrap_or(&Channel::Sip);
        // A call recorded by an operator was taken by one.
        let course = if channel == Channel::Manual {
            Course::Answered
        } else {
            *weighted(&mut rng, &COURSES).unwrap_or(&Course::Answered)
        };
        (channel, course)
    }

    /// Whether call `index` will be answered and ended, without drawing the rest of it.
    pub fn answered(&self, index: u64) -> bool {
        matches!(
            self.channel_and_course(index).1,
            Course::Answered | Course::OverflowAnswered
        )
    }

    /// Call `index` of the run.
    pub fn plan(&self, index: u64) -> CallPlan {
        let (channel, course) = self.channel_and_course(index);
        let mut rng = item_rng(self.seed, STREAM_CALL, index);
        let opened_at = self.arrival(&mut rng);
        // One call in four is from someone who calls again; the rest call once.
        let caller = if rng.gen_bool(0.15) {
            None
        } else if rng.gen_bool(0.25) {
            Some(self.caller_number(rng.gen_range(0..self.returning)))
        } else {
            Some(self.caller_number(self.returning + index))
        };
        let operator = rng.gen_range(0..self.operators);
        let steps = if channel == Channel::Manual {
            manual_steps(&mut rng)
        } else {
            sip_steps(&mut rng, course)
        };
        CallPlan {
            channel,
            caller,
            opened_at,
            steps,
            operator,
        }
    }

    /// The fictitious number of caller `k`: always the same for the same caller.
    pub fn caller_number(&self, k: u64) -> String {
        let mut rng = item_rng(self.seed, STREAM_CALLER, k);
        let line = k % 10_000_000;
        let kind = rng.gen_range(0..100);
        if kind < 33 {
            if let Some(prefix) = weighted(&mut rng, &self.prefixes) {
                return format!("+39 {prefix} {line:07}");
            }
        }
        if kind < 93 {
            return format!("+39 {} {line:07}", MOBILE[rng.gen_range(0..MOBILE.len())]);
        }
        let country = weighted(&mut rng, &FOREIGN).copied().unwrap_or("+234 80");
        format!("{country} {line:07}")
    }

    fn arrival(&self, rng: &mut StdRng) -> DateTime<Utc> {
        let total = self.days.last().map_or(0.0, |(_, t)| *t);
        let x = rng.gen::<f64>() * total;
        let i = self.days.partition_point(|(_, t)| *t <= x);
        let day = self.days.get(i).or(self.days.last()).map(|(d, _)| *d);
        let hour = hour_of(rng);
        let seconds = rng.gen_range(0..3600);
        let millis = rng.gen_range(0..1000);
        let local = day
            .unwrap_or_default()
            .and_time(NaiveTime::MIN + Duration::hours(hour as i64))
            + Duration::seconds(seconds)
            + Duration::milliseconds(millis);
        // The hour skipped in spring does not exist in Rome: such a call came an hour on.
        Rome.from_local_datetime(&local)
            .earliest()
            .or_else(|| {
                Rome.from_local_datetime(&(local + Duration::hours(1)))
                    .earliest()
            })
            .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
    }
}

fn hour_of(rng: &mut StdRng) -> usize {
    let total: f64 = HOURS.iter().sum();
    let mut x = rng.gen::<f64>() * total;
    for (h, w) in HOURS.iter().enumerate() {
        if x < *w {
            return h;
        }
        x -= w;
    }
    23
}

fn ms(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

/// Talk time: a few calls are over in seconds (silent, wrong number), most last minutes.
fn talk(rng: &mut StdRng) -> f64 {
    if rng.gen_bool(0.15) {
        log_normal(rng, 25.0, 0.6, 3.0, 120.0)
    } else {
        log_normal(rng, 330.0, 0.7, 40.0, 5400.0)
    }
}

fn ended(rng: &mut StdRng) -> &'static str {
    if rng.gen_bool(0.6) {
        "caller_hung_up"
    } else {
        "operator_hung_up"
    }
}

fn manual_steps(rng: &mut StdRng) -> Vec<Step> {
    let answered = ms(rng.gen_range(0.5..5.0));
    vec![
        step(CallState::Answered, answered, "manual", true),
        step(CallState::Ended, answered + ms(talk(rng)), "manual", true),
    ]
}

fn step(state: CallState, after_ms: i64, reason: &'static str, by_operator: bool) -> Step {
    Step {
        state,
        after_ms,
        reason,
        by_operator,
    }
}

/// The service's path for a trunk call: queued, the phones rung, then the course's end.
fn sip_steps(rng: &mut StdRng, course: Course) -> Vec<Step> {
    let mut t = ms(rng.gen_range(0.2..2.0));
    if course == Course::Failed {
        return vec![step(CallState::Failed, t, "sip_dialog", false)];
    }
    let mut steps = vec![step(CallState::Queued, t, "sip", false)];
    if course == Course::AbandonedQueued {
        t += ms(log_normal(rng, 25.0, 0.8, 2.0, 600.0));
        steps.push(step(CallState::Abandoned, t, "caller_hung_up", false));
        return steps;
    }
    t += ms(log_normal(rng, 3.0, 0.9, 0.1, 300.0));
    steps.push(step(CallState::Ringing, t, "phones_rung", false));
    match course {
        Course::Answered => {
            t += ms(log_normal(rng, 9.0, 0.7, 1.0, 60.0));
            steps.push(step(CallState::Answered, t, "sip_answered", true));
            t += ms(talk(rng));
            steps.push(step(CallState::Ended, t, ended(rng), false));
        }
        Course::AbandonedRinging => {
            t += ms(log_normal(rng, 20.0, 0.6, 2.0, 60.0));
            steps.push(step(CallState::Abandoned, t, "caller_hung_up", false));
        }
        Course::Missed => {
            t += ms(rng.gen_range(30.0..60.0));
            steps.push(step(CallState::Missed, t, "ring_timeout", false));
        }
        Course::OverflowAnswered | Course::OverflowMissed | Course::OverflowOpen => {
            t += ms(rng.gen_range(30.0..60.0));
            steps.push(step(CallState::Overflowed, t, "ring_timeout", false));
            if course == Course::OverflowAnswered {
                t += ms(log_normal(rng, 12.0, 0.5, 2.0, 45.0));
                steps.push(step(CallState::Answered, t, "overflow_answered", true));
                t += ms(talk(rng));
                steps.push(step(CallState::Ended, t, ended(rng), false));
            } else if course == Course::OverflowMissed {
                t += ms(rng.gen_range(20.0..45.0));
                steps.push(step(CallState::Missed, t, "overflow_no_answer", false));
            }
        }
        Course::AbandonedQueued | Course::Failed => {}
    }
    steps
}

#[cfg(test)]
mod tests;
