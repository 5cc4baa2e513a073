//! Referrals to the territorial units of the regional network. For now: the directory of
//! territories, units, contacts and mediators that routing will read.

pub mod directory;
pub mod notify;

pub use directory::{Directory, DirectoryError, Territory};
