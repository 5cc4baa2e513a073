//! Numbers hosted at a Twilio-compatible cloud provider rather than on the SIP trunk:
//! the provider posts a webhook at each step of a call and the service answers TwiML,
//! driving the same call records, board, routing and statistics as a SIP call.
//!
//! - `config.rs`: `[twilio]`, the auth token and the operators' targets;
//! - `twiml.rs`: the typed TwiML builder (escaped XML, never string concatenation);
//! - `texts.rs`: what the provider's text-to-speech says, from the prompts' texts;
//! - `flow.rs`: the steps of a call (menu, operators, mobile, closed) and its record;
//! - `hooks.rs`: the signed webhooks (`X-Twilio-Signature`, checked by
//!   `referral::notify::signature`, which the SMS webhooks use too).

pub mod config;
pub mod flow;
pub mod hooks;
pub mod texts;
pub mod twiml;

pub use config::{OperatorTarget, TwilioConfig};
pub use hooks::router;
