//! The RTP port range, shared by every call: a pair is an even port for RTP and the odd
//! one above it for RTCP (RFC 3550 §11), both bound for as long as the pair lives.

use std::collections::HashSet;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::net::UdpSocket;

use super::config::MediaConfig;

/// The range cannot give a pair.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// Every pair of the range is taken (by our calls or by other programs).
    #[error("no free RTP port pair left in {min}-{max}")]
    Exhausted {
        /// First port of the range.
        min: u16,
        /// Last port of the range.
        max: u16,
    },
    /// The range itself is unusable.
    #[error(
        "invalid RTP port range {min}-{max}: expected an even first port and at least 4 ports"
    )]
    InvalidRange {
        /// First port of the range.
        min: u16,
        /// Last port of the range.
        max: u16,
    },
    /// Binding failed for a reason other than the port being in use (e.g. `bind_ip` is
    /// not an address of this host): trying the next port would fail the same way.
    #[error("RTP socket not bound on {addr}: {source}")]
    Bind {
        /// The address that could not be bound.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// Sockets can only be registered with a running tokio runtime.
    #[error("RTP sockets need a tokio runtime")]
    NoRuntime,
}

/// The pool of RTP/RTCP pairs; cheap to clone, one for the whole service.
#[derive(Debug, Clone)]
pub struct PortPool {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    bind_ip: IpAddr,
    min: u16,
    max: u16,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// RTP ports of the pairs handed out and not yet dropped.
    taken: HashSet<u16>,
    /// Where the next search starts: going round the range rather than always taking
    /// the lowest free pair means a port just freed is not reused at once, so late
    /// packets of a finished call do not land in the next one.
    next: u16,
}

impl PortPool {
    /// A pool over `min..=max` on `bind_ip`.
    pub fn new(bind_ip: IpAddr, min: u16, max: u16) -> Result<Self, PortError> {
        if min == 0 || min % 2 != 0 || min >= max || u32::from(max) - u32::from(min) + 1 < 4 {
            return Err(PortError::InvalidRange { min, max });
        }
        Ok(Self {
            inner: Arc::new(Inner {
                bind_ip,
                min,
                max,
                state: Mutex::new(State {
                    taken: HashSet::new(),
                    next: min,
                }),
            }),
        })
    }

    /// The pool of `[media]`.
    pub fn from_config(config: &MediaConfig) -> Result<Self, PortError> {
        Self::new(config.bind_ip, config.port_min, config.port_max)
    }

    /// How many pairs are handed out now.
    pub fn in_use(&self) -> usize {
        self.inner.lock().taken.len()
    }

    /// Binds a free pair; ports some other program holds are skipped.
    pub fn allocate(&self) -> Result<PortPair, PortError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(PortError::NoRuntime);
        }
        let inner = &self.inner;
        // Binding under the lock keeps two calls from racing for the same pair; a bind
        // is one quick system call.
        let mut state = inner.lock();
        // Pairs `p, p + 1` with `p + 1 <= max`.
        let pairs = (u32::from(inner.max) - u32::from(inner.min)).div_ceil(2);
        let mut port = state.next;
        for _ in 0..pairs {
            let candidate = port;
            port = match candidate.checked_add(2) {
                Some(p) if p < inner.max => p,
                _ => inner.min,
            };
            if state.taken.contains(&candidate) {
                continue;
            }
            match bind_pair(inner.bind_ip, candidate) {
                Ok((rtp, rtcp)) => {
                    state.taken.insert(candidate);
                    state.next = port;
                    return Ok(PortPair {
                        rtp,
                        rtcp,
                        slot: Slot {
                            pool: Arc::clone(inner),
                            port: candidate,
                        },
                    });
                }
                Err(PortError::Bind { source, .. })
                    if source.kind() == io::ErrorKind::AddrInUse =>
                {
                    continue
                }
                Err(e) => return Err(e),
            }
        }
        Err(PortError::Exhausted {
            min: inner.min,
            max: inner.max,
        })
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is a set and a cursor, consistent after any panic: keep using it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Binds RTP on `port` and RTCP on `port + 1`, or neither.
fn bind_pair(ip: IpAddr, port: u16) -> Result<(UdpSocket, UdpSocket), PortError> {
    let bind = |port: u16| {
        let addr = SocketAddr::new(ip, port);
        std::net::UdpSocket::bind(addr)
            .and_then(|s| s.set_nonblocking(true).map(|()| s))
            .and_then(UdpSocket::from_std)
            .map_err(|source| PortError::Bind { addr, source })
    };
    let rtp = bind(port)?;
    // Dropping `rtp` on error closes it again.
    let rtcp = bind(port + 1)?;
    Ok((rtp, rtcp))
}

/// One RTP/RTCP pair, bound; the ports return to the pool when it is dropped.
#[derive(Debug)]
pub struct PortPair {
    // Field order matters: the sockets close before the slot is released, so the pool
    // never hands out a port that is still bound.
    rtp: UdpSocket,
    rtcp: UdpSocket,
    slot: Slot,
}

impl PortPair {
    /// The RTP port (even); RTCP is the next one.
    pub fn rtp_port(&self) -> u16 {
        self.slot.port
    }

    /// The RTCP port.
    pub fn rtcp_port(&self) -> u16 {
        self.slot.port + 1
    }

    /// The RTP socket.
    pub fn rtp(&self) -> &UdpSocket {
        &self.rtp
    }

    /// The RTCP socket.
    pub fn rtcp(&self) -> &UdpSocket {
        &self.rtcp
    }
}

/// A pair's place in the pool.
#[derive(Debug)]
struct Slot {
    pool: Arc<Inner>,
    port: u16,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.pool.lock().taken.remove(&self.port);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telephony::media::testing::{free_range, localhost};

    #[tokio::test]
    async fn pairs_are_an_even_rtp_port_and_the_next_odd_one() {
        let (min, max) = free_range(3);
        let pool = PortPool::new(localhost(), min, max).unwrap();
        let pair = pool.allocate().unwrap();
        assert_eq!(pair.rtp_port() % 2, 0);
        assert_eq!(pair.rtcp_port(), pair.rtp_port() + 1);
        assert_eq!(pair.rtp().local_addr().unwrap().port(), pair.rtp_port());
        assert_eq!(pair.rtcp().local_addr().unwrap().port(), pair.rtcp_port());
        assert!((min..=max).contains(&pair.rtcp_port()));
    }

    #[tokio::test]
    async fn an_exhausted_range_says_so_and_a_dropped_pair_is_free_again() {
        let (min, max) = free_range(2);
        let pool = PortPool::new(localhost(), min, max).unwrap();
        let a = pool.allocate().unwrap();
        let b = pool.allocate().unwrap();
        assert_ne!(a.rtp_port(), b.rtp_port());
        assert!(matches!(
            pool.allocate(),
            Err(PortError::Exhausted { min: m, max: x }) if m == min && x == max
        ));
        let freed = a.rtp_port();
        drop(a);
        assert_eq!(pool.in_use(), 1);
        assert_eq!(pool.allocate().unwrap().rtp_port(), freed);
    }

    #[tokio::test]
    async fn a_port_another_program_holds_is_skipped() {
        let (min, max) = free_range(2);
        // Someone else holds the RTCP port of the first pair.
        let _squatter = std::net::UdpSocket::bind((localhost(), min + 1)).unwrap();
        let pool = PortPool::new(localhost(), min, max).unwrap();
        assert_eq!(pool.allocate().unwrap().rtp_port(), min + 2);
        // The first pair's RTP port was closed again, not leaked.
        assert!(std::net::UdpSocket::bind((localhost(), min)).is_ok());
    }

    #[test]
    fn a_bad_range_is_refused() {
        assert!(PortPool::new(localhost(), 20_001, 20_999).is_err());
        assert!(PortPool::new(localhost(), 20_000, 20_002).is_err());
        assert!(PortPool::new(localhost(), 0, 20_002).is_err());
    }

    #[test]
    fn sockets_need_a_runtime() {
        let pool = PortPool::new(localhost(), 20_000, 20_999).unwrap();
        assert!(matches!(pool.allocate(), Err(PortError::NoRuntime)));
    }
}
