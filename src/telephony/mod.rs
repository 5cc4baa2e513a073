//! Telephony: the help-line number's SIP trunk and the operators' phones, answered by
//! the service itself (`sip/`), with their audio relayed through it (`media/`); the
//! calls in progress take the console's commands through `live.rs`. Numbers hosted at a
//! cloud provider are driven by its webhooks instead (`twilio/`).

pub mod config;
pub mod live;
pub mod media;
pub mod menu_schedule;
pub mod sip;
pub mod twilio;

pub use config::SipConfig;
