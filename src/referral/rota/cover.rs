//! A rota in memory and the two questions asked of it: who is on call at an instant,
//! and when is nobody.

use chrono::{DateTime, Days, NaiveDate, Utc};

use super::clock::local_date;
use super::{Override, OverrideMode, Person, RotaRole, Stored, Target, WeeklyShift};

/// An interval of time `[from, to)`.
pub type Interval = (DateTime<Utc>, DateTime<Utc>);

/// A target's shifts and the overrides of the period loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rota {
    /// Whose rota.
    pub target: Target,
    /// Weekly shifts, in the order they were added.
    pub shifts: Vec<Stored<WeeklyShift>>,
    /// Overrides, by start.
    pub overrides: Vec<Stored<Override>>,
}

/// Where an on-call entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A weekly shift, by id.
    Weekly(i64),
    /// An override, by id.
    Override(i64),
}

/// Someone on call at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnCall {
    /// Who.
    pub person: Person,
    /// Called first or on escalation.
    pub role: RotaRole,
    /// Since when (this occurrence of the shift, or the override).
    pub from: DateTime<Utc>,
    /// Until when, excluded.
    pub until: DateTime<Utc>,
    /// Which entry of the rota.
    pub source: Source,
}

impl Rota {
    /// Who is on call at `at`: primaries, then backups. Within a role, replace-overrides
    /// stand in for all the weekly shifts of that role; add-overrides follow them. A
    /// person appears once, with the first role found.
    pub fn on_call_at(&self, at: DateTime<Utc>) -> Vec<OnCall> {
        let weekly: Vec<OnCall> = self
            .shifts
            .iter()
            .filter_map(|s| {
                candidate_dates(local_date(at), local_date(at))
                    .filter_map(|d| s.value.on(d))
                    .find(|(from, until)| *from <= at && at < *until)
                    .map(|(from, until)| OnCall {
                        person: s.value.person.clone(),
                        role: s.value.role,
                        from,
                        until,
                        source: Source::Weekly(s.id),
                    })
            })
            .collect();
        let overrides: Vec<(OverrideMode, OnCall)> = self
            .overrides
            .iter()
            .filter(|o| o.value.from <= at && at < o.value.to)
            .map(|o| {
                let call = OnCall {
                    person: o.value.person.clone(),
                    role: o.value.role,
                    from: o.value.from,
                    until: o.value.to,
                    source: Source::Override(o.id),
                };
                (o.value.mode, call)
            })
            .collect();
        let overriding = |role: RotaRole, mode: OverrideMode| {
            overrides
                .iter()
                .filter(move |(m, c)| c.role == role && *m == mode)
                .map(|(_, c)| c)
        };
        let mut out: Vec<OnCall> = Vec::new();
        for role in RotaRole::ALL {
            let replacing: Vec<&OnCall> = overriding(role, OverrideMode::Replace).collect();
            let regular: Vec<&OnCall> = if replacing.is_empty() {
                weekly.iter().filter(|c| c.role == role).collect()
            } else {
                replacing
            };
            for c in regular
                .into_iter()
                .chain(overriding(role, OverrideMode::Add))
            {
                if !out.iter().any(|o| o.person == c.person) {
                    out.push(c.clone());
                }
            }
        }
        out
    }

    /// The intervals within `[from, to)` when nobody is on call, in order.
    pub fn gaps(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Interval> {
        if to <= from {
            return Vec::new();
        }
        // Every override has someone, whatever its mode, so coverage is the union of the
        // shifts' occurrences and the overrides.
        let mut covered: Vec<Interval> = self
            .shifts
            .iter()
            .flat_map(|s| {
                candidate_dates(local_date(from), local_date(to)).filter_map(|d| s.value.on(d))
            })
            .chain(self.overrides.iter().map(|o| (o.value.from, o.value.to)))
            .map(|(a, b)| (a.max(from), b.min(to)))
            .filter(|(a, b)| a < b)
            .collect();
        covered.sort();
        let mut gaps = Vec::new();
        let mut cursor = from;
        for (a, b) in covered {
            if a > cursor {
                gaps.push((cursor, a));
            }
            cursor = cursor.max(b);
        }
        if cursor < to {
            gaps.push((cursor, to));
        }
        gaps
    }
}

/// The local dates a shift may start on to reach into `[first, last]`: a shift ends at
/// the latest the day after it starts, so from the day before `first` (two, for margin).
fn candidate_dates(first: NaiveDate, last: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    let start = first.checked_sub_days(Days::new(2)).unwrap_or(first);
    start.iter_days().take_while(move |d| *d <= last)
}
