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

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rsipstack::dialog::client_dialog::ClientInviteDialog;
use rsipstack::dialog::dialog::{DialogState, TerminatedReason};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invitation::InviteOption;
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{StatusCode, Uri};
use rsipstack::transaction::transaction::Transaction;

use super::phones::{self, Phone};
use crate::app::AppState;
use crate::calls::{CallId, CallState, CallerFingerprint, Channel, NewCall, Transition};
use crate::config::LineConfig;

/// What every call needs.
pub struct CallContext {
    /// The service.
    pub state: AppState,
    /// rsipstack's dialogs (ours on both legs).
    pub dialogs: Arc<DialogLayer>,
    /// Our Contact.
    pub contact: Uri,
    /// How long the phones ring before the call counts as missed.
    pub ring_timeout: Duration,
}

/// One phone rung for a call.
struct Branch {
    user_id: i64,
    dialog: ClientInviteDialog,
    done: bool,
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
        // The caller's number, turned at once into what is kept of it.
        let caller = {
            let raw = tx
                .original
                .from_header()
                .ok()
                .and_then(|f| f.uri().ok())
                .map(|u| user_of(&u))
                .unwrap_or_default();
            let empty = CallerFingerprint {
                hash: None,
                territory_hint: None,
            };
            if withheld(&raw) {
                empty
            } else {
                self.state
                    .hasher
                    .fingerprint(&raw, &self.state.directory.current())
                    .unwrap_or(empty)
            }
        };
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
        self.run(id, &line, tx).await;
    }

    async fn run(&self, id: CallId, line: &LineConfig, tx: Transaction) {
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
        let offer = tx.original.body.clone();
        let trunk_call_id = server.id().call_id.clone();
        let mut trunk_tx = tx;
        let mut trunk_leg = server.clone();
        tokio::spawn(async move { trunk_leg.handle(&mut trunk_tx).await });

        let phones = match phones::available(&self.state.db, Utc::now()).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(call = %id, error = %e, "phones not read");
                Vec::new()
            }
        };
        if phones.is_empty() {
            server
                .reject(Some(StatusCode::TemporarilyUnavailable), None)
                .ok();
            self.record(id, CallState::Missed, "no_operator_available", None)
                .await;
            self.dialogs.remove_dialog(&server.id());
            return;
        }
        server.ringing(None, None).ok();
        let mut branches: HashMap<String, Branch> = HashMap::new();
        for phone in &phones {
            match self.ring(phone, line, &offer, states_tx.clone()) {
                Ok((call_id, dialog)) => {
                    branches.insert(
                        call_id,
                        Branch {
                            user_id: phone.user_id,
                            dialog,
                            done: false,
                        },
                    );
                }
                Err(e) => tracing::warn!(call = %id, error = %e, "a phone could not be rung"),
            }
        }
        if branches.is_empty() {
            server
                .reject(Some(StatusCode::TemporarilyUnavailable), None)
                .ok();
            self.record(id, CallState::Missed, "no_phone_reachable", None)
                .await;
            self.dialogs.remove_dialog(&server.id());
            return;
        }
        self.record(id, CallState::Ringing, "phones_rung", None)
            .await;

        let ring = tokio::time::sleep(self.ring_timeout);
        tokio::pin!(ring);
        let mut winner: Option<String> = None;
        loop {
            tokio::select! {
                () = &mut ring, if winner.is_none() => {
                    cancel_all(&mut branches, None).await;
                    server.reject(Some(StatusCode::TemporarilyUnavailable), None).ok();
                    self.record(id, CallState::Missed, "ring_timeout", None).await;
                    break;
                }
                state = states.recv() => {
                    let Some(state) = state else { break };
                    match state {
                        DialogState::Confirmed(d, resp) if d.call_id != trunk_call_id => {
                            let Some(branch) = branches.get(&d.call_id) else { continue };
                            if winner.is_some() {
                                // Answered at the same moment as the winner: hang it up.
                                branch.dialog.bye().await.ok();
                                continue;
                            }
                            let user = branch.user_id;
                            winner = Some(d.call_id.clone());
                            cancel_all(&mut branches, winner.as_deref()).await;
                            if let Err(e) = server.accept(None, Some(resp.body.clone())) {
                                tracing::error!(call = %id, error = %e, "caller's leg not answered");
                            }
                            self.record(id, CallState::Answered, "sip_answered", Some(user)).await;
                        }
                        DialogState::Terminated(d, reason) if d.call_id == trunk_call_id => {
                            match &winner {
                                None => {
                                    cancel_all(&mut branches, None).await;
                                    self.record(id, CallState::Abandoned, "caller_hung_up", None).await;
                                }
                                Some(w) => {
                                    if let Some(b) = branches.get(w) {
                                        b.dialog.bye().await.ok();
                                    }
                                    let why = match reason {
                                        TerminatedReason::UacBye => "caller_hung_up",
                                        _ => "caller_leg_ended",
                                    };
                                    self.record(id, CallState::Ended, why, None).await;
                                }
                            }
                            break;
                        }
                        DialogState::Terminated(d, _) => {
                            if winner.as_deref() == Some(d.call_id.as_str()) {
                                server.bye().await.ok();
                                self.record(id, CallState::Ended, "operator_hung_up", None).await;
                                break;
                            }
                            if let Some(b) = branches.get_mut(&d.call_id) {
                                b.done = true;
                            }
                            if winner.is_none() && branches.values().all(|b| b.done) {
                                server.reject(Some(StatusCode::TemporarilyUnavailable), None).ok();
                                self.record(id, CallState::Missed, "no_answer", None).await;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        self.dialogs.remove_dialog(&server.id());
        for b in branches.values() {
            self.dialogs.remove_dialog(&b.dialog.id());
        }
    }

    /// Starts ringing one phone; returns the leg's Call-ID and dialog.
    fn ring(
        &self,
        phone: &Phone,
        line: &LineConfig,
        offer: &[u8],
        states: rsipstack::dialog::dialog::DialogStateSender,
    ) -> Result<(String, ClientInviteDialog), LegError> {
        let callee = Uri::try_from(phone.contact.as_str()).map_err(LegError::of)?;
        let destination = phone.destination()?;
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
