//! Who may use the service: users with a role, their passwords (argon2id) and their
//! personal API tokens (only a hash stored).

pub mod languages;
pub mod manage;
pub mod passwords;
pub mod tokens;
pub mod users;

pub use languages::{LanguagesError, SpokenLanguages};
pub use users::{AuthUser, Role, UserError};
