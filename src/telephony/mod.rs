//! Telephony: the help-line number's SIP trunk and the operators' phones, answered by
//! the service itself (`sip/`).

pub mod config;
pub mod sip;

pub use config::SipConfig;
