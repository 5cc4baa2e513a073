//! The default rota of a fresh install: everyone the directory names, around the clock,
//! so there is coverage from the first start; admins then edit it.

use chrono::{DateTime, NaiveTime, Utc};

use super::{Person, RotaRole, Target};
use crate::db::{Db, DbError};
use crate::referral::directory::Directory;
use crate::with_db;

/// The targets the directory implies, in its order: each unit, the coordinator, then
/// each language some mediator speaks (alphabetical). The night operators are users, not
/// in the directory.
pub fn directory_targets(dir: &Directory) -> Vec<Target> {
    let mut languages: Vec<&String> = dir.mediators.iter().flat_map(|m| &m.languages).collect();
    languages.sort();
    languages.dedup();
    dir.active_units()
        .map(|u| Target::Unit(u.code.clone()))
        .chain([Target::Coordinator])
        .chain(languages.into_iter().map(|l| Target::Mediators(l.clone())))
        .collect()
}

/// Who the default rota of `target` puts on call all week, in directory order.
fn default_people(dir: &Directory, target: &Target) -> Vec<(Person, RotaRole)> {
    match target {
        Target::Unit(unit) => {
            let mut people: Vec<(Person, RotaRole)> = dir
                .contacts
                .iter()
                .filter(|c| &c.unit == unit)
                .map(|c| (Person::Contact(c.code.clone()), RotaRole::from(c.role)))
                .collect();
            // Stable: primaries first, each role in directory order.
            people.sort_by_key(|(_, role)| *role);
            people
        }
        Target::Coordinator => vec![(Person::Coordinator, RotaRole::Primary)],
        Target::Mediators(language) => dir
            .mediators
            .iter()
            .filter(|m| m.languages.contains(language))
            .map(|m| (Person::Mediator(m.code.clone()), RotaRole::Primary))
            .collect(),
        Target::NightOperators => Vec::new(),
    }
}

/// Gives every target of the directory that was never seeded and has no rota a default
/// one: its people all week, 00:00 to 00:00 (contacts with their directory role, the
/// coordinator and the mediators of a language as primaries). Returns how many targets
/// were seeded. Idempotent, and safe when several nodes start at once: a target is
/// marked in `rota_seeded` in the same transaction, so a rota an admin emptied on
/// purpose stays empty.
#[tracing::instrument(skip_all)]
pub async fn seed_from_directory(
    db: &Db,
    dir: &Directory,
    now: DateTime<Utc>,
) -> Result<usize, DbError> {
    let midnight = super::store::minutes(NaiveTime::MIN);
    let plans: Vec<(String, Vec<(Person, RotaRole)>)> = directory_targets(dir)
        .into_iter()
        .map(|t| {
            let people = default_people(dir, &t);
            (t.to_string(), people)
        })
        // A unit without contacts stays unmarked, to be seeded once it has some.
        .filter(|(_, people)| !people.is_empty())
        .collect();
    let seeded = with_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        let mut seeded = 0;
        for (target, people) in &plans {
            let marked = sqlx::query(
                "insert into rota_seeded (target, seeded_at) values ($1, $2) on conflict (target) do nothing",
            )
            .bind(target)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let existing: i64 = sqlx::query_scalar(
                "select (select count(*) from rota_shifts where target = $1) \
                 + (select count(*) from rota_overrides where target = $1)",
            )
            .bind(target)
            .fetch_one(&mut *tx)
            .await?;
            if marked == 0 || existing > 0 {
                continue;
            }
            for (person, role) in people {
                for weekday in 1..=7_i64 {
                    sqlx::query(
                        "insert into rota_shifts (target, weekday, start_minute, end_minute, person_kind, person_ref, role, created_at) \
                         values ($1, $2, $3, $3, $4, $5, $6, $7) on conflict do nothing",
                    )
                    .bind(target)
                    .bind(weekday)
                    .bind(midnight)
                    .bind(person.kind())
                    .bind(person.reference())
                    .bind(role.as_str())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            seeded += 1;
        }
        tx.commit().await?;
        seeded
    });
    tracing::debug!(targets = seeded, "default rotas seeded from the directory");
    Ok(seeded)
}
