//! A way in, without a network or a database, to what the endpoint does with bytes off
//! the wire: rsipstack's parser as the UDP and the TCP transports call it, the Via
//! stamping, the guard, the transaction and dialog keys, and every reader of ours that
//! looks at a request's headers or body (source, to-tag, digest credentials, Contact
//! and Expires, the numbers called and calling, the SDP offer). It stops where the
//! endpoint would look up storage or send a packet.
//!
//! The fuzz target in `fuzz/` drives it, and so does a test on the seed corpus and its
//! mutations. Whatever the input, it must return without a panic.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use rsipstack::dialog::DialogId;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::transport::Transport;
use rsipstack::sip::{Method, Request, SipMessage};
use rsipstack::transaction::key::{TransactionKey, TransactionRole};
use rsipstack::transport::stream::{SipCodec, SipCodecType};
use rsipstack::transport::SipConnection;
use secrecy::SecretString;
use tokio_util::bytes::BytesMut;
use tokio_util::codec::Decoder;

use super::digest::{self, Algorithm, Answer, Nonces};
use super::guard::Guard;
use super::{has_to_tag, parties, registrar, source_of};
use crate::calls::caller::{e164, CallerHasher};
use crate::referral::directory::{Directory, EMBEDDED_DIRECTORY};
use crate::telephony::config::Network;
use crate::telephony::media::Sdp;

/// The address every input comes from: a trunk's, so the trunk's path is the one taken.
const SOURCE: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 5060);
/// The registrar's realm, and the password of the one phone account there is.
const REALM: &str = "helpline";
const PASSWORD: &str = "correct horse battery staple";

/// What the endpoint would hold in memory, made once.
struct Fixture {
    guard: Guard,
    trunks: Vec<Network>,
    nonces: Nonces,
    hasher: CallerHasher,
    directory: Option<Directory>,
    /// A fixed clock, so that a run can be replayed.
    now: DateTime<Utc>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let trunks: Vec<Network> = Network::parse("192.0.2.0/24").into_iter().collect();
        // The scanners and limits of the shipped configuration.
        let scanners = ["friendly-scanner", "sipvicious", "sipcli", "sip-scan"].map(String::from);
        Fixture {
            guard: Guard::new(&scanners, trunks.clone(), 50, 100),
            trunks,
            nonces: Nonces::new(b"fuzzing nonce key".to_vec()),
            hasher: CallerHasher::from_secret(&SecretString::from("k".repeat(32))),
            directory: Directory::parse(EMBEDDED_DIRECTORY, "built-in").ok(),
            now: DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
        }
    })
}

/// Feeds `data` through the endpoint's receiving path as a UDP datagram, and again as
/// the bytes of a TCP stream.
pub fn exercise(data: &[u8]) {
    let fixture = fixture();
    // The UDP transport skips blank datagrams and parses the rest whole.
    if !data.iter().all(u8::is_ascii_whitespace) {
        if let Ok(msg) = SipMessage::try_from(data) {
            arrived(fixture, msg, Transport::Udp);
        }
    }
    // The TCP transport frames messages by Content-Length, then parses each.
    if overflows_tcp_framing(data) {
        return;
    }
    let mut stream = BytesMut::from(data);
    let mut codec = SipCodec::new();
    while let Ok(Some(item)) = codec.decode(&mut stream) {
        if let SipCodecType::Message(msg) = item {
            arrived(fixture, msg, Transport::Tcp);
        }
    }
}

/// Whether a Content-Length is so large that rsipstack's TCP framing overflows on it
/// (0.5.24, `SipCodec::decode`: `headers_end + 4 + content_length`, unchecked). With
/// overflow checks (debug builds, the fuzzer) that panics; without (our release build)
/// it wraps, the bytes are misframed and fail to parse, and the connection is closed.
/// Either way only the sender's own TCP connection is affected: each has its own task.
/// Such inputs stay out of the TCP path here, or the fuzzer would stop on this known
/// fault every run (`l: 18446744073709551615` and an empty line are enough).
fn overflows_tcp_framing(data: &[u8]) -> bool {
    data.split(|&b| b == b'\n').any(|line| {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return false;
        };
        let name = &line[..colon];
        (name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l"))
            && std::str::from_utf8(&line[colon + 1..])
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .is_some_and(|n| n > usize::MAX / 2)
    })
}

/// A parsed message, from the transport's Via stamping to the dispatcher.
fn arrived(fixture: &Fixture, msg: SipMessage, transport: Transport) {
    // A request the transport cannot stamp (no Via) is dropped there.
    let Ok(msg) = SipConnection::update_msg_received(msg, SOURCE, transport) else {
        return;
    };
    // The verdict is not obeyed here: a scanner's User-Agent or the flood limit would
    // hide everything below from the fuzzer.
    let _ = fixture.guard.admit(&msg, Some(SOURCE));
    match &msg {
        SipMessage::Request(req) => {
            let _ = TransactionKey::from_request(req, TransactionRole::Server);
            let _ = DialogId::try_from((req, TransactionRole::Server));
            dispatch(fixture, req);
        }
        SipMessage::Response(resp) => {
            let _ = TransactionKey::from_response(resp, TransactionRole::Client);
            // A phone's answer to our INVITE carries the SDP the relay reads.
            sdp(&resp.body);
        }
    }
}

/// What `Dispatch::handle` and the handlers it calls read, by method.
fn dispatch(fixture: &Fixture, req: &Request) {
    let _ = has_to_tag(req);
    let from_trunk = source_of(req)
        .is_some_and(|(_, addr)| fixture.trunks.iter().any(|n| n.contains(addr.ip())));
    match req.method {
        Method::Register => register(fixture, req),
        Method::Invite if from_trunk => invite(fixture, req),
        _ => {}
    }
}

/// The registrar, up to the account lookup.
fn register(fixture: &Fixture, req: &Request) {
    let _ = registrar::read_credentials(req, REALM, &fixture.nonces, fixture.now);
    // The nonce in an input is almost never ours, so the check of the answer itself is
    // run here whatever the nonce, against the HA1 of an account that exists.
    if let Some(answer) = req
        .authorization_header()
        .and_then(|h| Answer::parse(h.value()))
    {
        if let Some(algorithm) = answer.algorithm() {
            let ha1 = digest::ha1(algorithm, &answer.username, REALM, PASSWORD);
            let _ = answer.verify(req.method().to_string().as_str(), &ha1);
        }
        let _ = fixture.nonces.check(&answer.nonce, fixture.now);
    }
    let _ = registrar::read_bindings(req, 60, 3600);
    let _ = digest::challenge(
        REALM,
        &fixture.nonces.issue(fixture.now),
        Algorithm::Md5,
        true,
    );
}

/// A call from the trunk, up to the call record and the media ports.
fn invite(fixture: &Fixture, req: &Request) {
    let _ = parties::called_number(req);
    let caller = parties::caller_user(req);
    let _ = e164(&caller);
    if let Some(directory) = &fixture.directory {
        let _ = fixture.hasher.fingerprint(&caller, directory);
    }
    sdp(&req.body);
}

/// An offer or answer as the relay reads it and rewrites it for the other leg.
fn sdp(body: &[u8]) {
    if let Ok(sdp) = Sdp::parse(body) {
        let _ = sdp.remote();
        let _ = sdp.for_relay(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1)), 20_000);
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    fn seeds() -> Vec<(PathBuf, Vec<u8>)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/sip_message");
        let mut seeds: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| {
                let bytes = std::fs::read(&p).unwrap();
                (p, bytes)
            })
            .collect();
        seeds.sort();
        seeds
    }

    /// Bytes that matter to SIP, digest and SDP parsers.
    const SPECIAL: &[u8] = b"\0\r\n:;,=<>\"@ \t/\\*%\x7f\xff";

    /// Values that have broken parsers before: empty, huge, negative, unbalanced.
    const VALUES: &[&str] = &[
        "",
        "*",
        "<",
        "\"",
        "<sip:",
        "sip:@",
        "-1",
        "99999999999999999999999",
        "Digest ",
        "Digest username=\"a\", realm=\"helpline\", nonce=\"ffffffffffffffff.\", uri=\"x\", response=\"y\"",
        "Digest username=\"",
        "<sip:a@b>;expires=",
        "<sip:a@b>;expires=4294967296",
        "SIP/2.0/UDP [::1",
        "SIP/2.0/UDP 1.2.3.4;received=;rport=99999",
    ];

    /// One deterministic mutation of `seed`.
    fn mutate(rng: &mut StdRng, seed: &[u8]) -> Vec<u8> {
        let mut out = seed.to_vec();
        let lines: Vec<&[u8]> = seed.split(|&b| b == b'\n').collect();
        match rng.gen_range(0..6) {
            // Cut anywhere: a datagram truncated in transit.
            0 => out.truncate(rng.gen_range(0..=seed.len())),
            // Flip a few bytes, often to one that a parser splits on.
            1 => {
                for _ in 0..rng.gen_range(1..8) {
                    let i = rng.gen_range(0..out.len().max(1));
                    if let Some(b) = out.get_mut(i) {
                        *b = if rng.gen_bool(0.5) {
                            SPECIAL[rng.gen_range(0..SPECIAL.len())]
                        } else {
                            rng.gen()
                        };
                    }
                }
            }
            // Repeat a line, once or many times (duplicate Via, Contact, Authorization).
            2 => {
                let line = lines[rng.gen_range(0..lines.len())];
                let times = if rng.gen_bool(0.2) { 200 } else { 1 };
                let at = rng.gen_range(0..lines.len());
                let mut v: Vec<&[u8]> = lines.clone();
                for _ in 0..times {
                    v.insert(at, line);
                }
                out = v.join(&b'\n');
            }
            // Drop a line (a missing Via, From, Call-ID or CSeq).
            3 => {
                let mut v = lines.clone();
                v.remove(rng.gen_range(0..v.len()));
                out = v.join(&b'\n');
            }
            // Replace a header's value with a hostile one.
            4 => {
                let i = rng.gen_range(0..lines.len());
                let mut v: Vec<Vec<u8>> = lines.iter().map(|l| l.to_vec()).collect();
                if let Some(colon) = v[i].iter().position(|&b| b == b':') {
                    let value = VALUES[rng.gen_range(0..VALUES.len())];
                    v[i].truncate(colon + 1);
                    v[i].extend_from_slice(value.as_bytes());
                    v[i].push(b'\r');
                }
                out = v.join(&b'\n');
            }
            // Bare LF line ends, or a random tail as a body.
            _ => {
                if rng.gen_bool(0.5) {
                    out.retain(|&b| b != b'\r');
                } else {
                    let tail: Vec<u8> = (0..rng.gen_range(0..64)).map(|_| rng.gen()).collect();
                    out.extend_from_slice(&tail);
                }
            }
        }
        out
    }

    #[test]
    fn the_seed_corpus_is_made_of_messages_the_parser_accepts() {
        let seeds = seeds();
        assert!(seeds.len() >= 12, "only {} seeds", seeds.len());
        for (path, bytes) in &seeds {
            assert!(
                SipMessage::try_from(bytes.as_slice()).is_ok(),
                "{} does not parse",
                path.display()
            );
        }
    }

    #[test]
    fn every_seed_and_hundreds_of_mutations_of_them_pass_through_without_a_panic() {
        let seeds = seeds();
        let mut rng = StdRng::seed_from_u64(0x5eed_5109);
        let mut inputs = 0;
        for (_, seed) in &seeds {
            exercise(seed);
            inputs += 1;
            for _ in 0..40 {
                // Mutations of mutations reach further from the seed.
                let mut input = mutate(&mut rng, seed);
                if rng.gen_bool(0.3) {
                    input = mutate(&mut rng, &input);
                }
                exercise(&input);
                inputs += 1;
            }
        }
        assert!(inputs >= 400, "only {inputs} inputs");
    }

    #[test]
    fn a_content_length_that_would_overflow_the_tcp_framing_does_not_panic() {
        exercise(b"l: 18446744073709551615\r\n\r\n");
        exercise(b"OPTIONS sip:a SIP/2.0\r\nContent-Length: 18446744073709551600\r\n\r\n");
    }

    #[test]
    fn a_registration_in_the_corpus_is_read_as_the_registrar_reads_it() {
        let (_, bytes) = seeds()
            .into_iter()
            .find(|(p, _)| p.ends_with("register_with_md5_authorization.sip"))
            .unwrap();
        let Ok(SipMessage::Request(req)) = SipMessage::try_from(bytes.as_slice()) else {
            panic!("not a request");
        };
        let asked = registrar::read_bindings(&req, 60, 3600).unwrap();
        assert_eq!(
            asked.contacts,
            vec![
                ("sip:anna@198.51.100.2:5062;transport=udp".to_string(), 600),
                ("sip:anna@198.51.100.3".to_string(), 0),
            ]
        );
        // Its nonce is not one of ours: challenged again, not stale.
        assert_eq!(
            registrar::read_credentials(&req, REALM, &fixture().nonces, fixture().now),
            registrar::Credentials::Challenge { stale: false }
        );
    }
}
