//! The service's clock: the wall clock, plus an offset that only tests and drills move,
//! so that an escalation chain of twenty minutes can be checked without twenty minutes
//! of waiting. Everything that schedules (the job queue, escalation) reads time here.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::Notify;

/// A clock shared by the parts of one service.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
    moved: Arc<Notify>,
}

impl Clock {
    /// Now, as the service sees it.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves this service's time forward (tests and drills only: in service the
    /// offset stays zero). Moving it past the lease of a job still running hands that
    /// job to another worker, as a real lease expiry would, and its message may go out
    /// twice: let running jobs finish first.
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::Relaxed);
        self.moved.notify_waiters();
    }

    /// Completes when the clock is next moved forward: whoever sleeps until a time on
    /// this clock must look again, as the wall clock would have woken it had the time
    /// come by itself.
    pub async fn moved(&self) {
        self.moved.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_advanced_clock_is_ahead_of_the_wall_clock_by_the_offset() {
        let c = Clock::default();
        let shared = c.clone();
        c.advance(Duration::minutes(10));
        let ahead = shared.now() - Utc::now();
        assert!(
            ahead >= Duration::minutes(10) - Duration::seconds(1),
            "{ahead}"
        );
        assert!(
            ahead <= Duration::minutes(10) + Duration::seconds(1),
            "{ahead}"
        );
    }
}
