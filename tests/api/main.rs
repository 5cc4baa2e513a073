//! End-to-end tests: the real service on port 0, spoken to over HTTP (and, for the job
//! queue, several real `helpline` processes), on SQLite and on PostgreSQL.

mod helpers;

mod anonymity;
mod audit;
mod browser;
mod call_log;
mod calls;
mod cli;
mod console;
mod console_client;
mod demo;
mod directory;
mod errors;
mod escalation;
mod intake;
mod jobs;
mod mediation_chain;
mod nodes;
mod notify;
mod operator_languages;
mod ops;
mod referrals;
mod rota;
mod rota_page;
mod sip;
mod sip_calls;
mod sip_media;
mod sip_mediation;
mod sip_menu;
mod sip_overflow;
mod sip_routing;
mod stats;
mod stats_cases;
mod stats_export;
mod stats_report;
mod stats_rollup;
mod stats_week;
mod support;
mod twilio;
