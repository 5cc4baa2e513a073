//! What the media benches share: their runtimes and the phones' UDP sockets, a latency
//! histogram, and the CPU and load figures read from `/proc`.
#![allow(dead_code)] // each bench uses its own part

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;

pub const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A tokio runtime of `threads` worker threads named `name`, so their CPU is read apart
/// with [`thread_cpu_seconds`].
pub fn named_runtime(name: &str, threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name(name)
        .enable_all()
        .build()
}

/// A UDP socket on 127.0.0.1 (any port) registered with the runtime `rt`.
pub fn udp_socket(rt: &tokio::runtime::Runtime) -> std::io::Result<Arc<UdpSocket>> {
    let _in = rt.enter();
    let s = std::net::UdpSocket::bind((LOCALHOST, 0))?;
    s.set_nonblocking(true)?;
    Ok(Arc::new(UdpSocket::from_std(s)?))
}

/// Durations in µs: 10 µs buckets up to `fine_ms`, then 1 ms buckets, the last of the
/// `buckets` holding everything beyond.
pub struct Histogram {
    buckets: Vec<AtomicU64>,
    /// Where the 10 µs buckets end, in µs.
    fine_us: u64,
    max_us: AtomicU64,
}

impl Histogram {
    pub fn new(fine_ms: u64, buckets: usize) -> Self {
        Self {
            buckets: (0..buckets).map(|_| AtomicU64::new(0)).collect(),
            fine_us: fine_ms * 1_000,
            max_us: AtomicU64::new(0),
        }
    }

    /// The bucket of a duration of `us` µs.
    fn index(&self, us: u64) -> usize {
        let i = if us < self.fine_us {
            us / 10
        } else {
            (self.fine_us / 10 + (us - self.fine_us) / 1_000).min(self.buckets.len() as u64 - 1)
        };
        i as usize
    }

    /// The upper bound of bucket `i`, in µs.
    fn upper_us(&self, i: usize) -> u64 {
        let fine = self.fine_us / 10;
        if (i as u64) < fine {
            (i as u64 + 1) * 10
        } else {
            self.fine_us + (i as u64 + 1 - fine) * 1_000
        }
    }

    pub fn record(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.buckets[self.index(us)].fetch_add(1, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }

    /// How many took `ms` or more (`ms` within the 10 µs buckets).
    pub fn count_above(&self, ms: u64) -> u64 {
        self.buckets[self.index(ms * 1_000)..]
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .sum()
    }

    /// The upper bound of the bucket holding the `p` quantile, in ms.
    pub fn quantile_ms(&self, p: f64) -> f64 {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        let rank = ((total as f64) * p).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let upper_us = self.upper_us(i);
                return (upper_us.min(self.max_us.load(Ordering::Relaxed))) as f64 / 1_000.0;
            }
        }
        0.0
    }

    pub fn max_ms(&self) -> f64 {
        self.max_us.load(Ordering::Relaxed) as f64 / 1_000.0
    }
}

/// CPU seconds so far of this process's threads whose name starts with `prefix` ("" for
/// all), from `/proc/self/task/*/stat` (utime + stime, 100 ticks a second).
pub fn thread_cpu_seconds(prefix: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    let mut ticks = 0u64;
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue; // the thread ended
        };
        if let Some((name, t)) = stat_ticks(&stat) {
            if name.starts_with(prefix) {
                ticks += t;
            }
        }
    }
    ticks as f64 / 100.0
}

/// The whole process's CPU seconds (every thread, ended ones included), `/proc/self/stat`.
pub fn process_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| stat_ticks(&s).map(|(_, t)| t))
        .unwrap_or(0) as f64
        / 100.0
}

/// The name and utime + stime of a `stat` line (fields 2, 14 and 15 of proc(5)).
fn stat_ticks(stat: &str) -> Option<(String, u64)> {
    let (open, close) = (stat.find('(')?, stat.rfind(')')?);
    let fields: Vec<&str> = stat.get(close + 2..)?.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some((stat.get(open + 1..close)?.to_string(), ticks))
}

/// Busy and total jiffies of the whole machine (`/proc/stat`, all CPUs).
pub fn machine_jiffies() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    if cpu.len() < 5 {
        return (0, 1);
    }
    let total: u64 = cpu.iter().take(8).sum();
    (total - cpu[3] - cpu[4], total)
}

/// The 1, 5 and 15-minute load averages, as `/proc/loadavg` says them.
pub fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}
