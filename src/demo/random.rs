//! Small sampling helpers for the demo data: weighted choices and a log-normal, so that
//! the distributions need nothing beyond `rand`.

use rand::rngs::StdRng;
use rand::Rng;
use rand::SeedableRng;

/// A generator for one item (call, caller) of one run: seeded from the run's seed and the
/// item's index, so any item can be drawn again without drawing the ones before it.
pub fn item_rng(seed: u64, stream: u64, index: u64) -> StdRng {
    // SplitMix64's finaliser spreads neighbouring indices over the whole seed space.
    let mut z = seed
        ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ index.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    StdRng::seed_from_u64(z ^ (z >> 31))
}

/// Picks an item by weight; `None` when every weight is zero (or there are none).
pub fn weighted<'a, T>(rng: &mut impl Rng, items: &'a [(T, f64)]) -> Option<&'a T> {
    let total: f64 = items.iter().map(|(_, w)| w.max(0.0)).sum();
    if total <= 0.0 {
        return None;
    }
    let mut x = rng.gen::<f64>() * total;
    for (item, w) in items {
        let w = w.max(0.0);
        if x < w {
            return Some(item);
        }
        x -= w;
    }
    items.iter().rev().find(|(_, w)| *w > 0.0).map(|(t, _)| t)
}

/// A log-normal draw with this median and shape, clamped to `[min, max]`: waits and talk
/// times are skewed, most short and a long tail.
pub fn log_normal(rng: &mut impl Rng, median: f64, sigma: f64, min: f64, max: f64) -> f64 {
    // Box–Muller: one standard normal from two uniforms.
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen();
    let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    (median * (sigma * z).exp()).clamp(min, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_choices_follow_their_weights() {
        let mut rng = item_rng(1, 0, 0);
        let items = [("a", 3.0), ("b", 1.0), ("never", 0.0)];
        let a = (0..10_000)
            .filter(|_| weighted(&mut rng, &items) == Some(&"a"))
            .count();
        assert!((7_200..7_800).contains(&a), "{a}");
    }

    #[test]
    fn half_of_log_normal_draws_are_under_the_median() {
        let mut rng = item_rng(2, 0, 0);
        let under = (0..10_000)
            .filter(|_| log_normal(&mut rng, 30.0, 0.8, 0.0, 1e9) < 30.0)
            .count();
        assert!((4_700..5_300).contains(&under), "{under}");
    }
}
