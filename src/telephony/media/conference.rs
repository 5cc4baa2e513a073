//! The live conference of a call: the caller, the operator and a linguistic mediator
//! (up to [`MAX_PARTIES`]), each on an RTP/RTCP pair of ours facing its own remote, each
//! hearing the others and never itself ([`Mixer`]).
//!
//! A call becomes a conference on the ports it already has: the relay hands its two legs
//! over ([`RelaySession::into_legs`](super::relay::RelaySession::into_legs)), and the trunk
//! and the phone go on sending where they sent and hearing us from where they heard us;
//! only the SSRC of what they hear changes (a new stream of ours, its first packet
//! marked), which every RTP receiver handles. The mediator's leg joins later with
//! [`Conference::add`].
//!
//! One task per conference, woken by a 20 ms interval and by nothing else. At each tick
//! it reads whatever waits in every party's sockets (non-blocking), mixes one frame, and
//! sends each party its frame. Reading on each packet's arrival instead would wake the
//! task three times more for the same result: the mixer uses a party's audio at the tick
//! anyway, so a packet read at the tick is heard exactly when it would have been.
//!
//! The task and the handle share the state behind one mutex; nothing awaits while
//! holding it (sends are `try_send_to`), so [`Conference::add`], [`Conference::remove`]
//! and [`Conference::stats`] are plain calls, and a removed party's ports are back in the
//! pool when `remove` returns. A send the socket refuses is counted, never retried: a
//! frame sent late would only be a frame the phone plays late.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::g711::Codec;
use super::mixer::{Mixer, MixerError, PartyId, MAX_PARTIES};
use super::player::MAX_CATCH_UP;
use super::ports::PortPair;
use super::relay::{RelayLeg, SentRtp};
use super::rtp::{OutStream, Packet, FRAME, MAX_PACKET};

/// Largest datagram read whole; anything longer is not an RTP packet of ours to mix.
const MAX_DATAGRAM: usize = 2048;

/// Datagrams read from one socket per tick at most: a party sends one or two, a few more
/// after a stall. Someone flooding a port must not keep the task (and the lock) busy;
/// what is left waits for the next tick, or overflows the socket's buffer.
const MAX_READS: usize = 64;

/// A leg that joins a conference.
#[derive(Debug)]
pub struct ConferenceLeg {
    /// Our RTP/RTCP pair facing the party; freed when the party leaves.
    pub pair: PortPair,
    /// Where the party's RTP goes: its SDP's address, or the real source once latched.
    pub remote_rtp: SocketAddr,
    /// Where its RTCP goes (nothing is sent there yet; kept with the party).
    pub remote_rtcp: SocketAddr,
    /// Whether `remote_rtp` is a source already seen: then only packets from it are
    /// mixed. If not, the first RTP packet from anywhere latches, as in the relay.
    pub latched: bool,
    /// The G.711 law negotiated for the leg: what the party is sent.
    pub codec: Codec,
    /// The stream the party was receiving (from the relay), to go on with; `None`: a
    /// new stream.
    pub continues: Option<SentRtp>,
}

impl ConferenceLeg {
    /// The leg of a stopped relay as a conference leg, with the law negotiated for it;
    /// a latched remote stays latched, so nobody can take its place in the switch, and
    /// a leg whose SDP never came ([`NO_REMOTE`](super::relay::NO_REMOTE)) is sent
    /// nothing and accepted from nobody.
    pub fn from_relay(leg: RelayLeg, codec: Codec) -> Self {
        Self {
            pair: leg.pair,
            remote_rtp: leg.remote_rtp,
            remote_rtcp: leg.remote_rtcp,
            latched: leg.latched,
            codec,
            continues: leg.sent,
        }
    }
}

/// Counts of one party.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PartyStats {
    /// G.711 RTP packets from the party's remote, mixed for the others.
    pub received: u64,
    /// RTP packets from the remote with another payload type (telephone-event, comfort
    /// noise): not audio the mixer can use.
    pub ignored: u64,
    /// Datagrams dropped: not RTP, or from a source other than the party's remote.
    pub dropped: u64,
    /// RTCP datagrams read and discarded (nothing is relayed on RTCP in a conference).
    pub rtcp: u64,
    /// Mixed frames sent to the party.
    pub sent: u64,
    /// Frames the socket refused.
    pub send_failed: u64,
}

/// Where a party is sent media, and whether its RTP source has latched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartyRemote {
    /// RTP: the real source once latched.
    pub rtp: SocketAddr,
    /// RTCP, from the SDP or the relay.
    pub rtcp: SocketAddr,
    /// Whether a packet has come from `rtp` (only that source is mixed then).
    pub latched: bool,
}

/// Counts of a conference.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConferenceStats {
    /// The parties in the conference, in the order they joined.
    pub parties: Vec<(PartyId, PartyStats)>,
    /// 20 ms frames mixed.
    pub ticks: u64,
    /// Stalls longer than [`MAX_CATCH_UP`] after which pacing started again from then
    /// (each a new talkspurt to every party) rather than sending a burst.
    pub resets: u64,
}

/// A party: its sockets, its remote, our stream to it.
#[derive(Debug)]
struct Party {
    id: PartyId,
    pair: PortPair,
    remote: PartyRemote,
    codec: Codec,
    stream: OutStream,
    stats: PartyStats,
}

impl Party {
    /// Whether an RTP packet from `source` is the party's, latching on the first one:
    /// the relay's rule, so a call switched to a conference behaves as it did.
    fn accept(&mut self, source: SocketAddr) -> bool {
        if self.remote.latched {
            return source == self.remote.rtp;
        }
        // No remote known (no SDP yet): like the relay, let nobody in, or a stray sender
        // would become the party.
        if unspecified(self.remote.rtp) {
            return false;
        }
        if source != self.remote.rtp {
            tracing::debug!(
                sdp = %self.remote.rtp,
                real = %source,
                "conference party latched to the remote's real source"
            );
            self.remote.rtp = source;
        }
        self.remote.latched = true;
        true
    }
}

/// What the task and the handle share (not `Debug`: its buffers are kilobytes of bytes).
struct State {
    mixer: Mixer,
    parties: Vec<Party>,
    ticks: u64,
    resets: u64,
    /// A received datagram.
    datagram: Vec<u8>,
    /// A payload re-encoded to the party's law (a party sending the other one).
    transcoded: Vec<u8>,
    /// An RTP packet being sent.
    packet: Vec<u8>,
}

impl State {
    fn new() -> Self {
        Self {
            mixer: Mixer::new(),
            parties: Vec::with_capacity(MAX_PARTIES),
            ticks: 0,
            resets: 0,
            datagram: vec![0; MAX_DATAGRAM],
            transcoded: Vec::with_capacity(MAX_DATAGRAM),
            packet: vec![0; MAX_PACKET],
        }
    }

    fn join(&mut self, leg: ConferenceLeg) -> Result<PartyId, MixerError> {
        // A refused leg is dropped here, and its ports go back to the pool.
        let id = self.mixer.join(leg.codec)?;
        self.parties.push(Party {
            id,
            pair: leg.pair,
            remote: PartyRemote {
                rtp: leg.remote_rtp,
                rtcp: leg.remote_rtcp,
                latched: leg.latched,
            },
            codec: leg.codec,
            stream: match leg.continues {
                Some(sent) => OutStream::continuing(
                    leg.codec,
                    sent.ssrc,
                    sent.sequence,
                    sent.timestamp,
                    sent.at,
                    Instant::now(),
                ),
                None => OutStream::new(leg.codec),
            },
            stats: PartyStats::default(),
        });
        Ok(id)
    }

    fn party(&self, id: PartyId) -> Result<&Party, MixerError> {
        self.parties
            .iter()
            .find(|p| p.id == id)
            .ok_or(MixerError::NoParty)
    }

    fn stats(&self) -> ConferenceStats {
        ConferenceStats {
            parties: self.parties.iter().map(|p| (p.id, p.stats)).collect(),
            ticks: self.ticks,
            resets: self.resets,
        }
    }

    /// One frame: read, mix, send. `restart`: pacing starts again after a long stall.
    fn tick(&mut self, now: Instant, restart: bool) {
        self.ticks += 1;
        if restart {
            self.resets += 1;
        }
        let State {
            mixer,
            parties,
            datagram,
            transcoded,
            packet,
            ..
        } = self;
        for party in parties.iter_mut() {
            receive(party, mixer, datagram, transcoded);
            drain_rtcp(party, datagram);
        }
        mixer.tick();
        for party in parties.iter_mut() {
            if restart {
                party.stream.begin_talkspurt(now);
            }
            send(party, mixer, now, packet);
        }
    }
}

/// Reads what waits on the party's RTP socket into the mixer.
fn receive(party: &mut Party, mixer: &mut Mixer, datagram: &mut [u8], transcoded: &mut Vec<u8>) {
    for _ in 0..MAX_READS {
        let (len, source) = match party.pair.rtp().try_recv_from(datagram) {
            Ok(received) => received,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) => {
                // ICMP errors surface here on some systems: the next tick reads on.
                tracing::debug!(error = %e, "conference receive failed");
                return;
            }
        };
        // Parsed before latching: a stray datagram that is not RTP must not become the
        // party's source.
        let Some(packet) = datagram.get(..len).and_then(|d| Packet::parse(d).ok()) else {
            party.stats.dropped += 1;
            continue;
        };
        if !party.accept(source) {
            party.stats.dropped += 1;
            continue;
        }
        // Decoded by what the party sends, whatever was negotiated: a phone that sends
        // the other law is still heard.
        let Some(sent) = Codec::from_payload_type(packet.payload_type) else {
            party.stats.ignored += 1;
            continue;
        };
        let pushed = if sent == party.codec {
            mixer.push(party.id, packet.payload)
        } else {
            // The mixer decodes by the party's law: re-encode first. G.711 to G.711 loses
            // at most half a step of the coarser law, far below hearing.
            transcoded.clear();
            transcoded.extend_from_slice(packet.payload);
            party.codec.transcode_from(sent, transcoded);
            mixer.push(party.id, transcoded)
        };
        match pushed {
            Ok(()) => party.stats.received += 1,
            Err(_) => party.stats.dropped += 1,
        }
    }
}

/// Empties the party's RTCP socket, so its buffer never fills; nothing is relayed.
fn drain_rtcp(party: &mut Party, datagram: &mut [u8]) {
    for _ in 0..MAX_READS {
        match party.pair.rtcp().try_recv_from(datagram) {
            Ok(_) => party.stats.rtcp += 1,
            Err(_) => return,
        }
    }
}

/// Sends the party its frame of the tick.
fn send(party: &mut Party, mixer: &Mixer, now: Instant, packet: &mut [u8]) {
    let target = party.remote.rtp;
    if unspecified(target) {
        return;
    }
    let Ok(frame) = mixer.output(party.id) else {
        return;
    };
    let sent = party
        .stream
        .write(frame, now, packet)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
        .and_then(|len| {
            let bytes = packet.get(..len).unwrap_or_default();
            party.pair.rtp().try_send_to(bytes, target)
        });
    match sent {
        Ok(_) => party.stats.sent += 1,
        Err(e) => {
            party.stats.send_failed += 1;
            tracing::debug!(error = %e, to = %target, "conference frame not sent");
        }
    }
}

/// Port 0 or 0.0.0.0: a stream on hold (old style), or a leg with no SDP yet.
fn unspecified(addr: SocketAddr) -> bool {
    addr.port() == 0 || addr.ip().is_unspecified()
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // Counters, sockets and the mix: consistent enough after any panic to go on, and a
    // call's audio must not stop over one.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The conference's task: one frame every 20 ms until aborted.
///
/// Pacing is `MissedTickBehavior::Burst`, as in `player.rs`: after a short stall the
/// missed frames go at once with their own timestamps, so every stream is back on time
/// and the phones' jitter buffers absorb the burst. After a stall longer than
/// [`MAX_CATCH_UP`] pacing starts again from now, each stream with a new talkspurt.
async fn run(state: Arc<Mutex<State>>) {
    let mut interval = tokio::time::interval_at(Instant::now() + FRAME, FRAME);
    interval.set_missed_tick_behavior(MissedTickBehavior::Burst);
    loop {
        let due = interval.tick().await;
        let now = Instant::now();
        let restart = now.saturating_duration_since(due) > MAX_CATCH_UP;
        if restart {
            interval.reset();
        }
        lock(&state).tick(now, restart);
    }
}

/// A running conference. Dropping it stops the mix and frees every party's ports;
/// [`Conference::stop`] does the same and returns the final counts.
pub struct Conference {
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Conference {
    // Without the mixer's lock, which every 20 ms tick takes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conference").finish_non_exhaustive()
    }
}

impl Conference {
    /// Starts mixing `legs`; their ids, in the same order. A refused set of legs (more
    /// than [`MAX_PARTIES`]) is dropped, and its ports go back to the pool. The first
    /// frame goes out 20 ms later: by then the runtime knows every socket writable (see
    /// [`add`](Self::add)), even one bound just before.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, as `tokio::spawn`; the legs' sockets cannot have been
    /// made without one.
    pub fn start(legs: Vec<ConferenceLeg>) -> Result<(Self, Vec<PartyId>), MixerError> {
        if legs.len() > MAX_PARTIES {
            return Err(MixerError::Full);
        }
        let mut state = State::new();
        let ids = legs
            .into_iter()
            .map(|leg| state.join(leg))
            .collect::<Result<Vec<_>, _>>()?;
        let state = Arc::new(Mutex::new(state));
        let task = tokio::spawn(run(Arc::clone(&state)));
        Ok((Self { state, task }, ids))
    }

    /// A party joins (the mediator): it hears the others from the next tick on. A
    /// refused leg is dropped, and its ports go back to the pool.
    pub async fn add(&self, leg: ConferenceLeg) -> Result<PartyId, MixerError> {
        // The task sends with `try_send_to`, which trusts tokio's record of the socket
        // being writable; a socket bound a moment ago has no record until the runtime
        // has polled it once, and its first frame would be refused. Waiting for that
        // here costs nothing (a UDP socket is writable at once). An error shows again,
        // counted, on the first send.
        let _ = leg.pair.rtp().writable().await;
        lock(&self.state).join(leg)
    }

    /// A party leaves: the others stop hearing it at the next tick, and its ports are
    /// back in the pool when this returns. Its final counts.
    pub async fn remove(&self, id: PartyId) -> Result<PartyStats, MixerError> {
        let party = {
            let mut state = lock(&self.state);
            let index = state
                .parties
                .iter()
                .position(|p| p.id == id)
                .ok_or(MixerError::NoParty)?;
            state.mixer.leave(id)?;
            state.parties.remove(index)
        };
        Ok(party.stats)
    }

    /// How many parties are in.
    pub fn len(&self) -> usize {
        lock(&self.state).parties.len()
    }

    /// Whether everyone has left.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Our RTP port facing a party (RTCP is the next one).
    pub fn local_rtp_port(&self, id: PartyId) -> Result<u16, MixerError> {
        lock(&self.state).party(id).map(|p| p.pair.rtp_port())
    }

    /// Where a party is sent media now.
    pub fn remote(&self, id: PartyId) -> Result<PartyRemote, MixerError> {
        lock(&self.state).party(id).map(|p| p.remote)
    }

    /// The counts so far.
    pub fn stats(&self) -> ConferenceStats {
        lock(&self.state).stats()
    }

    /// Stops mixing and frees every party's ports before returning; the final counts.
    pub async fn stop(mut self) -> ConferenceStats {
        self.task.abort();
        // Cancelled, as asked: nothing to report.
        let _ = (&mut self.task).await;
        let mut state = lock(&self.state);
        let stats = state.stats();
        state.parties.clear();
        stats
    }
}

impl Drop for Conference {
    fn drop(&mut self) {
        self.task.abort();
        // The task may hold the state a moment longer: the ports go now regardless.
        lock(&self.state).parties.clear();
    }
}
