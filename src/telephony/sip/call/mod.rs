//! A call from the trunk, as a back-to-back user agent: the trunk's leg is answered by
//! us, and the phones of the operators marked available are rung on legs of their own
//! (all at once, or one operator at a time); the first to answer is bridged to the
//! caller and the other legs are cancelled. Nobody: the on-call mobile through the trunk
//! (`overflow.rs`); still nobody: missed, with a callback task. The legs and the record
//! of one call in progress are in `legs.rs`.
//!
//! The call record follows: offered → queued → ringing → (overflowed) → answered (by
//! whom) → ended; abandoned when the caller hangs up first; missed when nobody answers.
//! The caller's number becomes the keyed hash and the territory hint as the INVITE
//! arrives; the number itself stays in this call's memory only, for a callback task.
//! The phones see the help-line's number, never the caller's.
//!
//! The audio goes through the RTP relay (`media/`): each leg's SDP is rewritten to it.
//!
//! With the language menu on (`menu.rs`), the service answers the trunk's leg itself
//! first, the record goes offered → menu → queued with the language chosen, and the
//! operators who speak it ring first; the phone that answers is then only bridged.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use chrono::Utc;
use rsipstack::dialog::client_dialog::ClientInviteDialog;
use rsipstack::dialog::dialog::DialogStateSender;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::sip::{StatusCode, Uri};
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transport::SipAddr;

use super::parties;
use super::phones::{self, Phone};
use legs::{cancel_all, Run};

mod hold;
mod legs;
mod mediator;
mod menu;
use crate::app::AppState;
use crate::calls::caller::e164;
use crate::calls::{CallId, CallState, CallerFingerprint, Channel, NewCall, Transition};
use crate::config::LineConfig;
use crate::telephony::config::{Outbound, RingStrategy, StaticPhone};
use crate::telephony::media::{CallMedia, HoldPlan, Language, MediaError, PortPool};

/// What every call needs.
pub struct CallContext {
    /// The service.
    pub state: AppState,
    /// rsipstack's dialogs (ours on both legs).
    pub dialogs: Arc<DialogLayer>,
    /// Our Contact.
    pub contact: Uri,
    /// How long the phones ring before the call overflows.
    pub ring_timeout: Duration,
    /// How long the on-call mobile rings before the call counts as missed.
    pub overflow_timeout: Duration,
    /// How the operators' phones ring.
    pub strategy: RingStrategy,
    /// With `longest_idle`, how long each operator's phones ring; after the menu, how
    /// long those who speak the caller's language ring before the others.
    pub hunt: Duration,
    /// Whether the language menu is on (`[sip] menu`; each line says when).
    pub menu: bool,
    /// How long the menu waits for a key after it has been played.
    pub menu_wait: Duration,
    /// The languages the menu offers, in order.
    pub menu_languages: Vec<Language>,
    /// When a caller on hold hears that the operators are busy.
    pub hold: HoldPlan,
    /// Desk phones configured without registration.
    pub phones: Vec<StaticPhone>,
    /// Ports of the RTP relay.
    pub media: PortPool,
    /// The address in our SDP, when configured (else the one facing the trunk).
    pub advertised: Option<IpAddr>,
}

/// A call's relayed media (none for a late offer) and the offer the phones get.
type Anchored = (Option<CallMedia>, Vec<u8>);

/// The local address this host uses towards `remote` (no packet is sent).
pub(super) fn local_ip_towards(remote: SocketAddr) -> Option<IpAddr> {
    let unspecified: IpAddr = if remote.is_ipv4() {
        Ipv4Addr::UNSPECIFIED.into()
    } else {
        Ipv6Addr::UNSPECIFIED.into()
    };
    let socket = std::net::UdpSocket::bind((unspecified, 0)).ok()?;
    socket.connect(remote).ok()?;
    socket.local_addr().ok().map(|a| a.ip())
}

/// A number given as withheld by the trunk.
fn withheld(user: &str) -> bool {
    let u = user.to_ascii_lowercase();
    u.is_empty() || u == "anonymous" || u == "restricted" || u == "unavailable"
}

impl CallContext {
    async fn record(&self, id: CallId, to: CallState, reason: &str, actor: Option<i64>) {
        let change = Transition {
            to,
            at: self.state.clock.now(),
            reason: Some(reason.to_string()),
            actor_user_id: actor,
        };
        if let Err(e) = self.state.calls.transition(id, change).await {
            tracing::error!(call = %id, to = %to, error = %e, "call record not updated");
        }
        self.state.board.poke();
    }

    /// Takes a call from the trunk, start to end.
    pub async fn take(self: Arc<Self>, mut tx: Transaction) {
        let arrived = Instant::now();
        // The number dialled (digits only, and no more than a number has).
        let dialled: String = parties::called_number(&tx.original)
            .chars()
            .take(20)
            .collect();
        // The caller's number, turned at once into what is kept of it; the number itself
        // stays in this call's memory only, for a callback task if nobody answers.
        let raw = SecretString::from(parties::caller_user(&tx.original));
        let empty = CallerFingerprint {
            hash: None,
            territory_hint: None,
        };
        let (caller, number) = if withheld(raw.expose_secret()) {
            (empty, None)
        } else {
            let caller = self
                .state
                .hasher
                .fingerprint(raw.expose_secret(), &self.state.directory.current())
                .unwrap_or(empty);
            let number = e164(raw.expose_secret())
                .ok()
                .flatten()
                .map(SecretString::from);
            (caller, number)
        };
        drop(raw);
        let line = self
            .state
            .config
            .lines
            .iter()
            .find(|l| l.number == dialled)
            .cloned();
        // Every INVITE from the trunk leaves a record, one to a number that is not a
        // line of ours too (a routing mistake upstream is then visible).
        let new = NewCall {
            channel: Channel::Sip,
            line: Some(
                line.as_ref()
                    .map_or_else(|| dialled.clone(), |l| l.number.clone()),
            ),
            caller,
            language: None,
            opened_by: None,
        };
        let id = match self.state.calls.open(new, self.state.clock.now()).await {
            Ok(id) => id,
            Err(e) => {
                // Without a record the call must not be taken: the trunk falls back.
                tracing::error!(error = %e, "call record not opened; call refused");
                tx.reply(StatusCode::ServerInternalError).await.ok();
                return;
            }
        };
        let Some(line) = line else {
            metrics::counter!("helpline_sip_rejected_total", "reason" => "unknown_line")
                .increment(1);
            tx.reply(StatusCode::NotFound).await.ok();
            self.record(id, CallState::Failed, "unknown_line", None)
                .await;
            return;
        };
        metrics::counter!("helpline_sip_calls_total").increment(1);
        self.run(id, &line, tx, number, arrived).await;
    }

    async fn run(
        &self,
        id: CallId,
        line: &LineConfig,
        mut tx: Transaction,
        number: Option<SecretString>,
        arrived: Instant,
    ) {
        // The media first: a refusal is answered on the transaction itself, which then
        // absorbs the trunk's retransmissions (no dialog is set up for it).
        let closed = !line.open_schedule().plays_at(self.state.clock.now());
        let menu = if closed || self.menu_plays(line) {
            self.anchor_for_menu(id, &tx)
        } else {
            Ok(None)
        };
        if closed && !matches!(menu, Ok(Some(_))) {
            // Closed, and no message can be played: the trunk says so with a code.
            tx.reply(StatusCode::TemporarilyUnavailable).await.ok();
            self.closed(id, number.as_ref()).await;
            return;
        }
        let anchored = match menu {
            Ok(Some(m)) => Ok((None, Vec::new(), Some(m))),
            Ok(None) => self
                .anchor(id, &tx)
                .map(|(media, offer)| (media, offer, None)),
            Err(e) => Err(e),
        };
        let (media, offer, menu) = match anchored {
            Ok(m) => m,
            Err((code, why)) => {
                tx.reply(code).await.ok();
                self.record(id, CallState::Failed, why, None).await;
                return;
            }
        };
        let (states_tx, mut states) = self.dialogs.new_dialog_state_channel();
        let server = match self.dialogs.get_or_create_server_invite(
            &tx,
            states_tx.clone(),
            None,
            Some(self.contact.clone()),
        ) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(call = %id, error = %e, "trunk leg not set up");
                tx.reply(StatusCode::ServerInternalError).await.ok();
                self.record(id, CallState::Failed, "sip_dialog", None).await;
                return;
            }
        };
        let trunk_call_id = server.id().call_id.clone();
        let mut trunk_tx = tx;
        let mut trunk_leg = server.clone();
        tokio::spawn(async move { trunk_leg.handle(&mut trunk_tx).await });

        // The menu answers the caller, then hands the caller leg's ports to the relay.
        let answered = menu.is_some();
        let (media, offer, language) = match menu {
            None => (media, offer, None),
            Some((mut menu_media, answer)) => {
                if let Err(e) = server.accept(None, Some(answer)) {
                    tracing::error!(call = %id, error = %e, "caller's leg not answered");
                    self.record(id, CallState::Failed, "sip_answer", None).await;
                    self.dialogs.remove_dialog(&server.id());
                    return;
                }
                if closed {
                    self.closed_message(id, &mut menu_media, &mut states, &trunk_call_id)
                        .await;
                    server.bye().await.ok();
                    self.closed(id, number.as_ref()).await;
                    self.dialogs.remove_dialog(&server.id());
                    return;
                }
                let chosen = self
                    .language_menu(id, &mut menu_media, &mut states, &trunk_call_id)
                    .await;
                let Some(language) = chosen else {
                    self.dialogs.remove_dialog(&server.id());
                    return;
                };
                // The relay starts when an operator answers; until then the caller leg
                // plays the hold audio.
                let codec = menu_media.codec();
                let offer = menu_media.offer_for_phones();
                (None, offer, Some((language, codec, menu_media)))
            }
        };

        // The call is queued while the phones to ring are read: two round trips at once,
        // not one after the other, before the first phone rings.
        let (_, available) = tokio::join!(
            self.record(id, CallState::Queued, "sip", None),
            phones::available(&self.state.db, Utc::now(), &self.phones)
        );
        let operators = match available {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(call = %id, error = %e, "phones not read");
                Vec::new()
            }
        };
        let nobody = operators.is_empty();
        let pending = menu::ring_order(operators, self.strategy, language.as_ref().map(|l| l.0));
        let (codec, hold) = match language {
            Some((language, codec, held)) => (
                Some(codec),
                Some(self.start_hold(id, held, language, nobody)),
            ),
            None => (None, None),
        };
        // From now on the console can reach the call (a mediator added or dropped).
        let (_registered, mut commands) = self.state.live.register(id);
        let mut run = Run {
            ctx: self,
            id,
            line,
            offer,
            media,
            states: states_tx,
            server,
            pending,
            answered,
            ring_until: Instant::now() + self.ring_timeout,
            ringing: false,
            arrived,
            branches: HashMap::new(),
            winner: None,
            overflowed: false,
            mobile_rung: false,
            number,
            codec,
            hold,
            mixable: None,
            mediator: None,
            conference: None,
        };
        let why = if nobody {
            "no_operator_available"
        } else {
            "no_phone_reachable"
        };
        let mut deadline = run.ring_next(why).await;

        while let Some(until) = deadline {
            tokio::select! {
                () = tokio::time::sleep_until(until), if run.winner.is_none() => {
                    cancel_all(&mut run.branches, None).await;
                    deadline = run.ring_next("ring_timeout").await;
                }
                state = states.recv() => {
                    let Some(state) = state else { break };
                    deadline = run.on_state(state, &trunk_call_id, until).await;
                }
                Some(command) = commands.recv() => run.on_command(command).await,
                () = tokio::time::sleep_until(run.mediator_deadline().unwrap_or(until)),
                    if run.mediator_deadline().is_some() => run.mediator_rang_out().await,
            }
        }
        run.end_mediation().await;
        if let Some(hold) = run.hold.take() {
            // Nobody answered: the caller leg's ports go back with the menu's media.
            drop(hold.stop().await);
        }
        self.dialogs.remove_dialog(&run.server.id());
        for b in run.branches.values() {
            self.dialogs.remove_dialog(&b.dialog.id());
        }
        if let Some(media) = run.media.take() {
            let stats = media.stop().await;
            let (up, down) = (&stats.caller_to_operator, &stats.operator_to_caller);
            metrics::counter!("helpline_rtp_packets_total", "direction" => "caller_to_operator")
                .increment(up.rtp_packets);
            metrics::counter!("helpline_rtp_packets_total", "direction" => "operator_to_caller")
                .increment(down.rtp_packets);
            tracing::info!(
                call = %id,
                caller_to_operator = up.rtp_packets,
                operator_to_caller = down.rtp_packets,
                dropped = up.dropped + down.dropped,
                "media relayed"
            );
        }
    }

    /// Anchors the call's media in the relay: returns it and the offer the phones get
    /// (our address and port). An INVITE without SDP (late offer) is passed on as it is.
    fn anchor(&self, id: CallId, tx: &Transaction) -> Result<Anchored, (StatusCode, &'static str)> {
        let body = &tx.original.body;
        if body.is_empty() {
            tracing::warn!(call = %id, "INVITE without SDP: media not anchored");
            return Ok((None, Vec::new()));
        }
        let advertised = self
            .advertised
            .or_else(|| super::source_of(&tx.original).and_then(|(_, a)| local_ip_towards(a)))
            .ok_or((StatusCode::ServerInternalError, "no_media_address"))?;
        match CallMedia::from_offer(&self.media, advertised, body) {
            Ok((media, offer)) => Ok((Some(media), offer)),
            Err(MediaError::Offer(e)) => {
                tracing::warn!(call = %id, error = %e, "caller's SDP refused");
                Err((StatusCode::NotAcceptableHere, "sdp_offer"))
            }
            Err(e) => {
                tracing::error!(call = %id, error = %e, "media not anchored");
                Err((StatusCode::ServiceUnavailable, "no_media_ports"))
            }
        }
    }

    /// Starts ringing one phone; returns the leg's Call-ID and dialog.
    fn ring(
        &self,
        phone: &Phone,
        line: &LineConfig,
        offer: &[u8],
        states: DialogStateSender,
    ) -> Result<(String, ClientInviteDialog), LegError> {
        let callee = Uri::try_from(phone.contact.as_str()).map_err(LegError::of)?;
        self.invite(callee, phone.destination()?, line, offer, states)
    }

    /// Calls a number (the on-call mobile, a mediator) out through the trunk.
    fn ring_out(
        &self,
        number: &str,
        outbound: &Outbound,
        line: &LineConfig,
        offer: &[u8],
        states: DialogStateSender,
    ) -> Result<(String, ClientInviteDialog), LegError> {
        let callee = Uri::try_from(format!("sip:{number}@{}", outbound.addr).as_str())
            .map_err(LegError::of)?;
        let transport = if outbound.tcp {
            rsipstack::sip::transport::Transport::Tcp
        } else {
            rsipstack::sip::transport::Transport::Udp
        };
        let destination = SipAddr {
            r#type: Some(transport),
            addr: outbound.addr.into(),
        };
        self.invite(callee, destination, line, offer, states)
    }

    /// Sends an INVITE on a new leg; returns its Call-ID and dialog.
    fn invite(
        &self,
        callee: Uri,
        destination: SipAddr,
        line: &LineConfig,
        offer: &[u8],
        states: DialogStateSender,
    ) -> Result<(String, ClientInviteDialog), LegError> {
        // The phone shows the line that was called, never the caller.
        let mut caller = self.contact.clone();
        caller.auth = Some(rsipstack::sip::Auth {
            user: line.number.clone(),
            password: None,
        });
        let call_id = uuid::Uuid::now_v7().to_string();
        let opt = InviteOption {
            caller_display_name: Some(line.name.clone()),
            caller_params: vec![],
            caller,
            callee,
            destination: Some(destination),
            content_type: Some("application/sdp".into()),
            offer: (!offer.is_empty()).then(|| offer.to_vec()),
            contact: self.contact.clone(),
            credential: None,
            headers: None,
            support_prack: false,
            call_id: Some(call_id.clone()),
        };
        // The layer keeps the leg findable for the phone's in-dialog requests (its BYE);
        // the call removes it when it ends.
        let (dialog, _leg) = self
            .dialogs
            .do_invite_async(opt, states)
            .map_err(LegError::of)?;
        Ok((call_id, dialog))
    }
}

/// A phone's leg could not be started.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LegError(pub(super) String);

impl LegError {
    fn of(e: impl std::fmt::Display) -> Self {
        Self(e.to_string())
    }
}
