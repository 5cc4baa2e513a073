//! Digest authentication of the operators' phones (RFC 2617 / RFC 8760 as SIP uses it):
//! the challenge, the stateless nonce, and the check of a phone's answer against the
//! HA1 stored for the operator (the password itself is never stored).
//!
//! The nonce is the issue time and an HMAC of it under a key only the service has: no
//! table of nonces, valid on every node sharing the key, refused once old.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use md5::{Digest as _, Md5};
use sha2::Sha256;

/// How long a nonce is accepted.
pub const NONCE_SECONDS: i64 = 300;

/// Digest algorithms a phone may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
pub enum Algorithm {
    /// MD5, what almost every phone speaks.
    #[serde(rename = "MD5")]
    Md5,
    /// SHA-256 (RFC 8760).
    #[serde(rename = "SHA-256")]
    Sha256,
}

impl Algorithm {
    fn hash(self, text: &str) -> String {
        match self {
            Algorithm::Md5 => hex::encode(Md5::digest(text.as_bytes())),
            Algorithm::Sha256 => hex::encode(Sha256::digest(text.as_bytes())),
        }
    }

    /// The name in headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }
}

/// HA1 = H(username:realm:password), what is stored for an operator.
pub fn ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hash(&format!("{username}:{realm}:{password}"))
}

/// Issues and checks nonces.
#[derive(Clone)]
pub struct Nonces {
    key: Vec<u8>,
}

impl Nonces {
    /// Nonces under `key`.
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    fn mac(&self, issued: i64) -> String {
        // A key of any length is accepted by HMAC.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            return String::new();
        };
        mac.update(&issued.to_be_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// A fresh nonce.
    pub fn issue(&self, now: DateTime<Utc>) -> String {
        let issued = now.timestamp();
        format!("{issued:x}.{}", self.mac(issued))
    }

    /// Whether the nonce is ours (`Some(stale)`: ours, and whether it is too old).
    pub fn check(&self, nonce: &str, now: DateTime<Utc>) -> Option<bool> {
        let (issued, mac) = nonce.split_once('.')?;
        let issued = i64::from_str_radix(issued, 16).ok()?;
        if !constant_eq(mac, &self.mac(issued)) {
            return None;
        }
        // Saturating: `issued` is whatever the nonce says, and must not overflow the
        // subtraction.
        let age = now.timestamp().saturating_sub(issued);
        Some(!(0..=NONCE_SECONDS).contains(&age))
    }
}

fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The parameters of a `Digest` Authorization header, as sent (the digest covers the
/// exact strings, so they are not normalised).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    /// `username`.
    pub username: String,
    /// `realm`.
    pub realm: String,
    /// `nonce`.
    pub nonce: String,
    /// `uri`.
    pub uri: String,
    /// `response`.
    pub response: String,
    /// `algorithm`, MD5 when absent.
    pub algorithm: Option<String>,
    /// `qop`, when the phone uses it.
    pub qop: Option<String>,
    /// `nc`.
    pub nc: Option<String>,
    /// `cnonce`.
    pub cnonce: Option<String>,
}

impl Answer {
    /// Parses `Digest username="…", realm="…", …`; `None` if it is not a digest answer
    /// with the fields a check needs.
    pub fn parse(header: &str) -> Option<Self> {
        let rest = header.trim();
        let (scheme, params) = rest.split_once(char::is_whitespace)?;
        if !scheme.eq_ignore_ascii_case("digest") {
            return None;
        }
        let mut a = Answer::default();
        for (name, value) in split_params(params) {
            let slot = match name.to_ascii_lowercase().as_str() {
                "username" => &mut a.username,
                "realm" => &mut a.realm,
                "nonce" => &mut a.nonce,
                "uri" => &mut a.uri,
                "response" => &mut a.response,
                "algorithm" => {
                    a.algorithm = Some(value);
                    continue;
                }
                "qop" => {
                    a.qop = Some(value);
                    continue;
                }
                "nc" => {
                    a.nc = Some(value);
                    continue;
                }
                "cnonce" => {
                    a.cnonce = Some(value);
                    continue;
                }
                _ => continue,
            };
            *slot = value;
        }
        let complete = [&a.username, &a.realm, &a.nonce, &a.uri, &a.response]
            .iter()
            .all(|f| !f.is_empty());
        complete.then_some(a)
    }

    /// The algorithm asked for, if we speak it.
    pub fn algorithm(&self) -> Option<Algorithm> {
        match self.algorithm.as_deref() {
            None => Some(Algorithm::Md5),
            Some(a) if a.eq_ignore_ascii_case("md5") => Some(Algorithm::Md5),
            Some(a) if a.eq_ignore_ascii_case("sha-256") => Some(Algorithm::Sha256),
            _ => None,
        }
    }

    /// Whether the answer is right for `method` given the stored `ha1`.
    pub fn verify(&self, method: &str, ha1: &str) -> bool {
        let Some(algorithm) = self.algorithm() else {
            return false;
        };
        let ha2 = algorithm.hash(&format!("{method}:{}", self.uri));
        let expected = match (&self.qop, &self.nc, &self.cnonce) {
            (Some(qop), Some(nc), Some(cnonce)) if qop.eq_ignore_ascii_case("auth") => {
                algorithm.hash(&format!("{ha1}:{}:{nc}:{cnonce}:{qop}:{ha2}", self.nonce))
            }
            (None, _, _) => algorithm.hash(&format!("{ha1}:{}:{ha2}", self.nonce)),
            // auth-int or a qop without its counters: not accepted.
            _ => return false,
        };
        constant_eq(&expected, &self.response.to_ascii_lowercase())
    }
}

/// `a="x, y", b=z` → [(a, "x, y"), (b, "z")].
fn split_params(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some((name, after)) = rest.split_once('=') else {
            break;
        };
        let name = name.trim().trim_start_matches(',').trim().to_string();
        let after = after.trim_start();
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (quoted[..end].to_string(), &quoted[end + 1..]),
                None => (quoted.to_string(), ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (after[..end].trim().to_string(), &after[end..]),
                None => (after.trim().to_string(), ""),
            }
        };
        out.push((name, value));
        rest = next.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

/// The `WWW-Authenticate` value of a challenge.
pub fn challenge(realm: &str, nonce: &str, algorithm: Algorithm, stale: bool) -> String {
    let stale = if stale { ", stale=true" } else { "" };
    format!(
        "Digest realm=\"{realm}\", nonce=\"{nonce}\", algorithm={}, qop=\"auth\"{stale}",
        algorithm.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 2617 section 3.5's example (HTTP, but the same computation).
    #[test]
    fn the_rfc_2617_example_verifies() {
        let header = r#"Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41""#;
        let a = Answer::parse(header).unwrap();
        assert_eq!(a.nc.as_deref(), Some("00000001"));
        let h = ha1(
            Algorithm::Md5,
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
        );
        assert!(a.verify("GET", &h));
        assert!(!a.verify("POST", &h));
        let wrong = ha1(
            Algorithm::Md5,
            "Mufasa",
            "testrealm@host.com",
            "circle of life",
        );
        assert!(!a.verify("GET", &wrong));
    }

    #[test]
    fn nonces_are_ours_fresh_then_stale_and_forgeries_are_refused() {
        let n = Nonces::new(b"a key for tests".to_vec());
        let t = Utc::now();
        let nonce = n.issue(t);
        assert_eq!(n.check(&nonce, t), Some(false));
        assert_eq!(
            n.check(&nonce, t + chrono::Duration::seconds(NONCE_SECONDS + 1)),
            Some(true)
        );
        let other = Nonces::new(b"another key".to_vec()).issue(t);
        assert_eq!(n.check(&other, t), None);
        assert_eq!(n.check("garbage", t), None);
    }

    #[test]
    fn sha256_answers_verify_too() {
        let h = ha1(Algorithm::Sha256, "op", "helpline", "secret");
        let ha2 = Algorithm::Sha256.hash("REGISTER:sip:helpline");
        let response = Algorithm::Sha256.hash(&format!("{h}:n1:00000001:c1:auth:{ha2}"));
        let header = format!(
            "Digest username=\"op\", realm=\"helpline\", nonce=\"n1\", uri=\"sip:helpline\", algorithm=SHA-256, qop=auth, nc=00000001, cnonce=\"c1\", response=\"{response}\""
        );
        assert!(Answer::parse(&header).unwrap().verify("REGISTER", &h));
    }
}
