//! Referrals to the territorial units of the regional network. For now: the directory of
//! territories, units, contacts and mediators that routing will read.

pub mod directory;
pub mod escalation;
pub mod links;
pub mod notify;
pub mod referrals;
pub mod rota;
pub mod routing;
pub mod working_time;

pub use directory::{Directory, DirectoryError, Territory};
pub use rota::{on_call, OnCall, Person, RotaError, Target};
