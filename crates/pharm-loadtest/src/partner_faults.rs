//! Per-seed faults of one store's PMP or payer connection, besides the service's own fixed
//! outage: outage windows drawn for the day (none, one or several, up to the whole day) and
//! a share of slow calls with a latency multiplier. Drawn from the run's seed, the
//! pharmacy and the partner alone; with the knobs off nothing is drawn and the service is
//! exactly its [`crate::partners::ServiceModel`].

use crate::config::SIMULATED_MS;
use crate::faults::Faults;
use crate::rng::XorShift64;
use crate::workload::stream_seed;

/// Most outage windows drawn for one partner of one store.
pub const MAX_OUTAGES: u32 = 3;

/// Highest latency multiplier of a slow call (enough to pass the presets' timeouts).
pub const MAX_SLOWDOWN: u32 = 50;

/// One partner's drawn faults for one store's day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartnerFaults {
    /// Outage windows `[start, end)`, simulated ms: every call is refused in them.
    pub outages: Vec<(u64, u64)>,
    /// Calls that are slow, per mille.
    pub slow_per_mille: u32,
    /// A slow call's latency multiplier.
    pub slowdown: u32,
}

impl PartnerFaults {
    /// The faults of partner `partner` (0 the PMP, 1 the payer) of pharmacy `pharmacy` in
    /// the run of `seed` under `faults`: with `partner_outage` per mille chance 1–
    /// [`MAX_OUTAGES`] windows (one in eight the whole day, else from 30 s to 30 minutes);
    /// `slow_calls` per mille of calls slowed 2–[`MAX_SLOWDOWN`] times.
    pub fn draw(faults: &Faults, seed: u64, pharmacy: u32, partner: u64) -> PartnerFaults {
        let mut out = PartnerFaults::default();
        if faults.partner_outage == 0 && faults.slow_calls == 0 {
            return out;
        }
        let mut rng = XorShift64::new(stream_seed(seed, &[u64::from(pharmacy), partner, 0x0A7A]));
        if rng.below(1_000) < faults.partner_outage {
            for _ in 0..rng.range(1, MAX_OUTAGES) {
                if rng.below(8) == 0 {
                    out.outages.push((0, SIMULATED_MS));
                    continue;
                }
                let start = rng.next_u64() % SIMULATED_MS;
                let length = u64::from(rng.range(30_000, 1_800_000));
                out.outages
                    .push((start, (start + length).min(SIMULATED_MS)));
            }
        }
        if faults.slow_calls > 0 {
            out.slow_per_mille = faults.slow_calls;
            out.slowdown = rng.range(2, MAX_SLOWDOWN);
        }
        out
    }

    /// Whether `at_ms` is inside a drawn outage.
    pub fn is_down(&self, at_ms: u64) -> bool {
        self.outages.iter().any(|(s, e)| (*s..*e).contains(&at_ms))
    }

    /// The latency multiplier of a call at `at_ms`: [`PartnerFaults::slowdown`] for a slow
    /// call, 1 otherwise (no draw without slow calls). Slow calls, like the outages, belong
    /// to the day: from [`SIMULATED_MS`] on (the recovery after the day) none is slow.
    pub fn slowdown_at(&self, rng: &mut XorShift64, at_ms: u64) -> u32 {
        if self.slow_per_mille > 0 && at_ms < SIMULATED_MS && rng.below(1_000) < self.slow_per_mille
        {
            self.slowdown
        } else {
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knobs_off_draw_nothing_and_knobs_on_draw_windows_and_slow_calls() {
        assert_eq!(
            PartnerFaults::draw(&Faults::default(), 1, 2, 0),
            PartnerFaults::default()
        );
        let on = Faults {
            partner_outage: 1_000,
            slow_calls: 100,
            ..Faults::default()
        };
        let drawn: Vec<PartnerFaults> =
            (0..64).map(|p| PartnerFaults::draw(&on, 9, p, 1)).collect();
        assert_eq!(drawn[3], PartnerFaults::draw(&on, 9, 3, 1));
        assert!(drawn.iter().all(|f| (1..=3).contains(&f.outages.len())));
        assert!(drawn.iter().any(|f| f.outages.len() > 1));
        assert!(drawn.iter().any(|f| f.outages.contains(&(0, SIMULATED_MS))));
        for f in &drawn {
            assert!((2..=MAX_SLOWDOWN).contains(&f.slowdown) && f.slow_per_mille == 100);
            for (s, e) in &f.outages {
                assert!(s < e && *e <= SIMULATED_MS);
                assert!(f.is_down(*s) && !f.is_down(SIMULATED_MS));
            }
        }
        let mut rng = XorShift64::new(5);
        let slow = (0..1_000)
            .filter(|_| drawn[0].slowdown_at(&mut rng, 1_000) > 1)
            .count();
        assert!((50..150).contains(&slow), "{slow} slow of 1000");
        assert_eq!(drawn[0].slowdown_at(&mut rng, SIMULATED_MS), 1);
    }
}
