//! The caller's number, turned at once into what the help-line may keep: a keyed hash
//! (HMAC-SHA256) to recognise repeat callers, and a territory hint from the Italian
//! landline prefix. The number itself is never stored, logged or echoed in an error.

use std::io::Write;
use std::path::Path;

use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Sha256;

use crate::config::PrivacyConfig;
use crate::referral::Directory;

/// What is kept of a caller's number.
#[derive(Clone, PartialEq, Eq)]
pub struct CallerFingerprint {
    /// Hex HMAC of the number in E.164; `None` for withheld numbers.
    pub hash: Option<String>,
    /// Territory code from the landline prefix, when Italian and known.
    pub territory_hint: Option<String>,
}

impl std::fmt::Debug for CallerFingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallerFingerprint")
            .field("hash", &self.hash.as_ref().map(|_| "[hash]"))
            .field("territory_hint", &self.territory_hint)
            .finish()
    }
}

/// A caller number that is not a phone number. Carries no part of the input.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("caller number is not a phone number: expected digits with an optional leading + (6 to 15 digits)")]
pub struct InvalidCallerNumber;

/// The hash key could not be read or created.
#[derive(Debug, thiserror::Error)]
pub enum CallerKeyError {
    /// Reading or creating the key file failed.
    #[error("caller hash key file {path}: {reason}")]
    File { path: String, reason: String },
}

/// Computes caller fingerprints with the configured secret key.
pub struct CallerHasher {
    key: SecretBox<[u8]>,
}

impl CallerHasher {
    /// Uses the inline key, else the key file, creating it with a random key if missing.
    pub fn from_config(cfg: &PrivacyConfig) -> Result<Self, CallerKeyError> {
        if let Some(key) = &cfg.caller_hash_key {
            return Ok(Self::from_secret(key));
        }
        let path = &cfg.caller_hash_key_file;
        let file_err = |reason: String| CallerKeyError::File {
            path: path.display().to_string(),
            reason,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let text = text.trim();
                if text.chars().count() < 32 {
                    return Err(file_err("the key must be at least 32 characters".into()));
                }
                Ok(Self::from_secret(&SecretString::from(text.to_string())))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = create_key_file(path).map_err(|e| file_err(e.to_string()))?;
                tracing::warn!(
                    path = %path.display(),
                    "created a new caller hash key; back it up, and give every node sharing this database the same key"
                );
                Ok(Self::from_secret(&key))
            }
            Err(e) => Err(file_err(e.to_string())),
        }
    }

    /// A hasher with an explicit key (tests, benchmarks).
    pub fn from_secret(key: &SecretString) -> Self {
        Self {
            key: SecretBox::new(key.expose_secret().as_bytes().into()),
        }
    }

    /// A key for another purpose (signing acknowledgement links), derived from this one
    /// with a label, so that one secret outside the database serves both without one
    /// use revealing anything about the other.
    /// (HMAC takes keys of any length: `None` does not happen in practice.)
    pub fn derive_key(&self, label: &str) -> Option<SecretBox<[u8]>> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.expose_secret()).ok()?;
        mac.update(label.as_bytes());
        Some(SecretBox::new(mac.finalize().into_bytes().to_vec().into()))
    }

    /// Fingerprints a raw caller number as it arrives (SIP user part, CPaaS `From`, or
    /// typed by an operator). Withheld numbers give an empty fingerprint.
    pub fn fingerprint(
        &self,
        raw: &str,
        directory: &Directory,
    ) -> Result<CallerFingerprint, InvalidCallerNumber> {
        let Some(e164) = normalise(raw)? else {
            return Ok(CallerFingerprint {
                hash: None,
                territory_hint: None,
            });
        };
        let territory_hint = e164
            .strip_prefix("+39")
            .filter(|national| national.starts_with('0'))
            .and_then(|national| directory.territory_for_national_number(national))
            .map(|t| t.code.clone());
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.expose_secret())
            .map_err(|_| InvalidCallerNumber)?;
        mac.update(e164.as_bytes());
        Ok(CallerFingerprint {
            hash: Some(hex::encode(mac.finalize().into_bytes())),
            territory_hint,
        })
    }
}

/// The E.164 form of a caller's number (`None` when withheld), for the one place it is
/// kept: sealed on a missed call's callback task.
pub fn e164(raw: &str) -> Result<Option<String>, InvalidCallerNumber> {
    normalise(raw)
}

/// Words that trunks and providers use for a withheld number.
const WITHHELD: [&str; 6] = [
    "",
    "anonymous",
    "restricted",
    "unknown",
    "private",
    "unavailable",
];

/// E.164 form of a number; `None` when withheld. Numbers without an international prefix
/// are Italian (the lines are Italian free-phone numbers).
fn normalise(raw: &str) -> Result<Option<String>, InvalidCallerNumber> {
    let trimmed = raw.trim();
    if WITHHELD.iter().any(|w| trimmed.eq_ignore_ascii_case(w)) {
        return Ok(None);
    }
    let compact: String = trimmed
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '/'))
        .collect();
    let international = if let Some(rest) = compact.strip_prefix('+') {
        rest.to_string()
    } else if let Some(rest) = compact.strip_prefix("00") {
        rest.to_string()
    } else {
        format!("39{compact}")
    };
    if !(6..=15).contains(&international.len())
        || !international.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(InvalidCallerNumber);
    }
    Ok(Some(format!("+{international}")))
}

fn create_key_file(path: &Path) -> std::io::Result<SecretString> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let key = hex::encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(key.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    Ok(SecretString::from(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::referral::directory::EMBEDDED_DIRECTORY;

    fn hasher() -> (CallerHasher, Directory) {
        let key = SecretString::from("k".repeat(32));
        (
            CallerHasher::from_secret(&key),
            Directory::parse(EMBEDDED_DIRECTORY, "built-in").unwrap(),
        )
    }

    #[test]
    fn the_same_number_written_differently_gives_the_same_hash() {
        let (h, d) = hasher();
        let a = h.fingerprint("+39 055 123 4567", &d).unwrap();
        let b = h.fingerprint("0039-055-1234567", &d).unwrap();
        let c = h.fingerprint("0551234567", &d).unwrap();
        assert_eq!(a, b);
        assert_eq!(b, c);
        assert_eq!(a.territory_hint.as_deref(), Some("FI"));
    }

    #[test]
    fn the_hash_never_contains_the_number() {
        let (h, d) = hasher();
        let f = h.fingerprint("+393331234567", &d).unwrap();
        let hash = f.hash.unwrap();
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains("3331234567"));
        assert_eq!(f.territory_hint, None, "mobile numbers give no territory");
    }

    #[test]
    fn another_key_gives_another_hash() {
        let (h, d) = hasher();
        let other = CallerHasher::from_secret(&SecretString::from("z".repeat(32)));
        assert_ne!(
            h.fingerprint("0551234567", &d).unwrap().hash,
            other.fingerprint("0551234567", &d).unwrap().hash
        );
    }

    #[test]
    fn withheld_numbers_give_an_empty_fingerprint() {
        let (h, d) = hasher();
        for raw in ["anonymous", "", "  Restricted "] {
            assert_eq!(
                h.fingerprint(raw, &d).unwrap(),
                CallerFingerprint {
                    hash: None,
                    territory_hint: None
                }
            );
        }
    }

    #[test]
    fn letters_are_not_a_number_and_the_error_does_not_echo_it() {
        let (h, d) = hasher();
        let err = h.fingerprint("055 CALL ME", &d).unwrap_err().to_string();
        assert!(!err.contains("055"), "{err}");
    }

    #[test]
    fn foreign_numbers_are_hashed_without_a_territory() {
        let (h, d) = hasher();
        let f = h.fingerprint("+234 803 123 4567", &d).unwrap();
        assert!(f.hash.is_some());
        assert_eq!(f.territory_hint, None);
    }

    #[test]
    fn a_missing_key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = PrivacyConfig {
            caller_hash_key: None,
            caller_hash_key_file: dir.path().join("sub/key"),
            repeat_caller_window_days: 90,
            callback_retention_hours: 72,
        };
        let d = Directory::parse(EMBEDDED_DIRECTORY, "built-in").unwrap();
        let a = CallerHasher::from_config(&cfg)
            .unwrap()
            .fingerprint("0551234567", &d)
            .unwrap();
        let b = CallerHasher::from_config(&cfg)
            .unwrap()
            .fingerprint("0551234567", &d)
            .unwrap();
        assert_eq!(a, b);
    }
}
