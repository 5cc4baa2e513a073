//! Escalation: a referral is notified and re-notified, step by step, until someone
//! acknowledges it. Each step is a durable job (`referral.step`) that queues one
//! notification job per person and channel (`referral.notify`, retried with backoff),
//! then the next step at its due time; idempotency keys make a restart or a second node
//! harmless, and an acknowledgement (link, SMS reply, console) stops every later step,
//! because every job looks at the referral's state before doing anything.

pub mod mediators;
pub mod message;
pub mod policy;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::directory::DirectoryHandle;
use super::links::{self, LinkClaims, LinkSigner};
use super::notify::{Emailer, SmsClient};
use super::referrals::{self, Referral, COORDINATOR};
use super::rota::{self, Person, RotaRole, Target};
use super::working_time::Calendar;
use crate::clock::Clock;
use crate::db::{Db, DbError, Tx};
use crate::jobs::{BoxFuture, Job, JobFailure, JobHandler, JobTx, Jobs, NewJob, PRIORITY_NORMAL};
use crate::with_tx;
pub use policy::{Channel, EscalationConfig, Policy};

/// Kind of the step job.
pub const STEP: &str = "referral.step";
/// Kind of the notification job.
pub const NOTIFY: &str = "referral.notify";

/// What the escalation jobs need.
pub struct Escalation {
    /// Storage.
    pub db: Db,
    /// Units, contacts, the coordinator.
    pub directory: DirectoryHandle,
    /// Policies.
    pub policies: EscalationConfig,
    /// E-mail, when configured.
    pub emailer: Option<Emailer>,
    /// SMS, when configured.
    pub sms: Option<SmsClient>,
    /// Signs acknowledgement links.
    pub links: Arc<LinkSigner>,
    /// Where links point (`https://…`, no trailing slash).
    pub public_url: String,
    /// The queue (to add the next jobs).
    pub jobs: Jobs,
    /// Time.
    pub clock: Clock,
    /// Working time for policies that count in it.
    pub calendar: Calendar,
}

/// Starts the chain of a referral just sent: its first step is due now.
pub async fn start(jobs: &Jobs, referral: i64, now: DateTime<Utc>) -> Result<(), DbError> {
    jobs.enqueue(&step_job(referral, 0, now), now).await?;
    Ok(())
}

fn step_job(referral: i64, minute: u32, run_at: DateTime<Utc>) -> NewJob {
    NewJob {
        kind: STEP.into(),
        payload: json!({ "referral": referral, "minute": minute }),
        run_at,
        idempotency_key: Some(format!("referral:{referral}:step:{minute}")),
        max_attempts: None,
        priority: PRIORITY_NORMAL,
    }
}

/// A person a step reaches: `contact:<code>` or `coordinator`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Recipient {
    key: String,
    name: String,
    email: String,
    mobile: String,
}

impl Escalation {
    /// When the step at `minute` of a referral sent at `sent` is due.
    pub fn due(&self, policy: &Policy, sent: DateTime<Utc>, minute: u32) -> DateTime<Utc> {
        let offset = Duration::minutes(i64::from(minute));
        if policy.working_time {
            self.calendar.add_working_time(sent, offset)
        } else {
            sent + offset
        }
    }

    fn coordinator(&self) -> Recipient {
        let dir = self.directory.current();
        let c = &dir.coordinator;
        Recipient {
            key: "coordinator".into(),
            name: c.name.clone(),
            email: c.email.clone(),
            mobile: c.mobile.clone(),
        }
    }

    fn contact(&self, unit: &str, code: &str) -> Option<Recipient> {
        self.directory
            .current()
            .contacts
            .iter()
            .find(|c| c.code == code && c.unit == unit)
            .map(|c| Recipient {
                key: format!("contact:{}", c.code),
                name: c.name.clone(),
                email: c.email.clone(),
                mobile: c.mobile.clone(),
            })
    }

    /// Who the step at `minute` reaches, as the rotas say at `now`.
    async fn recipients(
        &self,
        r: &Referral,
        minute: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<Recipient>, DbError> {
        let audience = self.policies.policy(r.priority).audience(minute);
        let mut out = Vec::new();
        if r.unit_code == COORDINATOR {
            out.push(self.coordinator());
            return Ok(out);
        }
        let on_call = rota::on_call(&self.db, &Target::Unit(r.unit_code.clone()), now).await?;
        for oc in &on_call {
            let wanted = match oc.role {
                RotaRole::Primary => audience.primary,
                RotaRole::Backup => audience.backup,
            };
            if let (true, Person::Contact(code)) = (wanted, &oc.person) {
                if let Some(c) = self.contact(&r.unit_code, code) {
                    if !out.contains(&c) {
                        out.push(c);
                    }
                }
            }
        }
        // Nobody of the unit reachable, or the policy's time has come: the coordinator.
        if audience.coordinator || out.is_empty() {
            out.push(self.coordinator());
        }
        Ok(out)
    }

    async fn run_step(&self, job: &Job, tx: &mut JobTx) -> Result<(), JobFailure> {
        let (referral, minute) = ids(job)?;
        let Some(r) = referrals::get(&self.db, referral).await? else {
            return Err(JobFailure::permanent("no such referral"));
        };
        if r.state != "sent" {
            // Acknowledged or declined: the chain ends here.
            return Ok(());
        }
        let now = self.clock.now();
        let policy = self.policies.policy(r.priority).clone();
        for person in self.recipients(&r, minute, now).await? {
            for channel in &policy.channels {
                let usable = match channel {
                    Channel::Email => self.emailer.is_some(),
                    Channel::Sms => self.sms.is_some(),
                };
                if !usable {
                    tracing::warn!(
                        referral,
                        channel = channel.as_str(),
                        "channel not configured; skipped"
                    );
                    continue;
                }
                let job = NewJob {
                    kind: NOTIFY.into(),
                    payload: json!({ "referral": referral, "minute": minute, "person": person.key, "channel": channel.as_str() }),
                    run_at: now,
                    idempotency_key: Some(format!(
                        "referral:{referral}:step:{minute}:{}:{}",
                        person.key,
                        channel.as_str()
                    )),
                    max_attempts: None,
                    priority: channel.priority(),
                };
                enqueue_in(&self.jobs, tx.get().await?, &job, now).await?;
            }
        }
        if let Some(next) = policy.next_step(minute) {
            let at = self.due(&policy, r.created_at, next);
            enqueue_in(
                &self.jobs,
                tx.get().await?,
                &step_job(referral, next, at),
                now,
            )
            .await?;
        }
        self.jobs.wake();
        Ok(())
    }

    async fn run_notify(&self, job: &Job, tx: &mut JobTx) -> Result<(), JobFailure> {
        let (referral, minute) = ids(job)?;
        let person = job
            .payload
            .get("person")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let channel = job
            .payload
            .get("channel")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let Some(r) = referrals::get(&self.db, referral).await? else {
            return Err(JobFailure::permanent("no such referral"));
        };
        if r.state != "sent" {
            return Ok(());
        }
        let recipient = match person.strip_prefix("contact:") {
            Some(code) => self.contact(&r.unit_code, code),
            None if person == "coordinator" => Some(self.coordinator()),
            None => None,
        }
        .ok_or_else(|| JobFailure::permanent("recipient no longer in the directory"))?;
        let now = self.clock.now();
        let link = self
            .link_for(&r, person.trim_start_matches("contact:"), now)
            .await?;
        let url = format!("{}/ack/{link}", self.public_url);
        let key = format!(
            "referral-{referral}-step-{minute}-{}",
            person.replace(':', "-")
        );
        let provider_id = match channel {
            "email" => {
                let emailer = self
                    .emailer
                    .as_ref()
                    .ok_or_else(|| JobFailure::permanent("e-mail not configured"))?;
                let (subject, body) =
                    message::email(&self.directory.current(), &r, &recipient.name, &url);
                emailer
                    .send(
                        &recipient.email,
                        &subject,
                        &body,
                        &emailer.message_id_for(&key),
                    )
                    .await
                    .map_err(JobFailure::from)?;
                None
            }
            "sms" => {
                let sms = self
                    .sms
                    .as_ref()
                    .ok_or_else(|| JobFailure::permanent("SMS not configured"))?;
                let body = message::sms(&self.directory.current(), &r, &url);
                Some(
                    sms.send(&recipient.mobile, &body)
                        .await
                        .map_err(JobFailure::from)?
                        .sid,
                )
            }
            _ => return Err(JobFailure::permanent("unknown channel")),
        };
        with_tx!(tx.get().await?, |conn| {
            sqlx::query(
                "insert into deliveries (referral_id, minute, person, channel, status, provider_id, at) \
                 values ($1, $2, $3, $4, 'sent', $5, $6) on conflict do nothing",
            )
            .bind(referral)
            .bind(i64::from(minute))
            .bind(person)
            .bind(channel)
            .bind(&provider_id)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        });
        metrics::counter!("helpline_referral_notifications_total", "channel" => channel.to_string()).increment(1);
        Ok(())
    }

    /// The acknowledgement link of `contact` for this referral: issued once, then the
    /// same token every time (it is recomputed from its claims, never stored).
    ///
    /// A step's e-mail and SMS to one contact run concurrently and may both find no link:
    /// both issue one, and both then sign the first one stored, so the contact gets one
    /// link on every channel.
    async fn link_for(
        &self,
        r: &Referral,
        contact: &str,
        now: DateTime<Utc>,
    ) -> Result<String, JobFailure> {
        let existing = referrals::link_expiry(&self.db, r.id, contact).await?;
        let expires_at = match existing {
            Some(at) => at,
            None => {
                let at =
                    DateTime::from_timestamp((now + links::VALIDITY).timestamp(), 0).unwrap_or(now);
                let claims = LinkClaims {
                    referral_id: r.id,
                    contact: contact.to_string(),
                    expires_at: at,
                };
                let token = self
                    .links
                    .token(&claims)
                    .ok_or_else(|| JobFailure::permanent("cannot sign links"))?;
                referrals::store_link(&self.db, r.id, &links::digest(&token), contact, now, at)
                    .await?;
                referrals::link_expiry(&self.db, r.id, contact)
                    .await?
                    .unwrap_or(at)
            }
        };
        let claims = LinkClaims {
            referral_id: r.id,
            contact: contact.to_string(),
            expires_at,
        };
        self.links
            .token(&claims)
            .ok_or_else(|| JobFailure::permanent("cannot sign links"))
    }
}

fn ids(job: &Job) -> Result<(i64, u32), JobFailure> {
    let referral = job.payload.get("referral").and_then(|v| v.as_i64());
    let minute = job
        .payload
        .get("minute")
        .and_then(|v| v.as_u64())
        .and_then(|m| u32::try_from(m).ok());
    referral
        .zip(minute)
        .ok_or_else(|| JobFailure::permanent("payload needs referral and minute"))
}

async fn enqueue_in(
    jobs: &Jobs,
    tx: &mut Tx,
    job: &NewJob,
    now: DateTime<Utc>,
) -> Result<(), JobFailure> {
    crate::jobs::store::enqueue_in(tx, job, jobs.default_max_attempts(), now)
        .await
        .map_err(JobFailure::from)
}

/// The mediator-call handler.
pub struct MediationNotifyHandler(pub Arc<Escalation>);
/// The mediation chain's step handler.
pub struct MediationStepHandler(pub Arc<Escalation>);

impl JobHandler for MediationStepHandler {
    fn kind(&self) -> &'static str {
        mediators::MEDIATION_STEP
    }

    fn run<'a>(
        &'a self,
        job: &'a Job,
        _node: &'a str,
        tx: &'a mut JobTx,
    ) -> BoxFuture<'a, Result<(), JobFailure>> {
        Box::pin(self.0.run_mediation_step(job, tx))
    }
}

impl JobHandler for MediationNotifyHandler {
    fn kind(&self) -> &'static str {
        mediators::MEDIATION_NOTIFY
    }

    fn run<'a>(
        &'a self,
        job: &'a Job,
        _node: &'a str,
        tx: &'a mut JobTx,
    ) -> BoxFuture<'a, Result<(), JobFailure>> {
        Box::pin(self.0.run_mediation_notify(job, tx))
    }
}

/// The step handler.
pub struct StepHandler(pub Arc<Escalation>);
/// The notification handler.
pub struct NotifyHandler(pub Arc<Escalation>);

impl JobHandler for StepHandler {
    fn kind(&self) -> &'static str {
        STEP
    }

    fn run<'a>(
        &'a self,
        job: &'a Job,
        _node: &'a str,
        tx: &'a mut JobTx,
    ) -> BoxFuture<'a, Result<(), JobFailure>> {
        Box::pin(self.0.run_step(job, tx))
    }
}

impl JobHandler for NotifyHandler {
    fn kind(&self) -> &'static str {
        NOTIFY
    }

    fn run<'a>(
        &'a self,
        job: &'a Job,
        _node: &'a str,
        tx: &'a mut JobTx,
    ) -> BoxFuture<'a, Result<(), JobFailure>> {
        Box::pin(self.0.run_notify(job, tx))
    }
}
