//! Telephony: the help-line number's SIP trunk and the operators' phones, answered by
//! the service itself (`sip/`), with their audio relayed through it (`media/`).

pub mod config;
pub mod media;
pub mod menu_schedule;
pub mod sip;

pub use config::SipConfig;
