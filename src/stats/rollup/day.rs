//! One day's figures in one territory, as stored: every count the dashboard adds up, and
//! the durations as histograms of whole seconds, so that days add up into any period
//! exactly (medians and percentiles included) without going back to the records.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::stats::calls::{CallFigures, Outcome, Spread};
use crate::stats::cases::{Ages, CaseFigures, CaseOutcomes, Relevance};
use crate::stats::mediation::{LanguageRow, MediationFigures};
use crate::stats::referrals::{ReferralFigures, UnitRow};

/// Counts by code; `""` stands for "not recorded".
pub type Counts = BTreeMap<String, i64>;

/// How many values took each whole number of seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Histogram(pub BTreeMap<i64, i64>);

impl Histogram {
    /// Records a duration in milliseconds, rounded to the nearest second.
    pub fn record_millis(&mut self, ms: i64) {
        *self.0.entry((ms + 500).div_euclid(1000)).or_default() += 1;
    }

    fn add(&mut self, other: &Histogram) {
        for (s, n) in &other.0 {
            *self.0.entry(*s).or_default() += n;
        }
    }

    /// Median and 90th percentile, interpolated between the two nearest ranks (as
    /// PostgreSQL's `percentile_cont`).
    pub fn spread(&self) -> Spread {
        let count: i64 = self.0.values().sum();
        if count == 0 {
            return Spread::default();
        }
        let at = |p: f64| {
            let rank = (count - 1) as f64 * p;
            let lower = rank.floor() as i64;
            let (low, high) = (self.nth(lower)?, self.nth(lower + 1));
            let high = high.unwrap_or(low);
            Some(low as f64 + (high - low) as f64 * (rank - lower as f64))
        };
        Spread {
            count,
            median: at(0.5),
            p90: at(0.9),
        }
    }

    /// The value of rank `k` (from 0) in ascending order.
    fn nth(&self, k: i64) -> Option<i64> {
        let mut seen = 0;
        for (s, n) in &self.0 {
            seen += n;
            if k < seen {
                return Some(*s);
            }
        }
        None
    }
}

/// The calls of a day that arrived in one territory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CallDay {
    /// Calls.
    pub total: i64,
    /// By current state as stored (`ended`, `abandoned`, …).
    pub states: Counts,
    /// Sent to the on-call mobile at some point.
    pub overflowed: i64,
    /// Without a number.
    pub withheld: i64,
    /// From a number seen within the repeat-caller window before.
    pub repeat: i64,
    /// By hour on the Rome clock (24 entries).
    pub hours: Vec<i64>,
    /// Arrival to answer.
    pub wait: Histogram,
    /// Answer to end.
    pub talk: Histogram,
    /// By the outcome the operator closed them with; `""` not closed.
    pub closed: Counts,
}

/// The intakes completed of a day placed in one territory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CaseDay {
    /// Every completed intake by relevance.
    pub relevance: Counts,
    /// The pertinent ones (the cases) by exploitation type, gender, …
    pub exploitation: Counts,
    /// By gender.
    pub gender: Counts,
    /// `minor`, `adult` or `unknown`.
    pub age: Counts,
    /// By nationality.
    pub nationality: Counts,
    /// By caller type.
    pub caller_type: Counts,
    /// By reason for the call.
    pub reason: Counts,
    /// By how contact resumes.
    pub callback: Counts,
    /// `referred`, `refused` or `none`.
    pub referral: Counts,
}

/// Everything of one day in one territory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DayFigures {
    /// Calls.
    pub calls: CallDay,
    /// Cases.
    pub cases: CaseDay,
    /// Mediation requests by language: requests and fulfilled.
    pub mediation: BTreeMap<String, [i64; 2]>,
    /// Request to mediator, for fulfilled requests.
    pub to_mediator: Histogram,
    /// Referrals by unit: sent, accepted, declined, escalated.
    pub referrals: BTreeMap<String, [i64; 4]>,
    /// Sending to the unit's answer.
    pub to_answer: Histogram,
}

/// Adds `n` to the count of `key`.
pub fn bump(counts: &mut Counts, key: Option<&str>, n: i64) {
    *counts
        .entry(key.unwrap_or_default().to_string())
        .or_default() += n;
}

fn add_counts(into: &mut Counts, from: &Counts) {
    for (k, n) in from {
        *into.entry(k.clone()).or_default() += n;
    }
}

/// Days (and territories) added up.
#[derive(Debug, Default)]
pub struct Totals {
    sum: DayFigures,
    heat: [[i64; 24]; 7],
    /// Pertinent intakes by territory key.
    case_territories: Counts,
}

impl Totals {
    /// Adds the figures of `day` in `territory` (`""` not known).
    pub fn add(&mut self, day: NaiveDate, territory: &str, f: &DayFigures) {
        let s = &mut self.sum;
        let (c, from) = (&mut s.calls, &f.calls);
        c.total += from.total;
        add_counts(&mut c.states, &from.states);
        c.overflowed += from.overflowed;
        c.withheld += from.withheld;
        c.repeat += from.repeat;
        c.wait.add(&from.wait);
        c.talk.add(&from.talk);
        add_counts(&mut c.closed, &from.closed);
        let weekday = day.weekday().num_days_from_monday() as usize;
        if let Some(row) = self.heat.get_mut(weekday) {
            for (cell, n) in row.iter_mut().zip(&from.hours) {
                *cell += n;
            }
        }

        let (k, from) = (&mut s.cases, &f.cases);
        for (into, src) in [
            (&mut k.relevance, &from.relevance),
            (&mut k.exploitation, &from.exploitation),
            (&mut k.gender, &from.gender),
            (&mut k.age, &from.age),
            (&mut k.nationality, &from.nationality),
            (&mut k.caller_type, &from.caller_type),
            (&mut k.reason, &from.reason),
            (&mut k.callback, &from.callback),
            (&mut k.referral, &from.referral),
        ] {
            add_counts(into, src);
        }
        if let Some(n) = from.relevance.get("pertinent") {
            bump(&mut self.case_territories, Some(territory), *n);
        }

        for (language, [requests, fulfilled]) in &f.mediation {
            let row = s.mediation.entry(language.clone()).or_default();
            row[0] += requests;
            row[1] += fulfilled;
        }
        s.to_mediator.add(&f.to_mediator);
        for (unit, counts) in &f.referrals {
            let row = s.referrals.entry(unit.clone()).or_default();
            for (r, n) in row.iter_mut().zip(counts) {
                *r += n;
            }
        }
        s.to_answer.add(&f.to_answer);
    }

    /// The figures of the days added.
    pub fn finish(self) -> (CallFigures, CaseFigures, MediationFigures, ReferralFigures) {
        let Totals {
            sum,
            heat,
            case_territories,
        } = self;
        (
            calls(&sum.calls, heat),
            cases(&sum.cases, case_territories),
            mediation(&sum),
            referrals(&sum),
        )
    }
}

fn calls(c: &CallDay, heat: [[i64; 24]; 7]) -> CallFigures {
    let mut by_outcome: Vec<(Outcome, i64)> = Outcome::ALL.iter().map(|o| (*o, 0)).collect();
    for (state, n) in &c.states {
        let outcome = Outcome::of_state(state);
        for (o, count) in by_outcome.iter_mut() {
            if *o == outcome {
                *count += n;
            }
        }
    }
    CallFigures {
        total: c.total,
        by_outcome,
        through_overflow: c.overflowed,
        first_time: c.total - c.withheld - c.repeat,
        repeat: c.repeat,
        withheld: c.withheld,
        wait: c.wait.spread(),
        talk: c.talk.spread(),
        heat,
        by_closing: by_count(&c.closed),
    }
}

fn cases(k: &CaseDay, territories: Counts) -> CaseFigures {
    let get = |counts: &Counts, key: &str| counts.get(key).copied().unwrap_or(0);
    let relevance = Relevance {
        pertinent: get(&k.relevance, "pertinent"),
        not_pertinent: get(&k.relevance, "not_pertinent"),
        prank_silent: get(&k.relevance, "prank_silent"),
        unrecorded: k
            .relevance
            .iter()
            .filter(|(code, _)| {
                !["pertinent", "not_pertinent", "prank_silent"].contains(&code.as_str())
            })
            .map(|(_, n)| n)
            .sum(),
    };
    CaseFigures {
        intakes: k.relevance.values().sum(),
        relevance,
        by_exploitation: by_count(&k.exploitation)
            .into_iter()
            .filter_map(|(code, n)| code.map(|c| (c, n)))
            .collect(),
        by_gender: by_count(&k.gender),
        ages: Ages {
            minors: get(&k.age, "minor"),
            adults: get(&k.age, "adult"),
            unknown: get(&k.age, "unknown"),
        },
        nationalities: crate::stats::cases::top_ten(by_count(&k.nationality)),
        by_territory: by_count(&territories),
        by_caller_type: by_count(&k.caller_type),
        by_reason: by_count(&k.reason),
        outcomes: CaseOutcomes {
            referred: get(&k.referral, "referred"),
            consent_refused: get(&k.referral, "refused"),
            not_referred: get(&k.referral, "none"),
            by_callback: by_count(&k.callback),
        },
    }
}

fn mediation(s: &DayFigures) -> MediationFigures {
    let mut by_language: Vec<LanguageRow> = s
        .mediation
        .iter()
        .map(|(language, [requests, fulfilled])| LanguageRow {
            language: language.clone(),
            requests: *requests,
            fulfilled: *fulfilled,
        })
        .collect();
    by_language.sort_by(|a, b| {
        b.requests
            .cmp(&a.requests)
            .then_with(|| a.language.cmp(&b.language))
    });
    MediationFigures {
        requests: by_language.iter().map(|r| r.requests).sum(),
        fulfilled: by_language.iter().map(|r| r.fulfilled).sum(),
        by_language,
        time_to_mediator: s.to_mediator.spread(),
    }
}

fn referrals(s: &DayFigures) -> ReferralFigures {
    let mut by_unit: Vec<UnitRow> = s
        .referrals
        .iter()
        .map(|(unit, [sent, accepted, declined, escalated])| UnitRow {
            unit: unit.clone(),
            sent: *sent,
            accepted: *accepted,
            declined: *declined,
            escalated: *escalated,
        })
        .collect();
    by_unit.sort_by(|a, b| b.sent.cmp(&a.sent).then_with(|| a.unit.cmp(&b.unit)));
    ReferralFigures {
        by_unit,
        time_to_answer: s.to_answer.spread(),
    }
}

/// Most frequent first, ties by code, the unrecorded (`""`) last as `None`; codes with
/// no count are left out.
fn by_count(counts: &Counts) -> Vec<(Option<String>, i64)> {
    let mut rows: Vec<(Option<String>, i64)> = counts
        .iter()
        .filter(|(_, n)| **n != 0)
        .map(|(k, n)| ((!k.is_empty()).then(|| k.clone()), *n))
        .collect();
    rows.sort_by(|(a, n), (b, m)| {
        (a.is_none(), std::cmp::Reverse(*n), a).cmp(&(b.is_none(), std::cmp::Reverse(*m), b))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(values: &[i64]) -> Histogram {
        let mut h = Histogram::default();
        for v in values {
            h.record_millis(v * 1000);
        }
        h
    }

    #[test]
    fn percentiles_interpolate_between_neighbouring_ranks() {
        let s = hist(&[10, 30, 50]).spread();
        assert_eq!((s.count, s.median, s.p90), (3, Some(30.0), Some(46.0)));
        assert_eq!(hist(&[10, 20]).spread().median, Some(15.0));
        assert_eq!(hist(&[7]).spread().p90, Some(7.0));
        assert_eq!(Histogram::default().spread(), Spread::default());
    }

    #[test]
    fn milliseconds_round_to_the_nearest_second() {
        let mut h = Histogram::default();
        for ms in [1499, 1500, 0, 2501] {
            h.record_millis(ms);
        }
        assert_eq!(h.0, BTreeMap::from([(0, 1), (1, 1), (2, 1), (3, 1)]));
    }

    #[test]
    fn days_add_up_and_land_on_their_weekday() {
        let mut f = DayFigures::default();
        f.calls.total = 2;
        f.calls.hours = vec![0; 24];
        f.calls.hours[3] = 2;
        f.calls.wait = hist(&[10, 20]);
        bump(&mut f.cases.relevance, Some("pertinent"), 1);
        let mut t = Totals::default();
        // 2 December 2026 is a Wednesday.
        let day = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        t.add(day, "FI", &f);
        t.add(day, "", &f);
        let (calls, cases, _, _) = t.finish();
        assert_eq!(calls.total, 4);
        assert_eq!(calls.heat[2][3], 4);
        assert_eq!(calls.wait.median, Some(15.0));
        assert_eq!(cases.by_territory, vec![(Some("FI".into()), 1), (None, 1)]);
    }

    #[test]
    fn equal_counts_are_ordered_by_code_and_the_unrecorded_come_last() {
        let counts = Counts::from([
            ("".into(), 9),
            ("PI".into(), 2),
            ("FI".into(), 2),
            ("LU".into(), 5),
            ("SI".into(), 0),
        ]);
        let codes: Vec<_> = by_count(&counts).into_iter().map(|(c, _)| c).collect();
        let codes: Vec<_> = codes.iter().map(|c| c.as_deref()).collect();
        assert_eq!(codes, [Some("LU"), Some("FI"), Some("PI"), None]);
    }
}
