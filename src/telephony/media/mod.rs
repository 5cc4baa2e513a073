//! Media anchoring: the call's RTP flows through the service (trunk ⇄ relay ⇄ phone)
//! instead of directly between the trunk and the operator's phone. With the audio in our
//! hands, prompts to the caller, DTMF and a mediator's three-way call can be added later
//! without touching the phones or the trunk; and neither end learns the other's address.
//!
//! - `config.rs`: `[media]`, the port range and the address in our SDP;
//! - `ports.rs`: RTP/RTCP port pairs of that range, shared by all calls;
//! - `sdp.rs`: the remote's address from an SDP, and our SDP for the other leg;
//! - `relay.rs`: the packets of one call, both ways, with NAT latching and counts;
//! - `session.rs`: the three together for a call, from the trunk's offer to hang-up.
//!
//! What the service says and hears itself, for the voice menu and a mediator's call:
//! - `g711.rs`: μ-law and A-law, to and from 16-bit samples;
//! - `rtp.rs`: RTP packets read, and a stream of our own (SSRC, numbers, marker);
//! - `dtmf.rs`: keys from RFC 4733 telephone-events and from SIP INFO bodies;
//! - `prompts.rs`: the recorded prompts (`prompts/`), by language and by name;
//! - `player.rs`: a recorded prompt played as paced RTP, until a key stops it;
//! - `menu.rs`: the language menu on the caller's leg, chosen by key or Italian;
//! - `hold.rs`: music, "all operators are busy" and the queue position while it rings;
//! - `mixer.rs`: a conference, each party hearing the others and never itself;
//! - `conference.rs`: that mix live on the call's ports, paced, with a mediator's leg;
//! - `tone.rs`: sine tones and a Goertzel detector, to test who hears what.

pub mod conference;
pub mod config;
pub mod dtmf;
pub mod g711;
pub mod hold;
pub mod menu;
pub mod mixer;
pub mod player;
pub mod ports;
pub mod prompts;
pub mod relay;
pub mod rtp;
pub mod sdp;
pub mod session;
pub mod tone;

pub use conference::{Conference, ConferenceLeg, ConferenceStats, PartyRemote, PartyStats};
pub use config::MediaConfig;
pub use dtmf::{key_from_info, DtmfDetector, DtmfError, Key, TelephoneEvent};
pub use g711::Codec;
pub use hold::{hold, HoldPlan};
pub use menu::{choose_language, CallerLeg, Choice, MenuPrompts};
pub use mixer::{Mixer, MixerError, PartyId};
pub use player::{play, play_all, Played};
pub use ports::{PortError, PortPair, PortPool};
pub use prompts::{Language, Prompt, PROMPT_CODEC};
pub use relay::{DirectionStats, RelayLeg, RelaySession, RelayStats, SentRtp, Side};
pub use rtp::{OutStream, Packet, RtpError};
pub use sdp::{RemoteMedia, Sdp, SdpError};
pub use session::{CallMedia, MediaError, MenuMedia};

#[cfg(test)]
mod conference_tests;
#[cfg(test)]
mod relay_tests;
#[cfg(test)]
mod sdp_tests;

/// Helpers shared by the module's tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::net::{IpAddr, Ipv4Addr};

    /// 127.0.0.1.
    pub fn localhost() -> IpAddr {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    }

    /// Our socket, a fake trunk's socket and the trunk's address, on 127.0.0.1.
    pub async fn trunk_pair() -> (
        tokio::net::UdpSocket,
        tokio::net::UdpSocket,
        std::net::SocketAddr,
    ) {
        let ours = tokio::net::UdpSocket::bind((localhost(), 0))
            .await
            .expect("bind");
        let trunk = tokio::net::UdpSocket::bind((localhost(), 0))
            .await
            .expect("bind");
        let addr = trunk.local_addr().expect("address");
        (ours, trunk, addr)
    }

    /// A range of `pairs` RTP/RTCP pairs that nothing on the host uses right now.
    pub fn free_range(pairs: u16) -> (u16, u16) {
        loop {
            let probe = std::net::UdpSocket::bind((localhost(), 0)).expect("probe socket");
            let base = probe.local_addr().expect("probe address").port() & !1;
            drop(probe);
            let Some(max) = base.checked_add(pairs * 2 - 1) else {
                continue;
            };
            let free = (base..=max).all(|p| std::net::UdpSocket::bind((localhost(), p)).is_ok());
            if base > 1024 && free {
                return (base, max);
            }
        }
    }
}
