//! The application's shared state, built once from the configuration.

use std::sync::{Arc, OnceLock};

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio_util::sync::CancellationToken;

use crate::calls::{CallLog, CallerHasher};
use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::jobs::Jobs;
use crate::referral::directory::DirectoryHandle;
use crate::referral::escalation::Escalation;
use crate::referral::links::LinkSigner;
use crate::telephony::live::LiveCalls;
use crate::triage::questionnaire::Questionnaire;
use crate::triage::TriageRules;
use crate::web::console::live::BoardFeed;

/// What every request handler and background task shares.
#[derive(Clone)]
pub struct AppState {
    /// Storage.
    pub db: Db,
    /// Configuration.
    pub config: Arc<Config>,
    /// Territories, units, contacts and mediators (the version in use).
    pub directory: DirectoryHandle,
    /// Turns callers' numbers into keyed hashes.
    pub hasher: Arc<CallerHasher>,
    /// Durable, batched writes of call records.
    pub calls: CallLog,
    /// The durable job queue.
    pub jobs: Jobs,
    /// The intake questionnaire.
    pub questionnaire: Arc<Questionnaire>,
    /// The triage rules.
    pub triage: Arc<TriageRules>,
    /// The service's clock (moved only by tests and drills).
    pub clock: Clock,
    /// Notification and escalation of referrals.
    pub escalation: Arc<Escalation>,
    /// Signs acknowledgement links.
    pub links: Arc<LinkSigner>,
    /// The live call board's feed.
    pub board: BoardFeed,
    /// The SIP calls in progress on this node, for the console's commands.
    pub live: LiveCalls,
    /// Cancelled when the service stops: ends long-lived responses.
    pub shutdown: CancellationToken,
    /// Renders Prometheus metrics.
    pub metrics: PrometheusHandle,
}

/// The process-wide metrics recorder (a process has one; tests start several services).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!(
                    "a metrics recorder was already installed; /metrics may miss figures"
                );
            }
            handle
        })
        .clone()
}
