//! One anonymous record per completed intake of a scope, for the per-case CSV: only
//! coded answers (options, countries, territories), the day on the Rome clock and what
//! followed. The database reads these answers out of the JSON itself, so free text
//! (notes, the municipality, the time to call back) never leaves it, and neither do the
//! intake's id, its call or the caller's hash.

use chrono::{DateTime, NaiveDate, Utc};

use crate::config::Backend;
use crate::db::{Db, DbError};
use crate::stats::{Scope, ZONE};
use crate::with_db;

/// One case as exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRecord {
    /// Day the intake was opened, on the Rome clock.
    pub date: NaiveDate,
    /// The territory answered, else the landline's of its call.
    pub territory: Option<String>,
    /// Relevance code.
    pub relevance: Option<String>,
    /// Caller type code.
    pub caller_type: Option<String>,
    /// Reason code.
    pub reason: Option<String>,
    /// Exploitation type codes.
    pub exploitation: Vec<String>,
    /// Gender code.
    pub gender: Option<String>,
    /// `minor`, `adult` or `unknown`, by the dashboard's rule.
    pub age_class: &'static str,
    /// Nationality (ISO 3166 code, or `unknown`).
    pub nationality: Option<String>,
    /// Languages of the mediators asked for, sorted.
    pub mediation_languages: Vec<String>,
    /// Whether it was sent to a unit.
    pub referred: bool,
    /// Priority in force (the override, else the triage's).
    pub priority: Option<String>,
}

/// The JSON expressions that differ between the backends.
struct Sql(Backend);

impl Sql {
    /// The single choice given to `question` (an identifier of the questionnaire).
    fn choice(&self, question: &str) -> String {
        match self.0 {
            Backend::Sqlite => format!("json_extract(i.answers, '$.{question}.value')"),
            Backend::Postgres => format!("((i.answers)::jsonb -> '{question}' ->> 'value')"),
        }
    }

    /// The choices of the multiple-choice `question`, as JSON text.
    fn choices(&self, question: &str) -> String {
        match self.0 {
            Backend::Sqlite => format!("json_extract(i.answers, '$.{question}.value')"),
            Backend::Postgres => format!("((i.answers)::jsonb -> '{question}' -> 'value')::text"),
        }
    }

    /// The distinct languages of the mediators asked for, comma-separated.
    fn languages(&self) -> &'static str {
        match self.0 {
            Backend::Sqlite => {
                "(select group_concat(distinct m.language) from mediation_requests m \
                 where m.intake_id = i.id or (m.intake_id is null and m.call_id = i.call_id))"
            }
            Backend::Postgres => {
                "(select string_agg(distinct m.language, ',') from mediation_requests m \
                 where m.intake_id = i.id or (m.intake_id is null and m.call_id = i.call_id))"
            }
        }
    }

    /// Where the case is placed, as the dashboard places it.
    fn territory(&self) -> String {
        format!(
            "coalesce(nullif({}, 'unknown'), c.territory_hint)",
            self.choice("territory")
        )
    }
}

type Raw = (
    DateTime<Utc>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    Option<String>,
);

/// The completed intakes opened in `scope`, oldest first.
#[tracing::instrument(skip(db))]
pub async fn case_records(db: &Db, scope: &Scope) -> Result<Vec<CaseRecord>, DbError> {
    let (start, end) = scope
        .period
        .utc_bounds()
        .map_err(|e| DbError::Config(e.to_string()))?;
    let sql = Sql(db.backend());
    let territory = sql.territory();
    let statement = format!(
        "select i.created_at, {territory}, {}, {}, {}, {}, {}, {}, {}, {}, {}, \
           (select count(*) from referrals r where r.intake_id = i.id), \
           coalesce(i.priority_override, i.priority) \
         from intakes i left join calls c on c.id = i.call_id \
         where i.status = 'complete' and i.created_at >= $1 and i.created_at < $2 \
           and ($3 is null or {territory} = $3) \
         order by i.created_at, i.id",
        sql.choice("relevance"),
        sql.choice("caller_type"),
        sql.choice("reason"),
        sql.choices("exploitation"),
        sql.choice("gender"),
        sql.choice("minor"),
        sql.choice("age_band"),
        sql.choice("nationality"),
        sql.languages(),
    );
    let rows: Vec<Raw> = with_db!(db, |pool| sqlx::query_as(&statement)
        .bind(start)
        .bind(end)
        .bind(&scope.territory)
        .fetch_all(pool)
        .await?);
    Ok(rows.into_iter().map(record).collect())
}

fn record(raw: Raw) -> CaseRecord {
    let (
        at,
        territory,
        relevance,
        caller_type,
        reason,
        exploitation,
        gender,
        minor,
        age,
        nationality,
        languages,
        referrals,
        priority,
    ) = raw;
    let mut mediation_languages: Vec<String> = languages
        .unwrap_or_default()
        .split(',')
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    mediation_languages.sort();
    mediation_languages.dedup();
    CaseRecord {
        date: at.with_timezone(&ZONE).date_naive(),
        territory,
        relevance,
        caller_type,
        reason,
        exploitation: codes(exploitation.as_deref()),
        gender,
        age_class: age_class(minor.as_deref(), age.as_deref()),
        nationality,
        mediation_languages,
        referred: referrals > 0,
        priority,
    }
}

/// The codes of a JSON array of strings; anything else (never written) is none.
fn codes(json: Option<&str>) -> Vec<String> {
    json.and_then(|j| serde_json::from_str::<Vec<String>>(j).ok())
        .unwrap_or_default()
}

/// The dashboard's rule: a minor answer or an age band under 18 makes a minor (in doubt,
/// minor age is presumed).
fn age_class(minor: Option<&str>, band: Option<&str>) -> &'static str {
    let band_minor = matches!(band, Some("under_14" | "14_17"));
    let band_adult = matches!(band, Some("18_24" | "25_34" | "35_44" | "45_plus"));
    if minor == Some("yes") || band_minor {
        "minor"
    } else if minor == Some("no") || band_adult {
        "adult"
    } else {
        "unknown"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minor_answer_or_a_young_age_band_makes_a_minor() {
        assert_eq!(age_class(Some("yes"), Some("25_34")), "minor");
        assert_eq!(age_class(None, Some("14_17")), "minor");
        assert_eq!(age_class(Some("no"), None), "adult");
        assert_eq!(age_class(Some("unknown"), Some("unknown")), "unknown");
    }

    #[test]
    fn exploitation_codes_come_from_a_json_array_only() {
        assert_eq!(
            codes(Some(r#"["begging","forced_labour"]"#)),
            ["begging", "forced_labour"]
        );
        assert!(codes(Some("begging")).is_empty());
        assert!(codes(None).is_empty());
    }
}
