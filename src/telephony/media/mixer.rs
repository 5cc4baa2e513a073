//! A conference of a few parties (caller, operator, mediator) mixed frame by frame: each
//! party hears the sum of the others and never itself.
//!
//! The mixer runs on a 20 ms tick of its own. Each party's RTP payloads are decoded as
//! they come into a short queue of samples; every tick takes one frame (160 samples)
//! from each queue, or silence from a party whose packet is late or lost. That is all
//! the alignment a conference of phones on the same network needs: a packet arriving
//! a little late is used at the next tick, and a queue that grows past a few frames
//! (a party's clock running fast, or a burst after a stall) loses its oldest samples so
//! nobody's delay grows without end. No jitter buffer, no time stretching.

use std::collections::VecDeque;

use super::g711::Codec;
use super::rtp::FRAME_SAMPLES;

/// Samples a party may have waiting: three frames. Beyond that the oldest go, so a
/// party's audio is never more than 60 ms behind the tick.
pub const MAX_QUEUED: usize = 3 * FRAME_SAMPLES;

/// Parties one conference holds: the caller, the operator, the mediator, and one more
/// (a second mediator, or a supervisor listening in) before anyone must be dropped.
pub const MAX_PARTIES: usize = 4;

/// A party of a conference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartyId(usize);

/// A party cannot be added or is not there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MixerError {
    /// [`MAX_PARTIES`] are in the conference already.
    #[error("the conference is full")]
    Full,
    /// The party has left, or never joined.
    #[error("no such party in the conference")]
    NoParty,
}

#[derive(Debug)]
struct Party {
    codec: Codec,
    /// Decoded samples waiting for their tick.
    queue: VecDeque<i16>,
    /// This tick's frame from the party (zeros when it sent nothing).
    input: [i16; FRAME_SAMPLES],
    /// This tick's frame for the party, in its codec.
    output: [u8; FRAME_SAMPLES],
}

/// The mix of one conference.
#[derive(Debug, Default)]
pub struct Mixer {
    parties: Vec<Option<Party>>,
    decoded: Vec<i16>,
}

impl Mixer {
    /// An empty conference.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a party whose audio is in `codec` (what its SDP negotiated).
    pub fn join(&mut self, codec: Codec) -> Result<PartyId, MixerError> {
        let party = Party {
            codec,
            queue: VecDeque::with_capacity(MAX_QUEUED + FRAME_SAMPLES),
            input: [0; FRAME_SAMPLES],
            output: [codec.silence(); FRAME_SAMPLES],
        };
        // A left party's slot is taken again, so ids stay small and the vector short.
        if let Some(free) = self.parties.iter().position(Option::is_none) {
            self.parties[free] = Some(party);
            return Ok(PartyId(free));
        }
        if self.parties.len() >= MAX_PARTIES {
            return Err(MixerError::Full);
        }
        self.parties.push(Some(party));
        Ok(PartyId(self.parties.len() - 1))
    }

    /// Removes a party (the operator drops the mediator); the others stop hearing it at
    /// the next tick.
    pub fn leave(&mut self, id: PartyId) -> Result<(), MixerError> {
        let slot = self.parties.get_mut(id.0).ok_or(MixerError::NoParty)?;
        slot.take().map(|_| ()).ok_or(MixerError::NoParty)
    }

    /// How many parties are in.
    pub fn len(&self) -> usize {
        self.parties.iter().flatten().count()
    }

    /// Whether nobody is in.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes the G.711 payload of an RTP packet from a party (any packet time: 20 ms
    /// is 160 bytes, 30 ms 240, and so on).
    pub fn push(&mut self, id: PartyId, payload: &[u8]) -> Result<(), MixerError> {
        let party = self
            .parties
            .get_mut(id.0)
            .and_then(Option::as_mut)
            .ok_or(MixerError::NoParty)?;
        self.decoded.resize(payload.len(), 0);
        party.codec.decode(payload, &mut self.decoded);
        party.queue.extend(&self.decoded);
        if let Some(excess) = party.queue.len().checked_sub(MAX_QUEUED) {
            party.queue.drain(..excess);
        }
        Ok(())
    }

    /// One tick: takes a frame from every party and makes each party's frame of the
    /// others' sum, saturated to 16 bits, in its own codec.
    pub fn tick(&mut self) {
        let mut sum = [0i32; FRAME_SAMPLES];
        for party in self.parties.iter_mut().flatten() {
            if party.queue.len() >= FRAME_SAMPLES {
                for (x, q) in party
                    .input
                    .iter_mut()
                    .zip(party.queue.drain(..FRAME_SAMPLES))
                {
                    *x = q;
                }
            } else {
                // Late or lost: silence this tick; what did arrive waits for the rest.
                party.input = [0; FRAME_SAMPLES];
            }
            for (s, x) in sum.iter_mut().zip(&party.input) {
                *s += i32::from(*x);
            }
        }
        let mut mix = [0i16; FRAME_SAMPLES];
        for party in self.parties.iter_mut().flatten() {
            // The sum of everyone less the party itself: one subtraction per sample,
            // whatever the number of parties.
            for ((m, s), x) in mix.iter_mut().zip(&sum).zip(&party.input) {
                *m = (s - i32::from(*x)).clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
            }
            party.codec.encode(&mix, &mut party.output);
        }
    }

    /// What a party hears for the last tick: one frame in its codec, for its next RTP
    /// packet.
    pub fn output(&self, id: PartyId) -> Result<&[u8; FRAME_SAMPLES], MixerError> {
        self.parties
            .get(id.0)
            .and_then(Option::as_ref)
            .map(|p| &p.output)
            .ok_or(MixerError::NoParty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telephony::media::tone::{has_tone, rms, sine};

    /// A three-party call for `ticks` frames: A sends `a` Hz, B silence, C `c` Hz (0:
    /// nothing at all); returns what each heard, decoded.
    fn conference(codecs: [Codec; 3], a: f64, c: f64, ticks: usize) -> [Vec<i16>; 3] {
        let mut mixer = Mixer::new();
        let ids = codecs.map(|codec| mixer.join(codec).unwrap());
        let mut heard: [Vec<i16>; 3] = Default::default();
        for t in 0..ticks {
            for (i, freq) in [a, 0.0, c].into_iter().enumerate() {
                let samples = if freq > 0.0 {
                    sine(freq, 8_000, t * FRAME_SAMPLES, FRAME_SAMPLES)
                } else if i == 1 {
                    vec![0; FRAME_SAMPLES]
                } else {
                    continue;
                };
                let mut payload = [0u8; FRAME_SAMPLES];
                codecs[i].encode(&samples, &mut payload);
                mixer.push(ids[i], &payload).unwrap();
            }
            mixer.tick();
            for i in 0..3 {
                let mut decoded = [0i16; FRAME_SAMPLES];
                codecs[i].decode(mixer.output(ids[i]).unwrap(), &mut decoded);
                heard[i].extend_from_slice(&decoded);
            }
        }
        heard
    }

    #[test]
    fn each_party_hears_the_others_and_never_itself() {
        for codecs in [
            [Codec::Pcmu; 3],
            [Codec::Pcma; 3],
            [Codec::Pcma, Codec::Pcmu, Codec::Pcma],
        ] {
            let [a, b, c] = conference(codecs, 1_000.0, 2_000.0, 10);
            // A's 1 kHz reaches B and C, not A.
            assert!(has_tone(&b, 1_000.0), "{codecs:?}: B hears A");
            assert!(has_tone(&c, 1_000.0), "{codecs:?}: C hears A");
            assert!(!has_tone(&a, 1_000.0), "{codecs:?}: A hears itself");
            // C's 2 kHz reaches A and B, not C.
            assert!(has_tone(&a, 2_000.0), "{codecs:?}: A hears C");
            assert!(has_tone(&b, 2_000.0), "{codecs:?}: B hears C");
            assert!(!has_tone(&c, 2_000.0), "{codecs:?}: C hears itself");
        }
    }

    #[test]
    fn a_party_that_sends_nothing_is_silence_for_the_others() {
        let [a, b, c] = conference([Codec::Pcmu; 3], 1_000.0, 0.0, 5);
        assert!(has_tone(&b, 1_000.0) && has_tone(&c, 1_000.0));
        assert!(rms(&a) < 20.0, "A hears only B's and C's silence");
    }

    #[test]
    fn loud_parties_saturate_instead_of_wrapping() {
        let mut mixer = Mixer::new();
        let [a, b, c] = [Codec::Pcmu; 3].map(|codec| mixer.join(codec).unwrap());
        let loud = [0x80u8; FRAME_SAMPLES]; // μ-law full scale positive
        mixer.push(a, &loud).unwrap();
        mixer.push(b, &loud).unwrap();
        mixer.push(c, &[0xFF; FRAME_SAMPLES]).unwrap();
        mixer.tick();
        assert_eq!(mixer.output(c).unwrap(), &[0x80; FRAME_SAMPLES]);
    }

    #[test]
    fn a_late_packet_is_played_at_the_next_tick_and_a_burst_is_capped() {
        let mut mixer = Mixer::new();
        let a = mixer.join(Codec::Pcmu).unwrap();
        let b = mixer.join(Codec::Pcmu).unwrap();
        let tone = sine(1_000.0, 8_000, 0, FRAME_SAMPLES);
        let mut frame = [0u8; FRAME_SAMPLES];
        Codec::Pcmu.encode(&tone, &mut frame);
        mixer.tick();
        mixer.push(a, &frame).unwrap();
        mixer.tick();
        let mut heard = [0i16; FRAME_SAMPLES];
        Codec::Pcmu.decode(mixer.output(b).unwrap(), &mut heard);
        assert!(has_tone(&heard, 1_000.0));
        // Ten frames at once: only the newest three wait, then silence.
        for _ in 0..10 {
            mixer.push(a, &frame).unwrap();
        }
        let mut loud = 0;
        for _ in 0..5 {
            mixer.tick();
            Codec::Pcmu.decode(mixer.output(b).unwrap(), &mut heard);
            loud += usize::from(rms(&heard) > 1_000.0);
        }
        assert_eq!(loud, 3);
    }

    #[test]
    fn a_dropped_party_is_no_longer_heard_and_its_place_is_taken_again() {
        let mut mixer = Mixer::new();
        let ids: Vec<PartyId> = (0..MAX_PARTIES)
            .map(|_| mixer.join(Codec::Pcma).unwrap())
            .collect();
        assert_eq!(mixer.join(Codec::Pcma), Err(MixerError::Full));
        mixer.leave(ids[2]).unwrap();
        assert_eq!(mixer.leave(ids[2]), Err(MixerError::NoParty));
        assert_eq!(mixer.push(ids[2], &[0xD5; 160]), Err(MixerError::NoParty));
        assert_eq!(mixer.len(), MAX_PARTIES - 1);
        assert_eq!(mixer.join(Codec::Pcmu), Ok(ids[2]));
    }
}
