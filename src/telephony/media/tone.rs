//! Pure tones, made and found: a sine generator and a Goertzel detector. The tests of
//! the mixer, and end-to-end tests of a three-party call, send a tone from one party and
//! look for it in what each of the others (and not the sender) receives.
//!
//! Goertzel computes one bin of a DFT in one pass with two state variables; the share
//! of the block's energy that lies in that bin tells a tone apart from speech, noise or
//! another tone regardless of level, which a plain power threshold would not.

use std::f64::consts::PI;

use super::rtp::SAMPLE_RATE;

/// Share of a block's energy at a frequency above which the tone counts as present.
/// A pure tone gives about 1; two tones of equal level about 0.5 each; G.711
/// quantisation noise leaves well under 0.01 in any other bin.
pub const PRESENT: f64 = 0.2;

/// Level (RMS) under which a block is silence whatever its spectrum: about −50 dBFS,
/// above G.711's idle noise.
pub const SILENCE_RMS: f64 = 100.0;

/// `len` samples of a sine at `freq` Hz and peak `amplitude`, at 8 kHz, starting at
/// sample `start` of the tone (so that consecutive frames join without a click).
pub fn sine(freq: f64, amplitude: i16, start: usize, len: usize) -> Vec<i16> {
    let step = 2.0 * PI * freq / f64::from(SAMPLE_RATE);
    (start..start + len)
        .map(|n| (f64::from(amplitude) * (step * n as f64).sin()).round() as i16)
        .collect()
}

/// The power of the DFT bin at `freq` Hz over the block (|X(f)|²), at 8 kHz.
pub fn goertzel(samples: &[i16], freq: f64) -> f64 {
    goertzel_at(samples, freq, SAMPLE_RATE)
}

/// [`goertzel`] for samples at `rate` Hz (a softphone's recording, say).
pub fn goertzel_at(samples: &[i16], freq: f64, rate: u32) -> f64 {
    let coeff = 2.0 * (2.0 * PI * freq / f64::from(rate)).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for x in samples {
        let s0 = f64::from(*x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// Root mean square of the block.
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let energy: f64 = samples.iter().map(|x| f64::from(*x).powi(2)).sum();
    (energy / samples.len() as f64).sqrt()
}

/// The share of the block's energy in the bin at `freq`: 1 for a pure tone that fits
/// the block a whole number of times, 0 for silence.
pub fn tone_share(samples: &[i16], freq: f64) -> f64 {
    tone_share_at(samples, freq, SAMPLE_RATE)
}

/// [`tone_share`] for samples at `rate` Hz.
pub fn tone_share_at(samples: &[i16], freq: f64, rate: u32) -> f64 {
    let energy: f64 = samples.iter().map(|x| f64::from(*x).powi(2)).sum();
    if energy == 0.0 {
        return 0.0;
    }
    // A sine of peak A over N samples has |X|² = (A·N/2)² and energy A²·N/2.
    goertzel_at(samples, freq, rate) / (energy * samples.len() as f64 / 2.0)
}

/// Whether a tone at `freq` is heard in the block: loud enough, and a fair share of it.
/// Blocks of 160 samples (one frame) resolve 50 Hz; longer ones resolve finer.
pub fn has_tone(samples: &[i16], freq: f64) -> bool {
    rms(samples) >= SILENCE_RMS && tone_share(samples, freq) >= PRESENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pure_tone_is_found_at_its_frequency_only() {
        let tone = sine(1_000.0, 8_000, 0, 160);
        assert!(tone_share(&tone, 1_000.0) > 0.99);
        assert!(has_tone(&tone, 1_000.0));
        assert!(!has_tone(&tone, 2_000.0));
        assert!(!has_tone(&tone, 1_200.0));
    }

    #[test]
    fn two_tones_at_once_are_both_found() {
        let a = sine(1_000.0, 6_000, 0, 400);
        let b = sine(2_000.0, 6_000, 0, 400);
        let both: Vec<i16> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
        assert!(has_tone(&both, 1_000.0));
        assert!(has_tone(&both, 2_000.0));
        assert!(!has_tone(&both, 1_500.0));
    }

    #[test]
    fn silence_and_a_whisper_are_no_tone() {
        assert!(!has_tone(&[0; 160], 1_000.0));
        assert!(!has_tone(&sine(1_000.0, 50, 0, 160), 1_000.0));
        assert_eq!(rms(&[]), 0.0);
    }

    #[test]
    fn consecutive_frames_of_a_sine_join_up() {
        let whole = sine(440.0, 10_000, 0, 320);
        let mut parts = sine(440.0, 10_000, 0, 160);
        parts.extend(sine(440.0, 10_000, 160, 160));
        assert_eq!(whole, parts);
    }
}
