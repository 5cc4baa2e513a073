//! Referrals to the territorial units of the regional network. For now: the directory of
//! territories, units, contacts and mediators that routing will read.

pub mod directory;
pub mod notify;
pub mod rota;

pub use directory::{Directory, DirectoryError, Territory};
pub use rota::{on_call, OnCall, Person, RotaError, Target};
