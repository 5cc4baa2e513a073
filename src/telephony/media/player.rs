//! Plays a recorded prompt to a leg: 20 ms RTP packets of G.711 on the leg's own stream
//! (its SSRC, sequence numbers and timestamps go on from whatever it sent before), the
//! first packet marked as the start of a talkspurt, until the end or until cancelled (a
//! key pressed during the menu stops it at once).
//!
//! Pacing is a tokio interval with `MissedTickBehavior::Burst`. The receiver plays
//! packets by their timestamps, which advance 160 a packet: if a stall of the runtime
//! makes us miss a tick or two, sending the missed packets at once puts the stream back
//! on time, and the receiver's jitter buffer (40 ms or more on any phone or trunk)
//! absorbs a burst that small. `Delay` would instead push every later packet late for
//! good, so the receiver would grow its buffer or drop them as late, and `Skip` would cut
//! words out of the prompt. A stall longer than [`MAX_CATCH_UP`] is another matter: a
//! burst that long would overflow the receiver's buffer, so the player starts a new
//! talkspurt there (marker, timestamp moved on by the stall) and paces from now.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::g711::Codec;
use super::rtp::{OutStream, RtpError, FRAME, FRAME_SAMPLES, MAX_PACKET};

/// Lateness beyond which missed packets are not sent in a burst.
pub const MAX_CATCH_UP: Duration = Duration::from_millis(100);

/// How a prompt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Played {
    /// Packets sent.
    pub packets: u32,
    /// Packets the socket refused (counted, not retried: a lost packet of a prompt is
    /// a click, not a reason to stop).
    pub failed: u32,
    /// Stopped by the cancellation token before the end.
    pub interrupted: bool,
}

/// Plays `clips` one after the other, as [`play`] each; `true` when `cancel` stopped
/// them before the end.
pub async fn play_all(
    socket: &UdpSocket,
    to: SocketAddr,
    stream: &mut OutStream,
    clips: &[&[u8]],
    clip_codec: Codec,
    cancel: &CancellationToken,
) -> Result<bool, RtpError> {
    for clip in clips {
        if play(socket, to, stream, clip, clip_codec, cancel)
            .await?
            .interrupted
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Plays `clip` (8 kHz G.711 codes in `clip_codec`, the prompts' μ-law as a rule) to
/// `to` from `socket`, on `stream`, transcoding when the stream's codec is the other law.
/// The last frame is padded with silence. Returns when the clip has been sent or
/// `cancel` fires; dropping the future stops it as well, and leaves `stream` ready for
/// the next packet either way.
pub async fn play(
    socket: &UdpSocket,
    to: SocketAddr,
    stream: &mut OutStream,
    clip: &[u8],
    clip_codec: Codec,
    cancel: &CancellationToken,
) -> Result<Played, RtpError> {
    let mut played = Played {
        packets: 0,
        failed: 0,
        interrupted: false,
    };
    let mut interval = tokio::time::interval(FRAME);
    interval.set_missed_tick_behavior(MissedTickBehavior::Burst);
    stream.begin_talkspurt(Instant::now());
    let mut packet = [0u8; MAX_PACKET];
    for chunk in clip.chunks(FRAME_SAMPLES) {
        let due = tokio::select! {
            // A key wins over a tick that is due at the same moment.
            biased;
            () = cancel.cancelled() => {
                played.interrupted = true;
                return Ok(played);
            }
            due = interval.tick() => due,
        };
        let now = Instant::now();
        if now.saturating_duration_since(due) > MAX_CATCH_UP {
            interval.reset();
            stream.begin_talkspurt(now);
        }
        let mut frame = [clip_codec.silence(); FRAME_SAMPLES];
        frame[..chunk.len()].copy_from_slice(chunk);
        stream.codec().transcode_from(clip_codec, &mut frame);
        let len = stream.write(&frame, now, &mut packet)?;
        match socket.send_to(&packet[..len], to).await {
            Ok(_) => played.packets += 1,
            Err(e) => {
                played.failed += 1;
                tracing::debug!(error = %e, "prompt packet not sent");
            }
        }
    }
    Ok(played)
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::telephony::media::rtp::Packet;

    async fn pair() -> (UdpSocket, UdpSocket, SocketAddr) {
        let local = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let ours = UdpSocket::bind((local, 0)).await.expect("bind");
        let theirs = UdpSocket::bind((local, 0)).await.expect("bind");
        let to = theirs.local_addr().expect("address");
        (ours, theirs, to)
    }

    /// Receives `n` packets: (sequence, timestamp, marker, ssrc, pt, payload, arrival).
    async fn receive(
        socket: &UdpSocket,
        n: usize,
    ) -> Vec<(u16, u32, bool, u32, u8, Vec<u8>, Instant)> {
        let mut out = Vec::new();
        let mut buf = [0u8; 2048];
        while out.len() < n {
            let len = tokio::time::timeout(Duration::from_secs(5), socket.recv(&mut buf))
                .await
                .expect("a packet within 5 s")
                .expect("received");
            let p = Packet::parse(&buf[..len]).expect("rtp");
            out.push((
                p.sequence,
                p.timestamp,
                p.marker,
                p.ssrc,
                p.payload_type,
                p.payload.to_vec(),
                Instant::now(),
            ));
        }
        out
    }

    #[tokio::test]
    async fn a_prompt_goes_out_as_numbered_paced_20_ms_packets() {
        let (ours, theirs, to) = pair().await;
        // 10.5 frames of a ramp: eleven packets, the last padded with silence.
        let clip: Vec<u8> = (0..1_680).map(|i| (i % 200) as u8).collect();
        let mut stream = OutStream::from_parts(Codec::Pcmu, 0x1234_5678, 65_530, 4_000);
        let started = Instant::now();
        let never = CancellationToken::new();
        let (played, got) = tokio::join!(
            play(&ours, to, &mut stream, &clip, Codec::Pcmu, &never),
            receive(&theirs, 11)
        );
        let played = played.expect("played");
        assert_eq!(
            (played.packets, played.failed, played.interrupted),
            (11, 0, false)
        );
        for (i, (seq, ts, marker, ssrc, pt, payload, _)) in got.iter().enumerate() {
            assert_eq!(*seq, 65_530u16.wrapping_add(i as u16), "sequence wraps on");
            assert_eq!(*ts, 4_000 + 160 * i as u32);
            assert_eq!(*marker, i == 0, "only the first packet is marked");
            assert_eq!((*ssrc, *pt), (0x1234_5678, 0));
            assert_eq!(payload.len(), 160);
            let end = (160 * (i + 1)).min(clip.len());
            assert_eq!(&payload[..end - 160 * i], &clip[160 * i..end]);
        }
        assert!(got[10].5[80..].iter().all(|b| *b == 0xFF), "silence pads");
        // Ten intervals of 20 ms: 200 ms, with generous room for a loaded machine.
        let span = got[10].6 - got[0].6;
        assert!(
            span >= Duration::from_millis(150),
            "paced, not sent at once: {span:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(stream.next_sequence(), 65_530u16.wrapping_add(11));
    }

    #[tokio::test]
    async fn a_key_stops_the_prompt_and_the_next_one_goes_on_from_there() {
        let (ours, theirs, to) = pair().await;
        let clip = vec![0xFFu8; 160 * 100];
        let mut stream = OutStream::from_parts(Codec::Pcma, 7, 100, 0);
        let cancel = CancellationToken::new();
        let (played, first) = tokio::join!(
            play(&ours, to, &mut stream, &clip, Codec::Pcmu, &cancel),
            async {
                let got = receive(&theirs, 3).await;
                cancel.cancel();
                got
            }
        );
        let played = played.expect("played");
        assert!(played.interrupted);
        assert!((3..20).contains(&played.packets), "{played:?}");
        // μ-law silence went out as A-law silence, on the stream's payload type 8.
        assert_eq!(first[0].4, 8);
        assert!(first[0].5.iter().all(|b| *b == 0xD5));
        // Drain what was sent between the third packet and the cancellation.
        let rest = receive(&theirs, played.packets as usize - 3).await;
        let last_ts = rest.last().map_or(first[2].1, |p| p.1);

        tokio::time::sleep(Duration::from_millis(200)).await;
        let never = CancellationToken::new();
        let (again, next) = tokio::join!(
            play(&ours, to, &mut stream, &[0xFF; 160], Codec::Pcmu, &never),
            receive(&theirs, 1)
        );
        assert_eq!(again.expect("played").packets, 1);
        let (seq, ts, marker, ..) = next[0].clone();
        assert_eq!(seq, 100 + played.packets as u16, "no number skipped");
        assert!(marker, "a new talkspurt");
        // The 200 ms pause shows in the timestamp (1,600 samples), give or take timing.
        let gap = ts.wrapping_sub(last_ts);
        assert!((1_600..8_000).contains(&gap), "gap of {gap} samples");
    }
}
