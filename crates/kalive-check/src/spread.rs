//! Schedule arithmetic: where a checker's first check falls within its
//! warmup, and where its regular checks fall afterwards.
//!
//! keepalived starts each checker at a random point within `warmup`
//! (`register_checkers_thread`, reference §1.12) so that checks of one real
//! server do not coincide. Random points clump (10,000 uniform draws over
//! one second put ~140 in the busiest 10 ms instead of 100); here the n-th
//! checker scheduled gets the fractional part of `seed + n·φ⁻¹` (a Weyl
//! sequence: any N consecutive points split the interval into gaps of at most
//! three lengths, so every window holds its share within a few points). The
//! seed is injected, so tests are deterministic and two daemons differ.
//!
//! Regular checks then stay on a grid `anchor + k·delay_loop`: batching the
//! results of many probes into one wake-up cannot pull their next checks
//! together (HAProxy's clumping in reference/checker-bench.md).

use std::time::Duration;

use crate::Timestamp;

/// 2^64 / φ: consecutive multiples are spread as evenly as any sequence can
/// be without knowing N in advance.
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The `n`-th point of the sequence, as a fraction of 2^64. The seed is
/// mixed first (SplitMix64's finaliser) so that nearby seeds start the
/// sequence at unrelated points.
pub(crate) fn fraction(seed: u64, n: u64) -> u64 {
    let mut z = seed.wrapping_add(GOLDEN);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    z.wrapping_add(n.wrapping_mul(GOLDEN))
}

/// `span × fraction / 2^64`, in whole microseconds: recordings store times
/// as microseconds, and a replay must see the same deadlines.
pub(crate) fn scale(span: Duration, fraction: u64) -> Duration {
    let micros = (span.as_micros() * u128::from(fraction)) >> 64;
    Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
}

/// The first grid point `anchor + k·period` (k ≥ 0) strictly after
/// `started` and not before `now`: the next regular check of a checker whose
/// last probe started at `started` and ended at `now`. A probe that overran
/// its slot resumes at its own phase, never earlier than its result.
pub(crate) fn next_on_grid(
    anchor: Timestamp,
    period: Duration,
    started: Timestamp,
    now: Timestamp,
) -> Timestamp {
    let p = period.as_nanos().max(1);
    let after_start = (started.saturating_since(anchor).as_nanos() / p) + 1;
    let since_anchor = now.saturating_since(anchor).as_nanos();
    let not_before = since_anchor.div_ceil(p);
    let k = after_start.max(not_before);
    let offset = k.saturating_mul(p);
    anchor + Duration::from_nanos(u64::try_from(offset).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn grid_skips_to_the_slot_after_a_long_probe() {
        let a = Timestamp::from_millis(250);
        // Quick result: the next slot.
        assert_eq!(
            next_on_grid(a, S, a, a + Duration::from_millis(3)),
            Timestamp::from_millis(1250)
        );
        // Result exactly on a grid point after the start: that point.
        assert_eq!(
            next_on_grid(a, S, a, Timestamp::from_millis(2250)),
            Timestamp::from_millis(2250)
        );
        // Overran by a little: the following slot, not the result time.
        assert_eq!(
            next_on_grid(a, S, a, Timestamp::from_millis(1251)),
            Timestamp::from_millis(2250)
        );
        // A retry that started off-grid returns to the grid.
        assert_eq!(
            next_on_grid(
                a,
                S,
                Timestamp::from_millis(1900),
                Timestamp::from_millis(1950)
            ),
            Timestamp::from_millis(2250)
        );
    }

    #[test]
    fn fractions_cover_the_interval_evenly() {
        let n = 1000u64;
        let mut points: Vec<u64> = (0..n).map(|i| fraction(12345, i)).collect();
        points.sort_unstable();
        let gaps: Vec<u64> = points.windows(2).map(|w| w[1] - w[0]).collect();
        let ideal = u64::MAX / n;
        // Three-gap theorem: the largest gap stays within a small factor.
        assert!(gaps.iter().all(|&g| g < ideal * 3), "a gap too large");
        assert!(gaps.iter().all(|&g| g > ideal / 3), "two points too close");
    }

    #[test]
    fn scale_is_proportional() {
        assert_eq!(scale(S, 0), Duration::ZERO);
        assert_eq!(scale(S, 1 << 63), Duration::from_millis(500));
        assert!(scale(S, u64::MAX) < S);
    }
}
