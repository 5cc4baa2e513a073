//! The RTP relay under load: `--calls` calls set up as the service sets them up
//! (`CallMedia::from_offer` with the trunk's SDP offer, then `answer` with the phone's SDP
//! answer), each with a fake trunk and a fake phone: one UDP socket each on 127.0.0.1,
//! sending RTP (12-byte header, 160 bytes of PCMU) every `--ptime` ms through the relay,
//! both ways, for `--seconds`. No SIP: the relay runs in this process on its own tokio
//! runtime (2 worker threads named `relay`, as the service's runtime on this machine);
//! the phones run on another (`--phone-threads`, threads named `phones`), so the CPU of
//! each is read apart from `/proc/self/task`.
//!
//! Each sender paces like a phone: its own tokio interval, phases spread evenly over the
//! packet time, a missed tick skipped rather than caught up in a burst (the send rate
//! achieved is printed). Receivers count per call and direction, by the packet number in
//! the payload: received, lost (sent and never received), duplicated, out of order, and
//! misrouted (another call's packet); latency is one way, send to receive, through the
//! relay (the send instant is in the payload).
//!
//! cargo bench --bench rtp_relay -- --calls 500 --seconds 60
//! Options: --calls N (500), --seconds S (60), --ptime MS (20), --ports MIN-MAX
//! (20000-29999), --phone-threads N (2).

#[path = "support/media.rs"]
mod media;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use helpline::telephony::media::{CallMedia, DirectionStats, PortPool, RelayStats, Sdp};
use media::{
    load_average, machine_jiffies, named_runtime, thread_cpu_seconds, udp_socket, Histogram,
    LOCALHOST,
};
use tokio::net::UdpSocket;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

const PAYLOAD: usize = 160;
const RTP_HEADER: usize = 12;

struct Args {
    calls: usize,
    seconds: u64,
    ptime_ms: u64,
    port_min: u16,
    port_max: u16,
    phone_threads: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        calls: 500,
        seconds: 60,
        ptime_ms: 20,
        port_min: 20_000,
        port_max: 29_999,
        phone_threads: 2,
    };
    let mut it = std::env::args().skip(1);
    let number = |it: &mut dyn Iterator<Item = String>, name: &str| {
        it.next()
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or(format!("{name} N"))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--calls" => args.calls = number(&mut it, "--calls")? as usize,
            "--seconds" => args.seconds = number(&mut it, "--seconds")?,
            "--ptime" => args.ptime_ms = number(&mut it, "--ptime")?.max(1),
            "--phone-threads" => {
                args.phone_threads = number(&mut it, "--phone-threads")?.max(1) as usize
            }
            "--ports" => {
                let range = it.next().ok_or("--ports MIN-MAX")?;
                let (min, max) = range.split_once('-').ok_or("--ports MIN-MAX")?;
                args.port_min = min.parse().map_err(|_| "--ports MIN-MAX")?;
                args.port_max = max.parse().map_err(|_| "--ports MIN-MAX")?;
            }
            // cargo bench passes --bench; anything else is a filter we do not use.
            _ => {}
        }
    }
    Ok(args)
}

/// What a receiver saw of one stream (one call, one direction).
#[derive(Default)]
struct Received {
    packets: u64,
    unique: u64,
    duplicates: u64,
    out_of_order: u64,
    misrouted: u64,
    highest: Option<u32>,
    seen: Vec<u64>,
}

impl Received {
    fn packet(&mut self, index: u32) {
        self.packets += 1;
        let (word, bit) = ((index / 64) as usize, index % 64);
        if self.seen.len() <= word {
            self.seen.resize(word + 1, 0);
        }
        if self.seen[word] & (1 << bit) != 0 {
            self.duplicates += 1;
            return;
        }
        self.seen[word] |= 1 << bit;
        self.unique += 1;
        match self.highest {
            Some(h) if index < h => self.out_of_order += 1,
            _ => self.highest = Some(index),
        }
    }
}

/// An RTP packet of stream `stream`: header, then in the payload the stream, the packet's
/// number and the send instant (ns since `epoch`), the rest PCMU silence.
fn packet(buf: &mut [u8; RTP_HEADER + PAYLOAD], stream: u32, index: u32, rtp_ts: u32, sent: u64) {
    buf[0] = 0x80;
    buf[1] = 0; // PCMU
    buf[2..4].copy_from_slice(&(index as u16).to_be_bytes());
    buf[4..8].copy_from_slice(&rtp_ts.to_be_bytes());
    buf[8..12].copy_from_slice(&(0x1000 + stream).to_be_bytes());
    let p = &mut buf[RTP_HEADER..];
    p[0..4].copy_from_slice(&stream.to_be_bytes());
    p[4..8].copy_from_slice(&index.to_be_bytes());
    p[8..16].copy_from_slice(&sent.to_be_bytes());
    p[16..].fill(0xff);
}

/// Sends stream `stream` from `socket` to `to` until `end`; the number of packets sent.
#[allow(clippy::too_many_arguments)]
async fn send(
    socket: Arc<UdpSocket>,
    to: SocketAddr,
    stream: u32,
    first: tokio::time::Instant,
    end: tokio::time::Instant,
    ptime: Duration,
    epoch: Instant,
    pacing: Arc<Histogram>,
) -> (u64, u64) {
    let mut interval = tokio::time::interval_at(first, ptime);
    interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let samples_per_tick = (ptime.as_millis() * 8) as u32;
    let mut buf = [0u8; RTP_HEADER + PAYLOAD];
    let (mut sent, mut errors) = (0u64, 0u64);
    loop {
        let due = interval.tick().await;
        if due >= end {
            return (sent, errors);
        }
        let now = tokio::time::Instant::now();
        pacing.record(now - due);
        let ticks = ((due - first).as_nanos() / ptime.as_nanos()) as u32;
        let at = epoch.elapsed().as_nanos() as u64;
        packet(
            &mut buf,
            stream,
            sent as u32,
            ticks.wrapping_mul(samples_per_tick),
            at,
        );
        match socket.send_to(&buf, to).await {
            Ok(_) => sent += 1,
            Err(_) => errors += 1,
        }
    }
}

/// Receives stream `stream` on `socket` until cancelled.
async fn receive(
    socket: Arc<UdpSocket>,
    stream: u32,
    stop: CancellationToken,
    epoch: Instant,
    latency: Arc<Histogram>,
) -> Received {
    let mut got = Received::default();
    let mut buf = [0u8; 2048];
    loop {
        let len = tokio::select! {
            _ = stop.cancelled() => return got,
            r = socket.recv_from(&mut buf) => match r {
                Ok((len, _)) => len,
                Err(_) => continue,
            },
        };
        let now = epoch.elapsed().as_nanos() as u64;
        if len != RTP_HEADER + PAYLOAD {
            got.misrouted += 1;
            continue;
        }
        let p = &buf[RTP_HEADER..len];
        let word = |r: std::ops::Range<usize>| p[r].iter().fold(0u64, |a, b| a << 8 | *b as u64);
        let (from, index, sent) = (word(0..4) as u32, word(4..8) as u32, word(8..16));
        if from != stream || u16::from_be_bytes([buf[2], buf[3]]) != index as u16 {
            got.misrouted += 1;
            continue;
        }
        latency.record(Duration::from_nanos(now.saturating_sub(sent)));
        got.packet(index);
    }
}

/// An SDP offer or answer naming `port` on 127.0.0.1 for PCMU and DTMF.
fn sdp(user: &str, session: usize, port: u16) -> Vec<u8> {
    format!(
        "v=0\r\no={user} {session} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
    )
    .into_bytes()
}

/// A call: the relay's media and both ends' sockets with where each sends.
struct Call {
    media: CallMedia,
    trunk: Arc<UdpSocket>,
    to_trunk_leg: SocketAddr,
    phone: Arc<UdpSocket>,
    to_phone_leg: SocketAddr,
}

/// One call as the SIP side sets it up: the trunk's offer, then the phone's answer.
fn set_up(
    n: usize,
    pool: &PortPool,
    relay: &tokio::runtime::Runtime,
    phones: &tokio::runtime::Runtime,
) -> Call {
    let trunk = udp_socket(phones).expect("endpoint socket");
    let phone = udp_socket(phones).expect("endpoint socket");
    let port = |s: &UdpSocket| s.local_addr().expect("endpoint address").port();
    let _in = relay.enter();
    let offer = sdp("trunk", n, port(&trunk));
    let (media, to_phones) = CallMedia::from_offer(pool, LOCALHOST, &offer).expect("offer");
    let to_phone_leg = Sdp::parse(&to_phones)
        .expect("offer to phones")
        .remote()
        .rtp;
    let to_trunk = media
        .answer(&sdp("phone", n, port(&phone)))
        .expect("answer");
    let to_trunk_leg = Sdp::parse(&to_trunk).expect("answer to trunk").remote().rtp;
    Call {
        media,
        trunk,
        to_trunk_leg,
        phone,
        to_phone_leg,
    }
}

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`).
fn memory_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .expect("/proc/self/status")
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The kernel's UDP receive-buffer drops and loopback backlog drops, machine-wide.
fn kernel_drops() -> (u64, u64) {
    let snmp = std::fs::read_to_string("/proc/net/snmp").expect("/proc/net/snmp");
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let (names, values) = (udp.next().unwrap_or(""), udp.next().unwrap_or(""));
    let rcvbuf = names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(n, _)| *n == "RcvbufErrors")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let softnet = std::fs::read_to_string("/proc/net/softnet_stat").unwrap_or_default();
    let backlog = softnet
        .lines()
        .filter_map(|l| u64::from_str_radix(l.split_whitespace().nth(1)?, 16).ok())
        .sum();
    (rcvbuf, backlog)
}

fn add(total: &mut DirectionStats, d: DirectionStats) {
    total.rtp_packets += d.rtp_packets;
    total.rtcp_packets += d.rtcp_packets;
    total.dropped += d.dropped;
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("rtp_relay: {e}");
            std::process::exit(2);
        }
    };
    let relay = named_runtime("relay", 2).expect("relay runtime");
    let phones = named_runtime("phones", args.phone_threads).expect("phones runtime");
    let load_before = load_average();
    let rss_before = memory_kib("VmRSS");
    let pool = PortPool::new(LOCALHOST, args.port_min, args.port_max).expect("port range");
    let calls: Vec<Call> = (0..args.calls)
        .map(|n| set_up(n, &pool, &relay, &phones))
        .collect();
    let rss_set_up = memory_kib("VmRSS");

    let ptime = Duration::from_millis(args.ptime_ms);
    let streams = 2 * calls.len() as u32;
    let epoch = Instant::now();
    // Latencies: 10 µs buckets up to 10 ms, then 1 ms buckets up to 1 s, then one.
    let latency = Arc::new(Histogram::new(10, 2_000));
    let pacing = Arc::new(Histogram::new(10, 2_000));
    let stop = CancellationToken::new();
    let (mut senders, mut receivers) = (Vec::new(), Vec::new());
    let start = tokio::time::Instant::now() + Duration::from_millis(200);
    let end = start + Duration::from_secs(args.seconds);
    for (n, call) in calls.iter().enumerate() {
        // Stream 2n: trunk → relay → phone; 2n + 1: phone → relay → trunk.
        let ends = [
            (&call.trunk, call.to_trunk_leg, &call.phone),
            (&call.phone, call.to_phone_leg, &call.trunk),
        ];
        for (d, (from, to, receiver)) in ends.into_iter().enumerate() {
            let stream = 2 * n as u32 + d as u32;
            let phase = ptime * stream / streams;
            senders.push(phones.spawn(send(
                from.clone(),
                to,
                stream,
                start + phase,
                end,
                ptime,
                epoch,
                pacing.clone(),
            )));
            receivers.push(phones.spawn(receive(
                receiver.clone(),
                stream,
                stop.clone(),
                epoch,
                latency.clone(),
            )));
        }
    }
    let drops_before = kernel_drops();
    phones.block_on(async { tokio::time::sleep_until(start).await });
    let (cpu_relay0, cpu_phones0, cpu_all0) = (
        thread_cpu_seconds("relay"),
        thread_cpu_seconds("phones"),
        thread_cpu_seconds(""),
    );
    let machine0 = machine_jiffies();
    let started = Instant::now();
    let mut sent = Vec::with_capacity(senders.len());
    let mut send_errors = 0;
    for s in senders {
        let (n, e) = phones.block_on(s).expect("sender");
        sent.push(n);
        send_errors += e;
    }
    let window = started.elapsed().as_secs_f64();
    let (cpu_relay, cpu_phones, cpu_all) = (
        thread_cpu_seconds("relay") - cpu_relay0,
        thread_cpu_seconds("phones") - cpu_phones0,
        thread_cpu_seconds("") - cpu_all0,
    );
    let machine1 = machine_jiffies();
    // Packets still in flight arrive within a second.
    phones.block_on(async { tokio::time::sleep(Duration::from_secs(1)).await });
    stop.cancel();
    let received: Vec<Received> = receivers
        .into_iter()
        .map(|r| phones.block_on(r).expect("receiver"))
        .collect();
    let drops_after = kernel_drops();
    let (rss_end, rss_peak) = (memory_kib("VmRSS"), memory_kib("VmHWM"));
    let mut relayed = RelayStats::default();
    relay.block_on(async {
        for call in calls {
            let s = call.media.stop().await;
            add(&mut relayed.caller_to_operator, s.caller_to_operator);
            add(&mut relayed.operator_to_caller, s.operator_to_caller);
        }
    });

    let total_sent: u64 = sent.iter().sum();
    let sum = |f: fn(&Received) -> u64| received.iter().map(f).sum::<u64>();
    let unique = sum(|r| r.unique);
    let lost = total_sent - unique;
    let relay_in = relayed.caller_to_operator.rtp_packets
        + relayed.operator_to_caller.rtp_packets
        + relayed.caller_to_operator.dropped
        + relayed.operator_to_caller.dropped;
    let relay_dropped = relayed.caller_to_operator.dropped + relayed.operator_to_caller.dropped;
    let relay_out = relayed.caller_to_operator.rtp_packets + relayed.operator_to_caller.rtp_packets;
    let worst = sent
        .iter()
        .zip(&received)
        .map(|(s, r)| s - r.unique)
        .max()
        .unwrap_or(0);
    let offered = streams as f64 * 1_000.0 / args.ptime_ms as f64;
    let machine_busy = (machine1.0 - machine0.0) as f64 / (machine1.1 - machine0.1) as f64;

    println!(
        "calls={} seconds={} ptime={}ms streams={streams}",
        args.calls, args.seconds, args.ptime_ms
    );
    println!(
        "load average before: {load_before}; after: {}",
        load_average()
    );
    println!(
        "phones: offered {offered:.0} packets/s, sent {total_sent} in {window:.1} s = {:.0} packets/s \
         ({:.2}% of the schedule; send errors {send_errors}); pacing lateness p50={:.2}ms \
         p99={:.2}ms max={:.2}ms",
        total_sent as f64 / window,
        100.0 * total_sent as f64 / (offered * args.seconds as f64),
        pacing.quantile_ms(0.50),
        pacing.quantile_ms(0.99),
        pacing.max_ms(),
    );
    println!(
        "received: {} packets, unique {unique}, lost {lost} ({:.4}%; worst stream {worst}), \
         duplicated {}, out of order {}, misrouted {}",
        sum(|r| r.packets),
        100.0 * lost as f64 / total_sent.max(1) as f64,
        sum(|r| r.duplicates),
        sum(|r| r.out_of_order),
        sum(|r| r.misrouted),
    );
    println!(
        "relay: received {relay_in}, relayed {relay_out}, dropped {relay_dropped} \
         (caller→operator {}, operator→caller {}); RTCP relayed {}",
        relayed.caller_to_operator.dropped,
        relayed.operator_to_caller.dropped,
        relayed.caller_to_operator.rtcp_packets + relayed.operator_to_caller.rtcp_packets,
    );
    println!(
        "where lost: before the relay read them {}, by the relay {relay_dropped}, after it sent them {}",
        total_sent.saturating_sub(relay_in),
        relay_out.saturating_sub(unique),
    );
    println!(
        "kernel (machine-wide) during the run: UDP RcvbufErrors +{}, loopback backlog drops +{}",
        drops_after.0 - drops_before.0,
        drops_after.1 - drops_before.1,
    );
    println!(
        "latency one way through the relay: p50={:.2}ms p99={:.2}ms max={:.2}ms",
        latency.quantile_ms(0.50),
        latency.quantile_ms(0.99),
        latency.max_ms(),
    );
    println!(
        "CPU over the {window:.1} s: relay threads {:.1}% of one core, phones {:.1}%, whole \
         process {:.1}% ({:.1}% of the 2 cores); machine busy {:.1}% of its cores",
        100.0 * cpu_relay / window,
        100.0 * cpu_phones / window,
        100.0 * cpu_all / window,
        50.0 * cpu_all / window,
        100.0 * machine_busy,
    );
    println!(
        "RSS: before the calls {} MiB, with the calls set up {} MiB, at the end {} MiB, peak {} MiB",
        rss_before / 1024,
        rss_set_up / 1024,
        rss_end / 1024,
        rss_peak / 1024,
    );
    println!();
    println!("| calls | seconds | packets/s offered | sent/s | received | lost % | relay dropped | latency p50 / p99 / max | relay CPU (% of one core) | RSS |");
    println!(
        "| {} | {} | {offered:.0} | {:.0} | {unique} | {:.4} | {relay_dropped} | {:.2} / {:.2} / {:.1} ms | {:.0} | {} MiB |",
        args.calls,
        args.seconds,
        total_sent as f64 / window,
        100.0 * lost as f64 / total_sent.max(1) as f64,
        latency.quantile_ms(0.50),
        latency.quantile_ms(0.99),
        latency.max_ms(),
        100.0 * cpu_relay / window,
        rss_peak / 1024,
    );
}
