//! The call record: every call, whatever its channel, opened at once and moved through
//! its lifecycle by events, with times derived from them.

pub mod callbacks;
pub mod caller;
pub mod model;
pub mod outcome;
pub mod seal;
mod sqlite_writer;
pub mod state;
pub mod store;
pub mod writer;

pub use caller::{CallerFingerprint, CallerHasher, InvalidCallerNumber};
pub use model::{CallEvent, CallId, CallRecord, Channel, Timings};
pub use state::{CallState, IllegalTransition};
pub use store::{CallError, NewCall, Opened, Transition};
pub use writer::CallLog;
