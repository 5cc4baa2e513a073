//! What the registrar reads from a REGISTER, apart from storage and replies: the
//! credentials in its Authorization, and the bindings asked for in its Contact and
//! Expires headers. Plain functions of the request, so the fuzz entry runs them too.

use chrono::{DateTime, Utc};
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::Request;

use crate::telephony::sip::digest::{Answer, Nonces};

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

/// What a REGISTER's Authorization says, before the operator's account is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// Nothing that can be checked (no answer, another realm, an algorithm we do not
    /// speak, a nonce not ours): challenge again; `stale` when the nonce is ours but old.
    Challenge {
        /// Whether to say `stale=true`.
        stale: bool,
    },
    /// The answer names a user other than the address being registered.
    WrongUser,
    /// To verify against the HA1 stored for `username`.
    Check(Box<Answer>),
}

/// Reads a REGISTER's credentials (no storage, no clock but `now`).
pub fn read_credentials(
    req: &Request,
    realm: &str,
    nonces: &Nonces,
    now: DateTime<Utc>,
) -> Credentials {
    let Some(answer) = req
        .authorization_header()
        .and_then(|h| Answer::parse(h.value()))
    else {
        return Credentials::Challenge { stale: false };
    };
    if answer.realm != realm || answer.algorithm().is_none() {
        return Credentials::Challenge { stale: false };
    }
    match nonces.check(&answer.nonce, now) {
        None => return Credentials::Challenge { stale: false },
        Some(true) => return Credentials::Challenge { stale: true },
        Some(false) => {}
    }
    // The credentials must be those of the address being registered.
    let aor_user = req
        .to_header()
        .ok()
        .and_then(|t| t.uri().ok())
        .and_then(|u| u.user().map(str::to_string));
    if aor_user.as_deref() != Some(answer.username.as_str()) {
        return Credentials::WrongUser;
    }
    Credentials::Check(Box::new(answer))
}

/// What a REGISTER asks of its bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    /// Each contact and the seconds it gets (at most the longest registration).
    pub contacts: Vec<(String, u32)>,
    /// `Contact: *` with `Expires: 0`: every binding of the operator goes.
    pub remove_all: bool,
    /// The Call-ID, kept with the bindings.
    pub call_id: String,
    /// The CSeq number, kept with the bindings.
    pub cseq: i64,
}

/// Why a REGISTER's bindings are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A `*` that is not alone or not with `Expires: 0` (400).
    Malformed,
    /// A contact asks for less than `min_seconds` (423).
    TooBrief,
}

/// Reads the Contact, Expires, Call-ID and CSeq headers of a REGISTER: contacts without
/// their own `expires` take the Expires header's, else `max_seconds`.
pub fn read_bindings(req: &Request, min_seconds: u32, max_seconds: u32) -> Result<Asked, Refusal> {
    let default = req
        .expires_header()
        .and_then(|e| e.value().trim().parse::<u32>().ok())
        .unwrap_or(max_seconds);
    let values: Vec<ContactValue> = req
        .contact_headers()
        .iter()
        .flat_map(|c| parse_contacts(c.value()))
        .collect();
    let remove_all = values.iter().any(|c| c.uri == "*");
    if remove_all && (default != 0 || values.len() != 1) {
        return Err(Refusal::Malformed);
    }
    let mut contacts = Vec::new();
    for c in values.iter().filter(|c| c.uri != "*") {
        let asked = c.expires.unwrap_or(default);
        if asked != 0 && asked < min_seconds {
            return Err(Refusal::TooBrief);
        }
        contacts.push((c.uri.clone(), asked.min(max_seconds)));
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
    Ok(Asked {
        contacts,
        remove_all,
        call_id,
        cseq,
    })
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
