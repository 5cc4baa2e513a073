//! Acknowledgement links: `/ack/{token}` opens a page where a unit's contact accepts or
//! declines a referral with a note, without signing in. The token is
//! `referral.contact.expiry.signature` (HMAC-SHA256 with a key derived from the service's
//! secret), so a forged or altered link is refused before the database is asked; the
//! database keeps its digest and when it was used, so a link works once.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::{Digest, Sha256};

/// How long an acknowledgement link works after it is first sent.
pub const VALIDITY: chrono::Duration = chrono::Duration::days(7);

/// Signs and checks acknowledgement tokens.
pub struct LinkSigner {
    key: SecretBox<[u8]>,
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkClaims {
    /// The referral.
    pub referral_id: i64,
    /// The contact it was sent to (directory code).
    pub contact: String,
    /// Until when it works.
    pub expires_at: DateTime<Utc>,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not a token this service made, or altered.
    #[error("invalid link")]
    Invalid,
    /// Past its expiry.
    #[error("expired link")]
    Expired,
    /// Already used.
    #[error("link already used")]
    Used,
}

impl LinkSigner {
    /// With this key.
    pub fn new(key: SecretBox<[u8]>) -> Self {
        Self { key }
    }

    fn mac(&self, payload: &str) -> Option<Vec<u8>> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.expose_secret()).ok()?;
        mac.update(payload.as_bytes());
        Some(mac.finalize().into_bytes().to_vec())
    }

    /// A token for `contact` on `referral_id`, valid until `expires_at`.
    pub fn token(&self, claims: &LinkClaims) -> Option<String> {
        // The contact code is in the token, so it is a directory code (a-z, 0-9, -, _).
        let payload = format!(
            "{}.{}.{}",
            claims.referral_id,
            claims.contact,
            claims.expires_at.timestamp()
        );
        let signature = URL_SAFE_NO_PAD.encode(self.mac(&payload)?);
        Some(format!("{payload}.{signature}"))
    }

    /// The claims of a token this service signed, if it has not expired at `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<LinkClaims, LinkError> {
        let (payload, signature) = token.rsplit_once('.').ok_or(LinkError::Invalid)?;
        let given = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| LinkError::Invalid)?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.expose_secret())
            .map_err(|_| LinkError::Invalid)?;
        mac.update(payload.as_bytes());
        // Constant-time comparison.
        mac.verify_slice(&given).map_err(|_| LinkError::Invalid)?;
        let mut parts = payload.splitn(3, '.');
        let (Some(id), Some(contact), Some(expiry)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(LinkError::Invalid);
        };
        let referral_id = id.parse().map_err(|_| LinkError::Invalid)?;
        let expiry: i64 = expiry.parse().map_err(|_| LinkError::Invalid)?;
        let expires_at = Utc
            .timestamp_opt(expiry, 0)
            .single()
            .ok_or(LinkError::Invalid)?;
        if expires_at <= now {
            return Err(LinkError::Expired);
        }
        Ok(LinkClaims {
            referral_id,
            contact: contact.to_string(),
            expires_at,
        })
    }
}

/// What the database keeps of a token.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn signer(key: &[u8]) -> LinkSigner {
        LinkSigner::new(SecretBox::new(key.to_vec().into()))
    }

    fn claims() -> LinkClaims {
        LinkClaims {
            referral_id: 42,
            contact: "fi-pronta-1".into(),
            expires_at: Utc.timestamp_opt(2_000_000_000, 0).unwrap(),
        }
    }

    #[test]
    fn a_signed_token_verifies_to_its_claims() {
        let s = signer(b"k");
        let t = s.token(&claims()).unwrap();
        assert_eq!(
            s.verify(&t, Utc.timestamp_opt(1_900_000_000, 0).unwrap()),
            Ok(claims())
        );
    }

    #[test]
    fn forged_altered_and_expired_tokens_are_refused() {
        let s = signer(b"k");
        let t = s.token(&claims()).unwrap();
        let now = Utc.timestamp_opt(1_900_000_000, 0).unwrap();
        assert_eq!(signer(b"other").verify(&t, now), Err(LinkError::Invalid));
        let altered = t.replacen("42.", "43.", 1);
        assert_eq!(s.verify(&altered, now), Err(LinkError::Invalid));
        assert_eq!(s.verify("nonsense", now), Err(LinkError::Invalid));
        assert_eq!(
            s.verify(&t, claims().expires_at + Duration::seconds(1)),
            Err(LinkError::Expired)
        );
    }
}
