//! The registrar: operators' phones REGISTER with digest credentials (per operator,
//! stored as HA1), several devices each, every binding until it expires.

use chrono::Utc;
use rsipstack::sip::headers::{Contact, MinExpires, WwwAuthenticate};
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Header, StatusCode};
use rsipstack::transaction::transaction::Transaction;

use super::bindings::{self, Registration};
use super::digest::{self, Algorithm, Answer, Nonces};
use crate::db::Db;

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
}

/// One `Contact` of a REGISTER: its URI and its own `expires`, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactValue {
    /// The URI, without angle brackets.
    pub uri: String,
    /// `;expires=N`.
    pub expires: Option<u32>,
}

/// Parses one Contact header value (`"Name" <sip:…>;expires=60`, `sip:…;expires=60`, `*`);
/// a header may hold several, comma-separated, outside angle brackets and quotes.
pub fn parse_contacts(value: &str) -> Vec<ContactValue> {
    split_top_level(value)
        .into_iter()
        .filter_map(|one| {
            let one = one.trim();
            if one.is_empty() {
                return None;
            }
            let (uri, params) = match (one.find('<'), one.find('>')) {
                (Some(open), Some(close)) if open < close => {
                    (&one[open + 1..close], &one[close + 1..])
                }
                _ => match one.find(';') {
                    Some(i) => (&one[..i], &one[i..]),
                    None => (one, ""),
                },
            };
            let expires = params
                .split(';')
                .filter_map(|p| p.trim().split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("expires"))
                .and_then(|(_, v)| v.trim().parse().ok());
            Some(ContactValue {
                uri: uri.trim().to_string(),
                expires,
            })
        })
        .collect()
}

fn split_top_level(value: &str) -> Vec<&str> {
    let (mut out, mut start, mut angle, mut quoted) = (Vec::new(), 0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                out.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&value[start..]);
    out
}

/// Why a REGISTER was refused, for the counter.
fn refused(reason: &'static str) {
    metrics::counter!("helpline_sip_register_refused_total", "reason" => reason).increment(1);
}

impl Registrar {
    async fn challenge(&self, tx: &mut Transaction, stale: bool) -> rsipstack::Result<()> {
        let nonce = self.nonces.issue(Utc::now());
        // MD5 first: many phones (and sipp) read only the first challenge.
        let headers = [Algorithm::Md5, Algorithm::Sha256]
            .into_iter()
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
        let Some(answer) = req
            .authorization_header()
            .and_then(|h| Answer::parse(h.value()))
        else {
            return self.challenge(tx, false).await;
        };
        if answer.realm != self.realm || answer.algorithm().is_none() {
            return self.challenge(tx, false).await;
        }
        match self.nonces.check(&answer.nonce, Utc::now()) {
            None => return self.challenge(tx, false).await,
            Some(true) => return self.challenge(tx, true).await,
            Some(false) => {}
        }
        // The credentials must be those of the address being registered.
        let aor_user = req
            .to_header()
            .ok()
            .and_then(|t| t.uri().ok())
            .and_then(|u| u.user().map(str::to_string));
        if aor_user.as_deref() != Some(answer.username.as_str()) {
            refused("wrong_user");
            return tx.reply(StatusCode::Forbidden).await;
        }
        let account = match bindings::account(&self.db, &answer.username, &self.realm).await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "registrar cannot read accounts");
                return tx.reply(StatusCode::ServerInternalError).await;
            }
        };
        let Some(algorithm) = answer.algorithm() else {
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
        let default = req
            .expires_header()
            .and_then(|e| e.value().trim().parse::<u32>().ok())
            .unwrap_or(self.max_seconds);
        let values: Vec<ContactValue> = req
            .contact_headers()
            .iter()
            .flat_map(|c| parse_contacts(c.value()))
            .collect();
        let remove_all = values.iter().any(|c| c.uri == "*");
        if remove_all && (default != 0 || values.len() != 1) {
            return tx.reply(StatusCode::BadRequest).await;
        }
        let mut contacts: Vec<(String, u32)> = Vec::new();
        for c in values.iter().filter(|c| c.uri != "*") {
            let asked = c.expires.unwrap_or(default);
            if asked != 0 && asked < self.min_seconds {
                let header = Header::MinExpires(MinExpires::new(self.min_seconds.to_string()));
                return tx
                    .reply_with(StatusCode::IntervalTooBrief, vec![header], None)
                    .await;
            }
            contacts.push((c.uri.clone(), asked.min(self.max_seconds)));
        }
        let call_id = req
            .call_id_header()
            .map(|c| c.value().to_string())
            .unwrap_or_default();
        let cseq = req
            .cseq_header()
            .ok()
            .and_then(|c| c.value().split_whitespace().next()?.parse::<i64>().ok())
            .unwrap_or(0);
        let registration = Registration {
            user_id,
            contacts: &contacts,
            remove_all,
            source,
            call_id: &call_id,
            cseq,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_are_read_with_their_expiry() {
        let c = parse_contacts(
            r#""Anna, desk" <sip:anna@192.0.2.5:5062;transport=udp>;expires=600, sip:anna@198.51.100.2;expires=0"#,
        );
        assert_eq!(
            c,
            vec![
                ContactValue {
                    uri: "sip:anna@192.0.2.5:5062;transport=udp".into(),
                    expires: Some(600)
                },
                ContactValue {
                    uri: "sip:anna@198.51.100.2".into(),
                    expires: Some(0)
                },
            ]
        );
        assert_eq!(parse_contacts("*")[0].uri, "*");
        assert_eq!(parse_contacts("<sip:x@h>")[0].expires, None);
    }
}
