//! What reaches the SIP logic at all: scanners are dropped without an answer (an answer
//! tells them someone is here), and an address sending faster than the flood limit is
//! dropped until it slows down. Runs on every message before a transaction exists.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::SipMessage;
use rsipstack::transaction::endpoint::TransportEventInspector;
use rsipstack::transport::TransportEvent;

use crate::telephony::config::Network;

/// Why the guard drops a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// A scanner's User-Agent.
    Scanner,
    /// Over the flood limit of its address.
    Flood,
}

impl Dropped {
    /// The label of the drop counter.
    pub fn reason(self) -> &'static str {
        match self {
            Dropped::Scanner => "scanner",
            Dropped::Flood => "flood",
        }
    }
}

/// The inspector installed on the endpoint.
#[derive(Clone)]
pub struct Guard {
    scanners: Vec<String>,
    /// The trunk carries every call: never rate-limited.
    trunks: Vec<Network>,
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl Guard {
    /// A guard with the configured scanner list and flood limit.
    pub fn new(scanners: &[String], trunks: Vec<Network>, per_second: u32, burst: u32) -> Self {
        let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst.max(per_second)).unwrap_or(rate);
        Self {
            scanners: scanners.iter().map(|s| s.to_lowercase()).collect(),
            trunks,
            limiter: Arc::new(RateLimiter::keyed(
                Quota::per_second(rate).allow_burst(burst),
            )),
        }
    }

    /// Whether the message comes from a scanner (by its User-Agent).
    pub fn is_scanner(&self, msg: &SipMessage) -> bool {
        let SipMessage::Request(req) = msg else {
            return false;
        };
        let Some(ua) = req.user_agent_header() else {
            return false;
        };
        let ua = ua.value().to_lowercase();
        self.scanners.iter().any(|s| ua.contains(s.as_str()))
    }

    /// Whether a message that came from `from` goes on to the SIP logic (the endpoint's
    /// whole check, apart from counting what it drops).
    pub fn admit(&self, msg: &SipMessage, from: Option<SocketAddr>) -> Result<(), Dropped> {
        if self.is_scanner(msg) {
            return Err(Dropped::Scanner);
        }
        if let Some(addr) = from {
            let trunk = self.trunks.iter().any(|n| n.contains(addr.ip()));
            if !trunk && self.limiter.check_key(&addr.ip()).is_err() {
                return Err(Dropped::Flood);
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl TransportEventInspector for Guard {
    async fn handle(&self, event: TransportEvent) -> Option<TransportEvent> {
        let TransportEvent::Incoming(msg, _, from) = &event else {
            return Some(event);
        };
        match self.admit(msg, from.get_socketaddr().ok()) {
            Ok(()) => Some(event),
            Err(why) => {
                metrics::counter!("helpline_sip_dropped_total", "reason" => why.reason())
                    .increment(1);
                None
            }
        }
    }
}

impl Guard {
    /// Forgets addresses that have been quiet long enough to be back at full allowance
    /// (otherwise every address ever seen would stay in memory).
    pub fn forget_quiet(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}
