//! SDP as sipp, baresip and an operator's trunk send it, rewritten for the relay.

use std::net::{IpAddr, SocketAddr};

use super::sdp::{Sdp, SdpError};

fn ours() -> IpAddr {
    "198.51.100.7".parse().unwrap()
}

fn text(body: &[u8]) -> String {
    String::from_utf8(body.to_vec()).unwrap()
}

fn crlf(lines: &str) -> String {
    lines.lines().map(|l| format!("{l}\r\n")).collect()
}

/// sipp's `uac` scenario: session-level c=, PCMU only.
const SIPP: &str = "v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 0
a=rtpmap:0 PCMU/8000";

/// baresip: session-level c=, RTCP address, ICE-less but with rtcp-mux offered,
/// telephone-event on 101.
const BARESIP: &str = "v=0
o=- 1860793425 3406532447 IN IP4 192.168.1.34
s=-
c=IN IP4 192.168.1.34
t=0 0
a=tool:baresip 3.10.1
m=audio 10634 RTP/AVP 0 8 101
b=AS:64
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=rtcp:10635 IN IP4 192.168.1.34
a=rtcp-mux
a=sendrecv
a=label:1
a=ssrc:2146224316 cname:b1c7e1a2-6e1d-4bd9-a8ad-0c2de5d5c6b7
a=ptime:20";

/// An operator's SBC: media-level c= only, PCMA first, telephone-event on 96.
const TRUNK: &str = "v=0
o=SBC-Mobile 1710412345 1710412346 IN IP4 203.0.113.40
s=SBC
t=0 0
m=audio 41234 RTP/AVP 8 0 96
c=IN IP4 203.0.113.41
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:96 telephone-event/8000
a=fmtp:96 0-16
a=ptime:20
a=maxptime:40
a=sendrecv";

#[test]
fn sipp_offer_names_its_address_and_gets_ours() {
    let sdp = Sdp::parse(SIPP.as_bytes()).unwrap();
    let remote = sdp.remote();
    assert_eq!(remote.rtp, "127.0.0.1:6000".parse::<SocketAddr>().unwrap());
    assert_eq!(remote.rtcp, "127.0.0.1:6001".parse::<SocketAddr>().unwrap());
    assert_eq!(remote.payload_types, vec![0]);
    assert_eq!(remote.telephone_event, None);
    let out = text(&sdp.for_relay(ours(), 20_002));
    assert_eq!(
        out,
        crlf(
            "v=0
o=- 53655765 2353687637 IN IP4 198.51.100.7
s=-
c=IN IP4 198.51.100.7
t=0 0
m=audio 20002 RTP/AVP 0
a=rtpmap:0 PCMU/8000"
        )
    );
}

#[test]
fn baresip_offer_keeps_its_codecs_and_loses_what_bypasses_the_relay() {
    let sdp = Sdp::parse(BARESIP.as_bytes()).unwrap();
    let remote = sdp.remote();
    assert_eq!(
        remote.rtp,
        "192.168.1.34:10634".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(
        remote.rtcp,
        "192.168.1.34:10635".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(remote.payload_types, vec![0, 8, 101]);
    assert_eq!(remote.telephone_event, Some(101));
    let out = text(&sdp.for_relay(ours(), 20_000));
    assert!(out.contains("c=IN IP4 198.51.100.7\r\n"), "{out}");
    assert!(out.contains("m=audio 20000 RTP/AVP 0 8 101\r\n"), "{out}");
    for kept in [
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-15",
        "a=sendrecv",
        "a=ptime:20",
        "b=AS:64",
    ] {
        assert!(out.contains(&format!("{kept}\r\n")), "{kept} lost: {out}");
    }
    assert!(!out.contains("a=rtcp"), "{out}");
    assert!(
        !out.contains("192.168.1.34"),
        "the phone's address leaked: {out}"
    );
}

#[test]
fn trunk_offer_with_media_level_address_is_rewritten_there() {
    let sdp = Sdp::parse(crlf(TRUNK).as_bytes()).unwrap();
    let remote = sdp.remote();
    assert_eq!(
        remote.rtp,
        "203.0.113.41:41234".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(remote.payload_types, vec![8, 0, 96]);
    assert_eq!(remote.telephone_event, Some(96));
    let out = text(&sdp.for_relay(ours(), 20_998));
    let expected = crlf(TRUNK)
        .replace("SBC-Mobile", "-")
        .replace("203.0.113.40", "198.51.100.7")
        .replace("c=IN IP4 203.0.113.41", "c=IN IP4 198.51.100.7")
        .replace("m=audio 41234", "m=audio 20998");
    assert_eq!(out, expected);
}

#[test]
fn ice_candidates_and_other_streams_do_not_reach_the_other_leg() {
    let offer = "v=0
o=- 1 1 IN IP4 10.0.0.9
s=-
c=IN IP4 10.0.0.9
t=0 0
a=ice-ufrag:F7gI
a=ice-pwd:x9cml/YzichV2+XlhiMu8g
m=audio 5004 RTP/AVP 0 101
a=rtpmap:101 telephone-event/8000
a=candidate:1 1 UDP 2130706431 10.0.0.9 5004 typ host
a=candidate:2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 10.0.0.9 rport 5004
a=end-of-candidates
m=video 5006 RTP/AVP 96
a=rtpmap:96 H264/90000";
    let sdp = Sdp::parse(offer.as_bytes()).unwrap();
    let out = text(&sdp.for_relay(ours(), 20_010));
    assert!(!out.contains("candidate"), "{out}");
    assert!(!out.contains("ice-"), "{out}");
    assert!(
        !out.contains("10.0.0.9") && !out.contains("192.0.2.3"),
        "{out}"
    );
    assert!(out.contains("m=audio 20010 RTP/AVP 0 101\r\n"), "{out}");
    // The relay carries one audio stream: video is refused, not sent around it.
    assert!(out.contains("m=video 0 RTP/AVP 96\r\n"), "{out}");
}

#[test]
fn rtcp_port_without_address_uses_the_rtp_address() {
    let offer = SIPP.replace("a=rtpmap:0 PCMU/8000", "a=rtcp:7001\na=rtpmap:0 PCMU/8000");
    let remote = Sdp::parse(offer.as_bytes()).unwrap().remote().clone();
    assert_eq!(remote.rtcp, "127.0.0.1:7001".parse::<SocketAddr>().unwrap());
}

#[test]
fn an_ipv6_address_is_written_as_ip6() {
    let sdp = Sdp::parse(SIPP.as_bytes()).unwrap();
    let out = text(&sdp.for_relay("2001:db8::7".parse().unwrap(), 20_000));
    assert!(
        out.contains("o=- 53655765 2353687637 IN IP6 2001:db8::7\r\n"),
        "{out}"
    );
    assert!(out.contains("c=IN IP6 2001:db8::7\r\n"), "{out}");
}

#[test]
fn malformed_sdp_is_an_error_not_a_panic() {
    let cases: &[(&str, SdpError)] = &[
        ("", SdpError::Empty),
        ("\r\n", SdpError::Empty),
        ("hello", SdpError::Malformed),
        ("v=0\r\n", SdpError::Malformed),
        (&SIPP.replace("6000", "sixty"), SdpError::Malformed),
        (&SIPP.replace("6000", "99999"), SdpError::Malformed),
        (&SIPP.replace("m=audio", "m=video"), SdpError::NoAudio),
        (
            &SIPP.replace("m=audio 6000", "m=audio 0"),
            SdpError::NoAudio,
        ),
        (
            &SIPP.replace("c=IN IP4 127.0.0.1\n", ""),
            SdpError::NoConnection,
        ),
        (
            &SIPP.replace("c=IN IP4 127.0.0.1", "c=IN IP4 media.example"),
            SdpError::BadAddress,
        ),
        (
            &SIPP.replace("c=IN IP4 127.0.0.1", "c=IN IP6 127.0.0.1"),
            SdpError::BadAddress,
        ),
        (
            &SIPP.replace("c=IN IP4 127.0.0.1", "c=IN IP4"),
            SdpError::BadAddress,
        ),
        (&SIPP.replace("RTP/AVP 0", "udptl t38"), SdpError::NotRtp),
        (&SIPP.replace("RTP/AVP 0", "RTP/AVP PCMU"), SdpError::NotRtp),
        (&SIPP.replace("RTP/AVP 0", "RTP/AVP 200"), SdpError::NotRtp),
        (&format!("{SIPP}\na=rtcp:abc"), SdpError::Malformed),
        (
            &format!("{SIPP}\na=rtcp:7001 IN IP4 nowhere"),
            SdpError::BadAddress,
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(
            Sdp::parse(body.as_bytes()).map(|_| ()),
            Err(expected.clone()),
            "{body:?}"
        );
    }
    // Every truncation of a real offer, and bytes that are not text, fail cleanly.
    let trunk = crlf(TRUNK);
    for end in 0..trunk.len() {
        let _ = Sdp::parse(&trunk.as_bytes()[..end]);
    }
    assert_eq!(
        Sdp::parse(&[0xff, 0xfe, 0x00, 0x76]).map(|_| ()),
        Err(SdpError::Malformed)
    );
}

#[test]
fn the_dtmf_payload_type_is_the_8khz_telephone_event_the_offer_lists() {
    let webrtc_like = "v=0
o=- 1 1 IN IP4 192.0.2.9
s=-
c=IN IP4 192.0.2.9
t=0 0
m=audio 7000 RTP/AVP 111 8 110 126
a=rtpmap:111 opus/48000/2
a=rtpmap:8 PCMA/8000
a=rtpmap:110 telephone-event/48000
a=rtpmap:126 telephone-event/8000
a=rtpmap:127 telephone-event/8000";
    let sdp = Sdp::parse(crlf(webrtc_like).as_bytes()).unwrap();
    assert_eq!(sdp.remote().telephone_event, Some(126));
    // A map for a type the m= line does not list was not offered.
    let unlisted = webrtc_like.replace(" 110 126", " 110");
    let sdp = Sdp::parse(crlf(&unlisted).as_bytes()).unwrap();
    assert_eq!(sdp.remote().telephone_event, None);
}

#[test]
fn the_audio_we_send_is_in_the_g711_law_the_peer_lists_first() {
    use super::g711::Codec;
    let g711 = |body: &str| Sdp::parse(crlf(body).as_bytes()).unwrap().remote().g711();
    assert_eq!(g711(SIPP), Some(Codec::Pcmu));
    assert_eq!(g711(BARESIP), Some(Codec::Pcmu));
    assert_eq!(g711(TRUNK), Some(Codec::Pcma));
    assert_eq!(g711(&SIPP.replace("RTP/AVP 0", "RTP/AVP 18")), None);
}

#[test]
fn keeping_one_law_and_telephone_event_drops_the_other_law_and_its_rtpmap() {
    let offer = Sdp::parse(crlf(BARESIP).as_bytes()).unwrap();
    let only = offer.only(&[8, 101]);
    assert_eq!(only.remote().payload_types, vec![8, 101]);
    assert_eq!(only.remote().telephone_event, Some(101));
    let out = text(&only.for_relay(ours(), 20000));
    assert!(out.contains("m=audio 20000 RTP/AVP 8 101\r\n"), "{out}");
    assert!(!out.contains("PCMU"), "{out}");
    assert!(out.contains("a=rtpmap:8 PCMA/8000"), "{out}");
    assert!(out.contains("a=rtpmap:101 telephone-event/8000"), "{out}");
    assert!(out.contains("b=AS:64"), "{out}");
}
