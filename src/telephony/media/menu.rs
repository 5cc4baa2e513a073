//! The language menu on the caller's leg: the welcome and the menu are played, and the
//! first key the caller presses (as RFC 4733 events in the RTP, or as SIP INFO, which
//! the dialog hands over through a channel) stops the prompt and chooses the language;
//! no key by the end of the wait after the menu, or a key that is no language: Italian.
//!
//! It owns nothing of the call: the call flow lends it the caller leg's RTP socket, the
//! trunk's address and the leg's outgoing stream (so the numbering goes on afterwards),
//! and keeps them when it returns.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::dtmf::{DtmfDetector, Key};
use super::player::play_all;
use super::prompts::{self, Language, Prompt, PROMPT_CODEC};
use super::rtp::{OutStream, Packet, RtpError};

/// What the menu plays and how long it waits.
#[derive(Debug, Clone)]
pub struct MenuPrompts<'a> {
    /// Played first (a key during it already chooses).
    pub welcome: &'a [u8],
    /// The choices, one clip each, in order.
    pub menu: Vec<&'a [u8]>,
    /// How long to wait for a key once the menu has been played.
    pub wait: Duration,
    /// The languages a key may choose: those the menu offers. Another language's key
    /// (the caller guessed, or pressed the wrong one) leaves Italian.
    pub offered: Vec<Language>,
}

impl MenuPrompts<'static> {
    /// The recorded Italian welcome and the menu lines of `languages`, in that order.
    pub fn offering(languages: &[Language], wait: Duration) -> Self {
        Self {
            welcome: prompts::audio(Language::Italian, Prompt::Welcome),
            menu: languages.iter().map(|l| prompts::menu_line(*l)).collect(),
            wait,
            offered: languages.to_vec(),
        }
    }
}

impl Default for MenuPrompts<'static> {
    /// The recorded Italian welcome, all eight languages, and 5 s to press a key.
    fn default() -> Self {
        Self::offering(&Language::ALL, Duration::from_secs(5))
    }
}

/// What the caller chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    /// The language (Italian when no key or no language's key was pressed).
    pub language: Language,
    /// The key pressed, if any.
    pub key: Option<Key>,
}

/// The caller's leg, lent to the menu.
pub struct CallerLeg<'a> {
    /// Our RTP socket facing the trunk.
    pub socket: &'a UdpSocket,
    /// Where the trunk receives RTP.
    pub remote: SocketAddr,
    /// Our stream towards the trunk (its law is the one the trunk's SDP prefers).
    pub stream: &'a mut OutStream,
    /// The telephone-event payload type of the trunk's SDP, if it offered one.
    pub telephone_event: Option<u8>,
}

/// Plays the menu and returns the caller's choice. `info_keys` carries the keys the
/// dialog receives as SIP INFO; a closed channel just means there will be none.
pub async fn choose_language(
    leg: CallerLeg<'_>,
    prompts: MenuPrompts<'_>,
    info_keys: &mut mpsc::Receiver<Key>,
) -> Result<Choice, RtpError> {
    let CallerLeg {
        socket,
        remote,
        stream,
        telephone_event,
    } = leg;
    let mut detector = telephone_event.map(DtmfDetector::new);
    let stop = CancellationToken::new();
    let key = {
        let speak = async {
            let clips: Vec<&[u8]> = std::iter::once(prompts.welcome)
                .chain(prompts.menu.iter().copied())
                .collect();
            if play_all(socket, remote, stream, &clips, PROMPT_CODEC, &stop).await? {
                return Ok(());
            }
            tokio::time::sleep(prompts.wait).await;
            Ok::<(), RtpError>(())
        };
        let listen = first_key(socket, remote, detector.as_mut(), info_keys);
        tokio::pin!(speak, listen);
        tokio::select! {
            key = &mut listen => {
                stop.cancel();
                // The player stops at its next tick; its stream stays consistent.
                (&mut speak).await?;
                Some(key)
            }
            done = &mut speak => {
                done?;
                None
            }
        }
    };
    Ok(Choice {
        language: Language::chosen(key, &prompts.offered),
        key,
    })
}

/// The first key pressed, from the RTP (packets from the trunk's address only, so that
/// nobody spraying the port range can choose for the caller) or from SIP INFO.
async fn first_key(
    socket: &UdpSocket,
    remote: SocketAddr,
    mut detector: Option<&mut DtmfDetector>,
    info_keys: &mut mpsc::Receiver<Key>,
) -> Key {
    let mut buf = [0u8; 2048];
    let mut info_open = true;
    loop {
        tokio::select! {
            key = info_keys.recv(), if info_open => match key {
                Some(key) => return key,
                None => info_open = false,
            },
            received = socket.recv_from(&mut buf) => {
                let Ok((len, source)) = received else {
                    // An ICMP error surfacing on the socket: wait and read on.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                // The port may differ behind a NAT; the address does not.
                if source.ip() != remote.ip() {
                    continue;
                }
                let (Some(detector), Ok(packet)) = (detector.as_deref_mut(), Packet::parse(&buf[..len]))
                else {
                    continue;
                };
                if let Some(key) = detector.on_packet(&packet) {
                    return key;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {

    use rtp_rs::{RtpPacketBuilder, Seq};
    use tokio::time::Instant;

    use super::*;
    use crate::telephony::media::g711::Codec;
    use crate::telephony::media::testing::trunk_pair;

    fn short_prompts() -> MenuPrompts<'static> {
        static ONE_SECOND: [u8; 8_000] = [0x80; 8_000];
        MenuPrompts {
            welcome: &ONE_SECOND,
            menu: vec![&ONE_SECOND],
            wait: Duration::from_millis(300),
            offered: Language::ALL.to_vec(),
        }
    }

    /// The trunk presses `key` after hearing `after` packets: start, repeat, three ends.
    async fn trunk_presses(trunk: &UdpSocket, to: SocketAddr, after: usize, key: u8) -> usize {
        let mut buf = [0u8; 2048];
        for _ in 0..after {
            trunk.recv(&mut buf).await.expect("prompt packet");
        }
        for (i, (end, duration)) in [
            (false, 160u16),
            (false, 320),
            (true, 480),
            (true, 480),
            (true, 480),
        ]
        .into_iter()
        .enumerate()
        {
            let payload = [
                key,
                if end { 0x80 | 10 } else { 10 },
                (duration >> 8) as u8,
                duration as u8,
            ];
            let packet = RtpPacketBuilder::new()
                .payload_type(101)
                .ssrc(42)
                .sequence(Seq::from(i as u16))
                .timestamp(80_000)
                .marked(i == 0)
                .payload(&payload)
                .build()
                .expect("built");
            trunk.send_to(&packet, to).await.expect("sent");
        }
        after
    }

    #[tokio::test]
    async fn key_2_during_the_welcome_chooses_english_and_stops_the_prompt() {
        let (ours, trunk, trunk_addr) = trunk_pair().await;
        let ours_addr = ours.local_addr().expect("address");
        let mut stream = OutStream::new(Codec::Pcma);
        let (_tx, mut info) = mpsc::channel(1);
        let started = Instant::now();
        let leg = CallerLeg {
            socket: &ours,
            remote: trunk_addr,
            stream: &mut stream,
            telephone_event: Some(101),
        };
        let (choice, _) = tokio::join!(
            choose_language(leg, short_prompts(), &mut info),
            trunk_presses(&trunk, ours_addr, 5, 2)
        );
        let choice = choice.expect("menu played");
        assert_eq!(choice.language, Language::English);
        assert_eq!(choice.key.map(Key::as_char), Some('2'));
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the prompt stopped"
        );
    }

    #[tokio::test]
    async fn a_key_sent_as_sip_info_chooses_too() {
        let (ours, _trunk, trunk_addr) = trunk_pair().await;
        let mut stream = OutStream::new(Codec::Pcmu);
        let (tx, mut info) = mpsc::channel(1);
        tx.send(Key::from_char('7').expect("key"))
            .await
            .expect("sent");
        let leg = CallerLeg {
            socket: &ours,
            remote: trunk_addr,
            stream: &mut stream,
            telephone_event: None,
        };
        let choice = choose_language(leg, short_prompts(), &mut info)
            .await
            .expect("menu");
        assert_eq!(choice.language, Language::Chinese);
    }

    #[tokio::test]
    async fn no_key_is_italian_after_the_whole_menu_and_the_wait() {
        let (ours, trunk, trunk_addr) = trunk_pair().await;
        let mut stream = OutStream::new(Codec::Pcmu);
        let (tx, mut info) = mpsc::channel(1);
        drop(tx);
        let started = Instant::now();
        let leg = CallerLeg {
            socket: &ours,
            remote: trunk_addr,
            stream: &mut stream,
            telephone_event: Some(101),
        };
        let choice = choose_language(leg, short_prompts(), &mut info)
            .await
            .expect("menu");
        assert_eq!(
            choice,
            Choice {
                language: Language::Italian,
                key: None
            }
        );
        assert!(
            started.elapsed() >= Duration::from_millis(1_700),
            "{:?}",
            started.elapsed()
        );
        // Both prompts reached the trunk: 100 packets of 20 ms.
        let mut buf = [0u8; 2048];
        let mut packets = 0;
        while let Ok(Ok(_)) =
            tokio::time::timeout(Duration::from_millis(100), trunk.recv(&mut buf)).await
        {
            packets += 1;
        }
        assert_eq!(packets, 100);
    }

    #[tokio::test]
    async fn a_language_the_menu_does_not_offer_leaves_italian() {
        let (ours, _trunk, trunk_addr) = trunk_pair().await;
        let mut stream = OutStream::new(Codec::Pcmu);
        let (tx, mut info) = mpsc::channel(1);
        tx.send(Key::from_char('7').expect("key"))
            .await
            .expect("sent");
        let leg = CallerLeg {
            socket: &ours,
            remote: trunk_addr,
            stream: &mut stream,
            telephone_event: None,
        };
        let prompts = MenuPrompts {
            offered: vec![Language::Italian, Language::English],
            ..short_prompts()
        };
        let choice = choose_language(leg, prompts, &mut info)
            .await
            .expect("menu");
        assert_eq!(choice.language, Language::Italian);
        assert_eq!(choice.key.map(Key::as_char), Some('7'));
    }

    #[test]
    fn the_menu_plays_the_lines_of_the_languages_offered_in_order() {
        let p = MenuPrompts::offering(
            &[Language::Romanian, Language::English],
            Duration::from_secs(3),
        );
        assert_eq!(
            p.menu,
            [
                prompts::menu_line(Language::Romanian),
                prompts::menu_line(Language::English)
            ]
        );
        assert_eq!(MenuPrompts::default().menu.len(), 8);
    }

    #[tokio::test]
    async fn a_key_that_is_no_language_leaves_italian() {
        let (ours, trunk, trunk_addr) = trunk_pair().await;
        let ours_addr = ours.local_addr().expect("address");
        let mut stream = OutStream::new(Codec::Pcmu);
        let (_tx, mut info) = mpsc::channel(1);
        let leg = CallerLeg {
            socket: &ours,
            remote: trunk_addr,
            stream: &mut stream,
            telephone_event: Some(101),
        };
        let (choice, _) = tokio::join!(
            choose_language(leg, short_prompts(), &mut info),
            trunk_presses(&trunk, ours_addr, 1, 9)
        );
        let choice = choice.expect("menu");
        assert_eq!(choice.language, Language::Italian);
        assert_eq!(choice.key.map(Key::as_char), Some('9'));
    }
}
