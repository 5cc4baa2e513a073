//! Every figure of one scope at once: what the dashboard shows, and what the periodic
//! report, the exports and `helpline report` are made of, so that the four always agree.

use std::time::{Duration, Instant};

use super::calls::CallFigures;
use super::cases::CaseFigures;
use super::mediation::MediationFigures;
use super::referrals::ReferralFigures;
use super::{rollup, Scope};
use crate::db::{Db, DbError};

/// The figures of one scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    /// What they are about.
    pub scope: Scope,
    /// Calls.
    pub calls: CallFigures,
    /// Cases (completed intakes), who called and why, and what came of them.
    pub cases: CaseFigures,
    /// Requests for a linguistic-cultural mediator.
    pub mediation: MediationFigures,
    /// Referrals to the units.
    pub referrals: ReferralFigures,
    /// Days of the period written to and not yet counted again (only when computed
    /// within a time budget): the figures leave their changes out.
    pub pending_days: usize,
}

/// Computes every figure of `scope`; `repeat_window_days` is the privacy setting that
/// tells a repeat caller from a first-time one. The days of the period written to since
/// they were last counted are counted again first, so the figures include every record
/// committed before the call.
#[tracing::instrument(skip(db))]
pub async fn dashboard(
    db: &Db,
    scope: &Scope,
    repeat_window_days: u32,
) -> Result<Dashboard, DbError> {
    rollup::refresh(db, &scope.period, repeat_window_days).await?;
    load(db, scope, 0).await
}

/// As [`dashboard`], counting stale days again only for `budget`: after a bulk load or
/// an upgrade a year may have every day to count, which the background task does in a
/// few minutes; meanwhile the page answers in time and says how many days are missing.
#[tracing::instrument(skip(db))]
pub async fn dashboard_within(
    db: &Db,
    scope: &Scope,
    repeat_window_days: u32,
    budget: Duration,
) -> Result<Dashboard, DbError> {
    let deadline = Instant::now() + budget;
    let pending = rollup::refresh_until(db, &scope.period, repeat_window_days, deadline).await?;
    load(db, scope, pending).await
}

async fn load(db: &Db, scope: &Scope, pending_days: usize) -> Result<Dashboard, DbError> {
    let (calls, cases, mediation, referrals) = rollup::load(db, scope).await?.finish();
    Ok(Dashboard {
        scope: scope.clone(),
        calls,
        cases,
        mediation,
        referrals,
        pending_days,
    })
}
