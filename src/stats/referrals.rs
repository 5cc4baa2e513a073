//! Referral figures for the dashboard: the referrals sent in the period, by unit; how
//! many the unit accepted or declined; how many needed more than the first step of the
//! escalation (a notification at a later minute); and how long the unit took to answer.
//!
//! A referral is placed in a territory through its intake, as the cases are: the
//! territory of the person, not the unit's (a Florence case may go to a Pisa shelter).

use super::calls::{spread, Dialect, Spread};
use super::cases::Answers;
use super::Scope;
use crate::db::{Db, DbError};
use crate::with_db;

/// The referrals of one unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitRow {
    /// Unit code (or the coordinator's pseudo-code).
    pub unit: String,
    /// Referrals sent.
    pub sent: i64,
    /// Accepted by the unit (acknowledged, possibly closed since).
    pub accepted: i64,
    /// Declined by the unit.
    pub declined: i64,
    /// Notified again past the first step.
    pub escalated: i64,
}

/// Every referral figure of one scope.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReferralFigures {
    /// By unit, most referrals first (ties by code).
    pub by_unit: Vec<UnitRow>,
    /// Sending to the unit's answer (accepted or declined: either stops the escalation).
    pub time_to_answer: Spread,
}

impl ReferralFigures {
    /// The units' rows added up.
    pub fn total(&self) -> UnitRow {
        let sum = |f: fn(&UnitRow) -> i64| self.by_unit.iter().map(f).sum();
        UnitRow {
            unit: String::new(),
            sent: sum(|r| r.sent),
            accepted: sum(|r| r.accepted),
            declined: sum(|r| r.declined),
            escalated: sum(|r| r.escalated),
        }
    }
}

/// The referrals of the scope: `$1` start, `$2` end, `$3` territory or null.
fn from_scope(answers: &Answers) -> String {
    format!(
        "from referrals r join intakes i on i.id = r.intake_id \
         left join calls c on c.id = i.call_id \
         where r.created_at >= $1 and r.created_at < $2 and ($3 is null or {} = $3)",
        answers.territory()
    )
}

/// Computes every referral figure of `scope`.
#[tracing::instrument(skip(db))]
pub async fn figures(db: &Db, scope: &Scope) -> Result<ReferralFigures, DbError> {
    let (start, end) = scope.bounds()?;
    let territory = scope.territory.clone();
    let backend = db.backend();
    let scoped = from_scope(&Answers { backend });

    let rows: Vec<(String, i64, i64, i64, i64)> = with_db!(db, |pool| sqlx::query_as(&format!(
        "select r.unit_code, count(*), \
           sum(case when r.state in ('acknowledged', 'closed') then 1 else 0 end), \
           sum(case when r.state = 'declined' then 1 else 0 end), \
           sum(case when exists (select 1 from deliveries d where d.referral_id = r.id \
             and d.minute > 0) then 1 else 0 end) \
         {scoped} group by r.unit_code"
    ))
    .bind(start)
    .bind(end)
    .bind(&territory)
    .fetch_all(pool)
    .await?);

    let time_to_answer = spread(
        db,
        &format!(
            "select {} as v {scoped} and r.acknowledged_at is not null",
            Dialect { backend }.millis("r.created_at", "r.acknowledged_at")
        ),
        scope,
    )
    .await?;

    let mut by_unit: Vec<UnitRow> = rows
        .into_iter()
        .map(|(unit, sent, accepted, declined, escalated)| UnitRow {
            unit,
            sent,
            accepted,
            declined,
            escalated,
        })
        .collect();
    by_unit.sort_by(|a, b| b.sent.cmp(&a.sent).then_with(|| a.unit.cmp(&b.unit)));
    Ok(ReferralFigures {
        by_unit,
        time_to_answer,
    })
}
