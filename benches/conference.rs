//! Live conferences under load, end to end over 127.0.0.1: `--conferences` conferences
//! (`media::Conference`) of `--parties` parties each, every party a fake phone with one
//! UDP socket that sends 20 ms PCMU packets of its own tone (1 kHz, 2 kHz, 500 Hz, 3 kHz)
//! to its conference for `--seconds`, and reads what the conference sends back.
//!
//! The conferences run on their own tokio runtime (2 worker threads named `conf`, as the
//! service's runtime on this machine), the phones on another (`--phone-threads`, named
//! `phones`), so the CPU of each is read apart from `/proc/self/task`. Conferences start
//! a few hundred µs apart (their 20 ms ticks spread as real calls' are); each phone
//! paces with its own interval, phases spread, a missed tick skipped (a phone does not
//! send a burst).
//!
//! Counted, per direction: phones → conferences, packets sent by the phones against what
//! the conferences read (mixed, ignored or dropped); conferences → phones, packets the
//! conferences sent against what the phones received, and against the sequence numbers
//! (a gap is a loss even if nobody counted it). The worst gap between two packets a
//! phone receives is the pacing as the phone hears it. At the end each party's last
//! second of audio is searched for the others' tones (there) and its own (absent).
//!
//! cargo bench --bench conference -- --conferences 100 --seconds 20
//! Options: --conferences N (100), --parties N (3, at most 4), --seconds S (20),
//! --ports MIN-MAX (20000-21999), --phone-threads N (2).

#[path = "support/media.rs"]
mod media;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use helpline::telephony::media::mixer::MAX_PARTIES;
use helpline::telephony::media::rtp::{FRAME, FRAME_SAMPLES, MAX_PACKET};
use helpline::telephony::media::tone::{sine, tone_share};
use helpline::telephony::media::{
    Codec, Conference, ConferenceLeg, ConferenceStats, OutStream, Packet, PartyStats, PortPool,
};
use media::{
    load_average, machine_jiffies, named_runtime, process_cpu_seconds, thread_cpu_seconds,
    udp_socket, Histogram, LOCALHOST,
};
use tokio::net::UdpSocket;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

/// Each party's tone: a whole number of periods in a 20 ms frame, so one frame repeats.
const TONES: [f64; MAX_PARTIES] = [1_000.0, 2_000.0, 500.0, 3_000.0];
/// Frames of audio kept per phone for the final check: the last second.
const KEPT_FRAMES: usize = 50;

struct Args {
    conferences: usize,
    parties: usize,
    seconds: u64,
    port_min: u16,
    port_max: u16,
    phone_threads: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        conferences: 100,
        parties: 3,
        seconds: 20,
        port_min: 20_000,
        port_max: 21_999,
        phone_threads: 2,
    };
    let mut it = std::env::args().skip(1);
    let number = |it: &mut dyn Iterator<Item = String>, name: &str| {
        it.next()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|n| *n > 0)
            .ok_or(format!("{name} N"))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--conferences" => args.conferences = number(&mut it, "--conferences")? as usize,
            "--parties" => args.parties = number(&mut it, "--parties")? as usize,
            "--seconds" => args.seconds = number(&mut it, "--seconds")?,
            "--phone-threads" => args.phone_threads = number(&mut it, "--phone-threads")? as usize,
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
    if !(2..=MAX_PARTIES).contains(&args.parties) {
        return Err(format!("--parties between 2 and {MAX_PARTIES}"));
    }
    Ok(args)
}

/// What one phone received from its conference.
#[derive(Default)]
struct Received {
    packets: u64,
    not_pcmu: u64,
    /// Extended sequence numbers: first and highest.
    first: Option<i64>,
    highest: i64,
    last_seq: u16,
    out_of_order: u64,
    ssrc_changes: u64,
    ssrc: Option<u32>,
    /// The last second of audio, decoded.
    audio: VecDeque<i16>,
}

impl Received {
    /// Packets the sequence numbers say were sent between the first and the last.
    fn expected(&self) -> u64 {
        self.first.map_or(0, |f| (self.highest - f + 1) as u64)
    }
}

/// Sends the party's tone from `socket` to `to` every 20 ms from `first` until `end`;
/// the packets sent and the send errors.
async fn send(
    socket: Arc<UdpSocket>,
    to: SocketAddr,
    tone: f64,
    first: tokio::time::Instant,
    end: tokio::time::Instant,
    pacing: Arc<Histogram>,
) -> (u64, u64) {
    let mut interval = tokio::time::interval_at(first, FRAME);
    interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut payload = [0u8; FRAME_SAMPLES];
    Codec::Pcmu.encode(&sine(tone, 8_000, 0, FRAME_SAMPLES), &mut payload);
    let mut stream = OutStream::new(Codec::Pcmu);
    let mut buf = [0u8; MAX_PACKET];
    let (mut sent, mut errors) = (0u64, 0u64);
    loop {
        let due = interval.tick().await;
        if due >= end {
            return (sent, errors);
        }
        let now = tokio::time::Instant::now();
        pacing.record(now - due);
        let Ok(len) = stream.write(&payload, now, &mut buf) else {
            errors += 1;
            continue;
        };
        match socket.send_to(&buf[..len], to).await {
            Ok(_) => sent += 1,
            Err(_) => errors += 1,
        }
    }
}

/// Reads what the conference sends `socket` until cancelled; inter-arrival gaps between
/// `from` and `to` go to `gaps`.
async fn receive(
    socket: Arc<UdpSocket>,
    stop: CancellationToken,
    from: tokio::time::Instant,
    to: tokio::time::Instant,
    gaps: Arc<Histogram>,
) -> Received {
    let mut got = Received::default();
    let mut buf = [0u8; 2048];
    let mut samples = [0i16; FRAME_SAMPLES];
    let mut last_arrival: Option<tokio::time::Instant> = None;
    loop {
        let len = tokio::select! {
            _ = stop.cancelled() => return got,
            r = socket.recv_from(&mut buf) => match r {
                Ok((len, _)) => len,
                Err(_) => continue,
            },
        };
        let now = tokio::time::Instant::now();
        let Ok(p) = Packet::parse(&buf[..len]) else {
            got.not_pcmu += 1;
            continue;
        };
        if p.payload_type != 0 || p.payload.len() != FRAME_SAMPLES {
            got.not_pcmu += 1;
            continue;
        }
        got.packets += 1;
        if got.ssrc.is_some_and(|s| s != p.ssrc) {
            got.ssrc_changes += 1;
        }
        got.ssrc = Some(p.ssrc);
        match got.first {
            None => {
                got.first = Some(0);
                got.highest = 0;
            }
            Some(_) => {
                let ext = got.highest + i64::from(p.sequence.wrapping_sub(got.last_seq) as i16);
                if ext > got.highest {
                    got.highest = ext;
                } else {
                    got.out_of_order += 1;
                }
            }
        }
        got.last_seq = p.sequence;
        if now >= from && now <= to {
            if let Some(last) = last_arrival {
                gaps.record(now - last);
            }
        }
        last_arrival = Some(now);
        Codec::Pcmu.decode(p.payload, &mut samples);
        got.audio.extend(samples);
        let excess = got.audio.len().saturating_sub(KEPT_FRAMES * FRAME_SAMPLES);
        got.audio.drain(..excess);
    }
}

fn add(total: &mut PartyStats, s: &PartyStats) {
    total.received += s.received;
    total.ignored += s.ignored;
    total.dropped += s.dropped;
    total.rtcp += s.rtcp;
    total.sent += s.sent;
    total.send_failed += s.send_failed;
}

fn main() {
    if let Err(e) = run() {
        eprintln!("conference bench: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let err = |what: &str| {
        let what = what.to_string();
        move |e: std::io::Error| format!("{what}: {e}")
    };
    let conf = named_runtime("conf", 2).map_err(err("conference runtime"))?;
    let phones = named_runtime("phones", args.phone_threads).map_err(err("phones runtime"))?;
    let load_before = load_average();
    let pool = PortPool::new(LOCALHOST, args.port_min, args.port_max).map_err(|e| e.to_string())?;

    // Every party: the phone's socket, and where it sends (our port for it).
    let n = args.conferences;
    let mut sockets: Vec<Vec<Arc<UdpSocket>>> = Vec::with_capacity(n);
    let mut targets: Vec<Vec<SocketAddr>> = Vec::with_capacity(n);
    let mut conferences = Vec::with_capacity(n);
    for _ in 0..n {
        let socks = (0..args.parties)
            .map(|_| udp_socket(&phones))
            .collect::<Result<Vec<_>, _>>()
            .map_err(err("phone socket"))?;
        let _in = conf.enter();
        let mut legs = Vec::with_capacity(args.parties);
        let mut to = Vec::with_capacity(args.parties);
        for s in &socks {
            let pair = pool.allocate().map_err(|e| e.to_string())?;
            let remote = s.local_addr().map_err(err("phone address"))?;
            to.push(SocketAddr::new(LOCALHOST, pair.rtp_port()));
            legs.push(ConferenceLeg {
                pair,
                remote_rtp: remote,
                remote_rtcp: SocketAddr::new(LOCALHOST, remote.port() + 1),
                latched: true,
                codec: Codec::Pcmu,
                continues: None,
            });
        }
        sockets.push(socks);
        targets.push(to);
        conferences.push(legs);
    }
    // Started a little apart, so their ticks spread over the 20 ms as calls' would.
    let conferences: Vec<Conference> = conf.block_on(async {
        let mut started = Vec::with_capacity(n);
        for legs in conferences {
            let (conference, _) = Conference::start(legs).map_err(|e| e.to_string())?;
            started.push(conference);
            tokio::time::sleep(FRAME / n as u32).await;
        }
        Ok::<_, String>(started)
    })?;

    let streams = (n * args.parties) as u32;
    let start = tokio::time::Instant::now() + Duration::from_millis(300);
    let end = start + Duration::from_secs(args.seconds);
    // Durations: 10 µs buckets up to 100 ms, then 1 ms buckets up to 1 s, then one.
    let histogram = || Arc::new(Histogram::new(100, 10_901));
    let (pacing, gaps) = (histogram(), histogram());
    let stop = CancellationToken::new();
    let (mut senders, mut receivers) = (Vec::new(), Vec::new());
    for (c, socks) in sockets.iter().enumerate() {
        for (p, socket) in socks.iter().enumerate() {
            let stream = (c * args.parties + p) as u32;
            let phase = FRAME * stream / streams;
            senders.push(phones.spawn(send(
                Arc::clone(socket),
                targets[c][p],
                TONES[p],
                start + phase,
                end,
                Arc::clone(&pacing),
            )));
            // Gaps are counted once the phones talk and until they stop.
            receivers.push(phones.spawn(receive(
                Arc::clone(socket),
                stop.clone(),
                start + Duration::from_millis(200),
                end,
                Arc::clone(&gaps),
            )));
        }
    }
    phones.block_on(async { tokio::time::sleep_until(start).await });
    let (conf0, process0, machine0) = (
        thread_cpu_seconds("conf"),
        process_cpu_seconds(),
        machine_jiffies(),
    );
    let window_start = Instant::now();
    let mut sent = Vec::with_capacity(senders.len());
    let mut send_errors = 0;
    for s in senders {
        let (k, e) = phones.block_on(s).map_err(|e| e.to_string())?;
        sent.push(k);
        send_errors += e;
    }
    let window = window_start.elapsed().as_secs_f64();
    let (conf_cpu, process_cpu, machine1) = (
        thread_cpu_seconds("conf") - conf0,
        process_cpu_seconds() - process0,
        machine_jiffies(),
    );
    // What is in flight is read within half a second; then the conferences stop, and
    // the phones read the last frames sent.
    phones.block_on(async { tokio::time::sleep(Duration::from_millis(500)).await });
    let stats: Vec<ConferenceStats> = conf.block_on(async {
        let mut all = Vec::with_capacity(n);
        for c in conferences {
            all.push(c.stop().await);
        }
        all
    });
    phones.block_on(async { tokio::time::sleep(Duration::from_millis(300)).await });
    stop.cancel();
    let received: Vec<Received> = receivers
        .into_iter()
        .map(|r| phones.block_on(r))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;

    // Phones → conferences.
    let phones_sent: u64 = sent.iter().sum();
    let mut conf_total = PartyStats::default();
    let (mut ticks, mut resets) = (0u64, 0u64);
    for s in &stats {
        for (_, p) in &s.parties {
            add(&mut conf_total, p);
        }
        ticks += s.ticks;
        resets += s.resets;
    }
    let conf_read = conf_total.received + conf_total.ignored + conf_total.dropped;
    let scheduled = streams as u64 * args.seconds * 50;
    // Conferences → phones.
    let phones_received: u64 = received.iter().map(|r| r.packets).sum();
    let by_sequence: u64 = received.iter().map(Received::expected).sum();
    let seq_lost: u64 = received
        .iter()
        .map(|r| r.expected().saturating_sub(r.packets))
        .sum();
    let sum = |f: fn(&Received) -> u64| received.iter().map(f).sum::<u64>();
    // Who hears whom, over the last second.
    let (mut heard_right, mut heard_wrong) = (0usize, 0usize);
    for (i, r) in received.iter().enumerate() {
        let own = i % args.parties;
        let audio: Vec<i16> = r.audio.iter().copied().collect();
        let others_heard = (0..args.parties)
            .filter(|p| *p != own)
            .all(|p| tone_share(&audio, TONES[p]) > 0.1);
        let own_absent = tone_share(&audio, TONES[own]) < 0.02;
        if others_heard && own_absent {
            heard_right += 1;
        } else {
            heard_wrong += 1;
        }
    }
    let machine_busy =
        (machine1.0 - machine0.0) as f64 / (machine1.1 - machine0.1).max(1) as f64 * 100.0;

    println!(
        "{n} conferences of {} parties, {} s, PCMU 20 ms; conferences on 2 `conf` threads, \
         phones on {} `phones` threads, all on this machine's {} cores",
        args.parties,
        args.seconds,
        args.phone_threads,
        std::thread::available_parallelism().map_or(0, |p| p.get()),
    );
    println!(
        "load average before: {load_before}; after: {}; machine busy during the run: {machine_busy:.0}% of all cores",
        load_average()
    );
    println!(
        "phones -> conferences: scheduled {scheduled}, sent {phones_sent} ({:.2}%; send errors {send_errors}), \
         read by the conferences {conf_read} (mixed {}, ignored {}, dropped {}), lost {}",
        100.0 * phones_sent as f64 / scheduled.max(1) as f64,
        conf_total.received,
        conf_total.ignored,
        conf_total.dropped,
        phones_sent.saturating_sub(conf_read),
    );
    println!(
        "conferences -> phones: sent {} (send failures {}), received {phones_received}, lost {} \
         (by sequence numbers: expected {by_sequence}, missing {seq_lost}); out of order {}, \
         SSRC changes {}, not PCMU {}",
        conf_total.sent,
        conf_total.send_failed,
        conf_total.sent.saturating_sub(phones_received),
        sum(|r| r.out_of_order),
        sum(|r| r.ssrc_changes),
        sum(|r| r.not_pcmu),
    );
    println!(
        "conference ticks {:.0} per conference (a run of {:.1} s), pacing restarts after a stall {resets}",
        ticks as f64 / n as f64,
        window + 0.8,
    );
    println!(
        "inter-arrival at the phones: p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, worst {:.2} ms; gaps over 40 ms {}, over 60 ms {}",
        gaps.quantile_ms(0.50),
        gaps.quantile_ms(0.99),
        gaps.quantile_ms(0.999),
        gaps.max_ms(),
        gaps.count_above(40),
        gaps.count_above(60),
    );
    println!(
        "phones' own pacing lateness: p99 {:.2} ms, worst {:.2} ms",
        pacing.quantile_ms(0.99),
        pacing.max_ms(),
    );
    println!(
        "who hears whom (last second): {heard_right} parties hear every other party and not themselves, {heard_wrong} do not"
    );
    println!(
        "CPU over {window:.1} s: conference threads {:.1}% of one core = {:.3}% per conference; \
         whole process (phones included) {:.1}% = {:.3}% per conference",
        100.0 * conf_cpu / window,
        100.0 * conf_cpu / window / n as f64,
        100.0 * process_cpu / window,
        100.0 * process_cpu / window / n as f64,
    );
    Ok(())
}
