//! On-call rotas: who is reachable, at a given instant, for a unit, for the regional
//! coordinator, among the help-line's night operators and among the mediators of a
//! language. A rota is weekly recurring shifts on the Europe/Rome wall clock plus one-off
//! overrides over absolute intervals; [`on_call`] answers "who, now?" and [`gaps`] finds
//! the hours nobody covers, for the admin page's warnings.
//!
//! Time rule (see [`local_instant`]): a local date and time means the first moment the
//! clocks in Rome show that time or a later one. Shifts that meet on paper therefore meet
//! in time, and a 22:00–08:00 night lasts 9 hours when the clocks go forward and 11 when
//! they go back.

mod clock;
mod cover;
mod seed;
mod store;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, NaiveTime, Timelike, Utc, Weekday};

use super::directory::{ContactRole, Directory};
use crate::db::DbError;

pub use clock::{local_date, local_instant, shift_instants, ROTA_TIME_ZONE};
pub use cover::{Interval, OnCall, Rota, Source};
pub use seed::{directory_targets, seed_from_directory};
pub use store::{
    add_override, add_shift, coverage, gaps, load, on_call, remove_override, remove_shift,
    Coverage, CoverageGap,
};

/// Whose rota: what a referral or a mediation request needs someone on call for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// A territorial unit, by directory code (`unit:<code>`).
    Unit(String),
    /// The regional coordinator (`coordinator`).
    Coordinator,
    /// The help-line's own operators at night (`night_operators`).
    NightOperators,
    /// Mediators of a language, by ISO 639 code (`mediators:<language>`).
    Mediators(String),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Unit(code) => write!(f, "unit:{code}"),
            Target::Coordinator => f.write_str("coordinator"),
            Target::NightOperators => f.write_str("night_operators"),
            Target::Mediators(language) => write!(f, "mediators:{language}"),
        }
    }
}

impl FromStr for Target {
    type Err = RotaError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || RotaError::InvalidTarget(s.to_string());
        match s.split_once(':') {
            None if s == "coordinator" => Ok(Target::Coordinator),
            None if s == "night_operators" => Ok(Target::NightOperators),
            Some(("unit", code)) if !code.is_empty() => Ok(Target::Unit(code.to_string())),
            Some(("mediators", language)) if is_language(language) => {
                Ok(Target::Mediators(language.to_string()))
            }
            _ => Err(invalid()),
        }
    }
}

/// Who is on call: someone of the directory or a console user.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Person {
    /// A unit's contact, by directory code.
    Contact(String),
    /// A mediator, by directory code.
    Mediator(String),
    /// The regional coordinator of the directory.
    Coordinator,
    /// A console user (an operator on the night rota), by id.
    User(i64),
}

impl Person {
    /// The stored kind: `contact`, `mediator`, `coordinator` or `user`.
    pub fn kind(&self) -> &'static str {
        match self {
            Person::Contact(_) => "contact",
            Person::Mediator(_) => "mediator",
            Person::Coordinator => "coordinator",
            Person::User(_) => "user",
        }
    }

    /// The stored reference: a code, a user id, or empty for the coordinator.
    pub fn reference(&self) -> String {
        match self {
            Person::Contact(code) | Person::Mediator(code) => code.clone(),
            Person::Coordinator => String::new(),
            Person::User(id) => id.to_string(),
        }
    }

    /// Rebuilds a person from its stored kind and reference.
    pub fn from_parts(kind: &str, reference: &str) -> Option<Self> {
        match kind {
            "contact" if !reference.is_empty() => Some(Person::Contact(reference.to_string())),
            "mediator" if !reference.is_empty() => Some(Person::Mediator(reference.to_string())),
            "coordinator" => Some(Person::Coordinator),
            "user" => reference.parse().ok().map(Person::User),
            _ => None,
        }
    }
}

impl fmt::Display for Person {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Person::Coordinator => f.write_str("coordinator"),
            other => write!(f, "{}:{}", other.kind(), other.reference()),
        }
    }
}

impl FromStr for Person {
    type Err = RotaError;

    /// `contact:<code>`, `mediator:<code>`, `coordinator` or `user:<id>`, as in forms.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, reference) = s.split_once(':').unwrap_or((s, ""));
        Person::from_parts(kind, reference).ok_or_else(|| RotaError::InvalidPerson(s.to_string()))
    }
}

/// Who is called first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RotaRole {
    /// Called first.
    Primary,
    /// Called when no primary acknowledges.
    Backup,
}

impl RotaRole {
    /// Both, in calling order.
    pub const ALL: [RotaRole; 2] = [RotaRole::Primary, RotaRole::Backup];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RotaRole::Primary => "primary",
            RotaRole::Backup => "backup",
        }
    }
}

impl From<ContactRole> for RotaRole {
    fn from(role: ContactRole) -> Self {
        match role {
            ContactRole::Primary => RotaRole::Primary,
            ContactRole::Backup => RotaRole::Backup,
        }
    }
}

impl FromStr for RotaRole {
    type Err = RotaError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RotaRole::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| RotaError::InvalidRole(s.to_string()))
    }
}

/// What an override does to the weekly shifts of its role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverrideMode {
    /// Stands in for every weekly shift of the same role (a swap, a holiday).
    Replace,
    /// Joins them, after the weekly ones (reinforcement during a campaign).
    Add,
}

impl OverrideMode {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OverrideMode::Replace => "replace",
            OverrideMode::Add => "add",
        }
    }
}

impl FromStr for OverrideMode {
    type Err = RotaError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "replace" => Ok(OverrideMode::Replace),
            "add" => Ok(OverrideMode::Add),
            _ => Err(RotaError::InvalidMode(s.to_string())),
        }
    }
}

/// A weekly recurring shift on the Europe/Rome wall clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeeklyShift {
    /// The day it starts.
    pub weekday: Weekday,
    /// Local start, whole minutes.
    pub start: NaiveTime,
    /// Local end, whole minutes; at or before `start` it is on the next day, so
    /// 22:00–08:00 is a night and 00:00–00:00 a whole day.
    pub end: NaiveTime,
    /// Who.
    pub person: Person,
    /// Called first or on escalation.
    pub role: RotaRole,
}

/// A one-off change over an absolute interval `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// Start, included.
    pub from: DateTime<Utc>,
    /// End, excluded.
    pub to: DateTime<Utc>,
    /// Who.
    pub person: Person,
    /// The role taken.
    pub role: RotaRole,
    /// Stands in for the weekly shifts of that role, or joins them.
    pub mode: OverrideMode,
}

impl Override {
    /// An override entered on the Europe/Rome wall clock, converted by [`local_instant`].
    pub fn from_local(
        from: NaiveDateTime,
        to: NaiveDateTime,
        person: Person,
        role: RotaRole,
        mode: OverrideMode,
    ) -> Self {
        Override {
            from: local_instant(from),
            to: local_instant(to),
            person,
            role,
            mode,
        }
    }
}

/// A stored shift or override with its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored<T> {
    /// Id, for removal.
    pub id: i64,
    /// The shift or override.
    pub value: T,
}

/// Why a rota entry was refused. Messages name codes only, never a number or a name.
#[derive(Debug, thiserror::Error)]
pub enum RotaError {
    /// Not a target.
    #[error("`{0}` is not a rota target; expected unit:<code>, coordinator, night_operators or mediators:<language>")]
    InvalidTarget(String),
    /// Not a person reference.
    #[error(
        "`{0}` is not a person; expected contact:<code>, mediator:<code>, coordinator or user:<id>"
    )]
    InvalidPerson(String),
    /// Not a role.
    #[error("unknown role `{0}`; expected primary or backup")]
    InvalidRole(String),
    /// Not a mode.
    #[error("unknown override mode `{0}`; expected replace or add")]
    InvalidMode(String),
    /// The unit is not in the directory.
    #[error("no unit `{0}` in the directory")]
    UnknownUnit(String),
    /// Nobody in the directory speaks it.
    #[error("no mediator in the directory speaks `{0}`")]
    UnknownLanguage(String),
    /// The contact is not in the directory.
    #[error("no contact `{0}` in the directory")]
    UnknownContact(String),
    /// The mediator is not in the directory.
    #[error("no mediator `{0}` in the directory")]
    UnknownMediator(String),
    /// No active operator or supervisor with that id.
    #[error("no active operator with id {0}")]
    UnknownUser(i64),
    /// Exists, but does not belong on that rota.
    #[error("{person} cannot be on call for {target}")]
    NotForTarget {
        /// Who.
        person: Person,
        /// Whose rota.
        target: Target,
    },
    /// Seconds in a shift time.
    #[error("shift times are whole minutes")]
    InvalidTime,
    /// Ends before it starts.
    #[error("an override must end after it starts")]
    EmptyOverride,
    /// The same shift is already there.
    #[error("the rota already has this shift")]
    Duplicate,
    /// No such shift or override.
    #[error("no such rota entry")]
    NotFound,
    /// Storage.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for RotaError {
    fn from(e: sqlx::Error) -> Self {
        RotaError::Db(e.into())
    }
}

/// An ISO 639 code as the directory writes them: two or three lowercase letters.
fn is_language(s: &str) -> bool {
    (2..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase())
}

/// Whether a shift time is whole minutes (what the tables store).
fn is_whole_minute(t: NaiveTime) -> bool {
    t.second() == 0 && t.nanosecond() == 0
}

/// Checks a target and a person on its rota against the directory. Console users (the
/// night operators) are checked in the database by the caller.
pub fn check_entry(dir: &Directory, target: &Target, person: &Person) -> Result<(), RotaError> {
    match target {
        Target::Unit(code) if !dir.active_units().any(|u| &u.code == code) => {
            return Err(RotaError::UnknownUnit(code.clone()))
        }
        Target::Mediators(language)
            if !dir.mediators.iter().any(|m| m.languages.contains(language)) =>
        {
            return Err(RotaError::UnknownLanguage(language.clone()))
        }
        _ => {}
    }
    let fits = match (target, person) {
        (Target::Unit(unit), Person::Contact(code)) => {
            let contact = dir
                .contacts
                .iter()
                .find(|c| &c.code == code)
                .ok_or_else(|| RotaError::UnknownContact(code.clone()))?;
            &contact.unit == unit
        }
        (Target::Mediators(language), Person::Mediator(code)) => {
            let mediator = dir
                .mediators
                .iter()
                .find(|m| &m.code == code)
                .ok_or_else(|| RotaError::UnknownMediator(code.clone()))?;
            mediator.languages.contains(language)
        }
        (Target::Coordinator, Person::Coordinator) => true,
        (Target::NightOperators, Person::User(_)) => true,
        _ => false,
    };
    if fits {
        Ok(())
    } else {
        Err(RotaError::NotForTarget {
            person: person.clone(),
            target: target.clone(),
        })
    }
}
