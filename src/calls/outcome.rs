//! Closing a call: its outcome, chosen by the operator, and the wrap-up time (from the
//! call's end to its closing). One outcome per call; choosing again corrects it.

use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::model::CallId;
use crate::db::{Db, DbError};
use crate::with_db;

/// What came of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Listening, advice or interpreting.
    Listening,
    /// Placed in an emergency shelter.
    EmergencyShelter,
    /// An assessment interview was booked.
    AssessmentBooked,
    /// Transferred to another project.
    Transfer,
    /// A referral was sent to a unit.
    ReferralSent,
    /// Not pertinent.
    NotPertinent,
}

impl Outcome {
    /// Every outcome, in the order the console offers them.
    pub const ALL: [Outcome; 6] = [
        Outcome::Listening,
        Outcome::EmergencyShelter,
        Outcome::AssessmentBooked,
        Outcome::Transfer,
        Outcome::ReferralSent,
        Outcome::NotPertinent,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Listening => "listening",
            Outcome::EmergencyShelter => "emergency_shelter",
            Outcome::AssessmentBooked => "assessment_booked",
            Outcome::Transfer => "transfer",
            Outcome::ReferralSent => "referral_sent",
            Outcome::NotPertinent => "not_pertinent",
        }
    }

    /// Italian and English labels.
    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            Outcome::Listening => (
                "Ascolto, consulenza o interpretariato",
                "Listening, advice or interpreting",
            ),
            Outcome::EmergencyShelter => ("Pronta accoglienza", "Emergency shelter"),
            Outcome::AssessmentBooked => (
                "Colloquio di valutazione fissato",
                "Assessment interview booked",
            ),
            Outcome::Transfer => (
                "Trasferimento ad altro progetto",
                "Transfer to another project",
            ),
            Outcome::ReferralSent => ("Segnalazione inviata", "Referral sent"),
            Outcome::NotPertinent => ("Non pertinente", "Not pertinent"),
        }
    }
}

/// Not one of the outcomes.
#[derive(Debug, thiserror::Error)]
#[error("unknown outcome")]
pub struct UnknownOutcome;

impl FromStr for Outcome {
    type Err = UnknownOutcome;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or(UnknownOutcome)
    }
}

/// A call's closing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closing {
    /// The outcome.
    pub outcome: Outcome,
    /// Seconds from the call's end to the closing; none if it had not ended.
    pub wrap_up_seconds: Option<i64>,
    /// Who closed it.
    pub closed_by: String,
}

/// Records the outcome (again, to correct it); the wrap-up time runs from the call's
/// last event when the call has ended.
pub async fn close(
    db: &Db,
    call: CallId,
    outcome: Outcome,
    by: i64,
    now: DateTime<Utc>,
) -> Result<Closing, DbError> {
    let ended: Option<DateTime<Utc>> = with_db!(db, |pool| sqlx::query_scalar(
        "select e.at from calls c join call_events e on e.call_id = c.id and e.seq = c.seq \
         where c.id = $1 and c.state in ('ended', 'abandoned', 'missed', 'failed', 'overflowed')"
    )
    .bind(call)
    .fetch_optional(pool)
    .await?);
    let wrap_up = ended.map(|at| (now - at).num_seconds().max(0));
    with_db!(db, |pool| {
        sqlx::query(
        "insert into call_outcomes (call_id, outcome, closed_by, closed_at, wrap_up_seconds) values ($1, $2, $3, $4, $5) \
         on conflict (call_id) do update set outcome = excluded.outcome, closed_by = excluded.closed_by, \
         closed_at = excluded.closed_at, wrap_up_seconds = excluded.wrap_up_seconds"
    )
    .bind(call)
    .bind(outcome.as_str())
    .bind(by)
    .bind(now)
    .bind(wrap_up)
    .execute(pool)
    .await
    .map(|_| ())
    })?;
    get(db, call)
        .await?
        .ok_or_else(|| DbError::Corrupt("outcome not stored".into()))
}

/// The closing of a call, if closed.
pub async fn get(db: &Db, call: CallId) -> Result<Option<Closing>, DbError> {
    let row: Option<(String, Option<i64>, String)> = with_db!(db, |pool| sqlx::query_as(
        "select o.outcome, o.wrap_up_seconds, u.username from call_outcomes o \
         join users u on u.id = o.closed_by where o.call_id = $1"
    )
    .bind(call)
    .fetch_optional(pool)
    .await?);
    row.map(|(outcome, wrap_up_seconds, closed_by)| {
        Ok(Closing {
            outcome: outcome
                .parse()
                .map_err(|_| DbError::Corrupt(format!("call {call}: unknown outcome")))?,
            wrap_up_seconds,
            closed_by,
        })
    })
    .transpose()
}
