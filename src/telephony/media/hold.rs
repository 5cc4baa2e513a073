//! What a caller hears while the operators' phones ring after the menu: hold music, and
//! at intervals "all operators are busy, please hold" and their place in the queue, in
//! the language they chose. Without it the caller, whose leg the service has already
//! answered, would hear silence and hang up thinking the line is dead.
//!
//! The music starts at once (the phones may well be answered within seconds, and a
//! greeting about busy operators would then be a lie); the first announcement comes
//! after [`HoldPlan::first`], then every [`HoldPlan::every`]. When nobody is available
//! to ring at all, the announcement comes first. Everything stops the moment the call
//! is answered (the token is cancelled) and the leg goes to the relay, its stream's
//! numbering intact.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::menu::CallerLeg;
use super::player::{play, play_all};
use super::prompts::{self, Language, Prompt, PROMPT_CODEC};
use super::rtp::RtpError;

/// When the announcements come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldPlan {
    /// Music alone before the first announcement (zero: the announcement first).
    pub first: Duration,
    /// Between the starts of two announcements.
    pub every: Duration,
}

/// Plays the hold audio on the caller's leg until `cancel` fires. `position` tells the
/// caller's place in the queue at each announcement (1 = next; `None` when unknown).
/// Returns how many announcements were made.
pub async fn hold<F, Fut>(
    leg: CallerLeg<'_>,
    language: Language,
    plan: HoldPlan,
    mut position: F,
    cancel: &CancellationToken,
) -> Result<u32, RtpError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<usize>>,
{
    let socket = leg.socket;
    // What the trunk sends meanwhile is read and dropped: left in the socket's buffer,
    // seconds of it would reach the operator in one burst when the relay takes over.
    let drain = async {
        let mut buf = [0u8; 2048];
        loop {
            if socket.recv_from(&mut buf).await.is_err() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    tokio::select! {
        held = play_hold(leg, language, plan, &mut position, cancel) => held,
        // The drain never ends; this arm only completes the match.
        () = drain => Ok(0),
    }
}

async fn play_hold<F, Fut>(
    leg: CallerLeg<'_>,
    language: Language,
    plan: HoldPlan,
    position: &mut F,
    cancel: &CancellationToken,
) -> Result<u32, RtpError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<usize>>,
{
    let CallerLeg {
        socket,
        remote,
        stream,
        ..
    } = leg;
    let mut announcements = 0;
    let mut next = Instant::now() + plan.first;
    loop {
        // Music until the next announcement is due (or the call is answered).
        while Instant::now() < next {
            let music = play(
                socket,
                remote,
                stream,
                prompts::hold_music(),
                PROMPT_CODEC,
                cancel,
            );
            tokio::select! {
                played = music => {
                    if played?.interrupted {
                        return Ok(announcements);
                    }
                }
                // Dropping the player mid-clip leaves the stream ready for the next packet.
                () = tokio::time::sleep_until(next) => {}
            }
        }
        if cancel.is_cancelled() {
            return Ok(announcements);
        }
        let place = position().await;
        let mut clips = vec![prompts::audio(language, Prompt::BusyHold)];
        if let Some([phrase, digit]) = place.and_then(|p| prompts::queue_position(language, p)) {
            clips.extend([phrase, digit]);
        }
        if play_all(socket, remote, stream, &clips, PROMPT_CODEC, cancel).await? {
            return Ok(announcements);
        }
        announcements += 1;
        next = Instant::now() + plan.every;
    }
}

#[cfg(test)]
mod tests {

    use tokio::net::UdpSocket;

    use super::*;
    use crate::telephony::media::g711::Codec;
    use crate::telephony::media::rtp::{OutStream, Packet, FRAME_SAMPLES};
    use crate::telephony::media::testing::trunk_pair;

    /// The payloads the trunk receives for `window`, as μ-law.
    async fn receive_for(trunk: &UdpSocket, window: Duration) -> Vec<u8> {
        let mut audio = Vec::new();
        let mut buf = [0u8; 2048];
        let until = Instant::now() + window;
        while let Ok(Ok(len)) = tokio::time::timeout_at(until, trunk.recv(&mut buf)).await {
            let p = Packet::parse(&buf[..len]).expect("rtp");
            assert_eq!(p.payload.len(), FRAME_SAMPLES);
            audio.extend_from_slice(p.payload);
        }
        audio
    }

    fn starts_with(audio: &[u8], clip: &[u8]) -> bool {
        let n = 4 * FRAME_SAMPLES;
        audio.len() >= n && audio[..n] == clip[..n]
    }

    #[tokio::test]
    async fn music_first_then_busy_and_the_place_in_the_queue() {
        let (ours, trunk, trunk_addr) = trunk_pair().await;
        let mut stream = OutStream::new(Codec::Pcmu);
        let cancel = CancellationToken::new();
        let plan = HoldPlan {
            first: Duration::from_millis(400),
            every: Duration::from_secs(60),
        };
        let asked = std::sync::atomic::AtomicUsize::new(0);
        let leg = CallerLeg {
            socket: &ours,
            remote: trunk_addr,
            stream: &mut stream,
            telephone_event: None,
        };
        let position = || {
            asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { Some(2) }
        };
        let (done, audio) = tokio::join!(
            hold(leg, Language::English, plan, position, &cancel),
            async {
                let audio = receive_for(&trunk, Duration::from_millis(400)).await;
                let rest = receive_for(&trunk, Duration::from_secs(6)).await;
                cancel.cancel();
                (audio, rest)
            }
        );
        assert_eq!(done.expect("held"), 1);
        assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 1);
        let (music, announcement) = audio;
        assert!(starts_with(&music, prompts::hold_music()), "music first");
        let busy = prompts::audio(Language::English, Prompt::BusyHold);
        assert!(
            announcement
                .windows(busy.len().min(800))
                .any(|w| w == &busy[..w.len()]),
            "then the English busy prompt"
        );
    }

    #[tokio::test]
    async fn with_nobody_to_ring_the_announcement_comes_first_and_cancel_stops_it() {
        let (ours, trunk, trunk_addr) = trunk_pair().await;
        let mut stream = OutStream::from_parts(Codec::Pcmu, 1, 500, 0);
        let cancel = CancellationToken::new();
        let plan = HoldPlan {
            first: Duration::ZERO,
            every: Duration::from_secs(60),
        };
        let leg = CallerLeg {
            socket: &ours,
            remote: trunk_addr,
            stream: &mut stream,
            telephone_event: None,
        };
        let started = Instant::now();
        let (done, audio) = tokio::join!(
            hold(leg, Language::Italian, plan, || async { None }, &cancel),
            async {
                // The caller speaks while on hold.
                let ours_addr = ours.local_addr().expect("address");
                for _ in 0..20 {
                    trunk
                        .send_to(&[0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], ours_addr)
                        .await
                        .expect("sent");
                }
                let audio = receive_for(&trunk, Duration::from_millis(300)).await;
                cancel.cancel();
                audio
            }
        );
        assert_eq!(done.expect("held"), 0, "interrupted during the first one");
        // What the trunk sent while on hold was read and dropped, not left for the relay.
        let mut buf = [0u8; 64];
        assert!(
            ours.try_recv(&mut buf).is_err(),
            "nothing left in the socket"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(starts_with(
            &audio,
            prompts::audio(Language::Italian, Prompt::BusyHold)
        ));
        // The stream went on numbering from where it was.
        assert!(stream.next_sequence() > 500);
    }
}
