//! A call's media in one piece: both legs' ports, the relay between them, and the SDP
//! each side must get, so the call flow deals in SDP bodies only.

use std::net::IpAddr;

use super::g711::Codec;
use super::menu::CallerLeg;
use super::mixer::MixerError;
use super::ports::{PortError, PortPair, PortPool};
use super::relay::{RelayLeg, RelaySession, RelayStats, Side};
use super::rtp::OutStream;
use super::sdp::{Sdp, SdpError};

/// The media of a call cannot be anchored.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// No ports (range exhausted, or the bind address is wrong).
    #[error(transparent)]
    Ports(#[from] PortError),
    /// The trunk's offer cannot be relayed.
    #[error("caller's offer: {0}")]
    Offer(#[source] SdpError),
    /// The phone's answer cannot be relayed.
    #[error("operator's answer: {0}")]
    Answer(#[source] SdpError),
    /// A conference could not take the call on.
    #[error("conference: {0}")]
    Conference(#[from] MixerError),
    /// The call's audio is not relayed in G.711 (or no longer relayed): nothing to mix a
    /// third party into.
    #[error("the call's audio cannot be mixed")]
    NotMixable,
}

/// A call's relayed media, from the trunk's offer to the end of the call.
#[derive(Debug)]
pub struct CallMedia {
    relay: RelaySession,
    advertised: IpAddr,
}

impl CallMedia {
    /// Takes the trunk's offer: binds both legs' ports, starts the relay towards the
    /// trunk, and returns the offer to send to the phones (our address, the operator
    /// leg's port). `advertised` is the address written into our SDP
    /// ([`MediaConfig::advertised_ip`](super::MediaConfig::advertised_ip)).
    pub fn from_offer(
        pool: &PortPool,
        advertised: IpAddr,
        offer: &[u8],
    ) -> Result<(Self, Vec<u8>), MediaError> {
        // Parsed before any port is taken: a bad offer costs nothing.
        let offer = Sdp::parse(offer).map_err(MediaError::Offer)?;
        let caller = pool.allocate()?;
        let operator = pool.allocate()?;
        let relay = RelaySession::start(caller, operator);
        let remote = offer.remote();
        relay.set_remote(Side::Caller, remote.rtp, remote.rtcp);
        let for_phones = offer.for_relay(advertised, relay.local_rtp_port(Side::Operator));
        Ok((Self { relay, advertised }, for_phones))
    }

    /// Takes the answering phone's answer: points the operator leg at the phone and
    /// returns the answer to send to the trunk (our address, the caller leg's port).
    pub fn answer(&self, answer: &[u8]) -> Result<Vec<u8>, MediaError> {
        let answer = Sdp::parse(answer).map_err(MediaError::Answer)?;
        let remote = answer.remote();
        self.relay
            .set_remote(Side::Operator, remote.rtp, remote.rtcp);
        Ok(answer.for_relay(self.advertised, self.relay.local_rtp_port(Side::Caller)))
    }

    /// Takes the trunk's offer for a call the service answers itself (the language
    /// menu): binds both legs' ports but relays nothing yet, and returns our answer to
    /// the trunk (our address, the caller leg's port, the G.711 law the trunk prefers and
    /// its telephone-event, which the phones are then offered alone). `None` when the trunk offers no G.711: no
    /// prompt could be played to it, and the call goes on without the menu.
    pub fn answer_first(
        pool: &PortPool,
        advertised: IpAddr,
        offer: &[u8],
    ) -> Result<Option<(MenuMedia, Vec<u8>)>, MediaError> {
        let offer = Sdp::parse(offer).map_err(MediaError::Offer)?;
        let Some(codec) = offer.remote().g711() else {
            return Ok(None);
        };
        // One law end to end: the prompts' stream and the phone's must agree with what
        // the trunk was answered, as no phone's answer is passed on any more.
        let keep: Vec<u8> = std::iter::once(codec.payload_type())
            .chain(offer.remote().telephone_event)
            .collect();
        let offer = offer.only(&keep);
        let caller = pool.allocate()?;
        let operator = pool.allocate()?;
        let answer = offer.for_relay(advertised, caller.rtp_port());
        let media = MenuMedia {
            caller,
            operator,
            stream: OutStream::new(codec),
            offer,
            advertised,
        };
        Ok(Some((media, answer)))
    }

    /// The relay, for its counts and ports.
    pub fn relay(&self) -> &RelaySession {
        &self.relay
    }

    /// The address our SDP carries, for another leg of the same call.
    pub fn advertised(&self) -> IpAddr {
        self.advertised
    }

    /// Stops relaying and hands both legs over (ports still bound, remotes as latched),
    /// caller's first, for a conference to take the call on.
    pub async fn into_legs(self) -> [RelayLeg; 2] {
        self.relay.into_legs().await
    }

    /// Stops the relay, frees the ports, and returns the final counts.
    pub async fn stop(self) -> RelayStats {
        self.relay.stop().await
    }
}

/// A call answered by the service, its ports bound, before the relay starts: the caller
/// leg is lent to the menu, then handed to the relay.
#[derive(Debug)]
pub struct MenuMedia {
    caller: PortPair,
    operator: PortPair,
    stream: OutStream,
    offer: Sdp,
    advertised: IpAddr,
}

impl MenuMedia {
    /// The caller's leg, for the menu.
    pub fn caller_leg(&mut self) -> CallerLeg<'_> {
        CallerLeg {
            socket: self.caller.rtp(),
            remote: self.offer.remote().rtp,
            stream: &mut self.stream,
            telephone_event: self.offer.remote().telephone_event,
        }
    }

    /// The law of what the caller hears from us.
    pub fn codec(&self) -> Codec {
        self.stream.codec()
    }

    /// The offer the phones get: our address, the operator leg's port, and the law the
    /// trunk was answered with (the same as [`relay`](Self::relay) returns later).
    pub fn offer_for_phones(&self) -> Vec<u8> {
        self.offer
            .for_relay(self.advertised, self.operator.rtp_port())
    }

    /// Starts the relay on the same ports; returns it and the offer the phones get.
    pub fn relay(self) -> (CallMedia, Vec<u8>) {
        let relay = RelaySession::start(self.caller, self.operator);
        let remote = self.offer.remote();
        relay.set_remote(Side::Caller, remote.rtp, remote.rtcp);
        let for_phones = self
            .offer
            .for_relay(self.advertised, relay.local_rtp_port(Side::Operator));
        let media = CallMedia {
            relay,
            advertised: self.advertised,
        };
        (media, for_phones)
    }
}
