//! G.711 (ITU-T): the μ-law (PCMU, payload type 0) and A-law (PCMA, payload type 8)
//! companding that trunks and phones all speak, so that the service can play prompts and
//! mix a three-party call without any codec library.
//!
//! Encoding follows the reference algorithm of G.711 (as in G.191's `g711.c`): μ-law
//! works on the 14 most significant bits with a bias of 0x84, A-law on the 13 most
//! significant bits; both invert bits on the wire as the standard says. Decoding goes
//! through tables built at compile time, since it runs for every sample of every party.

/// One of the two G.711 laws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// μ-law, North America and Japan; static payload type 0.
    Pcmu,
    /// A-law, Europe (what Italian trunks offer first); static payload type 8.
    Pcma,
}

impl Codec {
    /// The static RTP payload type (RFC 3551).
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// The codec of a static payload type, if it is G.711.
    pub fn from_payload_type(pt: u8) -> Option<Self> {
        match pt {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            _ => None,
        }
    }

    /// The byte that decodes to (near) zero: what a frame of silence is made of.
    pub fn silence(self) -> u8 {
        match self {
            Codec::Pcmu => 0xFF,
            Codec::Pcma => 0xD5,
        }
    }

    /// One sample to its code.
    pub fn encode_sample(self, sample: i16) -> u8 {
        match self {
            Codec::Pcmu => ulaw_encode(sample),
            Codec::Pcma => alaw_encode(sample),
        }
    }

    /// One code to its sample.
    pub fn decode_sample(self, code: u8) -> i16 {
        let table = match self {
            Codec::Pcmu => &ULAW_TABLE,
            Codec::Pcma => &ALAW_TABLE,
        };
        table[usize::from(code)]
    }

    /// Decodes `codes` into `samples`, as many as the shorter of the two holds.
    pub fn decode(self, codes: &[u8], samples: &mut [i16]) {
        let table = match self {
            Codec::Pcmu => &ULAW_TABLE,
            Codec::Pcma => &ALAW_TABLE,
        };
        for (s, c) in samples.iter_mut().zip(codes) {
            *s = table[usize::from(*c)];
        }
    }

    /// Encodes `samples` into `codes`, as many as the shorter of the two holds.
    pub fn encode(self, samples: &[i16], codes: &mut [u8]) {
        // The match is outside the loop so that each loop is a plain, vectorisable map.
        match self {
            Codec::Pcmu => {
                for (c, s) in codes.iter_mut().zip(samples) {
                    *c = ulaw_encode(*s);
                }
            }
            Codec::Pcma => {
                for (c, s) in codes.iter_mut().zip(samples) {
                    *c = alaw_encode(*s);
                }
            }
        }
    }

    /// Re-encodes codes of `from` into this codec in place (a μ-law prompt to an A-law
    /// call); nothing to do when the two are the same.
    pub fn transcode_from(self, from: Codec, codes: &mut [u8]) {
        if from != self {
            for c in codes.iter_mut() {
                *c = self.encode_sample(from.decode_sample(*c));
            }
        }
    }
}

/// μ-law bias: added so that every segment's boundary falls on a power of two.
const ULAW_BIAS: i32 = 0x84;
/// Largest magnitude μ-law can carry once biased (32635 + 0x84 = 0x7FFF).
const ULAW_CLIP: i32 = 32635;

/// A 16-bit linear sample to μ-law.
pub const fn ulaw_encode(sample: i16) -> u8 {
    let mut s = sample as i32;
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    if s > ULAW_CLIP {
        s = ULAW_CLIP;
    }
    s += ULAW_BIAS;
    // s is in 0x84..=0x7FFF: its top bit is bit 7 to 14, the segment 0 to 7.
    let exponent = (31 - s.leading_zeros() as i32) - 7;
    let mantissa = (s >> (exponent + 3)) & 0x0F;
    !(sign | (exponent << 4) | mantissa) as u8
}

/// μ-law to a 16-bit linear sample.
pub const fn ulaw_decode(code: u8) -> i16 {
    let u = !code as i32;
    let exponent = (u >> 4) & 0x07;
    let mantissa = u & 0x0F;
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    if u & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

/// A 16-bit linear sample to A-law.
pub const fn alaw_encode(sample: i16) -> u8 {
    let mut pcm = (sample as i32) >> 3;
    // The sign bit is set for positive samples; even bits are inverted on the wire
    // (0x55), which the masks fold in.
    let mask = if pcm >= 0 {
        0xD5
    } else {
        pcm = -pcm - 1;
        0x55
    };
    // Segment ends of the 13-bit magnitude: 0x1F, 0x3F, ... 0xFFF.
    let mut segment = 0;
    while segment < 8 && pcm > (0x20 << segment) - 1 {
        segment += 1;
    }
    if segment >= 8 {
        return (0x7F ^ mask) as u8;
    }
    let shift = if segment < 2 { 1 } else { segment };
    let code = (segment << 4) | ((pcm >> shift) & 0x0F);
    (code ^ mask) as u8
}

/// A-law to a 16-bit linear sample.
pub const fn alaw_decode(code: u8) -> i16 {
    let a = (code ^ 0x55) as i32;
    let mut t = (a & 0x0F) << 4;
    let segment = (a & 0x70) >> 4;
    match segment {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= segment - 1;
        }
    }
    if a & 0x80 != 0 {
        t as i16
    } else {
        -t as i16
    }
}

/// A decoding table, filled by one of the decoders above at compile time.
macro_rules! table {
    ($decode:ident) => {{
        let mut out = [0i16; 256];
        let mut i = 0;
        while i < 256 {
            out[i] = $decode(i as u8);
            i += 1;
        }
        out
    }};
}

static ULAW_TABLE: [i16; 256] = table!(ulaw_decode);
static ALAW_TABLE: [i16; 256] = table!(alaw_decode);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_the_silence_byte_of_each_law() {
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(ulaw_decode(0xFF), 0);
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(alaw_decode(0xD5), 8);
        assert_eq!(Codec::Pcmu.silence(), ulaw_encode(0));
        assert_eq!(Codec::Pcma.silence(), alaw_encode(0));
    }

    #[test]
    fn full_scale_maps_to_the_largest_codes() {
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(alaw_encode(i16::MAX), 0xAA);
        assert_eq!(alaw_encode(i16::MIN), 0x2A);
        assert_eq!(alaw_decode(0xAA), 32256);
        assert_eq!(alaw_decode(0x2A), -32256);
    }

    #[test]
    fn known_values_of_the_reference_tables() {
        // Worked by hand from G.711's segment tables.
        assert_eq!(ulaw_decode(0xFE), 8);
        assert_eq!(ulaw_decode(0x7E), -8);
        assert_eq!(ulaw_decode(0xEF), 132);
        assert_eq!(ulaw_encode(1000), 0xCE);
        assert_eq!(ulaw_encode(-1000), 0x4E);
        assert_eq!(alaw_encode(1000), 0xFA);
        assert_eq!(alaw_encode(-1000), 0x7A);
        assert_eq!(alaw_decode(0x55), -8);
    }

    #[test]
    fn every_code_survives_a_round_trip() {
        for code in 0..=255u8 {
            // μ-law has two zeros; the negative one comes back as the positive one.
            let expected = if code == 0x7F { 0xFF } else { code };
            assert_eq!(
                ulaw_encode(ulaw_decode(code)),
                expected,
                "μ-law {code:#04x}"
            );
            assert_eq!(alaw_encode(alaw_decode(code)), code, "A-law {code:#04x}");
        }
    }

    #[test]
    fn encoding_is_monotonic_and_close_to_the_input() {
        for codec in [Codec::Pcmu, Codec::Pcma] {
            let mut last = i16::MIN;
            for x in (i16::MIN..=i16::MAX).step_by(7) {
                let y = codec.decode_sample(codec.encode_sample(x));
                assert!(y >= last, "{codec:?} not monotonic at {x}");
                last = y;
                // Quantisation error stays within half a step: about 1/32 of the value
                // plus the smallest step, and full-scale clipping.
                let error = (i32::from(y) - i32::from(x)).abs();
                let bound =
                    i32::from(x).abs() / 16 + 16 + if x.unsigned_abs() > 32000 { 700 } else { 0 };
                assert!(error <= bound, "{codec:?}: {x} came back as {y}");
            }
        }
    }

    #[test]
    fn tables_match_the_arithmetic_decoders() {
        for code in 0..=255u8 {
            assert_eq!(Codec::Pcmu.decode_sample(code), ulaw_decode(code));
            assert_eq!(Codec::Pcma.decode_sample(code), alaw_decode(code));
        }
    }

    #[test]
    fn transcoding_a_mu_law_prompt_to_a_law_keeps_the_samples() {
        let samples: Vec<i16> = (0..160)
            .map(|i| ((i * 397) % 20000 - 10000) as i16)
            .collect();
        let mut codes = vec![0u8; 160];
        Codec::Pcmu.encode(&samples, &mut codes);
        let mut a = codes.clone();
        Codec::Pcma.transcode_from(Codec::Pcmu, &mut a);
        for (m, a) in codes.iter().zip(&a) {
            let diff = i32::from(ulaw_decode(*m)) - i32::from(alaw_decode(*a));
            assert!(diff.abs() <= i32::from(ulaw_decode(*m)).abs() / 16 + 16);
        }
        let mut same = codes.clone();
        Codec::Pcmu.transcode_from(Codec::Pcmu, &mut same);
        assert_eq!(same, codes);
    }

    #[test]
    fn payload_types_are_the_static_ones() {
        assert_eq!(Codec::from_payload_type(0), Some(Codec::Pcmu));
        assert_eq!(Codec::from_payload_type(8), Some(Codec::Pcma));
        assert_eq!(Codec::from_payload_type(101), None);
        assert_eq!(Codec::Pcma.payload_type(), 8);
    }
}
