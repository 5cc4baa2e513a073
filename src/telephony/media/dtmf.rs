//! Keys the caller presses: RFC 4733 telephone-events in the RTP stream (the negotiated
//! payload type, usually 101), and SIP INFO bodies (`application/dtmf-relay`,
//! `application/dtmf`) from trunks that send keys out of band.
//!
//! A sender repeats every event packet while the key is down, and sends the end packet
//! three times; packets may also arrive twice or out of order. All packets of one key
//! press share one RTP timestamp (the start of the event), which is how the detector
//! reports each press once, at its first packet, so that a key stops a prompt at once.

use std::collections::VecDeque;

use super::rtp::Packet;

/// A key of the keypad: RFC 4733 events 0–15 (0–9, `*`, `#`, A–D).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key(u8);

impl Key {
    /// The key of an event code, if it is a key (16 and above are tones and signals).
    pub fn from_event(event: u8) -> Option<Self> {
        (event < 16).then_some(Self(event))
    }

    /// The key written as a character (`0`–`9`, `*`, `#`, `A`–`D`, any case).
    pub fn from_char(c: char) -> Option<Self> {
        let event = match c.to_ascii_uppercase() {
            d @ '0'..='9' => d as u8 - b'0',
            '*' => 10,
            '#' => 11,
            l @ 'A'..='D' => l as u8 - b'A' + 12,
            _ => return None,
        };
        Some(Self(event))
    }

    /// Its RFC 4733 event code.
    pub fn event(self) -> u8 {
        self.0
    }

    /// The digit, for 0–9.
    pub fn digit(self) -> Option<u8> {
        (self.0 < 10).then_some(self.0)
    }

    /// As a character.
    pub fn as_char(self) -> char {
        match self.0 {
            d @ 0..=9 => char::from(b'0' + d),
            10 => '*',
            11 => '#',
            l => char::from(b'A' + l - 12),
        }
    }
}

/// A telephone-event payload that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DtmfError {
    /// Shorter than the 4 bytes of an event.
    #[error("telephone-event payload too short")]
    Short,
    /// An INFO body with no key in it, or not a DTMF content type.
    #[error("no DTMF key in the SIP INFO body")]
    NoKey,
}

/// One RFC 4733 event payload (§2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code (0–15 are keys).
    pub event: u8,
    /// The E bit: the key was released.
    pub end: bool,
    /// Power level in −dBm0 (0 loudest, 63 quietest).
    pub volume: u8,
    /// Duration so far, in timestamp units (samples at 8 kHz).
    pub duration: u16,
}

impl TelephoneEvent {
    /// Reads the first event of a payload (a sender may append redundant ones, which
    /// repeat what earlier packets said).
    pub fn parse(payload: &[u8]) -> Result<Self, DtmfError> {
        let [event, flags, d0, d1, ..] = *payload else {
            return Err(DtmfError::Short);
        };
        Ok(Self {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3F,
            duration: u16::from_be_bytes([d0, d1]),
        })
    }
}

/// Events remembered for de-duplication: enough for a few presses in flight even when
/// their packets arrive interleaved.
const REMEMBERED: usize = 8;

/// Reads the keys of one incoming stream's telephone-events, each press once.
#[derive(Debug, Clone)]
pub struct DtmfDetector {
    payload_type: u8,
    /// (SSRC, event timestamp) of presses already reported, newest last.
    seen: VecDeque<(u32, u32)>,
    /// The newest press: its SSRC, timestamp, key, duration so far, and whether it
    /// ended, to join the segments of a press held longer than a duration can count.
    current: Option<(u32, u32, Key, u16, bool)>,
}

impl DtmfDetector {
    /// A detector for the `telephone-event` payload type negotiated in the SDP.
    pub fn new(payload_type: u8) -> Self {
        Self {
            payload_type,
            seen: VecDeque::with_capacity(REMEMBERED),
            current: None,
        }
    }

    /// The payload type it reads.
    pub fn payload_type(&self) -> u8 {
        self.payload_type
    }

    /// Takes any RTP packet of the stream; returns a key the first time a press is seen.
    /// Audio packets, other events and malformed payloads return nothing.
    pub fn on_packet(&mut self, packet: &Packet<'_>) -> Option<Key> {
        if packet.payload_type != self.payload_type {
            return None;
        }
        let event = TelephoneEvent::parse(packet.payload).ok()?;
        let key = Key::from_event(event.event)?;
        let id = (packet.ssrc, packet.timestamp);
        if self.seen.contains(&id) {
            if let Some(current) = self.current.as_mut().filter(|c| (c.0, c.1) == id) {
                current.3 = current.3.max(event.duration);
                current.4 |= event.end;
            }
            return None;
        }
        // A press held past 65,535 samples (8 s) goes on in a new segment whose
        // timestamp is where the previous one's duration ran out (RFC 4733 §2.5.1.3):
        // the same press, not a new one.
        let continues = self.current.is_some_and(|(ssrc, ts, k, duration, ended)| {
            ssrc == packet.ssrc
                && k == key
                && !ended
                && packet.timestamp == ts.wrapping_add(u32::from(duration))
                && duration >= u16::MAX - 2 * 160
        });
        if self.seen.len() == REMEMBERED {
            self.seen.pop_front();
        }
        self.seen.push_back(id);
        self.current = Some((
            packet.ssrc,
            packet.timestamp,
            key,
            event.duration,
            event.end,
        ));
        (!continues).then_some(key)
    }
}

/// The key of a SIP INFO body, by its content type: `application/dtmf-relay`
/// (`Signal=5` and `Duration=160` lines, the common one) or `application/dtmf` (the
/// key alone). Some devices write `*` and `#` as the event codes 10 and 11.
pub fn key_from_info(content_type: &str, body: &[u8]) -> Result<Key, DtmfError> {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let body = std::str::from_utf8(body).map_err(|_| DtmfError::NoKey)?;
    let value = match media.as_str() {
        "application/dtmf-relay" => body
            .lines()
            .filter_map(|line| line.split_once('='))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("signal"))
            .map(|(_, value)| value.trim())
            .ok_or(DtmfError::NoKey)?,
        "application/dtmf" => body.trim(),
        _ => return Err(DtmfError::NoKey),
    };
    let mut chars = value.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Key::from_char(c),
        _ => value.parse::<u8>().ok().and_then(Key::from_event),
    }
    .ok_or(DtmfError::NoKey)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(ssrc: u32, timestamp: u32, key: u8, end: bool, duration: u16) -> Vec<u8> {
        let flags = if end { 0x80 | 10 } else { 10 };
        let d = duration.to_be_bytes();
        let mut packet = vec![0x80, 101, 0, 0];
        packet.extend_from_slice(&timestamp.to_be_bytes());
        packet.extend_from_slice(&ssrc.to_be_bytes());
        packet.extend_from_slice(&[key, flags, d[0], d[1]]);
        packet
    }

    fn feed(detector: &mut DtmfDetector, datagrams: &[Vec<u8>]) -> String {
        datagrams
            .iter()
            .filter_map(|d| detector.on_packet(&Packet::parse(d).expect("rtp")))
            .map(Key::as_char)
            .collect()
    }

    #[test]
    fn an_event_payload_gives_event_end_volume_and_duration() {
        let e = TelephoneEvent::parse(&[5, 0x80 | 10, 0x01, 0x40]).expect("event");
        assert_eq!(
            e,
            TelephoneEvent {
                event: 5,
                end: true,
                volume: 10,
                duration: 320
            }
        );
        assert_eq!(TelephoneEvent::parse(&[5, 0]), Err(DtmfError::Short));
    }

    #[test]
    fn a_press_with_repeats_and_three_end_packets_is_one_key() {
        let mut d = DtmfDetector::new(101);
        let press: Vec<Vec<u8>> = [(false, 160), (false, 320), (false, 480)]
            .into_iter()
            .chain([(true, 640); 3])
            .map(|(end, duration)| event(7, 8_000, 2, end, duration))
            .collect();
        assert_eq!(feed(&mut d, &press), "2");
    }

    #[test]
    fn the_same_key_pressed_twice_is_reported_twice() {
        let mut d = DtmfDetector::new(101);
        let packets = [
            event(7, 8_000, 1, false, 160),
            event(7, 8_000, 1, true, 800),
            event(7, 16_000, 1, false, 160),
            event(7, 16_000, 1, true, 800),
        ];
        assert_eq!(feed(&mut d, &packets), "11");
    }

    #[test]
    fn a_late_retransmission_of_an_earlier_press_is_not_a_new_key() {
        let mut d = DtmfDetector::new(101);
        let packets = [
            event(7, 8_000, 3, true, 800),
            event(7, 16_000, 4, false, 160),
            event(7, 8_000, 3, true, 800),
            event(7, 16_000, 4, true, 800),
        ];
        assert_eq!(feed(&mut d, &packets), "34");
    }

    #[test]
    fn a_press_whose_first_packets_were_lost_is_reported_at_its_end() {
        let mut d = DtmfDetector::new(101);
        assert_eq!(feed(&mut d, &[event(7, 8_000, 11, true, 960)]), "#");
    }

    #[test]
    fn a_press_longer_than_a_duration_counts_is_one_key() {
        let mut d = DtmfDetector::new(101);
        let packets = [
            event(7, 8_000, 9, false, 65_535),
            event(7, 8_000 + 65_535, 9, false, 160),
            event(7, 8_000 + 65_535, 9, true, 2_000),
        ];
        assert_eq!(feed(&mut d, &packets), "9");
    }

    #[test]
    fn audio_other_payload_types_and_tones_are_not_keys() {
        let mut d = DtmfDetector::new(96);
        let mut tone = event(7, 8_000, 66, false, 160);
        tone[1] = 96;
        let audio = {
            let mut a = event(7, 8_000, 5, false, 160);
            a[1] = 0;
            a
        };
        assert_eq!(
            feed(&mut d, &[event(7, 8_000, 5, false, 160), tone, audio]),
            ""
        );
    }

    #[test]
    fn a_new_source_starts_afresh() {
        let mut d = DtmfDetector::new(101);
        let packets = [event(7, 8_000, 5, true, 800), event(8, 8_000, 5, true, 800)];
        assert_eq!(feed(&mut d, &packets), "55");
    }

    #[test]
    fn sip_info_bodies_of_both_kinds_give_their_key() {
        let relay = |body: &str| key_from_info("application/dtmf-relay", body.as_bytes());
        assert_eq!(relay("Signal=5\r\nDuration=160\r\n"), Ok(Key(5)));
        assert_eq!(relay("signal= *\r\nDuration=250"), Ok(Key(10)));
        assert_eq!(relay("Signal=11\r\n"), Ok(Key(11)), "# as its event code");
        assert_eq!(relay("Duration=160\r\n"), Err(DtmfError::NoKey));
        assert_eq!(relay("Signal=X\r\n"), Err(DtmfError::NoKey));
        assert_eq!(
            key_from_info("Application/DTMF; charset=utf-8", b"8\r\n"),
            Ok(Key(8))
        );
        assert_eq!(key_from_info("application/dtmf", b"#"), Ok(Key(11)));
        assert_eq!(key_from_info("text/plain", b"5"), Err(DtmfError::NoKey));
    }

    #[test]
    fn keys_read_and_write_as_their_characters() {
        for c in "0123456789*#ABCD".chars() {
            let key = Key::from_char(c).expect("a key");
            assert_eq!(key.as_char(), c);
            assert_eq!(Key::from_event(key.event()), Some(key));
        }
        assert_eq!(Key::from_char('7').and_then(Key::digit), Some(7));
        assert_eq!(Key::from_char('*').and_then(Key::digit), None);
        assert_eq!(Key::from_event(16), None);
    }
}
