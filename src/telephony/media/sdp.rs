//! Reading and rewriting SDP for the relay: the remote's audio address from an offer or
//! answer, and the SDP we send on the other leg, which names our address and port.
//!
//! Parsing and writing use the `sdp` crate (webrtc-rs): it keeps every line it does not
//! know, in order, so what we do not change reaches the other leg as the peer wrote it
//! (payload types, `a=rtpmap`, `a=fmtp`, `a=ptime`, direction, bandwidth). It writes
//! CRLF line ends and refuses lines out of RFC 4566 order, which we report as malformed.

use std::io::Cursor;
use std::net::{IpAddr, SocketAddr};

use sdp::description::common::{Address, Attribute, ConnectionInformation};
use sdp::SessionDescription;

use super::g711::Codec;

/// An SDP we cannot relay. The messages never quote the SDP: its `o=` line may carry
/// the caller's user name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    /// The body is empty (an INVITE without an offer).
    #[error("no SDP body")]
    Empty,
    /// Not SDP, or lines missing or out of order.
    #[error("malformed SDP")]
    Malformed,
    /// No audio stream, or every audio stream has port 0 (refused).
    #[error("SDP has no active audio stream")]
    NoAudio,
    /// The audio stream has no `c=` line, at its own level or the session's.
    #[error("SDP audio stream has no connection address")]
    NoConnection,
    /// The connection address is not an IP address (a host name, or garbage).
    #[error("SDP connection address is not an IP address")]
    BadAddress,
    /// The audio stream is not RTP, or lists a format that is not a payload type.
    #[error("SDP audio stream is not RTP with numeric payload types")]
    NotRtp,
}

/// Where the remote wants its audio, as read from its SDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteMedia {
    /// RTP address (`c=` and `m=audio` port).
    pub rtp: SocketAddr,
    /// RTCP address: `a=rtcp` when present, else the RTP port + 1.
    pub rtcp: SocketAddr,
    /// Payload types of the `m=audio` line, in the peer's order of preference.
    pub payload_types: Vec<u8>,
    /// The payload type the peer chose for DTMF (`telephone-event`), if any.
    pub telephone_event: Option<u8>,
}

impl RemoteMedia {
    /// The G.711 law the peer prefers (the first of PCMU and PCMA in its `m=` line), for
    /// the audio the service itself sends it: prompts, hold music, a conference's mix.
    pub fn g711(&self) -> Option<Codec> {
        self.payload_types
            .iter()
            .find_map(|pt| Codec::from_payload_type(*pt))
    }
}

/// A parsed offer or answer.
#[derive(Debug, Clone)]
pub struct Sdp {
    desc: SessionDescription,
    /// Index of the audio stream the relay carries (the first with a port).
    audio: usize,
    remote: RemoteMedia,
}

/// Attributes that would send media around the relay: the peer's own RTCP address,
/// RTCP multiplexing (each leg keeps RTP and RTCP on separate sockets; one side muxing
/// and the other not would break RTCP), and ICE, whose candidates are the peer's
/// addresses.
const BYPASSING: &[&str] = &[
    "rtcp",
    "rtcp-mux",
    "candidate",
    "remote-candidates",
    "end-of-candidates",
    "ice-ufrag",
    "ice-pwd",
    "ice-lite",
    "ice-options",
    "ice-mismatch",
];

impl Sdp {
    /// Parses an SDP body and finds its audio stream.
    pub fn parse(body: &[u8]) -> Result<Self, SdpError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(SdpError::Empty);
        }
        let desc = SessionDescription::unmarshal(&mut Cursor::new(body))
            .map_err(|_| SdpError::Malformed)?;
        let audio = desc
            .media_descriptions
            .iter()
            .position(|m| m.media_name.media == "audio" && m.media_name.port.value > 0)
            .ok_or(SdpError::NoAudio)?;
        let remote = read_remote(&desc, audio)?;
        Ok(Self {
            desc,
            audio,
            remote,
        })
    }

    /// The remote's audio address and payload types.
    pub fn remote(&self) -> &RemoteMedia {
        &self.remote
    }

    /// The same SDP with only these payload types on the audio stream (and only their
    /// `a=rtpmap` and `a=fmtp`), in the peer's order. When the service answers a call
    /// itself, both legs must end up with the one law it plays prompts in: the trunk is
    /// answered with it, and the phones are offered nothing else.
    pub fn only(&self, keep: &[u8]) -> Sdp {
        let mut desc = self.desc.clone();
        if let Some(media) = desc.media_descriptions.get_mut(self.audio) {
            media
                .media_name
                .formats
                .retain(|f| f.parse::<u8>().is_ok_and(|pt| keep.contains(&pt)));
            media.attributes.retain(|a| {
                if a.key != "rtpmap" && a.key != "fmtp" {
                    return true;
                }
                a.value
                    .as_deref()
                    .and_then(|v| v.split_whitespace().next())
                    .and_then(|pt| pt.parse::<u8>().ok())
                    .is_some_and(|pt| keep.contains(&pt))
            });
        }
        let mut remote = self.remote.clone();
        remote.payload_types.retain(|pt| keep.contains(pt));
        remote.telephone_event = remote.telephone_event.filter(|pt| keep.contains(pt));
        Sdp {
            desc,
            audio: self.audio,
            remote,
        }
    }

    /// The SDP to send on the other leg: our address in `o=` and every `c=`, our RTP
    /// port on the relayed audio stream, port 0 (refused) on any other stream, and no
    /// attribute that would bypass the relay. Payload types and their `a=rtpmap` and
    /// `a=fmtp` stay as the peer wrote them, so both legs agree on them end to end.
    pub fn for_relay(&self, ours: IpAddr, rtp_port: u16) -> Vec<u8> {
        let mut desc = self.desc.clone();
        let address_type = if ours.is_ipv4() { "IP4" } else { "IP6" };
        // The peer's user name in `o=` may be the caller's account: the other leg gets
        // none. Session id and version stay, so a new version from the peer is a new
        // version from us.
        desc.origin.username = "-".into();
        desc.origin.network_type = "IN".into();
        desc.origin.address_type = address_type.into();
        desc.origin.unicast_address = ours.to_string();
        let connection = ConnectionInformation {
            network_type: "IN".into(),
            address_type: address_type.into(),
            address: Some(Address {
                address: ours.to_string(),
                ttl: None,
                range: None,
            }),
        };
        if desc.connection_information.is_some() {
            desc.connection_information = Some(connection.clone());
        }
        desc.attributes
            .retain(|a| !BYPASSING.contains(&a.key.as_str()));
        for (i, media) in desc.media_descriptions.iter_mut().enumerate() {
            media.media_name.port.value = if i == self.audio {
                isize::try_from(rtp_port).unwrap_or_default()
            } else {
                0
            };
            if media.connection_information.is_some() {
                media.connection_information = Some(connection.clone());
            }
            media
                .attributes
                .retain(|a| !BYPASSING.contains(&a.key.as_str()));
        }
        desc.marshal().into_bytes()
    }
}

/// The audio stream's address and payload types.
fn read_remote(desc: &SessionDescription, audio: usize) -> Result<RemoteMedia, SdpError> {
    let media = desc
        .media_descriptions
        .get(audio)
        .ok_or(SdpError::NoAudio)?;
    let connection = media
        .connection_information
        .as_ref()
        .or(desc.connection_information.as_ref())
        .ok_or(SdpError::NoConnection)?;
    let ip = ip_of(connection)?;
    let port = u16::try_from(media.media_name.port.value).map_err(|_| SdpError::Malformed)?;
    if !media.media_name.protos.iter().any(|p| p == "RTP") {
        return Err(SdpError::NotRtp);
    }
    let payload_types = media
        .media_name
        .formats
        .iter()
        .map(|f| f.parse::<u8>().ok().filter(|pt| *pt < 128))
        .collect::<Option<Vec<u8>>>()
        .ok_or(SdpError::NotRtp)?;
    let telephone_event = telephone_event(&media.attributes, &payload_types);
    let rtcp = match media.attribute("rtcp").flatten() {
        Some(value) => rtcp_address(value, ip)?,
        None => SocketAddr::new(ip, port.wrapping_add(1)),
    };
    Ok(RemoteMedia {
        rtp: SocketAddr::new(ip, port),
        rtcp,
        payload_types,
        telephone_event,
    })
}

/// The payload type of `telephone-event/8000` (RFC 4733) among those the `m=` line
/// lists. Only the 8 kHz one: events on another clock (one per wide-band codec, e.g.
/// `telephone-event/48000` beside Opus) would not go with the G.711 audio we send and
/// read, and a type the `m=` line leaves out was not offered.
fn telephone_event(attributes: &[Attribute], listed: &[u8]) -> Option<u8> {
    attributes
        .iter()
        .filter(|a| a.key == "rtpmap")
        .filter_map(|a| a.value.as_deref())
        .filter_map(|v| v.split_once(' '))
        .filter(|(_, encoding)| {
            let mut parts = encoding.trim().split('/');
            parts
                .next()
                .is_some_and(|name| name.eq_ignore_ascii_case("telephone-event"))
                && parts.next().is_some_and(|rate| rate == "8000")
        })
        .filter_map(|(pt, _)| pt.trim().parse::<u8>().ok())
        .find(|pt| listed.contains(pt))
}

/// The IP address of a `c=` line.
fn ip_of(connection: &ConnectionInformation) -> Result<IpAddr, SdpError> {
    let address = connection.address.as_ref().ok_or(SdpError::BadAddress)?;
    let ip: IpAddr = address.address.parse().map_err(|_| SdpError::BadAddress)?;
    let family_matches = match connection.address_type.as_str() {
        "IP4" => ip.is_ipv4(),
        "IP6" => ip.is_ipv6(),
        _ => false,
    };
    if connection.network_type != "IN" || !family_matches {
        return Err(SdpError::BadAddress);
    }
    Ok(ip)
}

/// `a=rtcp:PORT` or `a=rtcp:PORT IN IP4 ADDRESS` (RFC 3605).
fn rtcp_address(value: &str, rtp_ip: IpAddr) -> Result<SocketAddr, SdpError> {
    let mut words = value.split_whitespace();
    let port: u16 = words
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or(SdpError::Malformed)?;
    match (words.next(), words.next(), words.next()) {
        (None, _, _) => Ok(SocketAddr::new(rtp_ip, port)),
        (Some(net), Some(family), Some(address)) => {
            let connection = ConnectionInformation {
                network_type: net.into(),
                address_type: family.into(),
                address: Some(Address {
                    address: address.into(),
                    ttl: None,
                    range: None,
                }),
            };
            Ok(SocketAddr::new(ip_of(&connection)?, port))
        }
        _ => Err(SdpError::Malformed),
    }
}
