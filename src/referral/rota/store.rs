//! Rotas in the database: adding and removing shifts and overrides (checked against the
//! directory), loading a target's rota, and the questions of [`Rota`] asked of the
//! stored data.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveTime, Timelike, Utc, Weekday};

use super::cover::{Interval, OnCall, Rota};
use super::seed::directory_targets;
use super::{
    check_entry, is_whole_minute, Override, Person, RotaError, Stored, Target, WeeklyShift,
};
use crate::db::{Db, DbError};
use crate::referral::directory::Directory;
use crate::with_db;

type ShiftRow = (i64, String, i64, i64, i64, String, String, String);
type OverrideRow = (
    i64,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    String,
    String,
    String,
    String,
);

const SHIFT_COLUMNS: &str =
    "id, target, weekday, start_minute, end_minute, person_kind, person_ref, role";
const OVERRIDE_COLUMNS: &str =
    "id, target, starts_at, ends_at, person_kind, person_ref, role, mode";

/// The minutes after local midnight that the tables store for a shift time.
pub(super) fn minutes(t: NaiveTime) -> i64 {
    i64::from(t.num_seconds_from_midnight() / 60)
}

fn corrupt(what: &str, value: impl std::fmt::Display) -> DbError {
    DbError::Corrupt(format!("rota {what} `{value}`"))
}

fn shift_from_row(row: ShiftRow) -> Result<(String, Stored<WeeklyShift>), DbError> {
    let (id, target, weekday, start, end, kind, reference, role) = row;
    let time = |m: i64| {
        u32::try_from(m * 60)
            .ok()
            .and_then(|s| NaiveTime::from_num_seconds_from_midnight_opt(s, 0))
            .ok_or_else(|| corrupt("time", m))
    };
    let value = WeeklyShift {
        weekday: u8::try_from(weekday - 1)
            .ok()
            .and_then(|d| Weekday::try_from(d).ok())
            .ok_or_else(|| corrupt("weekday", weekday))?,
        start: time(start)?,
        end: time(end)?,
        person: Person::from_parts(&kind, &reference)
            .ok_or_else(|| corrupt("person", format!("{kind}:{reference}")))?,
        role: role.parse().map_err(|_| corrupt("role", &role))?,
    };
    Ok((target, Stored { id, value }))
}

fn override_from_row(row: OverrideRow) -> Result<(String, Stored<Override>), DbError> {
    let (id, target, from, to, kind, reference, role, mode) = row;
    let value = Override {
        from,
        to,
        person: Person::from_parts(&kind, &reference)
            .ok_or_else(|| corrupt("person", format!("{kind}:{reference}")))?,
        role: role.parse().map_err(|_| corrupt("role", &role))?,
        mode: mode.parse().map_err(|_| corrupt("mode", &mode))?,
    };
    Ok((target, Stored { id, value }))
}

/// Shifts of `target` (of every target when `None`), in the order they were added.
async fn load_shifts(
    db: &Db,
    target: Option<&Target>,
) -> Result<Vec<(String, Stored<WeeklyShift>)>, DbError> {
    let rows: Vec<ShiftRow> = match target {
        Some(target) => {
            let sql =
                format!("select {SHIFT_COLUMNS} from rota_shifts where target = $1 order by id");
            with_db!(db, |pool| sqlx::query_as(&sql)
                .bind(target.to_string())
                .fetch_all(pool)
                .await?)
        }
        None => {
            let sql = format!("select {SHIFT_COLUMNS} from rota_shifts order by id");
            with_db!(db, |pool| sqlx::query_as(&sql).fetch_all(pool).await?)
        }
    };
    rows.into_iter().map(shift_from_row).collect()
}

/// Overrides of `target` (of every target when `None`) that end after `from` and start
/// at or before `to`, by start.
async fn load_overrides(
    db: &Db,
    target: Option<&Target>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(String, Stored<Override>)>, DbError> {
    // The index on (target, ends_at) skips the past, where most overrides end up.
    let rows: Vec<OverrideRow> = match target {
        Some(target) => {
            let sql = format!(
                "select {OVERRIDE_COLUMNS} from rota_overrides \
                 where target = $1 and ends_at > $2 and starts_at <= $3 order by starts_at, id"
            );
            with_db!(db, |pool| sqlx::query_as(&sql)
                .bind(target.to_string())
                .bind(from)
                .bind(to)
                .fetch_all(pool)
                .await?)
        }
        None => {
            let sql = format!(
                "select {OVERRIDE_COLUMNS} from rota_overrides \
                 where ends_at > $1 and starts_at <= $2 order by starts_at, id"
            );
            with_db!(db, |pool| sqlx::query_as(&sql)
                .bind(from)
                .bind(to)
                .fetch_all(pool)
                .await?)
        }
    };
    rows.into_iter().map(override_from_row).collect()
}

/// A target's rota: every weekly shift and the overrides reaching into `[from, to]`
/// (for the admin page, from now to some weeks ahead).
pub async fn load(
    db: &Db,
    target: &Target,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Rota, DbError> {
    Ok(Rota {
        target: target.clone(),
        shifts: load_shifts(db, Some(target))
            .await?
            .into_iter()
            .map(|(_, s)| s)
            .collect(),
        overrides: load_overrides(db, Some(target), from, to)
            .await?
            .into_iter()
            .map(|(_, o)| o)
            .collect(),
    })
}

/// Who is on call for `target` at the instant `at`: primaries before backups, overrides
/// applied (see [`Rota::on_call_at`]). Empty when nobody is.
#[tracing::instrument(skip(db), fields(target = %target))]
pub async fn on_call(db: &Db, target: &Target, at: DateTime<Utc>) -> Result<Vec<OnCall>, DbError> {
    Ok(load(db, target, at, at).await?.on_call_at(at))
}

/// The intervals within `[from, to)` when nobody is on call for `target`.
pub async fn gaps(
    db: &Db,
    target: &Target,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Interval>, DbError> {
    Ok(load(db, target, from, to).await?.gaps(from, to))
}

/// An interval when nobody is on call for a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageGap {
    /// Whose rota.
    pub target: Target,
    /// Start, included.
    pub from: DateTime<Utc>,
    /// End, excluded.
    pub to: DateTime<Utc>,
}

/// What the admin page warns about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Uncovered intervals, by target (the directory's order), then by time.
    pub gaps: Vec<CoverageGap>,
    /// Rota entries naming someone who no longer fits: gone from the directory, moved to
    /// another unit, no longer speaking the language, or an operator deactivated.
    pub stale: Vec<(Target, Person)>,
}

/// Coverage of every rota within `[from, to)`: each target of the directory, the night
/// operators, and any other target with entries.
pub async fn coverage(
    db: &Db,
    dir: &Directory,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Coverage, DbError> {
    let mut order: Vec<Target> = directory_targets(dir);
    order.push(Target::NightOperators);
    type Entries = (Vec<Stored<WeeklyShift>>, Vec<Stored<Override>>);
    let mut by_key: BTreeMap<String, Entries> = BTreeMap::new();
    for (key, shift) in load_shifts(db, None).await? {
        by_key.entry(key).or_default().0.push(shift);
    }
    for (key, o) in load_overrides(db, None, from, to).await? {
        by_key.entry(key).or_default().1.push(o);
    }
    let mut rotas: HashMap<Target, Rota> = HashMap::new();
    for (key, (shifts, overrides)) in by_key {
        let target: Target = key.parse().map_err(|_| corrupt("target", &key))?;
        if !order.contains(&target) {
            order.push(target.clone());
        }
        rotas.insert(
            target.clone(),
            Rota {
                target,
                shifts,
                overrides,
            },
        );
    }
    let operators: HashSet<i64> = active_operators(db).await?.into_iter().collect();
    let mut report = Coverage::default();
    for target in order {
        let Some(rota) = rotas.get(&target) else {
            if from < to {
                report.gaps.push(CoverageGap { target, from, to });
            }
            continue;
        };
        for (a, b) in rota.gaps(from, to) {
            report.gaps.push(CoverageGap {
                target: target.clone(),
                from: a,
                to: b,
            });
        }
        let people = rota
            .shifts
            .iter()
            .map(|s| &s.value.person)
            .chain(rota.overrides.iter().map(|o| &o.value.person));
        for person in people {
            let fits = match person {
                Person::User(id) => operators.contains(id),
                _ => check_entry(dir, &target, person).is_ok(),
            };
            let entry = (target.clone(), person.clone());
            if !fits && !report.stale.contains(&entry) {
                report.stale.push(entry);
            }
        }
    }
    Ok(report)
}

/// Ids of the users who may be on the night rota: active operators and supervisors.
async fn active_operators(db: &Db) -> Result<Vec<i64>, DbError> {
    Ok(with_db!(db, |pool| sqlx::query_scalar(
        "select id from users where active and role in ('operator', 'supervisor')"
    )
    .fetch_all(pool)
    .await?))
}

async fn check(
    db: &Db,
    dir: &Directory,
    target: &Target,
    person: &Person,
) -> Result<(), RotaError> {
    check_entry(dir, target, person)?;
    if let Person::User(id) = person {
        let found: i64 = with_db!(db, |pool| {
            sqlx::query_scalar(
            "select count(*) from users where id = $1 and active and role in ('operator', 'supervisor')"
        )
        .bind(*id)
        .fetch_one(pool)
        .await?
        });
        if found == 0 {
            return Err(RotaError::UnknownUser(*id));
        }
    }
    Ok(())
}

/// Adds a weekly shift to `target`'s rota after checking it; returns its id.
#[tracing::instrument(skip(db, dir, shift), fields(target = %target))]
pub async fn add_shift(
    db: &Db,
    dir: &Directory,
    target: &Target,
    shift: &WeeklyShift,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> Result<i64, RotaError> {
    if !is_whole_minute(shift.start) || !is_whole_minute(shift.end) {
        return Err(RotaError::InvalidTime);
    }
    check(db, dir, target, &shift.person).await?;
    let inserted: Result<i64, sqlx::Error> = with_db!(db, |pool| {
        sqlx::query_scalar(
            "insert into rota_shifts (target, weekday, start_minute, end_minute, person_kind, person_ref, role, created_at, created_by) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
        )
        .bind(target.to_string())
        .bind(i64::from(shift.weekday.number_from_monday()))
        .bind(minutes(shift.start))
        .bind(minutes(shift.end))
        .bind(shift.person.kind())
        .bind(shift.person.reference())
        .bind(shift.role.as_str())
        .bind(now)
        .bind(by)
        .fetch_one(pool)
        .await
    });
    match inserted.map_err(DbError::from) {
        Ok(id) => Ok(id),
        Err(e) if e.is_unique_violation() => Err(RotaError::Duplicate),
        Err(e) => Err(e.into()),
    }
}

/// Removes a weekly shift; returns the target it belonged to (for the audit log).
#[tracing::instrument(skip(db))]
pub async fn remove_shift(db: &Db, id: i64) -> Result<Target, RotaError> {
    let target: Option<String> = with_db!(db, |pool| sqlx::query_scalar(
        "delete from rota_shifts where id = $1 returning target"
    )
    .bind(id)
    .fetch_optional(pool)
    .await?);
    let target = target.ok_or(RotaError::NotFound)?;
    target
        .parse()
        .map_err(|_| RotaError::Db(corrupt("target", &target)))
}

/// Adds an override to `target`'s rota after checking it; returns its id.
#[tracing::instrument(skip(db, dir, o), fields(target = %target))]
pub async fn add_override(
    db: &Db,
    dir: &Directory,
    target: &Target,
    o: &Override,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> Result<i64, RotaError> {
    if o.to <= o.from {
        return Err(RotaError::EmptyOverride);
    }
    check(db, dir, target, &o.person).await?;
    Ok(with_db!(db, |pool| {
        sqlx::query_scalar(
            "insert into rota_overrides (target, starts_at, ends_at, person_kind, person_ref, role, mode, created_at, created_by) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
        )
        .bind(target.to_string())
        .bind(o.from)
        .bind(o.to)
        .bind(o.person.kind())
        .bind(o.person.reference())
        .bind(o.role.as_str())
        .bind(o.mode.as_str())
        .bind(now)
        .bind(by)
        .fetch_one(pool)
        .await?
    }))
}

/// Removes an override; returns the target it belonged to (for the audit log).
#[tracing::instrument(skip(db))]
pub async fn remove_override(db: &Db, id: i64) -> Result<Target, RotaError> {
    let target: Option<String> = with_db!(db, |pool| sqlx::query_scalar(
        "delete from rota_overrides where id = $1 returning target"
    )
    .bind(id)
    .fetch_optional(pool)
    .await?);
    let target = target.ok_or(RotaError::NotFound)?;
    target
        .parse()
        .map_err(|_| RotaError::Db(corrupt("target", &target)))
}
