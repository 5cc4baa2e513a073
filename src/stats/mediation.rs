//! Mediation figures for the dashboard: the requests for a linguistic-cultural mediator
//! made in the period, by language; how many were fulfilled (a mediator joined the call
//! or will call back); and how long the first of those took from the request.
//!
//! A request is placed in a territory through its intake (the territory answered, else
//! its call's landline prefix), as the cases are.

use super::calls::{spread, Dialect, Spread};
use super::cases::Answers;
use super::Scope;
use crate::db::{Db, DbError};
use crate::with_db;

/// The events that put a mediator within the caller's reach.
const FULFILLED: &str = "('joined', 'called_back')";

/// Requests and fulfilled requests of one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanguageRow {
    /// Language code, as requested.
    pub language: String,
    /// Requests.
    pub requests: i64,
    /// Requests a mediator joined or called back.
    pub fulfilled: i64,
}

/// Every mediation figure of one scope.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MediationFigures {
    /// Requests made in the period.
    pub requests: i64,
    /// Of which fulfilled.
    pub fulfilled: i64,
    /// By language, most requested first (ties by code).
    pub by_language: Vec<LanguageRow>,
    /// Request to the first joined or called-back event, for fulfilled requests.
    pub time_to_mediator: Spread,
}

impl MediationFigures {
    /// Fulfilled requests as a share of all, from 0 to 1; none without requests.
    pub fn share_fulfilled(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.fulfilled as f64 / self.requests as f64)
    }
}

/// The requests of the scope: `$1` start, `$2` end, `$3` territory or null.
fn from_scope(answers: &Answers) -> String {
    format!(
        "from mediation_requests m left join intakes i on i.id = m.intake_id \
         left join calls c on c.id = coalesce(m.call_id, i.call_id) \
         where m.requested_at >= $1 and m.requested_at < $2 and ($3 is null or {} = $3)",
        answers.territory()
    )
}

/// Computes every mediation figure of `scope`.
#[tracing::instrument(skip(db))]
pub async fn figures(db: &Db, scope: &Scope) -> Result<MediationFigures, DbError> {
    let (start, end) = scope.bounds()?;
    let territory = scope.territory.clone();
    let backend = db.backend();
    let scoped = from_scope(&Answers { backend });

    let rows: Vec<(String, i64, i64)> = with_db!(db, |pool| sqlx::query_as(&format!(
        "select m.language, count(*), sum(case when exists (select 1 from mediation_events e \
           where e.request_id = m.id and e.state in {FULFILLED}) then 1 else 0 end) \
         {scoped} group by m.language"
    ))
    .bind(start)
    .bind(end)
    .bind(&territory)
    .fetch_all(pool)
    .await?);

    let time_to_mediator = spread(
        db,
        &format!(
            "select min({}) as v from mediation_requests m0 \
             join mediation_events e on e.request_id = m0.id and e.state in {FULFILLED} \
             where m0.id in (select m.id {scoped}) group by m0.id",
            Dialect { backend }.millis("m0.requested_at", "e.at")
        ),
        scope,
    )
    .await?;

    let mut by_language: Vec<LanguageRow> = rows
        .into_iter()
        .map(|(language, requests, fulfilled)| LanguageRow {
            language,
            requests,
            fulfilled,
        })
        .collect();
    by_language.sort_by(|a, b| {
        b.requests
            .cmp(&a.requests)
            .then_with(|| a.language.cmp(&b.language))
    });
    Ok(MediationFigures {
        requests: by_language.iter().map(|r| r.requests).sum(),
        fulfilled: by_language.iter().map(|r| r.fulfilled).sum(),
        by_language,
        time_to_mediator,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_fulfilled_is_undefined_without_requests() {
        assert_eq!(MediationFigures::default().share_fulfilled(), None);
        let f = MediationFigures {
            requests: 4,
            fulfilled: 3,
            ..Default::default()
        };
        assert_eq!(f.share_fulfilled(), Some(0.75));
    }
}
