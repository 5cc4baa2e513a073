//! Referral figures for the dashboard: the referrals sent in the period, by unit; how
//! many the unit accepted or declined; how many needed more than the first step of the
//! escalation (a notification at a later minute); and how long the unit took to answer.
//!
//! A referral is placed in a territory through its intake, as the cases are: the
//! territory of the person, not the unit's (a Florence case may go to a Pisa shelter).

use super::calls::Spread;

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
