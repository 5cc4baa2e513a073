//! One call in progress: the legs rung (operators' phones, then the on-call mobile),
//! which answered, and the call record moved at each turn.

use std::collections::{HashMap, VecDeque};

use rsipstack::dialog::client_dialog::ClientInviteDialog;
use rsipstack::dialog::dialog::{DialogState, DialogStateSender, TerminatedReason};
use rsipstack::dialog::server_dialog::ServerInviteDialog;
use rsipstack::sip::StatusCode;
use secrecy::SecretString;
use tokio::time::Instant;

use super::hold::Hold;
use super::mediator::{MediatorLeg, Mixable};
use super::CallContext;
use crate::calls::{CallId, CallState};
use crate::config::LineConfig;
use crate::telephony::config::RingStrategy;
use crate::telephony::media::{CallMedia, Codec, Conference, Sdp};
use crate::telephony::sip::overflow;
use crate::telephony::sip::phones::Phone;

/// One phone rung for a call (an operator's, or the on-call mobile through the trunk).
pub(super) struct Branch {
    /// The operator whose phone it is, when known.
    pub(super) user_id: Option<i64>,
    pub(super) dialog: ClientInviteDialog,
    pub(super) done: bool,
}

impl Branch {
    pub(super) fn new(user_id: Option<i64>, dialog: ClientInviteDialog) -> Self {
        Self {
            user_id,
            dialog,
            done: false,
        }
    }
}

/// One call in progress: its legs and how far it got.
pub(super) struct Run<'a> {
    pub(super) ctx: &'a CallContext,
    pub(super) id: CallId,
    pub(super) line: &'a LineConfig,
    /// The offer the phones get (the relay's address when media is anchored).
    pub(super) offer: Vec<u8>,
    /// The relay between the legs.
    pub(super) media: Option<CallMedia>,
    pub(super) states: DialogStateSender,
    pub(super) server: ServerInviteDialog,
    /// Operators not rung yet, in turn (one group: all at once).
    pub(super) pending: VecDeque<Vec<Phone>>,
    /// The service answered the trunk's leg itself (the menu): it is neither told of
    /// ringing nor answered again, and ends with a BYE rather than an error response.
    pub(super) answered: bool,
    /// When the operators have rung long enough: the call overflows.
    pub(super) ring_until: Instant,
    /// `ringing` was recorded.
    pub(super) ringing: bool,
    /// When the trunk's INVITE arrived.
    pub(super) arrived: Instant,
    /// Every leg rung, by its Call-ID.
    pub(super) branches: HashMap<String, Branch>,
    /// The leg that answered.
    pub(super) winner: Option<String>,
    /// Overflow was tried (it is tried once).
    pub(super) overflowed: bool,
    /// The on-call mobile was rung.
    pub(super) mobile_rung: bool,
    /// The caller's number (E.164), kept in memory only for a callback task if the call
    /// is missed; `None` when withheld.
    pub(super) number: Option<SecretString>,
    /// The G.711 law the trunk was answered with by the service itself (the menu).
    pub(super) codec: Option<Codec>,
    /// Once answered, what a mediator's mixing needs; `None` when the audio cannot be
    /// mixed (not anchored, or not G.711).
    pub(super) mixable: Option<Mixable>,
    /// The mediator dialled into the call, ringing or on it.
    pub(super) mediator: Option<MediatorLeg>,
    /// The three-party mix, once a mediator has joined (it replaces the relay).
    pub(super) conference: Option<Conference>,
    /// The hold audio, after the menu until an operator answers (the relay is started
    /// then, on the caller leg it gives back).
    pub(super) hold: Option<Hold>,
}

impl Run<'_> {
    /// Rings the next operator's phones (with `all`, every phone at once); when none is
    /// left or the time is up, overflow. `why` names the reason if nothing rings.
    pub(super) async fn ring_next(&mut self, why: &str) -> Option<Instant> {
        let now = Instant::now();
        if now >= self.ring_until {
            self.pending.clear();
        }
        while let Some(group) = self.pending.pop_front() {
            let mut rung = false;
            for phone in &group {
                match self
                    .ctx
                    .ring(phone, self.line, &self.offer, self.states.clone())
                {
                    Ok((call_id, dialog)) => {
                        self.branches
                            .insert(call_id, Branch::new(Some(phone.user_id), dialog));
                        rung = true;
                    }
                    Err(e) => {
                        tracing::warn!(call = %self.id, error = %e, "a phone could not be rung")
                    }
                }
            }
            if !rung {
                continue;
            }
            if !self.ringing {
                self.ringing = true;
                // INVITE in → the phones' INVITEs out: the service's share of the wait.
                metrics::histogram!("helpline_sip_invite_to_ring_seconds")
                    .record(self.arrived.elapsed().as_secs_f64());
                if !self.answered {
                    self.server.ringing(None, None).ok();
                }
                self.ctx
                    .record(self.id, CallState::Ringing, "phones_rung", None)
                    .await;
            }
            return Some(match self.ctx.strategy {
                // More than one group only after the menu: the others ring after a while.
                RingStrategy::All if !self.pending.is_empty() => {
                    (now + self.ctx.hunt).min(self.ring_until)
                }
                RingStrategy::All => self.ring_until,
                RingStrategy::LongestIdle => (now + self.ctx.hunt).min(self.ring_until),
            });
        }
        self.overflow_or_miss(why).await
    }

    /// Nobody took the call: once, the on-call mobile through the trunk; after that (or
    /// without overflow) the call is missed, the trunk told 480, and a callback task left.
    /// Returns the next deadline, `None` when the call is over.
    async fn overflow_or_miss(&mut self, why: &str) -> Option<Instant> {
        if !self.overflowed {
            self.overflowed = true;
            let now = self.ctx.state.clock.now();
            if let Some(target) = overflow::target(&self.ctx.state, now).await {
                match self.ctx.ring_out(
                    &target.number,
                    &target.outbound,
                    self.line,
                    &self.offer,
                    self.states.clone(),
                ) {
                    Ok((call_id, dialog)) => {
                        self.branches
                            .insert(call_id, Branch::new(target.user_id, dialog));
                        self.mobile_rung = true;
                        if !self.answered {
                            self.server.ringing(None, None).ok();
                        }
                        metrics::counter!("helpline_sip_overflows_total").increment(1);
                        self.ctx
                            .record(self.id, CallState::Overflowed, why, None)
                            .await;
                        return Some(Instant::now() + self.ctx.overflow_timeout);
                    }
                    Err(e) => {
                        tracing::error!(call = %self.id, error = %e, "on-call mobile not rung")
                    }
                }
            }
        }
        self.end_caller_leg(StatusCode::TemporarilyUnavailable)
            .await;
        let reason = if self.mobile_rung {
            "overflow_no_answer"
        } else {
            why
        };
        self.ctx
            .record(self.id, CallState::Missed, reason, None)
            .await;
        overflow::leave_callback(&self.ctx.state, self.id, self.number.as_ref()).await;
        None
    }

    /// Ends the caller's leg without an operator: an error response, or a BYE once the
    /// service has answered it.
    async fn end_caller_leg(&self, status: StatusCode) {
        if self.answered {
            self.server.bye().await.ok();
        } else {
            self.server.reject(Some(status), None).ok();
        }
    }

    /// A leg changed; returns the next deadline, `None` when the call is over.
    pub(super) async fn on_state(
        &mut self,
        state: DialogState,
        trunk: &str,
        until: Instant,
    ) -> Option<Instant> {
        if self.on_mediator_state(&state).await {
            return Some(until);
        }
        match state {
            DialogState::Confirmed(d, resp) if d.call_id != trunk => {
                let Some(branch) = self.branches.get(&d.call_id) else {
                    return Some(until);
                };
                if self.winner.is_some() {
                    // Answered at the same moment as the winner: hang it up.
                    branch.dialog.bye().await.ok();
                    return Some(until);
                }
                let user = branch.user_id;
                if let Some(hold) = self.hold.take() {
                    // The caller stops hearing the hold audio: the relay takes the leg.
                    if let Some(held) = hold.stop().await {
                        self.media = Some(held.relay().0);
                    }
                }
                let Some(branch) = self.branches.get(&d.call_id) else {
                    return Some(until);
                };
                let answer = match &self.media {
                    None => resp.body.clone(),
                    Some(media) => match media.answer(&resp.body) {
                        Ok(a) => a,
                        Err(e) => {
                            // The phone answered with media the relay cannot take.
                            tracing::warn!(call = %self.id, error = %e, "phone's SDP refused");
                            branch.dialog.bye().await.ok();
                            cancel_all(&mut self.branches, None).await;
                            self.end_caller_leg(StatusCode::NotAcceptableHere).await;
                            self.ctx
                                .record(self.id, CallState::Failed, "sdp_answer", None)
                                .await;
                            return None;
                        }
                    },
                };
                // What a mediator's conference will need: the law both legs speak.
                let codec = self.codec.or_else(|| {
                    Sdp::parse(&resp.body)
                        .ok()
                        .and_then(|sdp| sdp.remote().g711())
                });
                self.mixable = match (&self.media, codec) {
                    (Some(media), Some(codec)) => Some(Mixable {
                        codec,
                        advertised: media.advertised(),
                    }),
                    _ => None,
                };
                self.winner = Some(d.call_id.clone());
                cancel_all(&mut self.branches, self.winner.as_deref()).await;
                if self.answered {
                    // The trunk has had our answer since the menu: the relay bridges.
                } else if let Err(e) = self.server.accept(None, Some(answer)) {
                    tracing::error!(call = %self.id, error = %e, "caller's leg not answered");
                }
                let why = if self.mobile_rung {
                    "overflow_answered"
                } else {
                    "sip_answered"
                };
                self.ctx
                    .record(self.id, CallState::Answered, why, user)
                    .await;
                Some(until)
            }
            DialogState::Terminated(d, reason) if d.call_id == trunk => {
                match &self.winner {
                    None => {
                        cancel_all(&mut self.branches, None).await;
                        self.ctx
                            .record(self.id, CallState::Abandoned, "caller_hung_up", None)
                            .await;
                    }
                    Some(w) => {
                        // The record first: the phone's answer to our BYE may take up
                        // to half a minute of retransmissions, and the call is over.
                        let why = match reason {
                            TerminatedReason::UacBye => "caller_hung_up",
                            _ => "caller_leg_ended",
                        };
                        self.ctx.record(self.id, CallState::Ended, why, None).await;
                        if let Some(b) = self.branches.get(w) {
                            b.dialog.bye().await.ok();
                        }
                    }
                }
                None
            }
            DialogState::Terminated(d, _) => {
                if self.winner.as_deref() == Some(d.call_id.as_str()) {
                    self.ctx
                        .record(self.id, CallState::Ended, "operator_hung_up", None)
                        .await;
                    self.server.bye().await.ok();
                    return None;
                }
                if let Some(b) = self.branches.get_mut(&d.call_id) {
                    b.done = true;
                }
                if self.winner.is_none() && self.branches.values().all(|b| b.done) {
                    return self.ring_next("no_answer").await;
                }
                Some(until)
            }
            _ => Some(until),
        }
    }
}

/// Cancels every leg still ringing but `keep`.
pub(super) async fn cancel_all(branches: &mut HashMap<String, Branch>, keep: Option<&str>) {
    for (call_id, b) in branches.iter_mut() {
        if Some(call_id.as_str()) == keep || b.done {
            continue;
        }
        b.dialog.cancel().await.ok();
        b.done = true;
    }
}
