//! A call from the trunk, as a back-to-back user agent: the trunk's leg is answered by
//! us, and every phone of the operators marked available is rung on its own leg (fork);
//! the first to answer is bridged to the caller and the other legs are cancelled.
//!
//! The call record follows: offered → queued → ringing → answered (by whom) → ended;
//! abandoned when the caller hangs up first; missed when nobody answers in time or
//! nobody is available. The caller's number becomes the keyed hash and the territory
//! hint as the INVITE arrives and goes no further: the phones see the help-line's
//! number, never the caller's.
//!
//! Media still flows between the trunk and the phone directly (the SDP is passed
//! through); anchoring it in an RTP relay is the next step.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use chrono::Utc;
use rsipstack::dialog::client_dialog::ClientInviteDialog;
use rsipstack::dialog::dialog::{DialogState, DialogStateSender, TerminatedReason};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::dialog::server_dialog::ServerInviteDialog;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{StatusCode, Uri};
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transport::SipAddr;

use super::overflow::{self, OverflowTarget};
use super::phones::{self, Phone};
use crate::app::AppState;
use crate::calls::caller::e164;
use crate::calls::{CallId, CallState, CallerFingerprint, Channel, NewCall, Transition};
use crate::config::LineConfig;
use crate::telephony::config::{RingStrategy, StaticPhone};
use crate::telephony::media::{CallMedia, MediaError, PortPool};

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
    /// With `longest_idle`, how long each operator's phones ring.
    pub hunt: Duration,
    /// Desk phones configured without registration.
    pub phones: Vec<StaticPhone>,
    /// Ports of the RTP relay.
    pub media: PortPool,
    /// The address in our SDP, when configured (else the one facing the trunk).
    pub advertised: Option<IpAddr>,
}

/// The local address this host uses towards `remote` (no packet is sent).
fn local_ip_towards(remote: SocketAddr) -> Option<IpAddr> {
    let unspecified: IpAddr = if remote.is_ipv4() {
        Ipv4Addr::UNSPECIFIED.into()
    } else {
        Ipv6Addr::UNSPECIFIED.into()
    };
    let socket = std::net::UdpSocket::bind((unspecified, 0)).ok()?;
    socket.connect(remote).ok()?;
    socket.local_addr().ok().map(|a| a.ip())
}

/// One phone rung for a call (an operator's, or the on-call mobile through the trunk).
struct Branch {
    /// The operator whose phone it is, when known.
    user_id: Option<i64>,
    dialog: ClientInviteDialog,
    done: bool,
}

impl Branch {
    fn new(user_id: Option<i64>, dialog: ClientInviteDialog) -> Self {
        Self {
            user_id,
            dialog,
            done: false,
        }
    }
}

/// One call in progress: its legs and how far it got.
struct Run<'a> {
    ctx: &'a CallContext,
    id: CallId,
    line: &'a LineConfig,
    /// The offer the phones get (the relay's address when media is anchored).
    offer: Vec<u8>,
    /// The relay between the legs.
    media: Option<CallMedia>,
    states: DialogStateSender,
    server: ServerInviteDialog,
    /// Operators not rung yet, in turn (one group: all at once).
    pending: VecDeque<Vec<Phone>>,
    /// When the operators have rung long enough: the call overflows.
    ring_until: Instant,
    /// `ringing` was recorded.
    ringing: bool,
    /// Every leg rung, by its Call-ID.
    branches: HashMap<String, Branch>,
    /// The leg that answered.
    winner: Option<String>,
    /// Overflow was tried (it is tried once).
    overflowed: bool,
    /// The on-call mobile was rung.
    mobile_rung: bool,
    /// The caller's number (E.164), kept in memory only for a callback task if the call
    /// is missed; `None` when withheld.
    number: Option<SecretString>,
}

impl Run<'_> {
    /// Rings the next operator's phones (with `all`, every phone at once); when none is
    /// left or the time is up, overflow. `why` names the reason if nothing rings.
    async fn ring_next(&mut self, why: &str) -> Option<Instant> {
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
                self.server.ringing(None, None).ok();
                self.ctx
                    .record(self.id, CallState::Ringing, "phones_rung", None)
                    .await;
            }
            return Some(match self.ctx.strategy {
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
                match self
                    .ctx
                    .ring_out(&target, self.line, &self.offer, self.states.clone())
                {
                    Ok((call_id, dialog)) => {
                        self.branches
                            .insert(call_id, Branch::new(target.user_id, dialog));
                        self.mobile_rung = true;
                        self.server.ringing(None, None).ok();
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
        self.server
            .reject(Some(StatusCode::TemporarilyUnavailable), None)
            .ok();
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

    /// A leg changed; returns the next deadline, `None` when the call is over.
    async fn on_state(
        &mut self,
        state: DialogState,
        trunk: &str,
        until: Instant,
    ) -> Option<Instant> {
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
                let answer = match &self.media {
                    None => resp.body.clone(),
                    Some(media) => match media.answer(&resp.body) {
                        Ok(a) => a,
                        Err(e) => {
                            // The phone answered with media the relay cannot take.
                            tracing::warn!(call = %self.id, error = %e, "phone's SDP refused");
                            branch.dialog.bye().await.ok();
                            cancel_all(&mut self.branches, None).await;
                            self.server
                                .reject(Some(StatusCode::NotAcceptableHere), None)
                                .ok();
                            self.ctx
                                .record(self.id, CallState::Failed, "sdp_answer", None)
                                .await;
                            return None;
                        }
                    },
                };
                self.winner = Some(d.call_id.clone());
                cancel_all(&mut self.branches, self.winner.as_deref()).await;
                if let Err(e) = self.server.accept(None, Some(answer)) {
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
                        if let Some(b) = self.branches.get(w) {
                            b.dialog.bye().await.ok();
                        }
                        let why = match reason {
                            TerminatedReason::UacBye => "caller_hung_up",
                            _ => "caller_leg_ended",
                        };
                        self.ctx.record(self.id, CallState::Ended, why, None).await;
                    }
                }
                None
            }
            DialogState::Terminated(d, _) => {
                if self.winner.as_deref() == Some(d.call_id.as_str()) {
                    self.server.bye().await.ok();
                    self.ctx
                        .record(self.id, CallState::Ended, "operator_hung_up", None)
                        .await;
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

/// The user part of a SIP URI, or of a `tel:` number; "" when absent.
fn user_of(uri: &Uri) -> String {
    uri.user().unwrap_or_default().to_string()
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
        let number: String = user_of(&tx.original.uri)
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let Some(line) = self
            .state
            .config
            .lines
            .iter()
            .find(|l| l.number == number)
            .cloned()
        else {
            metrics::counter!("helpline_sip_rejected_total", "reason" => "unknown_line")
                .increment(1);
            tx.reply(StatusCode::NotFound).await.ok();
            return;
        };
        // The caller's number, turned at once into what is kept of it; the number itself
        // stays in this call's memory only, for a callback task if nobody answers.
        let raw = SecretString::from(
            tx.original
                .from_header()
                .ok()
                .and_then(|f| f.uri().ok())
                .map(|u| user_of(&u))
                .unwrap_or_default(),
        );
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
        let new = NewCall {
            channel: Channel::Sip,
            line: Some(line.number.clone()),
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
        metrics::counter!("helpline_sip_calls_total").increment(1);
        self.record(id, CallState::Queued, "sip", None).await;
        self.run(id, &line, tx, number).await;
    }

    async fn run(
        &self,
        id: CallId,
        line: &LineConfig,
        tx: Transaction,
        number: Option<SecretString>,
    ) {
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
                self.record(id, CallState::Failed, "sip_dialog", None).await;
                return;
            }
        };
        let (media, offer) = match self.anchor(id, &tx) {
            Ok(m) => m,
            Err((code, why)) => {
                server.reject(Some(code), None).ok();
                self.record(id, CallState::Failed, why, None).await;
                self.dialogs.remove_dialog(&server.id());
                return;
            }
        };
        let trunk_call_id = server.id().call_id.clone();
        let mut trunk_tx = tx;
        let mut trunk_leg = server.clone();
        tokio::spawn(async move { trunk_leg.handle(&mut trunk_tx).await });

        let operators = match phones::available(&self.state.db, Utc::now(), &self.phones).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(call = %id, error = %e, "phones not read");
                Vec::new()
            }
        };
        let nobody = operators.is_empty();
        let pending: VecDeque<Vec<Phone>> = match self.strategy {
            RingStrategy::All if nobody => VecDeque::new(),
            RingStrategy::All => {
                VecDeque::from([operators.into_iter().flat_map(|o| o.phones).collect()])
            }
            RingStrategy::LongestIdle => operators.into_iter().map(|o| o.phones).collect(),
        };
        let mut run = Run {
            ctx: self,
            id,
            line,
            offer,
            media,
            states: states_tx,
            server,
            pending,
            ring_until: Instant::now() + self.ring_timeout,
            ringing: false,
            branches: HashMap::new(),
            winner: None,
            overflowed: false,
            mobile_rung: false,
            number,
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
            }
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
    fn anchor(
        &self,
        id: CallId,
        tx: &Transaction,
    ) -> Result<(Option<CallMedia>, Vec<u8>), (StatusCode, &'static str)> {
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

    /// Calls the on-call mobile out through the trunk.
    fn ring_out(
        &self,
        target: &OverflowTarget,
        line: &LineConfig,
        offer: &[u8],
        states: DialogStateSender,
    ) -> Result<(String, ClientInviteDialog), LegError> {
        let callee =
            Uri::try_from(format!("sip:{}@{}", target.number, target.outbound.addr).as_str())
                .map_err(LegError::of)?;
        let transport = if target.outbound.tcp {
            rsipstack::sip::transport::Transport::Tcp
        } else {
            rsipstack::sip::transport::Transport::Udp
        };
        let destination = SipAddr {
            r#type: Some(transport),
            addr: target.outbound.addr.into(),
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

/// Cancels every leg still ringing but `keep`.
async fn cancel_all(branches: &mut HashMap<String, Branch>, keep: Option<&str>) {
    for (call_id, b) in branches.iter_mut() {
        if Some(call_id.as_str()) == keep || b.done {
            continue;
        }
        b.dialog.cancel().await.ok();
        b.done = true;
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
