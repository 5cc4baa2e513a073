//! The registrar: operators' phones REGISTER with digest credentials (per operator,
//! stored as HA1), several devices each, every binding until it expires.

use chrono::Utc;
use rsipstack::sip::headers::{Contact, MinExpires, WwwAuthenticate};
use rsipstack::sip::{Header, StatusCode};
use rsipstack::transaction::transaction::Transaction;

use super::bindings::{self, Registration};
use super::digest::{self, Algorithm, Nonces};
use crate::db::Db;

mod reading;
pub use reading::{
    parse_contacts, read_bindings, read_credentials, Asked, ContactValue, Credentials, Refusal,
};

/// The registrar's settings and keys.
#[derive(Clone)]
pub struct Registrar {
    /// Storage.
    pub db: Db,
    /// Digest realm.
    pub realm: String,
    /// Nonce issuer.
    pub nonces: Nonces,
    /// Shortest registration accepted (else 423).
    pub min_seconds: u32,
    /// Longest registration given.
    pub max_seconds: u32,
    /// The digest algorithms offered, in this order (`sip.digest_algorithms`).
    pub algorithms: Vec<Algorithm>,
}

/// Why a REGISTER was refused, for the counter.
fn refused(reason: &'static str) {
    metrics::counter!("helpline_sip_register_refused_total", "reason" => reason).increment(1);
}

impl Registrar {
    /// Answers 401 with a fresh challenge per configured algorithm (REGISTERs, and
    /// INVITEs of a trunk known by its credentials).
    pub(super) async fn challenge(
        &self,
        tx: &mut Transaction,
        stale: bool,
    ) -> rsipstack::Result<()> {
        let nonce = self.nonces.issue(Utc::now());
        // In the configured order: many phones (and sipp) read only the first challenge,
        // and some refuse the whole answer when any challenge is one they cannot meet.
        let headers = self
            .algorithms
            .iter()
            .copied()
            .map(|a| {
                Header::WwwAuthenticate(WwwAuthenticate::new(digest::challenge(
                    &self.realm,
                    &nonce,
                    a,
                    stale,
                )))
            })
            .collect();
        tx.reply_with(StatusCode::Unauthorized, headers, None).await
    }

    /// Answers a REGISTER that came from `source` (`udp:1.2.3.4:5060`).
    pub async fn handle(&self, tx: &mut Transaction, source: &str) -> rsipstack::Result<()> {
        let req = tx.original.clone();
        let answer = match read_credentials(&req, &self.realm, &self.nonces, Utc::now()) {
            Credentials::Challenge { stale } => return self.challenge(tx, stale).await,
            Credentials::WrongUser => {
                refused("wrong_user");
                return tx.reply(StatusCode::Forbidden).await;
            }
            Credentials::Check(answer) => *answer,
        };
        let account = match bindings::account(&self.db, &answer.username, &self.realm).await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "registrar cannot read accounts");
                return tx.reply(StatusCode::ServerInternalError).await;
            }
        };
        // Only an algorithm this registrar offers counts (a phone cannot choose a weaker
        // or different one than `sip.digest_algorithms` lists).
        let Some(algorithm) = answer.algorithm().filter(|a| self.algorithms.contains(a)) else {
            return self.challenge(tx, false).await;
        };
        let verified = account
            .as_ref()
            .is_some_and(|a| answer.verify(req.method().to_string().as_str(), a.ha1(algorithm)));
        let Some(account) = account.filter(|_| verified) else {
            refused("credentials");
            tracing::warn!(user = %answer.username, %source, "REGISTER refused: wrong credentials");
            return tx.reply(StatusCode::Forbidden).await;
        };
        self.register(tx, &req, account.user_id, source).await
    }

    async fn register(
        &self,
        tx: &mut Transaction,
        req: &rsipstack::sip::Request,
        user_id: i64,
        source: &str,
    ) -> rsipstack::Result<()> {
        let asked = match read_bindings(req, self.min_seconds, self.max_seconds) {
            Ok(asked) => asked,
            Err(Refusal::Malformed) => return tx.reply(StatusCode::BadRequest).await,
            Err(Refusal::TooBrief) => {
                let header = Header::MinExpires(MinExpires::new(self.min_seconds.to_string()));
                return tx
                    .reply_with(StatusCode::IntervalTooBrief, vec![header], None)
                    .await;
            }
        };
        let registration = Registration {
            user_id,
            contacts: &asked.contacts,
            remove_all: asked.remove_all,
            source,
            call_id: &asked.call_id,
            cseq: asked.cseq,
        };
        let now = Utc::now();
        let live = match bindings::register(&self.db, &registration, now).await {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "registrar cannot store a binding");
                return tx.reply(StatusCode::ServerInternalError).await;
            }
        };
        let headers = live
            .iter()
            .map(|b| {
                let left = (b.expires_at - now).num_seconds().max(0);
                Header::Contact(Contact::new(format!("<{}>;expires={left}", b.contact)))
            })
            .collect();
        metrics::counter!("helpline_sip_registrations_total").increment(1);
        tx.reply_with(StatusCode::OK, headers, None).await
    }
}
