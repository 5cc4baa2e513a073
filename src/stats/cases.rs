//! Case figures for the dashboard, from the intakes completed in the period: relevance,
//! then, over the pertinent ones (the region's "cases"), exploitation types, gender,
//! minors, nationality and territory.
//!
//! Answers are stored as JSON text, so each figure reads one answer with the backend's
//! JSON functions ([`Answers`]) and groups in the database; only a few rows per figure
//! come back. An intake is dated by its opening (`created_at`): the day of the contact,
//! which a later save, an override or a subject link does not move.

use super::Scope;
use crate::config::Backend;
use crate::db::{Db, DbError};
use crate::with_db;

/// How many nationalities are shown by name; the rest are summed as "others".
pub const TOP_NATIONALITIES: usize = 10;

/// The JSON expressions on an intake's answers that differ between the backends.
pub(super) struct Answers {
    pub(super) backend: Backend,
}

impl Answers {
    /// The single choice given to `question` in the answers column `col`, or null.
    /// `question` is an identifier of the questionnaire (ASCII, digits and `_`).
    pub(super) fn choice(&self, col: &str, question: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("json_extract({col}, '$.{question}.value')"),
            Backend::Postgres => format!("(({col})::jsonb -> '{question}' ->> 'value')"),
        }
    }

    /// A join giving one row `x.v` per option chosen for the multiple-choice `question`.
    fn each(&self, col: &str, question: &str) -> (String, &'static str) {
        match self.backend {
            Backend::Sqlite => (
                format!("join json_each({col}, '$.{question}.value') x"),
                "x.value",
            ),
            // A non-array (never written, but the column is text) yields no row rather
            // than an error for the whole dashboard.
            Backend::Postgres => (
                format!(
                    "cross join lateral jsonb_array_elements_text(case when \
                     jsonb_typeof(({col})::jsonb -> '{question}' -> 'value') = 'array' \
                     then ({col})::jsonb -> '{question}' -> 'value' else '[]'::jsonb end) as x(v)"
                ),
                "x.v",
            ),
        }
    }

    /// Where an intake is placed: the territory answered, else (not asked, or not
    /// known) the landline prefix of its call, so that calls that were not pertinent
    /// still count in a territory. Needs `i` (intakes) and `c` (its call, left-joined).
    pub(super) fn territory(&self) -> String {
        format!(
            "coalesce(nullif({}, 'unknown'), c.territory_hint)",
            self.choice("i.answers", "territory")
        )
    }
}

/// Completed intakes against the relevance recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Relevance {
    /// About trafficking or severe exploitation: the cases.
    pub pertinent: i64,
    /// Not about it.
    pub not_pertinent: i64,
    /// A prank or a silent call.
    pub prank_silent: i64,
    /// No relevance recorded (intakes completed before the question was required).
    pub unrecorded: i64,
}

/// Cases by age: a minor answer or an age band under 18 makes a minor (in doubt, minor
/// age is presumed, as the intake's help says).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ages {
    /// Minors (or possibly minors).
    pub minors: i64,
    /// Adults.
    pub adults: i64,
    /// Neither said.
    pub unknown: i64,
}

/// Cases by nationality: the most frequent by name, the rest summed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Nationalities {
    /// ISO 3166 code and cases, most frequent first (ties by code).
    pub top: Vec<(String, i64)>,
    /// Cases of every other nationality.
    pub others: i64,
    /// Cases without a nationality recorded.
    pub unknown: i64,
}

/// What came of the cases: sent to a unit or not, and how contact resumes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CaseOutcomes {
    /// Cases with at least one referral to a unit, whatever its answer.
    pub referred: i64,
    /// Not referred because the person did not agree.
    pub consent_refused: i64,
    /// Not referred, without a refusal recorded (information given, advice, …).
    pub not_referred: i64,
    /// Cases by how contact resumes (the `callback` answer); `None` when not recorded.
    pub by_callback: Vec<(Option<String>, i64)>,
}

/// Every case figure of one scope.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CaseFigures {
    /// Intakes completed, pertinent or not.
    pub intakes: i64,
    /// Their relevance.
    pub relevance: Relevance,
    /// Cases by exploitation type code; a case may have several types.
    pub by_exploitation: Vec<(String, i64)>,
    /// Cases by gender code; `None` when not recorded.
    pub by_gender: Vec<(Option<String>, i64)>,
    /// Minors and adults.
    pub ages: Ages,
    /// Nationalities.
    pub nationalities: Nationalities,
    /// Cases by territory code (see [`Answers::territory`]); `None` when not known.
    pub by_territory: Vec<(Option<String>, i64)>,
    /// Who called: cases by caller type code; `None` when not recorded.
    pub by_caller_type: Vec<(Option<String>, i64)>,
    /// Why: cases by reason code; `None` when not recorded.
    pub by_reason: Vec<(Option<String>, i64)>,
    /// What came of them.
    pub outcomes: CaseOutcomes,
}

/// Computes every case figure of `scope`.
#[tracing::instrument(skip(db))]
pub async fn figures(db: &Db, scope: &Scope) -> Result<CaseFigures, DbError> {
    let sql = Answers {
        backend: db.backend(),
    };
    let relevance_of = sql.choice("i.answers", "relevance");
    let pertinent = format!("and {relevance_of} = 'pertinent'");

    let mut relevance = Relevance::default();
    for (code, n) in count_by(db, scope, &sql, &relevance_of, "", "").await? {
        match code.as_deref() {
            Some("pertinent") => relevance.pertinent += n,
            Some("not_pertinent") => relevance.not_pertinent += n,
            Some("prank_silent") => relevance.prank_silent += n,
            _ => relevance.unrecorded += n,
        }
    }

    let (join, each) = sql.each("i.answers", "exploitation");
    let by_exploitation = count_by(db, scope, &sql, each, &join, &pertinent)
        .await?
        .into_iter()
        .filter_map(|(code, n)| code.map(|c| (c, n)))
        .collect();

    let by_gender = count_by(
        db,
        scope,
        &sql,
        &sql.choice("i.answers", "gender"),
        "",
        &pertinent,
    )
    .await?;

    let (minor, age) = (
        sql.choice("i.answers", "minor"),
        sql.choice("i.answers", "age_band"),
    );
    let age_class = format!(
        "case when {minor} = 'yes' or {age} in ('under_14', '14_17') then 'minor' \
         when {minor} = 'no' or {age} in ('18_24', '25_34', '35_44', '45_plus') then 'adult' \
         else 'unknown' end"
    );
    let mut ages = Ages::default();
    for (class, n) in count_by(db, scope, &sql, &age_class, "", &pertinent).await? {
        match class.as_deref() {
            Some("minor") => ages.minors += n,
            Some("adult") => ages.adults += n,
            _ => ages.unknown += n,
        }
    }

    let nationality = count_by(
        db,
        scope,
        &sql,
        &sql.choice("i.answers", "nationality"),
        "",
        &pertinent,
    )
    .await?;

    let by_territory = count_by(db, scope, &sql, &sql.territory(), "", &pertinent).await?;
    let single = |question: &str| sql.choice("i.answers", question);
    let by_caller_type = count_by(db, scope, &sql, &single("caller_type"), "", &pertinent).await?;
    let by_reason = count_by(db, scope, &sql, &single("reason"), "", &pertinent).await?;
    let by_callback = count_by(db, scope, &sql, &single("callback"), "", &pertinent).await?;
    let referral_class = format!(
        "case when exists (select 1 from referrals r where r.intake_id = i.id) then 'referred' \
         when {} = 'no' then 'refused' else 'none' end",
        single("consent_referral")
    );
    let mut outcomes = CaseOutcomes {
        by_callback: by_count(by_callback),
        ..CaseOutcomes::default()
    };
    for (class, n) in count_by(db, scope, &sql, &referral_class, "", &pertinent).await? {
        match class.as_deref() {
            Some("referred") => outcomes.referred += n,
            Some("refused") => outcomes.consent_refused += n,
            _ => outcomes.not_referred += n,
        }
    }

    Ok(CaseFigures {
        intakes: relevance.pertinent
            + relevance.not_pertinent
            + relevance.prank_silent
            + relevance.unrecorded,
        relevance,
        by_exploitation,
        by_gender: by_count(by_gender),
        ages,
        nationalities: top_ten(nationality),
        by_territory: by_count(by_territory),
        by_caller_type: by_count(by_caller_type),
        by_reason: by_count(by_reason),
        outcomes,
    })
}

/// Completed intakes of `scope` (`$1` start, `$2` end, `$3` territory or null) counted
/// by the expression `value`, after the optional `join` and `filter` (`and …`).
async fn count_by(
    db: &Db,
    scope: &Scope,
    sql: &Answers,
    value: &str,
    join: &str,
    filter: &str,
) -> Result<Vec<(Option<String>, i64)>, DbError> {
    let (start, end) = scope.bounds()?;
    let territory = scope.territory.clone();
    Ok(with_db!(db, |pool| sqlx::query_as(&format!(
        "select {value} as v, count(*) from intakes i left join calls c on c.id = i.call_id \
         {join} where i.status = 'complete' and i.created_at >= $1 and i.created_at < $2 \
         and ($3 is null or {} = $3) {filter} group by 1",
        sql.territory()
    ))
    .bind(start)
    .bind(end)
    .bind(&territory)
    .fetch_all(pool)
    .await?))
}

/// Most frequent first, ties by code, the unrecorded last.
fn by_count(mut rows: Vec<(Option<String>, i64)>) -> Vec<(Option<String>, i64)> {
    rows.sort_by(|(a, n), (b, m)| {
        (a.is_none(), std::cmp::Reverse(*n), a).cmp(&(b.is_none(), std::cmp::Reverse(*m), b))
    });
    rows
}

/// The [`TOP_NATIONALITIES`] most frequent nationalities and the rest; `unknown` (the
/// questionnaire's "not known") counts as not recorded.
fn top_ten(rows: Vec<(Option<String>, i64)>) -> Nationalities {
    let mut out = Nationalities::default();
    let mut known = Vec::with_capacity(rows.len());
    for (code, n) in rows {
        match code {
            Some(c) if c != crate::triage::questionnaire::UNKNOWN => known.push((c, n)),
            _ => out.unknown += n,
        }
    }
    known.sort_by(|(a, n), (b, m)| m.cmp(n).then_with(|| a.cmp(b)));
    out.others = known.iter().skip(TOP_NATIONALITIES).map(|(_, n)| n).sum();
    known.truncate(TOP_NATIONALITIES);
    out.top = known;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nationalities_past_the_tenth_are_summed_as_others() {
        let codes = [
            "NG", "RO", "AL", "BR", "MA", "CN", "UA", "BG", "IN", "PK", "SN", "BD",
        ];
        let rows: Vec<(Option<String>, i64)> = codes
            .iter()
            .zip((1..=12).rev())
            .map(|(c, n)| (Some(c.to_string()), n))
            .chain([(None, 4), (Some("unknown".into()), 1)])
            .collect();
        let n = top_ten(rows);
        assert_eq!(n.top.len(), 10);
        assert_eq!(n.top.first(), Some(&("NG".to_string(), 12)));
        assert_eq!(n.top.last(), Some(&("PK".to_string(), 3)));
        assert_eq!(n.others, 2 + 1);
        assert_eq!(n.unknown, 5);
    }

    #[test]
    fn equal_counts_are_ordered_by_code_and_the_unrecorded_come_last() {
        let rows = by_count(vec![
            (None, 9),
            (Some("PI".into()), 2),
            (Some("FI".into()), 2),
            (Some("LU".into()), 5),
        ]);
        let codes: Vec<_> = rows.iter().map(|(c, _)| c.as_deref()).collect();
        assert_eq!(codes, [Some("LU"), Some("FI"), Some("PI"), None]);
    }
}
