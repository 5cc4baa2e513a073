//! A relay session: two legs, each an RTP/RTCP pair of ours facing one remote (the
//! trunk on the caller's side, the answering phone on the operator's). What arrives on
//! one leg leaves from the other leg's socket towards that leg's remote, untouched.
//!
//! Symmetric RTP (RFC 4961) and latching: a phone behind NAT sends from another address
//! than its SDP says, and only packets sent back to that real source get through its
//! NAT. So each socket adopts the source of the first packet it receives once its
//! remote is known; from then on packets from any other source are dropped, so nobody
//! spraying the port range can inject audio into a call.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

use super::ports::PortPair;

/// Largest datagram relayed whole (RTP over UDP stays well under an Ethernet MTU).
const MAX_DATAGRAM: usize = 4096;

/// Which side of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Towards the trunk (the caller).
    Caller,
    /// Towards the operator's phone.
    Operator,
}

impl Side {
    fn index(self) -> usize {
        match self {
            Side::Caller => 0,
            Side::Operator => 1,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Side::Caller => "caller",
            Side::Operator => "operator",
        }
    }

    fn other(self) -> Self {
        match self {
            Side::Caller => Side::Operator,
            Side::Operator => Side::Caller,
        }
    }
}

/// Counts of one direction (packets received on one leg, for the other).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirectionStats {
    /// RTP packets relayed.
    pub rtp_packets: u64,
    /// Their bytes (RTP header and payload).
    pub rtp_bytes: u64,
    /// RTCP packets relayed.
    pub rtcp_packets: u64,
    /// Their bytes.
    pub rtcp_bytes: u64,
    /// Packets not relayed: the other leg's remote not known yet, a source other than
    /// the latched one, or a send that failed.
    pub dropped: u64,
}

/// Counts of a session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayStats {
    /// From the trunk to the phone.
    pub caller_to_operator: DirectionStats,
    /// From the phone to the trunk.
    pub operator_to_caller: DirectionStats,
}

/// Live counters of one direction.
#[derive(Debug, Default)]
struct Counters {
    rtp_packets: AtomicU64,
    rtp_bytes: AtomicU64,
    rtcp_packets: AtomicU64,
    rtcp_bytes: AtomicU64,
    dropped: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> DirectionStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        DirectionStats {
            rtp_packets: get(&self.rtp_packets),
            rtp_bytes: get(&self.rtp_bytes),
            rtcp_packets: get(&self.rtcp_packets),
            rtcp_bytes: get(&self.rtcp_bytes),
            dropped: get(&self.dropped),
        }
    }

    fn relayed(&self, rtcp: bool, bytes: usize) {
        let (packets, total) = if rtcp {
            (&self.rtcp_packets, &self.rtcp_bytes)
        } else {
            (&self.rtp_packets, &self.rtp_bytes)
        };
        packets.fetch_add(1, Ordering::Relaxed);
        total.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

/// Where one of a leg's sockets sends, and whether it has latched.
#[derive(Debug, Default, Clone, Copy)]
struct Target {
    addr: Option<SocketAddr>,
    latched: bool,
}

/// A leg's remote: RTP and RTCP latch independently (NATs map them independently).
#[derive(Debug, Default)]
struct Remote {
    rtp: Target,
    rtcp: Target,
    /// The last RTP packet sent to it: kept under the lock the relay takes for every
    /// packet anyway, so the hot path takes no second one.
    sent: Option<SentRtp>,
}

/// One leg: our sockets, its remote, and the counts of what it receives.
#[derive(Debug)]
struct Leg {
    pair: PortPair,
    remote: Mutex<Remote>,
    received: Counters,
}

/// The last RTP packet a leg sent towards its remote: whoever takes the leg over (a
/// conference) goes on with the same stream, its SSRC, numbers and clock. Some phones
/// take a new SSRC whose numbers are lower than the old one's for late packets and drop
/// them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentRtp {
    /// Its SSRC.
    pub ssrc: u32,
    /// Its sequence number.
    pub sequence: u16,
    /// Its timestamp.
    pub timestamp: u32,
    /// When it was sent.
    pub at: tokio::time::Instant,
}

impl SentRtp {
    /// The stream of an RTP packet (version 2, full fixed header), sent now.
    fn of(packet: &[u8]) -> Option<Self> {
        let header = packet.get(..12)?;
        if header[0] >> 6 != 2 {
            return None;
        }
        Some(Self {
            sequence: u16::from_be_bytes([header[2], header[3]]),
            timestamp: u32::from_be_bytes([header[4], header[5], header[6], header[7]]),
            ssrc: u32::from_be_bytes([header[8], header[9], header[10], header[11]]),
            at: tokio::time::Instant::now(),
        })
    }
}

impl Leg {
    fn remote(&self) -> MutexGuard<'_, Remote> {
        // Two addresses and two flags, consistent after any panic: keep using them.
        self.remote.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn socket(&self, rtcp: bool) -> &UdpSocket {
        if rtcp {
            self.pair.rtcp()
        } else {
            self.pair.rtp()
        }
    }
}

/// A running relay between the caller's leg and the operator's leg.
///
/// Dropping it stops the relay; its ports go back to the pool as soon as its tasks are
/// gone. [`RelaySession::stop`] does the same and waits for that.
#[derive(Debug)]
pub struct RelaySession {
    legs: [Arc<Leg>; 2],
    tasks: Vec<JoinHandle<()>>,
}

impl RelaySession {
    /// Starts relaying between two pairs; a leg relays nothing towards its remote until
    /// [`set_remote`](Self::set_remote) has given it one.
    pub fn start(caller: PortPair, operator: PortPair) -> Self {
        let leg = |pair| {
            Arc::new(Leg {
                pair,
                remote: Mutex::new(Remote::default()),
                received: Counters::default(),
            })
        };
        let legs = [leg(caller), leg(operator)];
        let mut tasks = Vec::with_capacity(4);
        for side in [Side::Caller, Side::Operator] {
            for rtcp in [false, true] {
                let from = Arc::clone(&legs[side.index()]);
                let to = Arc::clone(&legs[side.other().index()]);
                tasks.push(tokio::spawn(forward(side, rtcp, from, to)));
            }
        }
        Self { legs, tasks }
    }

    /// Sets where a leg's remote wants media (from its SDP); it may latch anew.
    pub fn set_remote(&self, side: Side, rtp: SocketAddr, rtcp: SocketAddr) {
        let mut remote = self.legs[side.index()].remote();
        remote.rtp = Target {
            addr: Some(rtp),
            latched: false,
        };
        remote.rtcp = Target {
            addr: Some(rtcp),
            latched: false,
        };
    }

    /// Where a leg sends RTP now (after latching, the real source of the remote).
    pub fn remote_rtp(&self, side: Side) -> Option<SocketAddr> {
        self.legs[side.index()].remote().rtp.addr
    }

    /// Our RTP port on a leg (RTCP is the next one): what that leg's SDP must name.
    pub fn local_rtp_port(&self, side: Side) -> u16 {
        self.legs[side.index()].pair.rtp_port()
    }

    /// The counts so far.
    pub fn stats(&self) -> RelayStats {
        RelayStats {
            caller_to_operator: self.legs[Side::Caller.index()].received.snapshot(),
            operator_to_caller: self.legs[Side::Operator.index()].received.snapshot(),
        }
    }

    /// Stops relaying and frees the ports before returning; the final counts.
    pub async fn stop(mut self) -> RelayStats {
        self.halt().await;
        // The tasks' references are gone: dropping `self` drops the last ones, which
        // closes the sockets and returns the ports to the pool.
        self.stats()
    }

    /// Stops relaying and hands back both legs, caller's first, sockets still bound and
    /// ports still taken, so that the call can go on on the same ports in another shape
    /// (a conference when a mediator joins): the trunk and the phone keep sending where
    /// they send, and keep hearing us from where they hear us, without a re-INVITE.
    pub async fn into_legs(mut self) -> [RelayLeg; 2] {
        self.halt().await;
        let [caller, operator] = self.legs.clone();
        // Our own references go with `self`: the clones are then the only ones left.
        drop(self);
        [RelayLeg::take(caller).await, RelayLeg::take(operator).await]
    }

    /// Aborts the relay's tasks and waits until they are gone, and with them their
    /// references to the legs.
    async fn halt(&mut self) {
        let tasks = std::mem::take(&mut self.tasks);
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            // Cancelled, as asked: nothing to report.
            let _ = task.await;
        }
    }
}

impl Drop for RelaySession {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A leg of a stopped relay: its ports, still bound, and what the relay knew of its
/// remote. See [`RelaySession::into_legs`].
#[derive(Debug)]
pub struct RelayLeg {
    /// Our RTP/RTCP pair on this leg; its ports stay taken in the pool until dropped.
    pub pair: PortPair,
    /// Where the leg's RTP goes: the real source once latched, else the SDP's address;
    /// [`NO_REMOTE`] if the leg's SDP never came.
    pub remote_rtp: SocketAddr,
    /// The same for RTCP.
    pub remote_rtcp: SocketAddr,
    /// Whether the RTP remote latched (a packet came from it), so that whoever takes
    /// the leg over accepts that source only, as the relay did.
    pub latched: bool,
    /// What the relay received on this leg.
    pub received: DirectionStats,
    /// The last RTP packet the relay sent on this leg, for the stream to go on.
    pub sent: Option<SentRtp>,
}

/// The remote of a leg whose SDP never came: 0.0.0.0:0, where nothing is sent (as for
/// a stream on hold) and from where nothing is accepted.
pub const NO_REMOTE: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);

impl RelayLeg {
    /// The leg out of its `Arc`. The relay's tasks, the only other holders, have been
    /// awaited: the first try succeeds. Yielding rather than failing keeps the ports in
    /// hand even if a runtime were ever to drop an aborted task's future late.
    async fn take(mut shared: Arc<Leg>) -> Self {
        let leg = loop {
            match Arc::try_unwrap(shared) {
                Ok(leg) => break leg,
                Err(still_shared) => {
                    shared = still_shared;
                    tokio::task::yield_now().await;
                }
            }
        };
        let received = leg.received.snapshot();
        // Two addresses and two flags, consistent after any panic: keep using them.
        let remote = leg
            .remote
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        Self {
            pair: leg.pair,
            remote_rtp: remote.rtp.addr.unwrap_or(NO_REMOTE),
            remote_rtcp: remote.rtcp.addr.unwrap_or(NO_REMOTE),
            latched: remote.rtp.latched,
            received,
            sent: remote.sent,
        }
    }
}

/// Relays what one socket of `from` receives to the same socket of `to`.
async fn forward(side: Side, rtcp: bool, from: Arc<Leg>, to: Arc<Leg>) {
    let kind = if rtcp { "rtcp" } else { "rtp" };
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (len, source) = match from.socket(rtcp).recv_from(&mut buf).await {
            Ok(received) => received,
            Err(e) => {
                // ICMP errors surface here on some systems; they end nothing, but a
                // socket failing over and over must not spin a core.
                tracing::debug!(leg = side.name(), kind, error = %e, "relay receive failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if !accept(&from, side, rtcp, source) {
            from.received.dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let packet = buf.get(..len).unwrap_or_default();
        let target = {
            let mut remote = to.remote();
            if rtcp {
                remote.rtcp.addr
            } else {
                // Noted as it goes out: a send that fails leaves a gap of one number in
                // the stream a conference would go on with, which no receiver minds.
                if let Some(sent) = SentRtp::of(packet) {
                    remote.sent = Some(sent);
                }
                remote.rtp.addr
            }
        };
        // Port 0 or 0.0.0.0 (a stream on hold, old style): nowhere to send.
        let Some(target) = target.filter(|t| t.port() != 0 && !t.ip().is_unspecified()) else {
            from.received.dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        match to.socket(rtcp).send_to(packet, target).await {
            Ok(_) => from.received.relayed(rtcp, len),
            Err(e) => {
                from.received.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(leg = side.other().name(), kind, error = %e, "relay send failed");
            }
        }
    }
}

/// Whether a packet from `source` on `leg` is the remote's, latching on the first one.
fn accept(leg: &Leg, side: Side, rtcp: bool, source: SocketAddr) -> bool {
    let mut remote = leg.remote();
    let target = if rtcp {
        &mut remote.rtcp
    } else {
        &mut remote.rtp
    };
    match target.addr {
        // Before the leg's SDP, packets come from nobody we know (a losing phone of the
        // fork could be sending early media): none are let through.
        None => false,
        Some(addr) if target.latched => addr == source,
        Some(addr) => {
            if addr != source {
                tracing::debug!(
                    leg = side.name(),
                    kind = if rtcp { "rtcp" } else { "rtp" },
                    sdp = %addr,
                    real = %source,
                    "media latched to the remote's real source"
                );
                target.addr = Some(source);
            }
            target.latched = true;
            true
        }
    }
}
