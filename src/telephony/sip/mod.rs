//! The SIP endpoint on UDP and TCP, on the rsipstack transaction layer (RFC 3261
//! transactions and retransmission timers); the logic is ours: who may send what
//! (`guard.rs`, the trunk list), probes, the registrar.
//!
//! - OPTIONS: 200 from any address (trunks and monitors probe with it);
//! - REGISTER: the registrar (`registrar.rs`);
//! - INVITE: only from the trunk's addresses, anything else 403 and counted.

pub mod bindings;
pub mod call;
pub mod digest;
pub mod fuzz;
pub mod guard;
pub mod overflow;
pub mod parties;
pub mod phones;
pub mod registrar;
pub mod trunk_auth;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rsipstack::dialog::dialog_layer::DialogLayer;

use rsipstack::sip::headers::Allow;
use rsipstack::sip::prelude::{HeadersExt, ToTypedHeader};
use rsipstack::sip::{Header, Method, StatusCode, Uri};
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transport::tcp_listener::TcpListenerConnection;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::{SipAddr, TransportLayer};
use rsipstack::EndpointBuilder;
use tokio_util::sync::CancellationToken;

use super::config::Network;
use super::media::{HoldPlan, PortPool};
use crate::app::AppState;
use call::CallContext;
use guard::Guard;
use registrar::Registrar;
use trunk_auth::{TrunkAuth, TrunkCredentials};

/// Methods the endpoint answers.
const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER";

/// The SIP endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum SipError {
    /// The address cannot be bound.
    #[error("SIP endpoint on {addr}: {message}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        message: String,
    },
}

/// A running endpoint.
#[derive(Debug, Clone)]
pub struct SipServer {
    /// Where it listens (UDP and TCP).
    pub addr: SocketAddr,
}

/// What the dispatcher needs.
#[derive(Clone)]
struct Dispatch {
    trunks: Vec<Network>,
    /// A trunk known by its credentials rather than its address.
    trunk_credentials: Option<TrunkCredentials>,
    registrar: Registrar,
    dialogs: Arc<DialogLayer>,
    calls: Arc<CallContext>,
}

/// Binds UDP and TCP on the configured address and serves until `stop`. `nonce_key`
/// signs the registrar's nonces.
pub async fn start(
    state: &AppState,
    nonce_key: Vec<u8>,
    stop: CancellationToken,
) -> Result<SipServer, SipError> {
    let config = &state.config.sip;
    let bind_error = |addr: SocketAddr, e: &dyn std::fmt::Display| SipError::Bind {
        addr,
        message: e.to_string(),
    };
    let token = stop.child_token();
    let udp = UdpConnection::create_connection(config.addr, None, Some(token.clone()))
        .await
        .map_err(|e| bind_error(config.addr, &e))?;
    // With port 0 the UDP socket picked the port; TCP takes the same one.
    let addr = udp
        .get_addr()
        .get_socketaddr()
        .map_err(|e| bind_error(config.addr, &e))?;
    let addr = SocketAddr::new(config.addr.ip(), addr.port());
    let tcp_addr = SipAddr {
        r#type: Some(rsipstack::sip::transport::Transport::Tcp),
        addr: addr.into(),
    };
    let tcp = TcpListenerConnection::new(tcp_addr, None)
        .await
        .map_err(|e| bind_error(addr, &e))?;
    let layer = TransportLayer::new(token.clone());
    layer.add_transport(udp.into());
    layer.add_transport(tcp.into());
    let trunks = config
        .trunk_networks()
        .map_err(|bad| bind_error(addr, &format!("`{bad}` is not a trunk address")))?;
    let guard = Guard::new(
        &config.scanners,
        trunks.clone(),
        config.flood_per_second,
        config.flood_burst,
    );
    let endpoint = EndpointBuilder::new()
        .with_cancel_token(token.clone())
        .with_transport_layer(layer)
        .with_user_agent("helpline")
        .with_transport_inspector(Box::new(guard.clone()))
        .build();
    let mut incoming = endpoint
        .incoming_transactions()
        .map_err(|e| bind_error(addr, &e))?;
    let dialogs = Arc::new(DialogLayer::new(endpoint.inner.clone()));
    let contact = Uri {
        scheme: Some(rsipstack::sip::Scheme::Sip),
        auth: None,
        host_with_port: addr.into(),
        params: vec![],
        headers: vec![],
    };
    let dispatch = Dispatch {
        trunks,
        trunk_credentials: (!config.trunk_username.is_empty()).then(|| TrunkCredentials {
            username: config.trunk_username.clone(),
            password: config.trunk_password.clone(),
        }),
        dialogs: dialogs.clone(),
        calls: Arc::new(CallContext {
            state: state.clone(),
            dialogs,
            contact,
            ring_timeout: Duration::from_secs(u64::from(config.ring_timeout_seconds)),
            overflow_timeout: Duration::from_secs(u64::from(config.overflow_ring_seconds)),
            strategy: config.ring_strategy,
            hunt: Duration::from_secs(u64::from(config.hunt_seconds)),
            menu: config.menu,
            menu_wait: Duration::from_secs(u64::from(config.menu_wait_seconds)),
            menu_languages: config.offered_languages(),
            hold: HoldPlan {
                first: Duration::from_secs(u64::from(config.hold_announce_after_seconds)),
                every: Duration::from_secs(u64::from(config.hold_announce_every_seconds)),
            },
            phones: config.phones.clone(),
            media: PortPool::from_config(&state.config.media)
                .map_err(|e| bind_error(addr, &format!("media ports: {e}")))?,
            // Our SDP carries the configured public address, else the SIP address when it
            // names one, else (per call) the address facing the trunk.
            advertised: state
                .config
                .media
                .public_ip
                .or_else(|| (!addr.ip().is_unspecified()).then_some(addr.ip())),
        }),
        registrar: Registrar {
            db: state.db.clone(),
            realm: config.realm.clone(),
            nonces: digest::Nonces::new(nonce_key),
            min_seconds: config.register_min_seconds,
            max_seconds: config.register_max_seconds,
            algorithms: config.digest_algorithms.clone(),
        },
    };
    let inner = endpoint.inner.clone();
    tokio::spawn(async move {
        if let Err(e) = inner.serve().await {
            tracing::error!(error = %e, "SIP endpoint stopped");
        }
    });
    let stopping = token.clone();
    tokio::spawn(async move {
        let mut forget = tokio::time::interval(Duration::from_secs(60));
        loop {
            tokio::select! {
                () = stopping.cancelled() => break,
                _ = forget.tick() => guard.forget_quiet(),
                tx = incoming.recv() => {
                    let Some(tx) = tx else { break };
                    let dispatch = dispatch.clone();
                    tokio::spawn(async move { dispatch.handle(tx).await });
                }
            }
        }
        endpoint.shutdown();
    });
    tracing::info!(%addr, "SIP endpoint listening (UDP and TCP)");
    Ok(SipServer { addr })
}

/// Where a request came from: the top Via's `received`/`rport` (added by the transport
/// when they differ from what the sender wrote), else its sent-by.
pub(super) fn source_of(req: &rsipstack::sip::Request) -> Option<(String, SocketAddr)> {
    let via = req.via_header().ok()?.typed().ok()?;
    let ip: IpAddr = match via.received() {
        Some(r) => r.ok()?,
        None => via.uri.host_with_port.host.to_string().parse().ok()?,
    };
    let port = match via.rport() {
        Some(Some(p)) => p,
        _ => via
            .uri
            .host_with_port
            .port
            .map(|p| p.value())
            .unwrap_or(5060),
    };
    let transport = via.transport.to_string().to_lowercase();
    let addr = SocketAddr::new(ip, port);
    Some((format!("{transport}:{addr}"), addr))
}

impl Dispatch {
    async fn handle(&self, mut tx: Transaction) {
        let method = *tx.original.method();
        // Requests inside a call (the caller's or the operator's BYE, the caller's ACK)
        // belong to its dialog.
        if method != Method::Invite || has_to_tag(&tx.original) {
            if let Some(mut dialog) = self.dialogs.match_dialog(&tx) {
                if let Err(e) = dialog.handle(&mut tx).await {
                    tracing::debug!(%method, error = %e, "in-dialog request failed");
                }
                return;
            }
        }
        let result = match method {
            Method::Options => {
                let allow = Header::Allow(Allow::new(ALLOW));
                tx.reply_with(StatusCode::OK, vec![allow], None).await
            }
            Method::Register => match source_of(&tx.original) {
                Some((source, _)) => self.registrar.handle(&mut tx, &source).await,
                None => tx.reply(StatusCode::BadRequest).await,
            },
            Method::Invite if self.is_trunk(&tx) => {
                self.calls.clone().take(tx).await;
                return;
            }
            Method::Invite => match self.trunk_auth(&tx) {
                Some(TrunkAuth::Accepted) => {
                    self.calls.clone().take(tx).await;
                    return;
                }
                Some(TrunkAuth::Challenge { stale }) => {
                    self.registrar.challenge(&mut tx, stale).await
                }
                Some(TrunkAuth::Refused) | None => self.refuse_invite(&mut tx).await,
            },
            // An ACK for a final answer is absorbed by its transaction.
            Method::Ack => Ok(()),
            Method::Bye | Method::Cancel => tx.reply(StatusCode::CallTransactionDoesNotExist).await,
            _ => {
                let allow = Header::Allow(Allow::new(ALLOW));
                tx.reply_with(StatusCode::MethodNotAllowed, vec![allow], None)
                    .await
            }
        };
        if let Err(e) = result {
            tracing::warn!(%method, error = %e, "SIP transaction failed");
        }
    }

    fn is_trunk(&self, tx: &Transaction) -> bool {
        source_of(&tx.original)
            .is_some_and(|(_, addr)| self.trunks.iter().any(|n| n.contains(addr.ip())))
    }

    /// An INVITE from outside the trunks' addresses, checked against the trunk's
    /// credentials when there are any.
    fn trunk_auth(&self, tx: &Transaction) -> Option<TrunkAuth> {
        let trunk = self.trunk_credentials.as_ref()?;
        Some(trunk_auth::check(
            &tx.original,
            trunk,
            &self.registrar.realm,
            &self.registrar.nonces,
            chrono::Utc::now(),
        ))
    }

    async fn refuse_invite(&self, tx: &mut Transaction) -> rsipstack::Result<()> {
        metrics::counter!("helpline_sip_rejected_total", "reason" => "not_trunk").increment(1);
        tracing::warn!(
            source = ?source_of(&tx.original).map(|(s, _)| s),
            "INVITE refused: not from a trunk address, nor with the trunk's credentials"
        );
        tx.reply(StatusCode::Forbidden).await
    }
}

/// Whether the request names a dialog already set up (a to-tag).
fn has_to_tag(req: &rsipstack::sip::Request) -> bool {
    req.to_header()
        .ok()
        .and_then(|t| t.tag().ok().flatten())
        .is_some()
}
