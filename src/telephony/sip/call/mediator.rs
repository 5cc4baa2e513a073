//! A linguistic-cultural mediator dialled into a call in progress, on the console's
//! command (`telephony::live`): the mediator's number is called through the trunk with
//! our address in the offer; when they answer, the call's two-party relay becomes a
//! conference on the same ports (`media::conference`), where each party hears the other
//! two and never itself; the operator can drop the mediator and the call goes on.
//!
//! The mediation request follows: ringing (dialled), joined (answered), left (dropped,
//! or hung up), or unanswered when their phone was never picked up. Those are the
//! events the statistics count: a joined request is a fulfilled one.

use std::net::IpAddr;

use rsipstack::dialog::client_dialog::ClientInviteDialog;
use rsipstack::dialog::dialog::DialogState;
use tokio::time::Instant;

use super::legs::Run;
use crate::telephony::live::{CallCommand, LiveError, MediatorDial};
use crate::telephony::media::{
    Codec, Conference, ConferenceLeg, MediaError, MixerError, PartyId, PortPair, Sdp,
};
use crate::triage::mediation::{self, MediationError, MediationState};

/// The mediator's leg of a call.
pub(super) struct MediatorLeg {
    /// Its Call-ID, to tell its dialog's events from the others'.
    call_id: String,
    dialog: ClientInviteDialog,
    dial: MediatorDial,
    /// Our ports facing the mediator, until they answer and join the conference.
    pair: Option<PortPair>,
    /// Their place in the conference, once they answered.
    party: Option<PartyId>,
    /// When their phone has rung long enough (`overflow_ring_seconds`, as a mobile's).
    ring_until: Instant,
}

/// What mixing needs to know of a call, learnt when it is answered: the G.711 law the
/// caller and the operator speak, and our address in the SDP.
#[derive(Debug, Clone, Copy)]
pub(super) struct Mixable {
    pub(super) codec: Codec,
    pub(super) advertised: IpAddr,
}

impl Run<'_> {
    /// Carries out a command from the console and answers it.
    pub(super) async fn on_command(&mut self, command: CallCommand) {
        match command {
            CallCommand::AddMediator { dial, reply } => {
                let result = self.add_mediator(dial).await;
                reply.send(result).ok();
            }
            CallCommand::DropMediator { by, reply } => {
                let result = self.drop_mediator(by).await;
                reply.send(result).ok();
            }
        }
    }

    async fn add_mediator(&mut self, dial: MediatorDial) -> Result<(), LiveError> {
        if self.winner.is_none() {
            return Err(LiveError::NotAnswered);
        }
        if self.mediator.is_some() {
            return Err(LiveError::MediatorAlready);
        }
        let mixable = self.mixable.ok_or(LiveError::NoMixableMedia)?;
        let outbound = self
            .ctx
            .state
            .config
            .sip
            .outbound_target()
            .ok()
            .flatten()
            .ok_or(LiveError::NoTrunk)?;
        let offer = Sdp::parse(&self.offer).map_err(|_| LiveError::NoMixableMedia)?;
        let pair = self.ctx.media.allocate().map_err(|e| {
            tracing::warn!(call = %self.id, error = %e, "no media ports for a mediator");
            LiveError::NoMediaPorts
        })?;
        // The trunk's own offer, narrowed to the call's law (and its telephone-event):
        // what the mediator answers is then mixed without a second transcoding.
        let keep: Vec<u8> = std::iter::once(mixable.codec.payload_type())
            .chain(offer.remote().telephone_event)
            .collect();
        let sdp = offer
            .only(&keep)
            .for_relay(mixable.advertised, pair.rtp_port());
        // The request moves first: one closed or changed in the console meanwhile is
        // not dialled, and a mediator's phone never rings unrecorded.
        let now = self.ctx.state.clock.now();
        let ringing = mediation::transition(
            &self.ctx.state.db,
            dial.request,
            MediationState::Ringing,
            Some(&dial.code),
            dial.by,
            now,
        )
        .await;
        match ringing {
            Ok(()) => self.ctx.state.board.poke(),
            Err(MediationError::Illegal { .. }) => return Err(LiveError::RequestMoved),
            Err(e) => {
                tracing::warn!(call = %self.id, request = dial.request, error = %e, "mediation request not moved");
                return Err(LiveError::Storage);
            }
        }
        let ringing = self.ctx.ring_out(
            &dial.number,
            &outbound,
            self.line,
            &sdp,
            self.states.clone(),
        );
        let (call_id, dialog) = match ringing {
            Ok(leg) => leg,
            Err(e) => {
                // A mediator's directory number, never a caller's, may be in the cause.
                tracing::warn!(call = %self.id, mediator = %dial.code, error = %e.0, "mediator not dialled");
                self.mediation(&dial, MediationState::Unanswered).await;
                return Err(LiveError::Dial);
            }
        };
        tracing::info!(call = %self.id, mediator = %dial.code, "mediator dialled");
        metrics::counter!("helpline_sip_mediator_dials_total").increment(1);
        self.mediator = Some(MediatorLeg {
            call_id,
            dialog,
            dial,
            pair: Some(pair),
            party: None,
            ring_until: Instant::now() + self.ctx.overflow_timeout,
        });
        Ok(())
    }

    async fn drop_mediator(&mut self, by: i64) -> Result<(), LiveError> {
        let mut leg = self.mediator.take().ok_or(LiveError::NoMediator)?;
        leg.dial.by = by;
        self.hang_up_mediator(leg).await;
        Ok(())
    }

    /// Hangs up on the mediator's leg: a BYE once they joined, a CANCEL while it rings.
    async fn hang_up_mediator(&mut self, leg: MediatorLeg) {
        let end = if leg.party.is_some() {
            LegEnd::Bye
        } else {
            LegEnd::Cancel
        };
        self.release(leg, end).await;
    }

    /// Takes the mediator off the call: out of the mix and the request `left` once they
    /// had joined, else `unanswered`; then their leg is ended as `end` says. The mix and
    /// the record come first: the mediator's phone may take its time to answer the BYE
    /// or CANCEL, and they are off the call either way.
    async fn release(&mut self, leg: MediatorLeg, end: LegEnd) {
        let to = match leg.party {
            Some(party) => {
                self.leave_conference(party).await;
                MediationState::Left
            }
            None => MediationState::Unanswered,
        };
        self.mediation(&leg.dial, to).await;
        match end {
            LegEnd::Bye => {
                leg.dialog.bye().await.ok();
            }
            LegEnd::Cancel => {
                leg.dialog.cancel().await.ok();
            }
            LegEnd::Ended => {}
        }
    }

    /// While the mediator's phone rings: when it has rung long enough.
    pub(super) fn mediator_deadline(&self) -> Option<Instant> {
        self.mediator
            .as_ref()
            .filter(|leg| leg.party.is_none())
            .map(|leg| leg.ring_until)
    }

    /// The mediator's phone rang out: cancelled, and the request unanswered (the
    /// operator can call another one in).
    pub(super) async fn mediator_rang_out(&mut self) {
        if let Some(leg) = self.mediator.take() {
            tracing::info!(call = %self.id, mediator = %leg.dial.code, "mediator did not answer");
            self.hang_up_mediator(leg).await;
        }
    }

    /// At the end of the call: the mediator is hung up on too, and the mix stopped.
    pub(super) async fn end_mediation(&mut self) {
        if let Some(leg) = self.mediator.take() {
            self.hang_up_mediator(leg).await;
        }
        if let Some(conference) = self.conference.take() {
            let stats = conference.stop().await;
            tracing::info!(call = %self.id, ?stats, "conference ended");
        }
    }

    /// Takes the mediator leg's events; `false` for any other leg's.
    pub(super) async fn on_mediator_state(&mut self, state: &DialogState) -> bool {
        let Some(leg) = &self.mediator else {
            return false;
        };
        match state {
            DialogState::Confirmed(d, answer) if d.call_id == leg.call_id => {
                if let Err(e) = self.join_mediator(&answer.body).await {
                    tracing::warn!(call = %self.id, error = %e, "mediator not joined");
                    if let Some(leg) = self.mediator.take() {
                        // Answered, so a BYE; never in the mix, so unanswered.
                        self.release(leg, LegEnd::Bye).await;
                    }
                }
                true
            }
            DialogState::Terminated(d, reason) if d.call_id == leg.call_id => {
                tracing::info!(call = %self.id, ?reason, "mediator's leg ended");
                if let Some(leg) = self.mediator.take() {
                    self.release(leg, LegEnd::Ended).await;
                }
                true
            }
            DialogState::Calling(d)
            | DialogState::Trying(d)
            | DialogState::Early(d, _)
            | DialogState::WaitAck(d, _) => d.call_id == leg.call_id,
            _ => false,
        }
    }

    /// The mediator answered: the relay becomes a conference of three on the same
    /// ports (or the mediator joins the one already running).
    async fn join_mediator(&mut self, answer: &[u8]) -> Result<(), MediaError> {
        let mixable = self.mixable.ok_or(MediaError::NotMixable)?;
        let answer = Sdp::parse(answer).map_err(MediaError::Answer)?;
        let remote = answer.remote();
        let codec = remote.g711().unwrap_or(mixable.codec);
        let Some(leg) = self.mediator.as_mut() else {
            return Ok(());
        };
        let Some(pair) = leg.pair.take() else {
            // Joined already: the 200 OK came again.
            return Ok(());
        };
        let mediator = ConferenceLeg {
            pair,
            remote_rtp: remote.rtp,
            remote_rtcp: remote.rtcp,
            latched: false,
            codec,
            continues: None,
        };
        let party = match (&self.conference, self.media.take()) {
            (Some(conference), _) => conference.add(mediator).await?,
            (None, Some(media)) => {
                let [caller, operator] = media.into_legs().await;
                let legs = vec![
                    ConferenceLeg::from_relay(caller, mixable.codec),
                    ConferenceLeg::from_relay(operator, mixable.codec),
                    mediator,
                ];
                let (conference, parties) = Conference::start(legs)?;
                self.conference = Some(conference);
                parties
                    .get(2)
                    .copied()
                    .ok_or(MediaError::Conference(MixerError::NoParty))?
            }
            (None, None) => return Err(MediaError::NotMixable),
        };
        if let Some(leg) = self.mediator.as_mut() {
            leg.party = Some(party);
            let dial = leg.dial.clone();
            self.mediation(&dial, MediationState::Joined).await;
            tracing::info!(call = %self.id, mediator = %dial.code, "mediator joined");
        }
        Ok(())
    }

    async fn leave_conference(&mut self, party: PartyId) {
        if let Some(conference) = &self.conference {
            if let Err(e) = conference.remove(party).await {
                tracing::warn!(call = %self.id, error = %e, "mediator not taken out of the mix");
            }
        }
    }

    /// Moves the mediation request; a refusal (the request was closed meanwhile in the
    /// console) is logged, as the call itself must go on.
    async fn mediation(&self, dial: &MediatorDial, to: MediationState) {
        let now = self.ctx.state.clock.now();
        if let Err(e) = mediation::transition(
            &self.ctx.state.db,
            dial.request,
            to,
            Some(&dial.code),
            dial.by,
            now,
        )
        .await
        {
            tracing::warn!(call = %self.id, request = dial.request, to = %to, error = %e, "mediation request not moved");
        }
        self.ctx.state.board.poke();
    }
}

/// How a mediator's leg is ended once they are off the call.
#[derive(Debug, Clone, Copy)]
enum LegEnd {
    /// They answered: a BYE.
    Bye,
    /// Their phone still rings: a CANCEL.
    Cancel,
    /// Their side ended it already.
    Ended,
}
