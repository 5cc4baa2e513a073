//! The relay with real UDP sockets on 127.0.0.1: a fake trunk and a fake phone talk
//! through it.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;

use super::ports::{PortError, PortPool};
use super::relay::{DirectionStats, RelaySession, Side};
use super::session::CallMedia;
use super::testing::{free_range, localhost};

/// One end of the call: its RTP and RTCP sockets.
struct Endpoint {
    rtp: UdpSocket,
    rtcp: UdpSocket,
}

impl Endpoint {
    async fn new() -> Self {
        Self {
            rtp: UdpSocket::bind((localhost(), 0)).await.unwrap(),
            rtcp: UdpSocket::bind((localhost(), 0)).await.unwrap(),
        }
    }

    fn rtp_addr(&self) -> SocketAddr {
        self.rtp.local_addr().unwrap()
    }

    fn rtcp_addr(&self) -> SocketAddr {
        self.rtcp.local_addr().unwrap()
    }
}

/// The next datagram on `socket`, and where it came from; fails after two seconds.
async fn receive(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = vec![0u8; 2048];
    let (len, from) = tokio::time::timeout(Duration::from_secs(2), socket.recv_from(&mut buf))
        .await
        .expect("a packet within two seconds")
        .unwrap();
    buf.truncate(len);
    (buf, from)
}

/// Whether nothing arrives on `socket` for a moment.
async fn silent(socket: &UdpSocket) -> bool {
    let mut buf = [0u8; 2048];
    tokio::time::timeout(Duration::from_millis(200), socket.recv_from(&mut buf))
        .await
        .is_err()
}

/// An RTP packet: 12-byte header (version 2) and the payload.
fn rtp(payload_type: u8, marker: bool, seq: u16, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, payload_type | if marker { 0x80 } else { 0 }];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// 20 ms of PCMU.
fn pcmu(seq: u16, ssrc: u32) -> Vec<u8> {
    rtp(0, false, seq, ssrc, &[0xff_u8.wrapping_sub(seq as u8); 160])
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::new(localhost(), port)
}

/// A pool of `pairs` pairs and a session on two of them, both remotes set.
async fn call(trunk: &Endpoint, phone: &Endpoint) -> (PortPool, RelaySession) {
    let (min, max) = free_range(4);
    let pool = PortPool::new(localhost(), min, max).unwrap();
    let relay = RelaySession::start(pool.allocate().unwrap(), pool.allocate().unwrap());
    relay.set_remote(Side::Caller, trunk.rtp_addr(), trunk.rtcp_addr());
    relay.set_remote(Side::Operator, phone.rtp_addr(), phone.rtcp_addr());
    (pool, relay)
}

#[tokio::test]
async fn voice_crosses_the_relay_both_ways_and_is_counted() {
    let (trunk, phone) = (Endpoint::new().await, Endpoint::new().await);
    let (_pool, relay) = call(&trunk, &phone).await;
    let caller_port = relay.local_rtp_port(Side::Caller);
    let operator_port = relay.local_rtp_port(Side::Operator);
    for seq in 0..50u16 {
        let from_trunk = pcmu(seq, 0x1111_1111);
        trunk
            .rtp
            .send_to(&from_trunk, local(caller_port))
            .await
            .unwrap();
        let (got, source) = receive(&phone.rtp).await;
        assert_eq!(got, from_trunk);
        // Symmetric: the phone hears us from the port its SDP names.
        assert_eq!(source, local(operator_port));

        let from_phone = pcmu(seq, 0x2222_2222);
        phone
            .rtp
            .send_to(&from_phone, local(operator_port))
            .await
            .unwrap();
        let (got, source) = receive(&trunk.rtp).await;
        assert_eq!(got, from_phone);
        assert_eq!(source, local(caller_port));
    }
    // A receiver report each way, on the RTCP ports.
    let report = [0x81, 0xc9, 0x00, 0x07, 0x11, 0x11, 0x11, 0x11];
    trunk
        .rtcp
        .send_to(&report, local(caller_port + 1))
        .await
        .unwrap();
    assert_eq!(receive(&phone.rtcp).await.0, report);
    phone
        .rtcp
        .send_to(&report, local(operator_port + 1))
        .await
        .unwrap();
    assert_eq!(receive(&trunk.rtcp).await.0, report);

    let expected = DirectionStats {
        rtp_packets: 50,
        rtp_bytes: 50 * 172,
        rtcp_packets: 1,
        rtcp_bytes: 8,
        dropped: 0,
    };
    let live = relay.stats();
    assert_eq!(live.caller_to_operator, expected);
    assert_eq!(live.operator_to_caller, expected);
    assert_eq!(relay.stop().await, live);
}

#[tokio::test]
async fn a_phone_behind_nat_is_answered_at_its_real_source() {
    let trunk = Endpoint::new().await;
    // The phone's SDP names one port; its NAT sends from another.
    let announced = Endpoint::new().await;
    let real = Endpoint::new().await;
    let (_pool, relay) = call(&trunk, &announced).await;
    let caller_port = relay.local_rtp_port(Side::Caller);
    let operator_port = relay.local_rtp_port(Side::Operator);

    let hello = pcmu(1, 0x3333_3333);
    real.rtp
        .send_to(&hello, local(operator_port))
        .await
        .unwrap();
    assert_eq!(receive(&trunk.rtp).await.0, hello);
    assert_eq!(relay.remote_rtp(Side::Operator), Some(real.rtp_addr()));

    let reply = pcmu(1, 0x4444_4444);
    trunk.rtp.send_to(&reply, local(caller_port)).await.unwrap();
    assert_eq!(receive(&real.rtp).await.0, reply);
    assert!(silent(&announced.rtp).await);

    // Latched once: another source on the phone's leg is not let through.
    let intruder = Endpoint::new().await;
    intruder
        .rtp
        .send_to(&pcmu(9, 0x5555_5555), local(operator_port))
        .await
        .unwrap();
    assert!(silent(&trunk.rtp).await);
    let stats = relay.stop().await;
    assert_eq!(stats.operator_to_caller.rtp_packets, 1);
    assert_eq!(stats.operator_to_caller.dropped, 1);
}

/// DTMF as RFC 4733 events: start (marker), continuation, and end, three times.
async fn telephone_events_pass_untouched(payload_type: u8) {
    let (trunk, phone) = (Endpoint::new().await, Endpoint::new().await);
    let (_pool, relay) = call(&trunk, &phone).await;
    let caller_port = relay.local_rtp_port(Side::Caller);
    let operator_port = relay.local_rtp_port(Side::Operator);
    // Digit 5 at -10 dBm0: event, end flag and volume, duration.
    let events = [
        rtp(payload_type, true, 100, 7, &[5, 0x0a, 0x00, 0xa0]),
        rtp(payload_type, false, 101, 7, &[5, 0x0a, 0x01, 0x40]),
        rtp(payload_type, false, 102, 7, &[5, 0x8a, 0x03, 0x20]),
        rtp(payload_type, false, 102, 7, &[5, 0x8a, 0x03, 0x20]),
        rtp(payload_type, false, 102, 7, &[5, 0x8a, 0x03, 0x20]),
    ];
    for event in &events {
        trunk.rtp.send_to(event, local(caller_port)).await.unwrap();
        assert_eq!(&receive(&phone.rtp).await.0, event);
        phone
            .rtp
            .send_to(event, local(operator_port))
            .await
            .unwrap();
        assert_eq!(&receive(&trunk.rtp).await.0, event);
    }
    let stats = relay.stop().await;
    assert_eq!(stats.caller_to_operator.rtp_packets, 5);
    assert_eq!(stats.operator_to_caller.rtp_bytes, 5 * 16);
}

#[tokio::test]
async fn dtmf_on_payload_type_101_passes_untouched() {
    telephone_events_pass_untouched(101).await;
}

#[tokio::test]
async fn dtmf_on_payload_type_96_passes_untouched() {
    telephone_events_pass_untouched(96).await;
}

#[tokio::test]
async fn nothing_reaches_a_leg_whose_answer_has_not_come() {
    let trunk = Endpoint::new().await;
    let (min, max) = free_range(2);
    let pool = PortPool::new(localhost(), min, max).unwrap();
    let relay = RelaySession::start(pool.allocate().unwrap(), pool.allocate().unwrap());
    relay.set_remote(Side::Caller, trunk.rtp_addr(), trunk.rtcp_addr());
    // Early media from a phone of the fork, before any answer: not relayed.
    let phone = Endpoint::new().await;
    let operator_port = relay.local_rtp_port(Side::Operator);
    phone
        .rtp
        .send_to(&pcmu(1, 9), local(operator_port))
        .await
        .unwrap();
    assert!(silent(&trunk.rtp).await);
    // The caller's voice has nowhere to go yet either.
    trunk
        .rtp
        .send_to(&pcmu(1, 8), local(relay.local_rtp_port(Side::Caller)))
        .await
        .unwrap();
    assert!(silent(&phone.rtp).await);
    let stats = relay.stop().await;
    assert_eq!(stats.operator_to_caller.dropped, 1);
    assert_eq!(stats.caller_to_operator.dropped, 1);
}

#[tokio::test]
async fn stopping_a_session_frees_its_ports_at_once() {
    let (min, max) = free_range(2);
    let pool = PortPool::new(localhost(), min, max).unwrap();
    let relay = RelaySession::start(pool.allocate().unwrap(), pool.allocate().unwrap());
    let ports = [
        relay.local_rtp_port(Side::Caller),
        relay.local_rtp_port(Side::Operator),
    ];
    assert!(matches!(pool.allocate(), Err(PortError::Exhausted { .. })));
    relay.stop().await;
    assert_eq!(pool.in_use(), 0);
    let (a, b) = (pool.allocate().unwrap(), pool.allocate().unwrap());
    let mut again = [a.rtp_port(), b.rtp_port()];
    again.sort_unstable();
    let mut before = ports;
    before.sort_unstable();
    assert_eq!(again, before);
}

#[tokio::test]
async fn dropping_a_session_frees_its_ports() {
    let (min, max) = free_range(2);
    let pool = PortPool::new(localhost(), min, max).unwrap();
    let relay = RelaySession::start(pool.allocate().unwrap(), pool.allocate().unwrap());
    drop(relay);
    // The aborted tasks are dropped by the runtime a moment later.
    for _ in 0..100 {
        if pool.in_use() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(pool.allocate().is_ok() && pool.allocate().is_ok());
}

#[tokio::test]
async fn a_call_from_the_trunks_offer_to_the_phones_answer() {
    let (trunk, phone) = (Endpoint::new().await, Endpoint::new().await);
    let sdp = |addr: SocketAddr| {
        format!(
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio {} RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n\
             a=rtcp:{}\r\n",
            addr.port(),
            addr.port() + 1
        )
    };
    let (min, max) = free_range(2);
    let pool = PortPool::new(localhost(), min, max).unwrap();
    let offer = sdp(trunk.rtp_addr());
    let (media, to_phones) = CallMedia::from_offer(&pool, localhost(), offer.as_bytes()).unwrap();
    let operator_port = media.relay().local_rtp_port(Side::Operator);
    let to_phones = String::from_utf8(to_phones).unwrap();
    assert!(
        to_phones.contains(&format!("m=audio {operator_port} RTP/AVP 8 0 101")),
        "{to_phones}"
    );
    // The phone answers from its own port (its RTCP is not the RTP port + 1 here).
    let answer = sdp(phone.rtp_addr()).replace(
        &format!("a=rtcp:{}", phone.rtp_addr().port() + 1),
        &format!("a=rtcp:{}", phone.rtcp_addr().port()),
    );
    let to_trunk = String::from_utf8(media.answer(answer.as_bytes()).unwrap()).unwrap();
    let caller_port = media.relay().local_rtp_port(Side::Caller);
    assert!(
        to_trunk.contains(&format!("m=audio {caller_port} ")),
        "{to_trunk}"
    );

    let voice = pcmu(1, 1);
    trunk.rtp.send_to(&voice, local(caller_port)).await.unwrap();
    assert_eq!(receive(&phone.rtp).await.0, voice);
    phone
        .rtp
        .send_to(&voice, local(operator_port))
        .await
        .unwrap();
    assert_eq!(receive(&trunk.rtp).await.0, voice);
    let report = [0x81, 0xc9, 0x00, 0x07, 0, 0, 0, 1];
    trunk
        .rtcp
        .send_to(&report, local(caller_port + 1))
        .await
        .unwrap();
    assert_eq!(receive(&phone.rtcp).await.0, report);

    assert!(CallMedia::from_offer(&pool, localhost(), b"nonsense").is_err());
    let stats = media.stop().await;
    assert_eq!(stats.caller_to_operator.rtp_packets, 1);
    assert_eq!(pool.in_use(), 0);
}
