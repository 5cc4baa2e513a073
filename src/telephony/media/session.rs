//! A call's media in one piece: both legs' ports, the relay between them, and the SDP
//! each side must get, so the call flow deals in SDP bodies only.

use std::net::IpAddr;

use super::ports::{PortError, PortPool};
use super::relay::{RelaySession, RelayStats, Side};
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

    /// The relay, for its counts and ports.
    pub fn relay(&self) -> &RelaySession {
        &self.relay
    }

    /// Stops the relay, frees the ports, and returns the final counts.
    pub async fn stop(self) -> RelayStats {
        self.relay.stop().await
    }
}
