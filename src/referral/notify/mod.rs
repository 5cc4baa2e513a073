//! Notification transports: how a referral reaches an on-call contact.
//!
//! - [`Emailer`]: e-mail over SMTP (plain, STARTTLS or TLS), each message with a stable
//!   `Message-ID` built from an idempotency key so a repeat is recognisable.
//! - [`SmsClient`]: SMS through a Twilio-compatible REST API (any provider with the same
//!   API, by `notify.sms.base_url`).
//! - [`signature`]: checks `X-Twilio-Signature` on the provider's webhooks.
//! - [`inbound`]: reads the provider's delivery-status callbacks and contacts' replies
//!   (`OK <code>` acknowledges a referral).
//!
//! Both transports fail with [`NotifyError`], which says whether a retry can help: the job
//! queue retries [`NotifyError::Temporary`] only (`From<NotifyError> for JobFailure`).
//! Nothing here logs or puts into an error a phone number, an address or a message body.

pub mod config;
pub mod email;
pub mod inbound;
pub mod signature;
pub mod sms;
pub mod status;

pub use config::{EmailConfig, EmailSecurity, NotifyConfig, SmsConfig};
pub use email::Emailer;
pub use inbound::{form_params, parse_ack_reply, InboundSms, StatusCallback, EMPTY_TWIML};
pub use sms::{SmsClient, SmsSent};
pub use status::DeliveryStatus;

use crate::jobs::JobFailure;

/// Why a notification was not handed over. Messages carry no personal data.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The transport cannot be built from its configuration; never retried.
    #[error("notification transport misconfigured: {0}")]
    Config(String),
    /// Refused for good (bad credentials, an invalid number or address, a rejected
    /// message): retrying the same request cannot succeed.
    #[error("notification refused: {reason}")]
    Permanent {
        /// What was refused, without personal data.
        reason: String,
        /// The provider's error code, when it gave one (e.g. 21211 for an invalid `To`).
        provider_code: Option<u32>,
    },
    /// May succeed later (server down or overloaded, timeout, 5xx, rate limited).
    #[error("notification not delivered, will retry: {reason}")]
    Temporary {
        /// What failed, without personal data.
        reason: String,
    },
}

impl NotifyError {
    /// True when a later attempt may succeed.
    pub fn is_temporary(&self) -> bool {
        matches!(self, Self::Temporary { .. })
    }

    /// The provider's error code of a permanent refusal.
    pub fn provider_code(&self) -> Option<u32> {
        match self {
            Self::Permanent { provider_code, .. } => *provider_code,
            _ => None,
        }
    }

    pub(crate) fn permanent(reason: impl Into<String>, provider_code: Option<u32>) -> Self {
        Self::Permanent {
            reason: reason.into(),
            provider_code,
        }
    }

    pub(crate) fn temporary(reason: impl Into<String>) -> Self {
        Self::Temporary {
            reason: reason.into(),
        }
    }
}

impl From<NotifyError> for JobFailure {
    fn from(e: NotifyError) -> Self {
        if e.is_temporary() {
            JobFailure::retry(e.to_string())
        } else {
            JobFailure::permanent(e.to_string())
        }
    }
}
