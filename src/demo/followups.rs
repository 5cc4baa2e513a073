//! What follows some intakes, written through the service's own functions: referrals to
//! the units routing proposes (most acknowledged, a few declined, some still open), and
//! requests for a mediator when the person speaks neither Italian nor English. Nothing is
//! queued for the job worker, so no e-mail or SMS ever goes out for demo data.

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::Rng;

use super::random::log_normal;
use super::DemoError;
use crate::calls::outcome::{self, Outcome};
use crate::calls::CallId;
use crate::db::Db;
use crate::referral::directory::Directory;
use crate::referral::referrals::{self, NewReferral, COORDINATOR};
use crate::referral::routing::{self, Request};
use crate::triage::mediation::{self, MediationState};
use crate::triage::{Answer, Answers, Triage};

/// One intake's follow-ups to write.
pub struct Intake<'a> {
    /// The intake.
    pub id: i64,
    /// Its call.
    pub call_id: CallId,
    /// Checked answers.
    pub answers: &'a Answers,
    /// Their triage.
    pub triage: &'a Triage,
    /// The operator.
    pub by: i64,
    /// When the intake was completed.
    pub at: DateTime<Utc>,
}

/// What was written.
#[derive(Debug, Default, Clone, Copy)]
pub struct Written {
    /// Referrals.
    pub referrals: u64,
    /// Mediation requests.
    pub mediations: u64,
}

fn minutes(rng: &mut StdRng, median: f64) -> Duration {
    Duration::seconds(log_normal(rng, median * 60.0, 0.9, 30.0, 86_400.0) as i64)
}

/// Writes the referrals and the mediation request of one intake, as drawn by `rng`.
pub async fn write(
    db: &Db,
    directory: &Directory,
    rng: &mut StdRng,
    intake: &Intake<'_>,
) -> Result<Written, DemoError> {
    let mut written = Written::default();
    let a = intake.answers;
    let language = a.choice("language").filter(|l| *l != "unknown");
    let foreign = language.filter(|l| !matches!(*l, "it" | "en"));
    if a.has("consent_referral", "yes") && !intake.triage.services.is_empty() && rng.gen_bool(0.8) {
        let territory = a.choice("territory");
        let request = Request {
            services: &intake.triage.services,
            territory,
            language,
        };
        let exploitation = match a.get("exploitation") {
            Some(Answer::Choices(c)) => c.clone(),
            _ => Vec::new(),
        };
        for proposal in routing::propose(directory, &request, &|_| true) {
            let sent = intake.at + minutes(rng, 4.0);
            let unit = proposal.unit.clone().unwrap_or_else(|| COORDINATOR.into());
            let id = referrals::create(
                db,
                &NewReferral {
                    intake_id: intake.id,
                    subject_id: None,
                    unit_code: unit.clone(),
                    priority: intake.triage.priority,
                    reason: proposal.reason,
                    exploitation: exploitation.clone(),
                    services: proposal.services,
                    language: language.map(str::to_string),
                    mediator_language: foreign.map(str::to_string),
                    message: String::new(),
                    created_by: intake.by,
                },
                sent,
            )
            .await?;
            written.referrals += 1;
            let roll: f64 = rng.gen();
            if roll < 0.9 {
                let contact = directory
                    .contacts
                    .iter()
                    .find(|c| c.unit == unit)
                    .map_or_else(|| "user:demo.operator1".to_string(), |c| c.code.clone());
                let channel = ["link", "sms", "console"][rng.gen_range(0..3)];
                let accepted = roll < 0.85;
                let at = sent + minutes(rng, 25.0);
                referrals::answer(db, id, accepted, &contact, channel, "", at).await?;
            }
        }
    }
    if let Some(language) = foreign.filter(|_| rng.gen_bool(0.6)) {
        let asked = intake.at - Duration::seconds(rng.gen_range(60..600));
        let id = mediation::request(
            db,
            Some(intake.call_id),
            Some(intake.id),
            language,
            intake.by,
            asked,
        )
        .await?;
        written.mediations += 1;
        let mediator = directory
            .mediators
            .iter()
            .find(|m| m.languages.iter().any(|l| l == language));
        let mut at = asked + minutes(rng, 6.0);
        let steps: Vec<(MediationState, Option<&str>)> = match mediator {
            Some(m) => {
                let then = if rng.gen_bool(0.7) {
                    MediationState::Joined
                } else {
                    MediationState::CalledBack
                };
                vec![
                    (MediationState::Accepted, Some(m.code.as_str())),
                    (then, None),
                    (MediationState::Closed, None),
                ]
            }
            // Nobody for the language: the operator closes the request.
            None => vec![(MediationState::Closed, None)],
        };
        for (to, who) in steps {
            mediation::transition(db, id, to, who, intake.by, at).await?;
            at += minutes(rng, 15.0);
        }
    }
    // The operator closes the call with what came of it.
    let closing = if written.referrals > 0 {
        Outcome::ReferralSent
    } else if a.choice("relevance") != Some("pertinent") {
        Outcome::NotPertinent
    } else if a.has("needs", "emergency_shelter") && rng.gen_bool(0.5) {
        Outcome::EmergencyShelter
    } else {
        match rng.gen_range(0..10) {
            0..=6 => Outcome::Listening,
            7 | 8 => Outcome::AssessmentBooked,
            _ => Outcome::Transfer,
        }
    };
    outcome::close(db, intake.call_id, closing, intake.by, intake.at).await?;
    Ok(written)
}

/// Closes an answered call that had no intake: advice or information given, or a call
/// that was not about trafficking (about one in three, as DOMAIN.md's pertinence share).
pub async fn close_without_intake(
    db: &Db,
    rng: &mut StdRng,
    call: CallId,
    by: i64,
    at: DateTime<Utc>,
) -> Result<(), DemoError> {
    let closing = if rng.gen_bool(0.35) {
        Outcome::NotPertinent
    } else {
        Outcome::Listening
    };
    outcome::close(db, call, closing, by, at).await?;
    Ok(())
}
