//! RTP packets the service reads and sends itself (prompts, DTMF, the mixed audio of a
//! three-party call), on top of `rtp-rs`: parsing into plain fields, and an outgoing
//! stream that keeps its SSRC, sequence number and timestamp from one packet to the next
//! whatever is played on it, so the far end sees one continuous stream (RFC 3550).

use std::time::Duration;

use rtp_rs::{RtpPacketBuilder, RtpReader, Seq};
use tokio::time::Instant;

use super::g711::Codec;

/// G.711's clock: 8,000 samples a second, one byte each.
pub const SAMPLE_RATE: u32 = 8_000;
/// Samples (and G.711 bytes) in one 20 ms frame, the packet time every peer accepts.
pub const FRAME_SAMPLES: usize = 160;
/// The packet time.
pub const FRAME: Duration = Duration::from_millis(20);
/// Largest RTP packet the service builds: header with no CSRC, and a frame well over
/// 20 ms of G.711.
pub const MAX_PACKET: usize = 12 + 1_024;

/// A packet that is not RTP, or one that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    /// Too short, not version 2, or a header longer than the packet.
    #[error("malformed RTP packet")]
    Malformed,
    /// The payload does not fit [`MAX_PACKET`], or the payload type is over 127.
    #[error("RTP packet cannot be built")]
    Build,
}

/// The fields of a received RTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Payload type (a codec's, or the negotiated `telephone-event`'s).
    pub payload_type: u8,
    /// Marker bit: the first packet of a talkspurt, or of a DTMF event.
    pub marker: bool,
    /// Sequence number.
    pub sequence: u16,
    /// Timestamp, in the payload type's clock.
    pub timestamp: u32,
    /// The stream's source.
    pub ssrc: u32,
    /// The payload, padding removed.
    pub payload: &'a [u8],
}

impl<'a> Packet<'a> {
    /// Parses a datagram.
    pub fn parse(datagram: &'a [u8]) -> Result<Self, RtpError> {
        // rtp-rs checks every length before any accessor runs, so none of them can panic
        // on a datagram from the network.
        let rtp = RtpReader::new(datagram).map_err(|_| RtpError::Malformed)?;
        Ok(Self {
            payload_type: rtp.payload_type(),
            marker: rtp.mark(),
            sequence: rtp.sequence_number().into(),
            timestamp: rtp.timestamp(),
            ssrc: rtp.ssrc(),
            payload: rtp.payload(),
        })
    }
}

/// A stream the service sends: one SSRC, its sequence numbers and timestamps, and the
/// marker bit on the first packet of each talkspurt.
#[derive(Debug, Clone)]
pub struct OutStream {
    codec: Codec,
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
    marker: bool,
    /// When the last packet left, and its number of samples: a new talkspurt's
    /// timestamp counts the time since.
    last: Option<(Instant, u32)>,
}

impl OutStream {
    /// A new stream with random SSRC, first sequence number and first timestamp, as
    /// RFC 3550 asks (they make known-plaintext attacks on SRTP harder, and tell two
    /// streams apart); its first packet carries the marker.
    pub fn new(codec: Codec) -> Self {
        Self::from_parts(codec, rand::random(), rand::random(), rand::random())
    }

    /// A stream that goes on from known values (a test, or one taking over another).
    pub fn from_parts(codec: Codec, ssrc: u32, sequence: u16, timestamp: u32) -> Self {
        Self {
            codec,
            ssrc,
            sequence,
            timestamp,
            marker: true,
            last: None,
        }
    }

    /// The codec of its audio.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Its SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The sequence number of the next packet.
    pub fn next_sequence(&self) -> u16 {
        self.sequence
    }

    /// The timestamp of the next packet.
    pub fn next_timestamp(&self) -> u32 {
        self.timestamp
    }

    /// A stream that goes on from another sender's last packet of one frame (`ssrc`,
    /// `sequence`, `timestamp`, sent at `at`): the same SSRC, the next number, and at
    /// `now` a talkspurt whose timestamp counts the time since, so that the receiver
    /// hears one stream go on rather than a new one start.
    pub fn continuing(
        codec: Codec,
        ssrc: u32,
        sequence: u16,
        timestamp: u32,
        at: Instant,
        now: Instant,
    ) -> Self {
        let frame = FRAME_SAMPLES as u32;
        let mut stream = Self::from_parts(
            codec,
            ssrc,
            sequence.wrapping_add(1),
            timestamp.wrapping_add(frame),
        );
        stream.last = Some((at, frame));
        stream.begin_talkspurt(now);
        stream
    }

    /// Starts a talkspurt after a pause: the next packet carries the marker, and its
    /// timestamp moves on by the time that passed since the last packet, so that the
    /// receiver plays it after a pause as long as the real one (RFC 3551 §4.1).
    pub fn begin_talkspurt(&mut self, now: Instant) {
        self.marker = true;
        if let Some((at, samples)) = self.last {
            let elapsed = now.saturating_duration_since(at);
            let elapsed = u32::try_from(elapsed.as_millis())
                .unwrap_or(u32::MAX)
                .saturating_mul(SAMPLE_RATE / 1_000);
            // The timestamp already counts the last packet's own samples.
            self.timestamp = self.timestamp.wrapping_add(elapsed.saturating_sub(samples));
        }
    }

    /// Writes the next packet of audio (codes of this stream's codec, one per sample)
    /// into `buf`, and returns its length; sequence number and timestamp move on.
    pub fn write(
        &mut self,
        payload: &[u8],
        now: Instant,
        buf: &mut [u8],
    ) -> Result<usize, RtpError> {
        let len = RtpPacketBuilder::new()
            .payload_type(self.codec.payload_type())
            .ssrc(self.ssrc)
            .sequence(Seq::from(self.sequence))
            .timestamp(self.timestamp)
            .marked(self.marker)
            .payload(payload)
            .build_into(buf)
            .map_err(|_| RtpError::Build)?;
        let samples = u32::try_from(payload.len()).map_err(|_| RtpError::Build)?;
        self.sequence = self.sequence.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(samples);
        self.marker = false;
        self.last = Some((now, samples));
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_numbers_its_packets_and_marks_only_the_first() {
        let mut stream = OutStream::from_parts(Codec::Pcma, 0xDEAD_BEEF, 65_535, u32::MAX - 100);
        let now = Instant::now();
        let mut buf = [0u8; MAX_PACKET];
        let frame = [0xD5u8; FRAME_SAMPLES];
        let mut seen = Vec::new();
        for _ in 0..3 {
            let len = stream.write(&frame, now, &mut buf).expect("built");
            let p = Packet::parse(&buf[..len]).expect("parsed");
            assert_eq!(p.payload, frame);
            assert_eq!((p.payload_type, p.ssrc), (8, 0xDEAD_BEEF));
            seen.push((p.sequence, p.timestamp, p.marker));
        }
        // Both counters wrap, as RFC 3550 expects of a long call.
        assert_eq!(
            seen,
            [
                (65_535, u32::MAX - 100, true),
                (0, 59, false),
                (1, 219, false)
            ]
        );
    }

    #[test]
    fn a_stream_taking_over_goes_on_from_the_last_packet_and_the_time_since() {
        // Another sender's last packet: sequence 9, timestamp 1,000, 100 ms ago.
        let at = Instant::now();
        let now = at + std::time::Duration::from_millis(100);
        let mut stream = OutStream::continuing(Codec::Pcmu, 0xCAFE, 9, 1_000, at, now);
        let mut buf = [0u8; MAX_PACKET];
        let len = stream
            .write(&[0xFF; FRAME_SAMPLES], now, &mut buf)
            .expect("built");
        let p = Packet::parse(&buf[..len]).expect("parsed");
        assert_eq!((p.ssrc, p.sequence, p.marker), (0xCAFE, 10, true));
        // 100 ms at 8 kHz after the last packet's timestamp.
        assert_eq!(p.timestamp, 1_800);
    }

    #[test]
    fn a_talkspurt_after_a_pause_is_marked_and_its_timestamp_counts_the_pause() {
        let mut stream = OutStream::from_parts(Codec::Pcmu, 1, 10, 1_000);
        let start = Instant::now();
        let mut buf = [0u8; MAX_PACKET];
        stream.write(&[0xFF; 160], start, &mut buf).expect("built");
        stream.begin_talkspurt(start + Duration::from_millis(1_000));
        let len = stream
            .write(&[0xFF; 160], start + Duration::from_millis(1_000), &mut buf)
            .expect("built");
        let p = Packet::parse(&buf[..len]).expect("parsed");
        assert!(p.marker);
        assert_eq!(p.sequence, 11, "no sequence number is skipped over a pause");
        assert_eq!(
            p.timestamp,
            1_000 + 8_000,
            "one second later on the 8 kHz clock"
        );
    }

    #[test]
    fn garbage_is_not_rtp() {
        assert_eq!(Packet::parse(&[0x80, 0, 1]), Err(RtpError::Malformed));
        assert_eq!(
            Packet::parse(&[0u8; 20]),
            Err(RtpError::Malformed),
            "version 0"
        );
        // Version 2 with 15 CSRCs announced and none present.
        let mut short = [0u8; 20];
        short[0] = 0x8F;
        assert_eq!(Packet::parse(&short), Err(RtpError::Malformed));
    }

    #[test]
    fn a_payload_too_large_for_the_buffer_is_an_error() {
        let mut stream = OutStream::new(Codec::Pcmu);
        let mut buf = [0u8; 100];
        assert_eq!(
            stream.write(&[0xFF; 160], Instant::now(), &mut buf),
            Err(RtpError::Build)
        );
    }
}
