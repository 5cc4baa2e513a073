//! helpline: the service behind an anti-trafficking help-line (Numero Verde Anti-Tratta).
//! It keeps a record of every call, runs the durable jobs that escalation and
//! notifications stand on, and serves the operators' console and a JSON API.

pub mod app;
pub mod auth;
pub mod calls;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod jobs;
pub mod referral;
pub mod startup;
pub mod stats;
pub mod telemetry;
pub mod telephony;
pub mod triage;
pub mod web;

use std::net::SocketAddr;

/// Why the service or a command could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// Bad directory file.
    #[error("directory {0}")]
    Directory(#[from] referral::DirectoryError),
    /// The SIP endpoint cannot start.
    #[error(transparent)]
    Sip(#[from] telephony::sip::SipError),
    /// The directory in the database cannot be used.
    #[error("directory: {0}")]
    DirectoryStore(#[from] referral::directory::StoreError),
    /// Bad intake questionnaire.
    #[error("intake questionnaire {0}")]
    Questionnaire(#[from] triage::questionnaire::QuestionnaireError),
    /// Bad triage rules.
    #[error("triage rules {0}")]
    Triage(#[from] triage::TriageError),
    /// The caller-hash key is unusable.
    #[error(transparent)]
    CallerKey(#[from] calls::caller::CallerKeyError),
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] db::DbError),
    /// A user could not be found or made.
    #[error(transparent)]
    User(#[from] auth::UserError),
    /// The HTTP address is taken or not allowed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The HTTP server failed.
    #[error("HTTP server: {0}")]
    Serve(#[source] std::io::Error),
    /// Demo data could not be written.
    #[error("demo data: {0}")]
    Demo(#[from] demo::DemoError),
    /// A report or an export could not be made.
    #[error("report: {0}")]
    Report(#[from] stats::report::ReportError),
    /// A command was used wrongly.
    #[error("{0}")]
    Usage(String),
}
