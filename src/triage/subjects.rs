//! Pseudonymous subjects: a code like TOS-2026-00042 that joins the intakes (and later
//! the referrals) about one person into one anonymous profile, without a name. Merging
//! two subjects found to be the same person is a supervisor's act, audited by the
//! caller; the merged code keeps pointing to the one it was merged into.

use chrono::{DateTime, Datelike, Utc};

use crate::db::{Db, DbError};
use crate::with_db;

/// A subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// Id.
    pub id: i64,
    /// Its code.
    pub code: String,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// An intake in a subject's history.
#[derive(Debug, Clone)]
pub struct SubjectIntake {
    /// Intake id.
    pub id: i64,
    /// Opened.
    pub created_at: DateTime<Utc>,
    /// Priority in force.
    pub priority: Option<String>,
    /// Draft or complete.
    pub status: String,
}

/// Normalises what an operator typed: `tos-2026-42` finds TOS-2026-00042.
pub fn normalise_code(input: &str) -> Option<String> {
    let mut parts = input.trim().split('-');
    let (prefix, year, number) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || prefix.is_empty()
        || !prefix.chars().all(|c| c.is_ascii_alphabetic())
        || year.len() != 4
        || !year.chars().all(|c| c.is_ascii_digit())
        || number.is_empty()
        || number.len() > 9
        || !number.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let number: u32 = number.parse().ok()?;
    Some(format!(
        "{}-{year}-{number:05}",
        prefix.to_ascii_uppercase()
    ))
}

/// Creates a subject with the next code of `prefix` for the year of `now`.
pub async fn create(
    db: &Db,
    prefix: &str,
    by: i64,
    now: DateTime<Utc>,
) -> Result<Subject, DbError> {
    let stem = format!("{prefix}-{}-", now.year());
    // Two operators creating at once may pick the same number: the unique code refuses
    // the second, which tries the next one.
    for _ in 0..20 {
        let last: Option<String> = with_db!(db, |pool| sqlx::query_scalar(
            "select max(code) from subjects where code like $1"
        )
        .bind(format!("{stem}%"))
        .fetch_one(pool)
        .await?);
        let next = last
            .and_then(|c| c.rsplit('-').next().and_then(|n| n.parse::<u32>().ok()))
            .unwrap_or(0)
            + 1;
        let code = format!("{stem}{next:05}");
        let inserted: Result<i64, sqlx::Error> = with_db!(db, |pool| {
            sqlx::query_scalar(
            "insert into subjects (code, created_at, created_by) values ($1, $2, $3) returning id"
        )
        .bind(&code)
        .bind(now)
        .bind(by)
        .fetch_one(pool)
        .await
        });
        match inserted.map_err(DbError::from) {
            Ok(id) => {
                return Ok(Subject {
                    id,
                    code,
                    created_at: now,
                })
            }
            Err(e) if e.is_unique_violation() => continue,
            Err(e) => return Err(e),
        }
    }
    Err(DbError::Corrupt(
        "no free subject code after 20 attempts".into(),
    ))
}

/// The subject with this code, following merges to the subject it now is.
pub async fn find(db: &Db, code: &str) -> Result<Option<Subject>, DbError> {
    let Some(code) = normalise_code(code) else {
        return Ok(None);
    };
    let mut current: Option<(i64, String, DateTime<Utc>, Option<i64>)> =
        with_db!(db, |pool| sqlx::query_as(
            "select id, code, created_at, merged_into from subjects where code = $1"
        )
        .bind(&code)
        .fetch_optional(pool)
        .await?);
    // Merges form chains (A into B, later B into C); a bound guards against a loop.
    for _ in 0..32 {
        match current {
            Some((_, _, _, Some(into))) => {
                current = with_db!(db, |pool| sqlx::query_as(
                    "select id, code, created_at, merged_into from subjects where id = $1"
                )
                .bind(into)
                .fetch_optional(pool)
                .await?);
            }
            Some((id, code, created_at, None)) => {
                return Ok(Some(Subject {
                    id,
                    code,
                    created_at,
                }))
            }
            None => return Ok(None),
        }
    }
    Err(DbError::Corrupt(format!(
        "subject {code}: merge chain too long"
    )))
}

type HistoryRow = (i64, DateTime<Utc>, Option<String>, Option<String>, String);

/// The intakes about a subject (and about subjects merged into it), oldest first.
pub async fn history(db: &Db, subject_id: i64) -> Result<Vec<SubjectIntake>, DbError> {
    let rows: Vec<HistoryRow> = with_db!(db, |pool| {
        sqlx::query_as(
        "select i.id, i.created_at, i.priority, i.priority_override, i.status from intakes i \
         where i.subject_id = $1 or i.subject_id in (select id from subjects where merged_into = $1) \
         order by i.created_at, i.id"
    )
    .bind(subject_id)
    .fetch_all(pool)
    .await?
    });
    Ok(rows
        .into_iter()
        .map(|(id, created_at, priority, over, status)| SubjectIntake {
            id,
            created_at,
            priority: over.or(priority),
            status,
        })
        .collect())
}

/// Merges `from` into `into`: `from`'s intakes move to `into`, and `from`'s code leads
/// to `into` from now on. Both must be live (not merged already) and different.
pub async fn merge(db: &Db, from: i64, into: i64) -> Result<(), DbError> {
    if from == into {
        return Err(DbError::Corrupt(
            "a subject cannot be merged into itself".into(),
        ));
    }
    with_db!(db, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query("update intakes set subject_id = $1 where subject_id = $2")
            .bind(into)
            .bind(from)
            .execute(&mut *tx)
            .await?;
        sqlx::query("update subjects set merged_into = $1 where id = $2 and merged_into is null")
            .bind(into)
            .bind(from)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_codes_are_normalised_to_the_stored_form() {
        assert_eq!(
            normalise_code("tos-2026-42").as_deref(),
            Some("TOS-2026-00042")
        );
        assert_eq!(
            normalise_code(" TOS-2026-00042 ").as_deref(),
            Some("TOS-2026-00042")
        );
        assert_eq!(normalise_code("TOS-26-42"), None);
        assert_eq!(normalise_code("TOS-2026-"), None);
        assert_eq!(normalise_code("TOS-2026-4a"), None);
        assert_eq!(normalise_code("3331234567"), None);
    }
}
