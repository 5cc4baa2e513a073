//! Every figure of one scope at once: what the dashboard shows, and what the periodic
//! report, the exports and `helpline report` are made of, so that the four always agree.

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
    let (calls, cases, mediation, referrals) = rollup::load(db, scope).await?.finish();
    Ok(Dashboard {
        scope: scope.clone(),
        calls,
        cases,
        mediation,
        referrals,
    })
}
