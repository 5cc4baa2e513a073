//! The CPU cost of one three-party conference (caller, operator, mediator), per 20 ms
//! frame, on one core:
//!
//! - `mix`: what the conference's task does with three packets in hand: parse each RTP
//!   packet, decode its G.711 into the party's queue, mix (each party gets the others'
//!   sum), encode each party's frame in its law, and build its RTP packet;
//! - `mix+udp`: the same with the packets received from and sent to real UDP sockets on
//!   127.0.0.1 (three `recv_from` and three `send_to` a frame, the system calls the
//!   service's task will make). The three phones' packets are queued in the sockets
//!   before each timed batch, so their sending is not counted.
//!
//! The parties speak: a 1 kHz tone, a 2 kHz tone, and silence; one party is A-law and
//! two μ-law, so both encoders run. Each figure is the median of `--runs` runs of
//! `--frames` frames (a frame is 20 ms of a call), so `% of a core` is the time per
//! frame over 20 ms and `conferences on 2 cores` is 2 × 20 ms over it.
//!
//! cargo bench --bench mixer -- --frames 50000 --runs 5

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use helpline::telephony::media::rtp::{FRAME, FRAME_SAMPLES, MAX_PACKET};
use helpline::telephony::media::tone::sine;
use helpline::telephony::media::{Codec, Mixer, OutStream, Packet, PartyId};

const CODECS: [Codec; 3] = [Codec::Pcma, Codec::Pcmu, Codec::Pcmu];
/// Frames queued in the sockets per batch in the UDP case: 150 packets of 172 bytes,
/// well within a default receive buffer.
const BATCH: usize = 50;

struct Args {
    frames: usize,
    runs: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        frames: 50_000,
        runs: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut number = |name: &str| {
            it.next()
                .and_then(|v| v.parse::<usize>().ok())
                .filter(|n| *n > 0)
                .ok_or(format!("{name} N"))
        };
        match a.as_str() {
            "--frames" => args.frames = number("--frames")?,
            "--runs" => args.runs = number("--runs")?,
            // cargo bench passes --bench to every target.
            "--bench" => {}
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

/// One second of each party's packets, as its phone sends them (50 packets), looped.
fn phone_packets() -> Vec<[Vec<u8>; 3]> {
    let mut streams = CODECS.map(OutStream::new);
    let now = tokio::time::Instant::now();
    let mut buf = [0u8; MAX_PACKET];
    (0..50)
        .map(|t| {
            [0usize, 1, 2].map(|p| {
                let samples = match p {
                    0 => sine(1_000.0, 8_000, t * FRAME_SAMPLES, FRAME_SAMPLES),
                    1 => sine(2_000.0, 8_000, t * FRAME_SAMPLES, FRAME_SAMPLES),
                    _ => vec![0; FRAME_SAMPLES],
                };
                let mut payload = [0u8; FRAME_SAMPLES];
                CODECS[p].encode(&samples, &mut payload);
                let len = streams[p].write(&payload, now, &mut buf).unwrap_or(0);
                buf[..len].to_vec()
            })
        })
        .collect()
}

/// The conference's state: the mix and our stream towards each party.
struct Conference {
    mixer: Mixer,
    ids: Vec<PartyId>,
    streams: Vec<OutStream>,
    out: [u8; MAX_PACKET],
    now: tokio::time::Instant,
}

impl Conference {
    fn new() -> Self {
        let mut mixer = Mixer::new();
        let ids = CODECS.iter().filter_map(|c| mixer.join(*c).ok()).collect();
        Self {
            mixer,
            ids,
            streams: CODECS.iter().map(|c| OutStream::new(*c)).collect(),
            out: [0; MAX_PACKET],
            now: tokio::time::Instant::now(),
        }
    }

    fn receive(&mut self, party: usize, datagram: &[u8]) {
        if let Ok(packet) = Packet::parse(datagram) {
            let _ = self.mixer.push(self.ids[party], packet.payload);
        }
    }

    /// Mixes a tick and builds each party's packet; `send` gets each packet.
    fn tick(&mut self, mut send: impl FnMut(usize, &[u8])) {
        self.mixer.tick();
        for (party, id) in self.ids.iter().enumerate() {
            let Ok(frame) = self.mixer.output(*id) else {
                continue;
            };
            if let Ok(len) = self.streams[party].write(frame, self.now, &mut self.out) {
                send(party, &self.out[..len]);
            }
        }
    }
}

fn mix_only(frames: usize, packets: &[[Vec<u8>; 3]]) -> Duration {
    let mut conference = Conference::new();
    let mut bytes = 0usize;
    let started = Instant::now();
    for t in 0..frames {
        for (party, datagram) in packets[t % packets.len()].iter().enumerate() {
            conference.receive(party, datagram);
        }
        conference.tick(|_, packet| bytes += std::hint::black_box(packet).len());
    }
    let elapsed = started.elapsed();
    std::hint::black_box(bytes);
    elapsed
}

fn with_udp(frames: usize, packets: &[[Vec<u8>; 3]]) -> std::io::Result<Duration> {
    let bind = || UdpSocket::bind((Ipv4Addr::LOCALHOST, 0));
    // Per party: the phone's socket and the conference's socket facing it.
    let phones = [bind()?, bind()?, bind()?];
    let ours = [bind()?, bind()?, bind()?];
    let phone_addrs: Vec<SocketAddr> = phones
        .iter()
        .map(|s| s.local_addr())
        .collect::<Result<_, _>>()?;
    let our_addrs: Vec<SocketAddr> = ours
        .iter()
        .map(|s| s.local_addr())
        .collect::<Result<_, _>>()?;
    for s in &phones {
        s.set_nonblocking(true)?;
    }
    let mut conference = Conference::new();
    let mut buf = [0u8; 2048];
    let mut sink = [0u8; 2048];
    let mut elapsed = Duration::ZERO;
    let mut t = 0;
    while t < frames {
        let batch = BATCH.min(frames - t);
        for f in 0..batch {
            for (party, datagram) in packets[(t + f) % packets.len()].iter().enumerate() {
                phones[party].send_to(datagram, our_addrs[party])?;
            }
        }
        let started = Instant::now();
        for _ in 0..batch {
            for (party, socket) in ours.iter().enumerate() {
                let (len, _) = socket.recv_from(&mut buf)?;
                conference.receive(party, &buf[..len]);
            }
            let mut failed = None;
            conference.tick(|party, packet| {
                if let Err(e) = ours[party].send_to(packet, phone_addrs[party]) {
                    failed = Some(e);
                }
            });
            if let Some(e) = failed {
                return Err(e);
            }
        }
        elapsed += started.elapsed();
        // The phones read what the conference sent them, untimed.
        for phone in &phones {
            while phone.recv_from(&mut sink).is_ok() {}
        }
        t += batch;
    }
    Ok(elapsed)
}

fn report(what: &str, runs: &mut [Duration], frames: usize) {
    runs.sort();
    let median = runs[runs.len() / 2];
    let per_frame = median.as_secs_f64() / frames as f64;
    let share = per_frame / FRAME.as_secs_f64();
    println!(
        "| {what} | {:.2} µs | {:.3} % | {:.0} |",
        per_frame * 1e6,
        share * 100.0,
        2.0 / share
    );
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("usage: mixer [--frames N] [--runs N]: {e}");
            std::process::exit(2);
        }
    };
    let packets = phone_packets();
    println!(
        "{} runs of {} frames ({} s of a call) per case, median run\n",
        args.runs,
        args.frames,
        args.frames as u64 * 20 / 1_000
    );
    println!("| case | per 20 ms frame | of one core | conferences on 2 cores |");
    println!("| --- | ---: | ---: | ---: |");
    let mut runs: Vec<Duration> = (0..args.runs)
        .map(|_| mix_only(args.frames, &packets))
        .collect();
    report(
        "mix (parse, decode, mix, encode, build)",
        &mut runs,
        args.frames,
    );
    let runs: std::io::Result<Vec<Duration>> = (0..args.runs)
        .map(|_| with_udp(args.frames, &packets))
        .collect();
    match runs {
        Ok(mut runs) => report("mix + UDP (3 recv, 3 send)", &mut runs, args.frames),
        Err(e) => {
            eprintln!("UDP case failed: {e}");
            std::process::exit(1);
        }
    }
}
