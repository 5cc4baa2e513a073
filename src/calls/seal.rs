//! The one place a caller's number is kept at all: sealed on the callback task of a
//! missed call, so that an operator can call back, and erased when the task is closed
//! or expires.
//!
//! Sealed with XChaCha20-Poly1305 (random 192-bit nonces, safe to draw at random) under
//! a key derived from the caller-hash key, which lives outside the database: a copy of
//! the database alone reveals no number. The call's id is bound in as associated data,
//! so a sealed number copied onto another task does not open.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

use super::caller::CallerHasher;
use super::model::CallId;

/// Label of the derived key (changing it makes every sealed number unreadable).
const LABEL: &str = "helpline/callback-number/v1";

/// A sealed number could not be opened: damaged, moved, or sealed under another key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the sealed number cannot be opened (damaged, or sealed under another key)")]
pub struct SealError;

/// Seals and opens callers' numbers for callback tasks.
pub struct NumberSeal {
    cipher: XChaCha20Poly1305,
}

impl NumberSeal {
    /// The seal keyed from the caller-hash key.
    pub fn from_hasher(hasher: &CallerHasher) -> Result<Self, SealError> {
        let key = hasher.derive_key(LABEL).ok_or(SealError)?;
        let cipher =
            XChaCha20Poly1305::new_from_slice(key.expose_secret()).map_err(|_| SealError)?;
        Ok(Self { cipher })
    }

    /// Seals `number` (E.164) for the callback of `call`: base64 of nonce and ciphertext.
    pub fn seal(&self, call: CallId, number: &str) -> Result<String, SealError> {
        let mut nonce = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut nonce);
        let aad = call.to_string();
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: number.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(STANDARD_NO_PAD.encode(out))
    }

    /// Opens what [`NumberSeal::seal`] sealed for the same call.
    pub fn open(&self, call: CallId, sealed: &str) -> Result<SecretString, SealError> {
        let bytes = STANDARD_NO_PAD.decode(sealed).map_err(|_| SealError)?;
        if bytes.len() < 24 + 16 {
            return Err(SealError);
        }
        let (nonce, body) = bytes.split_at(24);
        let aad = call.to_string();
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| SealError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal(key: &str) -> NumberSeal {
        NumberSeal::from_hasher(&CallerHasher::from_secret(&SecretString::from(
            key.repeat(32),
        )))
        .unwrap()
    }

    #[test]
    fn a_sealed_number_opens_for_its_call_only() {
        let s = seal("k");
        let call = CallId::new();
        let sealed = s.seal(call, "+390551234567").unwrap();
        assert!(!sealed.contains("0551234567"));
        assert_eq!(
            s.open(call, &sealed).unwrap().expose_secret(),
            "+390551234567"
        );
        assert_eq!(s.open(CallId::new(), &sealed).unwrap_err(), SealError);
    }

    #[test]
    fn another_key_or_a_damaged_seal_does_not_open() {
        let call = CallId::new();
        let sealed = seal("k").seal(call, "+390551234567").unwrap();
        assert_eq!(seal("z").open(call, &sealed).unwrap_err(), SealError);
        let mut damaged = sealed.clone().into_bytes();
        let last = damaged.len() - 1;
        damaged[last] = if damaged[last] == b'A' { b'B' } else { b'A' };
        let damaged = String::from_utf8(damaged).unwrap();
        assert_eq!(seal("k").open(call, &damaged).unwrap_err(), SealError);
        assert_eq!(seal("k").open(call, "short").unwrap_err(), SealError);
        assert_eq!(seal("k").open(call, "not base64 !").unwrap_err(), SealError);
    }

    #[test]
    fn the_same_number_seals_differently_each_time() {
        let s = seal("k");
        let call = CallId::new();
        assert_ne!(
            s.seal(call, "+390551234567").unwrap(),
            s.seal(call, "+390551234567").unwrap()
        );
    }
}
