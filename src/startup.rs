//! Building and running the service: storage, migrations, directory, the job worker and
//! the HTTP server, with graceful shutdown on SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::Utc;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::app::{metrics_handle, AppState};
use crate::auth::users;
use crate::calls::{CallLog, CallerHasher};
use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::jobs::{selftest, worker, Jobs, Worker, WorkerHandle};
use crate::referral::directory::DirectoryHandle;
use crate::referral::escalation::{self, Escalation};
use crate::referral::links::LinkSigner;
use crate::referral::notify::{Emailer, SmsClient};
use crate::referral::working_time::Calendar;
use crate::referral::Directory;
use crate::telephony::live::LiveCalls;
use crate::telephony::sip::{self, SipServer};
use crate::triage::questionnaire::Questionnaire;
use crate::triage::TriageRules;
use crate::web::console::live::BoardFeed;
use crate::Error;

/// A built service, bound to its address, not yet serving.
pub struct Application {
    state: AppState,
    listener: TcpListener,
    addr: SocketAddr,
    sip: Option<SipServer>,
}

impl Application {
    /// Connects, migrates, loads the directory, creates the first admin on an empty
    /// database, and binds the HTTP address (port 0 picks a free one).
    pub async fn build(config: Config) -> Result<Self, Error> {
        let state = build_state(config).await?;
        if let Some(password) = users::ensure_first_admin(&state.db, Utc::now()).await? {
            tracing::warn!(
                "first start: created the administrator `admin` with the one-time password {} \
                 (change it at first sign-in; `helpline user add` makes other accounts)",
                password.expose_secret()
            );
        }
        let addr = state.config.http.addr;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| Error::Bind { addr, source: e })?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::Bind { addr, source: e })?;
        let sip = if state.config.sip.enabled {
            let key = state
                .hasher
                .derive_key("helpline sip digest nonces v1")
                .ok_or_else(|| Error::Usage("cannot derive the SIP nonce key".into()))?;
            Some(sip::start(&state, key.expose_secret().to_vec(), state.shutdown.clone()).await?)
        } else {
            None
        };
        Ok(Self {
            state,
            listener,
            addr,
            sip,
        })
    }

    /// The SIP endpoint's address (UDP and TCP), when it runs.
    pub fn sip_addr(&self) -> Option<SocketAddr> {
        self.sip.as_ref().map(|s| s.addr)
    }

    /// The bound HTTP address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Shared state (tests and benchmarks reach storage through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `stop` is cancelled: then stops accepting, finishes requests in
    /// flight, lets the job worker finish or release its claims, and closes the pool.
    pub async fn run_until(self, stop: CancellationToken) -> Result<(), Error> {
        let worker = start_worker(&self.state);
        // Long-lived responses (the board's event streams) end when the service stops,
        // so that graceful shutdown does not wait for them.
        let streams = self.state.shutdown.clone();
        let stopping = stop.clone();
        tokio::spawn(async move {
            stopping.cancelled().await;
            streams.cancel();
        });
        // Directory changes saved on other nodes reach this one within a poll.
        self.state
            .directory
            .follow(self.state.db.clone(), self.state.shutdown.clone());
        // The statistics of the days written to are counted again in the background.
        crate::stats::rollup::follow(
            self.state.db.clone(),
            self.state.config.privacy.repeat_caller_window_days,
            self.state.shutdown.clone(),
        );
        let app = crate::web::router(self.state.clone());
        tracing::info!(addr = %self.addr, backend = ?self.state.db.backend(), "helpline serving");
        let served = axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(stop.clone().cancelled_owned())
        .await;
        if let Some(w) = worker {
            w.shutdown().await;
        }
        self.state.db.close().await;
        tracing::info!("helpline stopped");
        served.map_err(Error::Serve)
    }

    /// Serves until SIGTERM or Ctrl-C.
    pub async fn run(self) -> Result<(), Error> {
        let stop = CancellationToken::new();
        let trigger = stop.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutdown requested");
            trigger.cancel();
        });
        self.run_until(stop).await
    }
}

/// Reads the intake questionnaire and the triage rules, and checks the rules against the
/// questionnaire and the directory's services.
pub fn load_intake(
    config: &Config,
    directory: &Directory,
) -> Result<(Questionnaire, TriageRules), Error> {
    let console = &config.console;
    let questionnaire = Questionnaire::load(
        &console.intake_path,
        console.intake_path == std::path::Path::new("config/intake.toml"),
    )?;
    let triage = TriageRules::load(
        &console.triage_path,
        console.triage_path == std::path::Path::new("config/triage.toml"),
    )?;
    let services: Vec<&str> = directory.services.iter().map(|s| s.code.as_str()).collect();
    triage.validate(&questionnaire, &services)?;
    Ok((questionnaire, triage))
}

/// Everything but the listener: used by `serve` and by CLI commands that need storage.
pub async fn build_state(config: Config) -> Result<AppState, Error> {
    let backend = config.database_backend()?;
    let directory = Directory::load(&config.directory.path, config.directory_is_default())?;
    let (questionnaire, triage) = load_intake(&config, &directory)?;
    let hasher = CallerHasher::from_config(&config.privacy)?;
    let db = Db::connect(&config.database, backend).await?;
    db.migrate().await?;
    let source = if config.directory.path.is_file() {
        config.directory.path.display().to_string()
    } else {
        "built-in Tuscan directory".to_string()
    };
    // The file gives the territories and services every start; the units and people
    // come from the database once it has them (admins manage them in the console).
    let directory = DirectoryHandle::open(&db, directory, &source, Utc::now()).await?;
    let current = directory.current();
    tracing::info!(
        %source,
        version = directory.version(),
        territories = current.territories.len(),
        units = current.units.len(),
        mediators = current.mediators.len(),
        "directory loaded"
    );
    let clock = Clock::default();
    let jobs = Jobs::new(db.clone(), config.jobs.max_attempts).with_clock(clock.clone());
    let calls = CallLog::start(&db)?;
    // A fresh install has every unit, the coordinator and the mediators on call around
    // the clock from the directory; admins refine the rotas later.
    let seeded = crate::referral::rota::seed_from_directory(&db, &current, Utc::now()).await?;
    if seeded > 0 {
        tracing::info!(
            rotas = seeded,
            "default on-call rotas created from the directory"
        );
    }
    let links = hasher
        .derive_key("helpline referral acknowledgement links v1")
        .map(LinkSigner::new)
        .ok_or_else(|| Error::Usage("cannot derive the link key".into()))?;
    let links = Arc::new(links);
    let notify = &config.notify;
    let escalation = Escalation {
        db: db.clone(),
        directory: directory.clone(),
        policies: config.escalation.clone(),
        emailer: notify
            .email
            .enabled
            .then(|| Emailer::new(&notify.email))
            .transpose()
            .map_err(|e| Error::Usage(format!("e-mail: {e}")))?,
        sms: notify
            .sms
            .enabled
            .then(|| SmsClient::new(&notify.sms))
            .transpose()
            .map_err(|e| Error::Usage(format!("SMS: {e}")))?,
        links: links.clone(),
        public_url: config.http.public_url.clone(),
        jobs: jobs.clone(),
        clock: clock.clone(),
        calendar: Calendar::default(),
    };
    let board = BoardFeed::start(
        db.clone(),
        crate::web::console::board_data::BoardSettings::from_config(&config),
        clock.clone(),
    );
    Ok(AppState {
        calls,
        board,
        live: LiveCalls::new(),
        questionnaire: Arc::new(questionnaire),
        links,
        clock,
        escalation: Arc::new(escalation),
        triage: Arc::new(triage),
        shutdown: CancellationToken::new(),
        db,
        config: Arc::new(config),
        directory,
        hasher: Arc::new(hasher),
        jobs,
        metrics: metrics_handle(),
    })
}

fn start_worker(state: &AppState) -> Option<WorkerHandle> {
    if state.config.jobs.workers == 0 {
        tracing::info!("job worker off on this node (jobs.workers = 0)");
        return None;
    }
    let w = Worker::new(
        state.db.clone(),
        &state.jobs,
        state.config.jobs.clone(),
        worker::node_name(),
    )
    .register(selftest::SelfTest)
    .register(crate::calls::callbacks::ExpireHandler(state.clock.clone()))
    .register(escalation::StepHandler(state.escalation.clone()))
    .register(escalation::NotifyHandler(state.escalation.clone()))
    .register(escalation::MediationNotifyHandler(state.escalation.clone()))
    .register(escalation::MediationStepHandler(state.escalation.clone()));
    Some(w.spawn())
}

async fn wait_for_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
