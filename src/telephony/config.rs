//! `[sip]`: where the SIP endpoint listens, who may send it calls, and how it defends
//! itself.

use std::net::{IpAddr, SocketAddr};

use secrecy::SecretString;
use serde::Deserialize;

use super::media::Language;

fn no_password() -> SecretString {
    SecretString::from(String::new())
}

/// `[sip]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipConfig {
    /// Whether this node runs the SIP endpoint.
    pub enabled: bool,
    /// UDP and TCP listening address (`HELPLINE_SIP_ADDR`); port 0 picks a free one.
    pub addr: SocketAddr,
    /// Digest authentication realm of the registrar.
    pub realm: String,
    /// Addresses of the trunk: INVITEs from anywhere else get 403. An address or a
    /// network (`192.0.2.0/24`).
    #[serde(default)]
    pub trunks: Vec<String>,
    /// A trunk that sends from changing addresses authenticates its INVITEs with these
    /// digest credentials instead (empty user name: only the addresses count).
    #[serde(default)]
    pub trunk_username: String,
    /// See `trunk_username`.
    #[serde(default = "no_password")]
    pub trunk_password: SecretString,
    /// Requests per second one address may send before it is dropped silently.
    pub flood_per_second: u32,
    /// Burst allowed above that rate.
    pub flood_burst: u32,
    /// User-Agent fragments of scanners, dropped without an answer (case-insensitive).
    pub scanners: Vec<String>,
    /// Digest algorithms the registrar challenges with, in order.
    pub digest_algorithms: Vec<super::sip::digest::Algorithm>,
    /// Longest registration a phone gets, and the shortest it may ask for.
    pub register_max_seconds: u32,
    /// See `register_max_seconds`.
    pub register_min_seconds: u32,
    /// How long the operators' phones ring before the call overflows (or is missed).
    pub ring_timeout_seconds: u32,
    /// Where calls out through the trunk are sent (`udp:HOST:PORT` or `tcp:HOST:PORT`;
    /// a bare `HOST:PORT` is UDP). Empty: no overflow, an unanswered call is missed.
    #[serde(default)]
    pub outbound: String,
    /// The on-call mobile rung when no operator answers and the night operators' rota
    /// names nobody with a mobile. Empty: only the rota.
    #[serde(default)]
    pub overflow_number: String,
    /// How long the on-call mobile rings before the call counts as missed.
    pub overflow_ring_seconds: u32,
    /// How the available operators' phones ring.
    pub ring_strategy: RingStrategy,
    /// With `longest_idle`: how long each operator's phones ring before the next.
    pub hunt_seconds: u32,
    /// Whether trunk calls hear the language menu before the operators' phones ring
    /// (each line's `menu` then says when); off: they ring at once.
    #[serde(default)]
    pub menu: bool,
    /// The languages the menu offers, in the order it says them (language codes: it,
    /// en, fr, es, ro, ru, zh, sq); each keeps its key (English is always 2).
    #[serde(default = "menu_languages")]
    pub menu_languages: Vec<String>,
    /// How long the menu waits for a key once it has been played; then Italian.
    #[serde(default = "menu_wait")]
    pub menu_wait_seconds: u32,
    /// After the menu, while the phones ring: hold music alone for this long before
    /// "all operators are busy" and the caller's place in the queue are first said.
    #[serde(default = "hold_first")]
    pub hold_announce_after_seconds: u32,
    /// Then the announcement comes again this often.
    #[serde(default = "hold_every")]
    pub hold_announce_every_seconds: u32,
    /// Desk phones that do not register, rung when their operator is available.
    #[serde(default)]
    pub phones: Vec<StaticPhone>,
}

fn menu_languages() -> Vec<String> {
    Language::ALL.iter().map(|l| l.code().to_string()).collect()
}

fn menu_wait() -> u32 {
    5
}

fn hold_first() -> u32 {
    10
}

fn hold_every() -> u32 {
    30
}

/// How the available operators' phones ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RingStrategy {
    /// Every phone of every available operator at once; the first to answer wins.
    All,
    /// One operator at a time, the one available longest first, each for
    /// `hunt_seconds`, within `ring_timeout_seconds` in all.
    LongestIdle,
}

/// A phone configured rather than registered.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticPhone {
    /// The operator's user name.
    pub user: String,
    /// Where it is rung: `sip:desk-1@192.0.2.50:5060` (`;transport=tcp` for TCP).
    pub contact: String,
}

impl StaticPhone {
    /// `udp:IP:PORT` (or `tcp:`) from the contact, as a registration's source is kept.
    pub fn source(&self) -> Result<String, String> {
        let bad = || {
            format!(
                "`{}` is not a phone address; expected e.g. \"sip:desk-1@192.0.2.50:5060\"",
                self.contact
            )
        };
        let rest = self.contact.strip_prefix("sip:").ok_or_else(bad)?;
        let (target, params) = rest.split_once(';').unwrap_or((rest, ""));
        let host = target.rsplit_once('@').map_or(target, |(_, h)| h);
        let addr: SocketAddr = host.parse().map_err(|_| bad())?;
        let tcp = params
            .split(';')
            .any(|p| p.eq_ignore_ascii_case("transport=tcp"));
        Ok(format!("{}:{addr}", if tcp { "tcp" } else { "udp" }))
    }
}

/// An address or network a trunk sends from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    /// Parses `192.0.2.10`, `192.0.2.0/24` or `2001:db8::/32`.
    pub fn parse(text: &str) -> Option<Self> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, p.parse::<u8>().ok()?),
            None => {
                let a = text.parse::<IpAddr>().ok()?;
                (a, if a.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Self { addr, prefix })
    }

    /// Whether `ip` is in the network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Where outbound calls go through the trunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outbound {
    /// Over TCP (else UDP).
    pub tcp: bool,
    /// The trunk's address.
    pub addr: SocketAddr,
}

impl SipConfig {
    /// `menu_languages` read; the first entry that is no menu language, or one given
    /// twice, is the error.
    pub fn menu_languages(&self) -> Result<Vec<Language>, String> {
        let mut out = Vec::with_capacity(self.menu_languages.len());
        for code in &self.menu_languages {
            let language = Language::from_code(code).ok_or_else(|| {
                format!("`{code}` is not a language of the menu; expected some of it, en, fr, es, ro, ru, zh, sq")
            })?;
            if out.contains(&language) {
                return Err(format!("`{code}` is given twice"));
            }
            out.push(language);
        }
        if out.is_empty() {
            return Err("expected at least one language (or switch the menu off)".into());
        }
        Ok(out)
    }

    /// The menu's languages, in order: checked when the configuration was read, so all
    /// of them only if it ever were not (a caller must always hear a menu).
    pub fn offered_languages(&self) -> Vec<Language> {
        self.menu_languages()
            .unwrap_or_else(|_| Language::ALL.to_vec())
    }

    /// `outbound` read: `None` when empty (no overflow).
    pub fn outbound_target(&self) -> Result<Option<Outbound>, String> {
        let text = self.outbound.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let (tcp, addr) = match text.split_once(':') {
            Some(("udp", rest)) => (false, rest),
            Some(("tcp", rest)) => (true, rest),
            _ => (false, text),
        };
        addr.parse()
            .map(|addr| Some(Outbound { tcp, addr }))
            .map_err(|_| {
                format!("`{text}` is not a trunk address; expected e.g. \"udp:192.0.2.10:5060\"")
            })
    }

    /// The trunks as networks; the first entry that is neither is returned as the error.
    pub fn trunk_networks(&self) -> Result<Vec<Network>, String> {
        self.trunks
            .iter()
            .map(|t| Network::parse(t).ok_or_else(|| t.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_phones_give_where_to_send() {
        let phone = |contact: &str| StaticPhone {
            user: "anna".into(),
            contact: contact.into(),
        };
        assert_eq!(
            phone("sip:desk-1@192.0.2.50:5060").source().unwrap(),
            "udp:192.0.2.50:5060"
        );
        assert_eq!(
            phone("sip:desk-1@192.0.2.50:5070;transport=TCP")
                .source()
                .unwrap(),
            "tcp:192.0.2.50:5070"
        );
        assert!(phone("sip:desk-1@phones.example:5060").source().is_err());
        assert!(phone("tel:+390551234567").source().is_err());
        assert!(phone("sip:desk-1@192.0.2.50").source().is_err());
    }

    #[test]
    fn networks_match_their_addresses_only() {
        let n = Network::parse("192.0.2.0/24").unwrap();
        assert!(n.contains("192.0.2.77".parse().unwrap()));
        assert!(!n.contains("192.0.3.1".parse().unwrap()));
        let one = Network::parse("198.51.100.7").unwrap();
        assert!(one.contains("198.51.100.7".parse().unwrap()));
        assert!(!one.contains("198.51.100.8".parse().unwrap()));
        assert!(Network::parse("0.0.0.0/0")
            .unwrap()
            .contains("203.0.113.1".parse().unwrap()));
        assert!(!n.contains("::1".parse().unwrap()));
        assert!(Network::parse("2001:db8::/32")
            .unwrap()
            .contains("2001:db8::1".parse().unwrap()));
        assert!(Network::parse("192.0.2.0/33").is_none());
        assert!(Network::parse("trunk.example").is_none());
    }
}
