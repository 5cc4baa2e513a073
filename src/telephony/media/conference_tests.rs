//! The conference with real UDP sockets on 127.0.0.1: fake phones send paced tones to
//! it, and what each hears back is decoded and searched for the others' tones.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::conference::{Conference, ConferenceLeg};
use super::g711::Codec;
use super::mixer::{MixerError, MAX_PARTIES};
use super::ports::PortPool;
use super::relay::{RelaySession, Side, NO_REMOTE};
use super::rtp::{OutStream, Packet, FRAME, FRAME_SAMPLES, MAX_PACKET};
use super::testing::{free_range, localhost};
use super::tone::{rms, sine, tone_share};

/// A phone: its RTP and RTCP sockets.
struct Phone {
    rtp: Arc<UdpSocket>,
    rtcp: Arc<UdpSocket>,
}

impl Phone {
    async fn new() -> Self {
        let bind = || async { Arc::new(UdpSocket::bind((localhost(), 0)).await.unwrap()) };
        Self {
            rtp: bind().await,
            rtcp: bind().await,
        }
    }

    fn rtp_addr(&self) -> SocketAddr {
        self.rtp.local_addr().unwrap()
    }

    fn rtcp_addr(&self) -> SocketAddr {
        self.rtcp.local_addr().unwrap()
    }

    /// A leg of ours facing this phone, from `pool`.
    fn leg(&self, pool: &PortPool, codec: Codec, latched: bool) -> ConferenceLeg {
        ConferenceLeg {
            pair: pool.allocate().unwrap(),
            remote_rtp: self.rtp_addr(),
            remote_rtcp: self.rtcp_addr(),
            latched,
            codec,
            continues: None,
        }
    }
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::new(localhost(), port)
}

/// Sends `frames` 20 ms packets of a `freq` Hz tone (0: silence) in `codec`, paced as a
/// phone does, from `socket` to `to`; starts after `delay`.
fn talk(
    socket: &Arc<UdpSocket>,
    to: SocketAddr,
    codec: Codec,
    freq: f64,
    frames: usize,
    delay: Duration,
) -> JoinHandle<()> {
    let socket = Arc::clone(socket);
    tokio::spawn(async move {
        let mut interval = tokio::time::interval_at(Instant::now() + delay, FRAME);
        interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut stream = OutStream::new(codec);
        let mut buf = [0u8; MAX_PACKET];
        for t in 0..frames {
            interval.tick().await;
            let samples = if freq > 0.0 {
                sine(freq, 8_000, t * FRAME_SAMPLES, FRAME_SAMPLES)
            } else {
                vec![0; FRAME_SAMPLES]
            };
            let mut payload = [0u8; FRAME_SAMPLES];
            codec.encode(&samples, &mut payload);
            let len = stream.write(&payload, Instant::now(), &mut buf).unwrap();
            // The conference's port may be closed already (a removed party): ignored.
            let _ = socket.send_to(&buf[..len], to).await;
        }
    })
}

/// A packet a phone received, decoded.
struct Heard {
    at: Instant,
    source: SocketAddr,
    payload_type: u8,
    sequence: u16,
    ssrc: u32,
    marker: bool,
    samples: Vec<i16>,
}

/// Everything `socket` receives for `duration`.
fn listen(socket: &Arc<UdpSocket>, duration: Duration) -> JoinHandle<Vec<Heard>> {
    let socket = Arc::clone(socket);
    tokio::spawn(async move {
        let end = Instant::now() + duration;
        let mut heard = Vec::new();
        let mut buf = [0u8; 2048];
        while let Ok(Ok((len, source))) =
            tokio::time::timeout_at(end, socket.recv_from(&mut buf)).await
        {
            let p = Packet::parse(&buf[..len]).unwrap();
            let codec = Codec::from_payload_type(p.payload_type).unwrap();
            let mut samples = vec![0i16; p.payload.len()];
            codec.decode(p.payload, &mut samples);
            heard.push(Heard {
                at: Instant::now(),
                source,
                payload_type: p.payload_type,
                sequence: p.sequence,
                ssrc: p.ssrc,
                marker: p.marker,
                samples,
            });
        }
        heard
    })
}

/// The audio heard between `from` and `to`.
fn audio(heard: &[Heard], from: Instant, to: Instant) -> Vec<i16> {
    heard
        .iter()
        .filter(|h| h.at >= from && h.at < to)
        .flat_map(|h| h.samples.iter().copied())
        .collect()
}

/// Tones that must be there (a fair share of the energy) and tones that must not be
/// (next to nothing: quantisation noise only).
fn assert_hears(who: &str, samples: &[i16], heard: &[f64], not: &[f64]) {
    assert!(
        samples.len() >= 10 * FRAME_SAMPLES,
        "{who}: too little audio"
    );
    for f in heard {
        let share = tone_share(samples, *f);
        assert!(share > 0.2, "{who} should hear {f} Hz (share {share:.3})");
    }
    for f in not {
        let share = tone_share(samples, *f);
        assert!(
            share < 0.02,
            "{who} should not hear {f} Hz (share {share:.3})"
        );
    }
}

/// One stream of ours: one SSRC, consecutive sequence numbers, the first marked, in
/// `payload_type`, from `port`.
fn assert_one_stream(who: &str, heard: &[Heard], payload_type: u8, port: u16) {
    assert!(heard.len() > 10, "{who} heard {} packets", heard.len());
    assert!(heard[0].marker, "{who}: first packet marked");
    for (prev, next) in heard.iter().zip(&heard[1..]) {
        assert_eq!(next.ssrc, heard[0].ssrc, "{who}: one SSRC");
        assert_eq!(
            next.sequence,
            prev.sequence.wrapping_add(1),
            "{who}: no gap"
        );
        assert!(!next.marker, "{who}: only the first marked");
    }
    assert!(heard.iter().all(|h| h.payload_type == payload_type));
    assert!(
        heard.iter().all(|h| h.source == local(port)),
        "{who}: symmetric RTP"
    );
    assert!(heard.iter().all(|h| h.samples.len() == FRAME_SAMPLES));
}

#[tokio::test]
async fn three_parties_hear_each_other_and_never_themselves_in_either_law() {
    let (min, max) = free_range(4);
    let pool = PortPool::new(localhost(), min, max).unwrap();
    let (a, b, c) = (Phone::new().await, Phone::new().await, Phone::new().await);
    // C negotiated A-law but sends μ-law: decoded by what it sends, sent A-law.
    let (conference, ids) = Conference::start(vec![
        a.leg(&pool, Codec::Pcmu, false),
        b.leg(&pool, Codec::Pcma, false),
        c.leg(&pool, Codec::Pcma, false),
    ])
    .unwrap();
    let ports: Vec<u16> = ids
        .iter()
        .map(|id| conference.local_rtp_port(*id).unwrap())
        .collect();
    let started = Instant::now();
    let listening = [&a, &b, &c].map(|p| listen(&p.rtp, Duration::from_millis(1_100)));
    let frames = 45;
    let talking = [
        talk(&a.rtp, local(ports[0]), Codec::Pcmu, 1_000.0, frames, FRAME),
        talk(&b.rtp, local(ports[1]), Codec::Pcma, 2_000.0, frames, FRAME),
        talk(&c.rtp, local(ports[2]), Codec::Pcmu, 500.0, frames, FRAME),
    ];
    // Some RTCP from A, which goes nowhere.
    a.rtcp
        .send_to(&[0x81, 0xc9, 0, 1, 0, 0, 0, 1], local(ports[0] + 1))
        .await
        .unwrap();
    for t in talking {
        t.await.unwrap();
    }
    let [heard_a, heard_b, heard_c] = listening;
    let (heard_a, heard_b, heard_c) = (
        heard_a.await.unwrap(),
        heard_b.await.unwrap(),
        heard_c.await.unwrap(),
    );
    // The talk lasts from 20 ms to about 920 ms; a margin each side.
    let (from, to) = (
        started + Duration::from_millis(150),
        started + Duration::from_millis(850),
    );
    assert_hears(
        "A",
        &audio(&heard_a, from, to),
        &[2_000.0, 500.0],
        &[1_000.0],
    );
    assert_hears(
        "B",
        &audio(&heard_b, from, to),
        &[1_000.0, 500.0],
        &[2_000.0],
    );
    assert_hears(
        "C",
        &audio(&heard_c, from, to),
        &[1_000.0, 2_000.0],
        &[500.0],
    );
    assert_one_stream("A", &heard_a, 0, ports[0]);
    assert_one_stream("B", &heard_b, 8, ports[1]);
    assert_one_stream("C", &heard_c, 8, ports[2]);

    let stats = conference.stop().await;
    assert_eq!(pool.in_use(), 0);
    for (i, (id, party)) in stats.parties.iter().enumerate() {
        assert_eq!(*id, ids[i]);
        assert_eq!(
            party.received, frames as u64,
            "party {i}: every packet mixed"
        );
        assert_eq!((party.dropped, party.ignored, party.send_failed), (0, 0, 0));
        assert!(party.sent >= 50, "party {i}: a frame every 20 ms");
    }
    assert_eq!(stats.parties[0].1.rtcp, 1);
    assert!(stats.ticks >= 50);
}

#[tokio::test]
async fn a_mediator_joins_late_and_once_dropped_is_neither_heard_nor_hears() {
    let (min, max) = free_range(4);
    let pool = PortPool::new(localhost(), min, max).unwrap();
    let (a, b, mediator) = (Phone::new().await, Phone::new().await, Phone::new().await);
    let (conference, ids) = Conference::start(vec![
        a.leg(&pool, Codec::Pcma, false),
        b.leg(&pool, Codec::Pcma, false),
    ])
    .unwrap();
    let port = |id| conference.local_rtp_port(id).unwrap();
    let started = Instant::now();
    let at = |ms| started + Duration::from_millis(ms);
    let heard_a = listen(&a.rtp, Duration::from_millis(1_700));
    let talking = [
        talk(&a.rtp, local(port(ids[0])), Codec::Pcma, 1_000.0, 80, FRAME),
        talk(&b.rtp, local(port(ids[1])), Codec::Pcma, 2_000.0, 80, FRAME),
    ];
    tokio::time::sleep_until(at(400)).await;
    let joined = conference
        .add(mediator.leg(&pool, Codec::Pcmu, false))
        .await
        .unwrap();
    assert_eq!(pool.in_use(), 3);
    let mediator_port = port(joined);
    let heard_mediator = listen(&mediator.rtp, Duration::from_millis(1_300));
    // The mediator talks until 1.4 s, well after being dropped at 1 s.
    let mediator_talk = talk(
        &mediator.rtp,
        local(mediator_port),
        Codec::Pcmu,
        500.0,
        48,
        Duration::ZERO,
    );
    tokio::time::sleep_until(at(1_000)).await;
    let dropped = conference.remove(joined).await.unwrap();
    let removed_at = Instant::now();
    assert_eq!(
        pool.in_use(),
        2,
        "the mediator's ports are back in the pool"
    );
    assert!(
        dropped.received >= 25 && dropped.sent >= 25 && dropped.send_failed == 0,
        "{dropped:?}"
    );
    assert_eq!(conference.remove(joined).await, Err(MixerError::NoParty));
    assert_eq!(conference.len(), 2);

    mediator_talk.await.unwrap();
    for t in talking {
        t.await.unwrap();
    }
    let (heard_a, heard_mediator) = (heard_a.await.unwrap(), heard_mediator.await.unwrap());
    // Before the mediator: B only. With it: B and the mediator. After: B only again.
    assert_hears(
        "A before",
        &audio(&heard_a, at(100), at(380)),
        &[2_000.0],
        &[500.0],
    );
    assert_hears(
        "A with",
        &audio(&heard_a, at(550), at(980)),
        &[2_000.0, 500.0],
        &[],
    );
    assert_hears(
        "A after",
        &audio(&heard_a, removed_at + Duration::from_millis(80), at(1_550)),
        &[2_000.0],
        &[500.0],
    );
    assert_hears(
        "the mediator",
        &audio(&heard_mediator, at(500), at(980)),
        &[1_000.0, 2_000.0],
        &[500.0],
    );
    assert_one_stream("the mediator", &heard_mediator, 0, mediator_port);
    let late = heard_mediator
        .iter()
        .filter(|h| h.at > removed_at + Duration::from_millis(50))
        .count();
    assert_eq!(late, 0, "nothing is sent to a dropped party");
    conference.stop().await;
    assert_eq!(pool.in_use(), 0);
}

#[tokio::test]
async fn foreign_sources_are_dropped_and_only_g711_is_mixed() {
    let (min, max) = free_range(4);
    let pool = PortPool::new(localhost(), min, max).unwrap();
    let (a, announced, real, intruder) = (
        Phone::new().await,
        Phone::new().await,
        Phone::new().await,
        Phone::new().await,
    );
    // A's source is known (latched in the relay before); B's SDP names one address and
    // its NAT sends from another.
    let (conference, ids) = Conference::start(vec![
        a.leg(&pool, Codec::Pcmu, true),
        announced.leg(&pool, Codec::Pcmu, false),
    ])
    .unwrap();
    let port_a = conference.local_rtp_port(ids[0]).unwrap();
    let port_b = conference.local_rtp_port(ids[1]).unwrap();
    let started = Instant::now();
    let heard_real = listen(&real.rtp, Duration::from_millis(800));
    let heard_announced = listen(&announced.rtp, Duration::from_millis(800));
    // B speaks first (from its real source), so it latches there.
    let b_talk = talk(&real.rtp, local(port_b), Codec::Pcmu, 2_000.0, 30, FRAME);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let intruding = [
        talk(
            &intruder.rtp,
            local(port_a),
            Codec::Pcmu,
            1_000.0,
            20,
            FRAME,
        ),
        talk(
            &intruder.rtp,
            local(port_b),
            Codec::Pcmu,
            1_000.0,
            20,
            FRAME,
        ),
    ];
    // From A itself: garbage, a telephone-event and comfort noise, none of them audio.
    let mut event = vec![0x80, 101, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9];
    event.extend_from_slice(&[5, 0x0a, 0x00, 0xa0]);
    let mut noise = vec![0x80, 13, 0, 2, 0, 0, 0, 160, 0, 0, 0, 9];
    noise.push(0x40);
    for datagram in [&[1u8, 2, 3][..], &event, &noise] {
        a.rtp.send_to(datagram, local(port_a)).await.unwrap();
    }
    for t in intruding {
        t.await.unwrap();
    }
    b_talk.await.unwrap();
    let (heard_real, heard_announced) = (heard_real.await.unwrap(), heard_announced.await.unwrap());
    let remote_b = conference.remote(ids[1]).unwrap();
    assert_eq!(remote_b.rtp, real.rtp_addr());
    assert!(remote_b.latched);
    assert_eq!(remote_b.rtcp, announced.rtcp_addr());
    // Until B's first packet, its SDP's address was all we knew; from then on, never.
    let late = heard_announced
        .iter()
        .filter(|h| h.at > started + Duration::from_millis(100))
        .count();
    assert_eq!(late, 0, "B is answered at its real source");
    // Neither intruder was mixed: B hears only A's silence.
    let all: Vec<i16> = heard_real.iter().flat_map(|h| h.samples.clone()).collect();
    assert!(rms(&all) < 20.0, "B hears nothing of the intruder");
    let stats = conference.stop().await;
    let (a_stats, b_stats) = (stats.parties[0].1, stats.parties[1].1);
    assert_eq!(
        a_stats.dropped,
        20 + 1,
        "the intruder's packets and the garbage"
    );
    assert_eq!((a_stats.received, a_stats.ignored), (0, 2));
    assert_eq!((b_stats.received, b_stats.dropped), (30, 20));
    assert_eq!(pool.in_use(), 0);
}

#[tokio::test]
async fn a_relayed_call_becomes_a_conference_on_the_same_ports() {
    let (min, max) = free_range(4);
    let pool = PortPool::new(localhost(), min, max).unwrap();
    let (trunk, announced, phone, mediator) = (
        Phone::new().await,
        Phone::new().await,
        Phone::new().await,
        Phone::new().await,
    );
    let relay = RelaySession::start(pool.allocate().unwrap(), pool.allocate().unwrap());
    relay.set_remote(Side::Caller, trunk.rtp_addr(), trunk.rtcp_addr());
    relay.set_remote(Side::Operator, announced.rtp_addr(), announced.rtcp_addr());
    let caller_port = relay.local_rtp_port(Side::Caller);
    let operator_port = relay.local_rtp_port(Side::Operator);
    // The phone, behind NAT, speaks from another address than its SDP's; both latch.
    let hello = {
        let mut buf = [0u8; MAX_PACKET];
        let len = OutStream::new(Codec::Pcmu)
            .write(&[0xFF; FRAME_SAMPLES], Instant::now(), &mut buf)
            .unwrap();
        buf[..len].to_vec()
    };
    phone
        .rtp
        .send_to(&hello, local(operator_port))
        .await
        .unwrap();
    let mut buf = [0u8; 2048];
    tokio::time::timeout(Duration::from_secs(2), trunk.rtp.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    trunk.rtp.send_to(&hello, local(caller_port)).await.unwrap();
    tokio::time::timeout(Duration::from_secs(2), phone.rtp.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();

    let [caller, operator] = relay.into_legs().await;
    assert_eq!(pool.in_use(), 2, "the ports stay taken");
    assert_eq!(caller.pair.rtp_port(), caller_port);
    assert_eq!(operator.pair.rtp_port(), operator_port);
    assert_eq!(operator.remote_rtp, phone.rtp_addr());
    assert_eq!(operator.remote_rtcp, announced.rtcp_addr());
    assert!(caller.latched && operator.latched);
    assert_eq!(caller.received.rtp_packets, 1);
    assert_eq!(operator.received.rtp_packets, 1);

    let (conference, ids) = Conference::start(vec![
        ConferenceLeg::from_relay(caller, Codec::Pcma),
        ConferenceLeg::from_relay(operator, Codec::Pcmu),
    ])
    .unwrap();
    let joined = conference
        .add(mediator.leg(&pool, Codec::Pcmu, false))
        .await
        .unwrap();
    let mediator_port = conference.local_rtp_port(joined).unwrap();
    assert_eq!(conference.local_rtp_port(ids[0]), Ok(caller_port));
    assert_eq!(conference.local_rtp_port(ids[1]), Ok(operator_port));
    let started = Instant::now();
    let heard_trunk = listen(&trunk.rtp, Duration::from_millis(900));
    let heard_phone = listen(&phone.rtp, Duration::from_millis(900));
    let heard_announced = listen(&announced.rtp, Duration::from_millis(900));
    let talking = [
        talk(
            &trunk.rtp,
            local(caller_port),
            Codec::Pcma,
            1_000.0,
            40,
            FRAME,
        ),
        talk(
            &phone.rtp,
            local(operator_port),
            Codec::Pcmu,
            2_000.0,
            40,
            FRAME,
        ),
        talk(
            &mediator.rtp,
            local(mediator_port),
            Codec::Pcmu,
            500.0,
            40,
            FRAME,
        ),
    ];
    for t in talking {
        t.await.unwrap();
    }
    let (heard_trunk, heard_phone) = (heard_trunk.await.unwrap(), heard_phone.await.unwrap());
    let (from, to) = (
        started + Duration::from_millis(150),
        started + Duration::from_millis(780),
    );
    // The trunk and the phone hear us from the ports they always did.
    assert_one_stream("the trunk", &heard_trunk, 8, caller_port);
    assert_one_stream("the phone", &heard_phone, 0, operator_port);
    // And the stream they were hearing goes on: its SSRC, the next number.
    let relayed = Packet::parse(&hello).unwrap();
    for (who, heard) in [("the trunk", &heard_trunk), ("the phone", &heard_phone)] {
        assert_eq!(heard[0].ssrc, relayed.ssrc, "{who}");
        assert_eq!(heard[0].sequence, relayed.sequence.wrapping_add(1), "{who}");
    }
    assert_hears(
        "the trunk",
        &audio(&heard_trunk, from, to),
        &[2_000.0, 500.0],
        &[1_000.0],
    );
    assert_hears(
        "the phone",
        &audio(&heard_phone, from, to),
        &[1_000.0, 500.0],
        &[2_000.0],
    );
    assert!(heard_announced.await.unwrap().is_empty(), "the latch held");
    assert_eq!(pool.in_use(), 3);
    conference.stop().await;
    assert_eq!(pool.in_use(), 0);
}

#[tokio::test]
async fn a_relay_leg_without_an_answer_is_sent_nothing_and_heard_from_nobody() {
    let (min, max) = free_range(2);
    let pool = PortPool::new(localhost(), min, max).unwrap();
    let (trunk, stranger) = (Phone::new().await, Phone::new().await);
    let relay = RelaySession::start(pool.allocate().unwrap(), pool.allocate().unwrap());
    relay.set_remote(Side::Caller, trunk.rtp_addr(), trunk.rtcp_addr());
    let [caller, operator] = relay.into_legs().await;
    assert!(!caller.latched && caller.received.rtp_packets == 0);
    assert_eq!(caller.remote_rtp, trunk.rtp_addr());
    assert_eq!(
        (operator.remote_rtp, operator.remote_rtcp),
        (NO_REMOTE, NO_REMOTE)
    );
    let (conference, ids) = Conference::start(vec![
        ConferenceLeg::from_relay(caller, Codec::Pcma),
        ConferenceLeg::from_relay(operator, Codec::Pcma),
    ])
    .unwrap();
    let operator_port = conference.local_rtp_port(ids[1]).unwrap();
    let heard_trunk = listen(&trunk.rtp, Duration::from_millis(500));
    // Someone sends to the unanswered leg: not latched, not mixed.
    talk(
        &stranger.rtp,
        local(operator_port),
        Codec::Pcma,
        1_000.0,
        15,
        FRAME,
    )
    .await
    .unwrap();
    let heard_trunk = heard_trunk.await.unwrap();
    let all: Vec<i16> = heard_trunk.iter().flat_map(|h| h.samples.clone()).collect();
    assert!(
        heard_trunk.len() > 10 && rms(&all) < 20.0,
        "the trunk hears silence"
    );
    assert!(!conference.remote(ids[1]).unwrap().latched);
    let stats = conference.stop().await;
    assert_eq!(
        (stats.parties[1].1.dropped, stats.parties[1].1.sent),
        (15, 0)
    );
    assert_eq!(pool.in_use(), 0);
}

#[tokio::test]
async fn a_full_conference_refuses_a_party_and_every_port_is_freed() {
    let (min, max) = free_range(MAX_PARTIES as u16 + 1);
    let pool = PortPool::new(localhost(), min, max).unwrap();
    let phone = Phone::new().await;
    let legs = |n| -> Vec<ConferenceLeg> {
        (0..n)
            .map(|_| phone.leg(&pool, Codec::Pcmu, false))
            .collect()
    };
    assert_eq!(
        Conference::start(legs(MAX_PARTIES + 1)).unwrap_err(),
        MixerError::Full
    );
    assert_eq!(pool.in_use(), 0);
    let (conference, ids) = Conference::start(legs(MAX_PARTIES)).unwrap();
    assert_eq!(ids.len(), MAX_PARTIES);
    let extra = phone.leg(&pool, Codec::Pcmu, false);
    assert_eq!(conference.add(extra).await, Err(MixerError::Full));
    assert_eq!(
        pool.in_use(),
        MAX_PARTIES,
        "the refused leg's ports are free"
    );
    conference.remove(ids[1]).await.unwrap();
    let again = conference
        .add(phone.leg(&pool, Codec::Pcma, false))
        .await
        .unwrap();
    assert_eq!(again, ids[1], "the place is taken again");
    // Dropped rather than stopped: the ports go all the same.
    drop(conference);
    assert_eq!(pool.in_use(), 0);
}
