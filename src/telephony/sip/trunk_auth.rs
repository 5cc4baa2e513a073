//! A trunk that cannot be told by its address (a provider sending from changing
//! addresses) proves itself on every INVITE with digest credentials instead: the
//! service answers 401 with a challenge, the trunk sends the INVITE again with an
//! `Authorization` (RFC 3261 §22.2), checked against `sip.trunk_username` and
//! `sip.trunk_password`.

use chrono::{DateTime, Utc};
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::Request;
use secrecy::{ExposeSecret, SecretString};

use super::digest::{self, Answer, Nonces};

/// What an INVITE from outside the trunks' addresses proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrunkAuth {
    /// Valid credentials of the trunk: take the call.
    Accepted,
    /// No usable answer yet (or a stale nonce): challenge.
    Challenge {
        /// Whether to say `stale=true`.
        stale: bool,
    },
    /// Credentials that are not the trunk's: refuse.
    Refused,
}

/// The trunk's credentials, when configured.
#[derive(Clone)]
pub struct TrunkCredentials {
    /// User name the trunk authenticates as.
    pub username: String,
    /// Its password.
    pub password: SecretString,
}

/// Checks an INVITE's `Authorization` against the trunk's credentials.
pub fn check(
    req: &Request,
    trunk: &TrunkCredentials,
    realm: &str,
    nonces: &Nonces,
    now: DateTime<Utc>,
) -> TrunkAuth {
    let Some(answer) = req
        .authorization_header()
        .and_then(|h| Answer::parse(h.value()))
    else {
        return TrunkAuth::Challenge { stale: false };
    };
    let Some(algorithm) = answer.algorithm().filter(|_| answer.realm == realm) else {
        return TrunkAuth::Challenge { stale: false };
    };
    match nonces.check(&answer.nonce, now) {
        None => return TrunkAuth::Challenge { stale: false },
        Some(true) => return TrunkAuth::Challenge { stale: true },
        Some(false) => {}
    }
    if answer.username != trunk.username {
        return TrunkAuth::Refused;
    }
    let ha1 = digest::ha1(
        algorithm,
        &trunk.username,
        realm,
        trunk.password.expose_secret(),
    );
    if answer.verify(req.method().to_string().as_str(), &ha1) {
        TrunkAuth::Accepted
    } else {
        TrunkAuth::Refused
    }
}
