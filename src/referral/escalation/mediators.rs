//! Calling mediators: a mediation request asked for in the console is sent, by the
//! channels of the P1 policy, to every mediator on call for its language (the mediators'
//! rota), each as a durable job with an idempotency key. A request already accepted,
//! joined or closed when its job runs sends nothing.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{enqueue_in_db, Channel, Escalation};
use crate::db::DbError;
use crate::jobs::{Job, JobFailure, JobTx, NewJob};
use crate::referral::rota::{self, Person, Target};
use crate::triage::{languages, mediation};

/// Kind of the job notifying one mediator on one channel.
pub const MEDIATION_NOTIFY: &str = "mediation.notify";

impl Escalation {
    /// Queues the notifications of a new mediation request to the mediators on call
    /// for `language`; returns how many were queued (0: nobody on call, or no channel).
    pub async fn call_mediators(
        &self,
        request: i64,
        language: &str,
        now: DateTime<Utc>,
    ) -> Result<usize, DbError> {
        let on_call =
            rota::on_call(&self.db, &Target::Mediators(language.to_string()), now).await?;
        let mut queued = 0;
        for oc in on_call {
            let Person::Mediator(code) = oc.person else {
                continue;
            };
            let speaks = self
                .directory
                .mediators
                .iter()
                .any(|m| m.code == code && m.languages.iter().any(|l| l == language));
            if !speaks {
                continue;
            }
            for channel in self.usable_channels(&self.policies.p1.channels) {
                let job = NewJob {
                    kind: MEDIATION_NOTIFY.into(),
                    payload: json!({ "mediation": request, "mediator": code, "channel": channel.as_str() }),
                    run_at: now,
                    idempotency_key: Some(format!(
                        "mediation:{request}:{code}:{}",
                        channel.as_str()
                    )),
                    max_attempts: None,
                    priority: channel.priority(),
                };
                enqueue_in_db(&self.jobs, &job, now).await?;
                queued += 1;
            }
        }
        Ok(queued)
    }

    pub(super) async fn run_mediation_notify(
        &self,
        job: &Job,
        _tx: &mut JobTx,
    ) -> Result<(), JobFailure> {
        let text = |k: &str| {
            job.payload
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let request = job
            .payload
            .get("mediation")
            .and_then(|v| v.as_i64())
            .ok_or_else(|| JobFailure::permanent("payload needs mediation"))?;
        let (code, channel) = (text("mediator"), text("channel"));
        let m = match mediation::get(&self.db, request).await {
            Ok(m) => m,
            Err(mediation::MediationError::NotFound) => {
                return Err(JobFailure::permanent("no such mediation request"))
            }
            Err(e) => return Err(JobFailure::retry(e.to_string())),
        };
        if !matches!(
            m.state,
            mediation::MediationState::Requested | mediation::MediationState::Unanswered
        ) {
            // Someone already answered: nothing to send.
            return Ok(());
        }
        let mediator = self
            .directory
            .mediators
            .iter()
            .find(|d| d.code == code)
            .ok_or_else(|| JobFailure::permanent("mediator no longer in the directory"))?;
        let language = languages::language(&m.language)
            .map(|l| l.it)
            .unwrap_or(m.language.as_str());
        let body = format!(
            "Numero Verde Anti-Tratta: richiesta di mediazione n. {request} in {language}. \
             Chiama il numero verde 800 186 086 e cita la richiesta {request}."
        );
        match channel.as_str() {
            "email" => {
                let emailer = self
                    .emailer
                    .as_ref()
                    .ok_or_else(|| JobFailure::permanent("e-mail not configured"))?;
                let subject = format!("[Mediazione] Richiesta n. {request} – {language}");
                let key = format!("mediation-{request}-{code}");
                emailer
                    .send(
                        &mediator.email,
                        &subject,
                        &body,
                        &emailer.message_id_for(&key),
                    )
                    .await
                    .map_err(JobFailure::from)?;
            }
            "sms" => {
                let sms = self
                    .sms
                    .as_ref()
                    .ok_or_else(|| JobFailure::permanent("SMS not configured"))?;
                sms.send(&mediator.mobile, &body)
                    .await
                    .map_err(JobFailure::from)?;
            }
            _ => return Err(JobFailure::permanent("unknown channel")),
        }
        Ok(())
    }

    /// The channels of `wanted` that are configured.
    pub(super) fn usable_channels(&self, wanted: &[Channel]) -> Vec<Channel> {
        wanted
            .iter()
            .copied()
            .filter(|c| match c {
                Channel::Email => self.emailer.is_some(),
                Channel::Sms => self.sms.is_some(),
            })
            .collect()
    }
}
