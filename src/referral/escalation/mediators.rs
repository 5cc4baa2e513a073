//! Calling mediators: a mediation request asked for in the console goes, step by step
//! like a referral (`[escalation.mediation]`), to the mediators on call for its
//! language, then to every mediator who speaks it, then to the regional coordinator,
//! until somebody answers. The first step is queued with the request; each later one is
//! a durable job (`mediation.step`) and every message a job of its own with an
//! idempotency key. A request already accepted, joined, called back or closed when a
//! job runs ends the chain and sends nothing.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::{Channel, Escalation};
use crate::db::{DbError, Tx};
use crate::jobs::store::enqueue_in;
use crate::jobs::{Job, JobFailure, JobTx, NewJob, PRIORITY_NORMAL};
use crate::referral::rota::{self, Person, Target};
use crate::triage::{languages, mediation};

/// Kind of the job notifying one person on one channel.
pub const MEDIATION_NOTIFY: &str = "mediation.notify";
/// Kind of the job running one step of a request's chain.
pub const MEDIATION_STEP: &str = "mediation.step";

/// Whether nobody has answered the request yet.
fn waiting(state: mediation::MediationState) -> bool {
    matches!(
        state,
        mediation::MediationState::Requested | mediation::MediationState::Unanswered
    )
}

fn step_job(request: i64, minute: u32, run_at: DateTime<Utc>) -> NewJob {
    NewJob {
        kind: MEDIATION_STEP.into(),
        payload: json!({ "mediation": request, "minute": minute }),
        run_at,
        idempotency_key: Some(format!("mediation:{request}:step:{minute}")),
        max_attempts: None,
        priority: PRIORITY_NORMAL,
    }
}

fn request_of(job: &Job) -> Result<i64, JobFailure> {
    job.payload
        .get("mediation")
        .and_then(|v| v.as_i64())
        .ok_or_else(|| JobFailure::permanent("payload needs mediation"))
}

fn minute_of(job: &Job) -> u32 {
    job.payload
        .get("minute")
        .and_then(|v| v.as_u64())
        .and_then(|m| u32::try_from(m).ok())
        .unwrap_or(0)
}

impl Escalation {
    /// Queues the first step of a new mediation request (the mediators on call for
    /// `language`, or the coordinator when nobody speaks it) and the next step of its
    /// chain; returns how many messages were queued.
    pub async fn call_mediators(
        &self,
        request: i64,
        language: &str,
        now: DateTime<Utc>,
    ) -> Result<usize, DbError> {
        let audience = self.mediation_audience(language, 0, now).await?;
        let mut tx = self.db.begin_write().await?;
        let queued = self
            .mediation_step(&mut tx, request, audience, 0, now, now)
            .await?;
        tx.commit().await?;
        self.jobs.wake();
        Ok(queued)
    }

    /// Who the step at `minute` of a request in `language` reaches: `mediator:<code>`
    /// keys, and `coordinator` when the policy says so or nobody else can be reached.
    async fn mediation_audience(
        &self,
        language: &str,
        minute: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, DbError> {
        let audience = self.policies.mediation.audience(minute);
        let directory = self.directory.current();
        let speaks = |code: &str| {
            directory
                .mediators
                .iter()
                .any(|m| m.code == code && m.languages.iter().any(|l| l == language))
        };
        let mut out: Vec<String> = Vec::new();
        let on_call =
            rota::on_call(&self.db, &Target::Mediators(language.to_string()), now).await?;
        for oc in on_call {
            if let Person::Mediator(code) = oc.person {
                let key = format!("mediator:{code}");
                if speaks(&code) && !out.contains(&key) {
                    out.push(key);
                }
            }
        }
        if audience.backup {
            for m in directory.mediators.iter().filter(|m| speaks(&m.code)) {
                let key = format!("mediator:{}", m.code);
                if !out.contains(&key) {
                    out.push(key);
                }
            }
        }
        if audience.coordinator || out.is_empty() {
            out.push("coordinator".into());
        }
        Ok(out)
    }

    /// Queues the messages of the step at `minute` to `audience` and the next step, in
    /// `tx`.
    async fn mediation_step(
        &self,
        tx: &mut Tx,
        request: i64,
        audience: Vec<String>,
        minute: u32,
        requested_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<usize, DbError> {
        let policy = &self.policies.mediation;
        let mut queued = 0;
        for to in audience {
            for channel in self.usable_channels(&policy.channels) {
                let job = NewJob {
                    kind: MEDIATION_NOTIFY.into(),
                    payload: json!({ "mediation": request, "minute": minute, "to": to, "channel": channel.as_str() }),
                    run_at: now,
                    idempotency_key: Some(format!(
                        "mediation:{request}:{minute}:{to}:{}",
                        channel.as_str()
                    )),
                    max_attempts: None,
                    priority: channel.priority(),
                };
                enqueue_in(tx, &job, self.jobs.default_max_attempts(), now).await?;
                queued += 1;
            }
        }
        if let Some(next) = policy.next_step(minute) {
            let at = requested_at + Duration::minutes(i64::from(next));
            enqueue_in(
                tx,
                &step_job(request, next, at),
                self.jobs.default_max_attempts(),
                now,
            )
            .await?;
        }
        Ok(queued)
    }

    pub(super) async fn run_mediation_step(
        &self,
        job: &Job,
        tx: &mut JobTx,
    ) -> Result<(), JobFailure> {
        let request = request_of(job)?;
        let m = match mediation::get(&self.db, request).await {
            Ok(m) => m,
            Err(mediation::MediationError::NotFound) => {
                return Err(JobFailure::permanent("no such mediation request"))
            }
            Err(e) => return Err(JobFailure::retry(e.to_string())),
        };
        if !waiting(m.state) {
            // Answered: the chain ends here.
            return Ok(());
        }
        let now = self.clock.now();
        let minute = minute_of(job);
        // Reads first: the job's transaction begins at its first write.
        let audience = self.mediation_audience(&m.language, minute, now).await?;
        self.mediation_step(
            tx.get().await?,
            request,
            audience,
            minute,
            m.requested_at,
            now,
        )
        .await?;
        self.jobs.wake();
        Ok(())
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
        let request = request_of(job)?;
        let minute = minute_of(job);
        // Jobs queued before chains existed name the mediator alone.
        let to = match text("to") {
            t if t.is_empty() => format!("mediator:{}", text("mediator")),
            t => t,
        };
        let channel = text("channel");
        let m = match mediation::get(&self.db, request).await {
            Ok(m) => m,
            Err(mediation::MediationError::NotFound) => {
                return Err(JobFailure::permanent("no such mediation request"))
            }
            Err(e) => return Err(JobFailure::retry(e.to_string())),
        };
        if !waiting(m.state) {
            // Someone already answered: nothing to send.
            return Ok(());
        }
        let directory = self.directory.current();
        let language = languages::language(&m.language)
            .map(|l| l.it)
            .unwrap_or(m.language.as_str());
        let (email, mobile, body) = match to.strip_prefix("mediator:") {
            Some(code) => {
                let mediator = directory
                    .mediators
                    .iter()
                    .find(|d| d.code == code)
                    .ok_or_else(|| JobFailure::permanent("mediator no longer in the directory"))?;
                let body = format!(
                    "Numero Verde Anti-Tratta: richiesta di mediazione n. {request} in {language}. \
                     Chiama il numero verde 800 186 086 e cita la richiesta {request}."
                );
                (mediator.email.clone(), mediator.mobile.clone(), body)
            }
            None if to == "coordinator" => {
                let c = &directory.coordinator;
                let body = format!(
                    "Numero Verde Anti-Tratta: nessun mediatore ha ancora risposto alla richiesta di \
                     mediazione n. {request} in {language} (da {minute} minuti). Aiutaci a trovarne \
                     uno: chiama il numero verde 800 186 086 e cita la richiesta {request}."
                );
                (c.email.clone(), c.mobile.clone(), body)
            }
            None => return Err(JobFailure::permanent("unknown recipient")),
        };
        match channel.as_str() {
            "email" => {
                let emailer = self
                    .emailer
                    .as_ref()
                    .ok_or_else(|| JobFailure::permanent("e-mail not configured"))?;
                let subject = format!("[Mediazione] Richiesta n. {request} – {language}");
                let key = format!("mediation-{request}-{minute}-{}", to.replace(':', "-"));
                emailer
                    .send(&email, &subject, &body, &emailer.message_id_for(&key))
                    .await
                    .map_err(JobFailure::from)?;
            }
            "sms" => {
                let sms = self
                    .sms
                    .as_ref()
                    .ok_or_else(|| JobFailure::permanent("SMS not configured"))?;
                sms.send(&mobile, &body).await.map_err(JobFailure::from)?;
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
