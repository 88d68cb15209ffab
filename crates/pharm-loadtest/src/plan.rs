//! What happens to one pharmacy during the day besides its transactions: when it loses
//! the cloud (an offline window, up to the whole day), which of its terminals crashes and
//! is restored from a backup, and when its store leader drops off the store's network.
//! Drawn from the run's seed and the pharmacy's index alone.

use crate::config::{Config, SIMULATED_MS};
use crate::rng::XorShift64;
use crate::workload::stream_seed;

/// One pharmacy's faults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorePlan {
    /// The cloud is unreachable in `[start, end)` simulated ms; `end` is
    /// [`SIMULATED_MS`] when the store reconnects only at the final sync.
    pub offline: Option<(u64, u64)>,
    /// Terminal (index) that crashes after sync round `round` and is restored from the
    /// backup it made two rounds before.
    pub crash: Option<(usize, u64)>,
    /// First sync round of the pharmacy (rounds are `sync_every_ms` apart from there).
    pub first_round_ms: u64,
}

impl StorePlan {
    /// The plan of pharmacy `p` under `config`.
    pub fn draw(config: &Config, p: u32) -> StorePlan {
        let mut rng = XorShift64::new(stream_seed(config.seed, &[u64::from(p), 0x91A7]));
        let every = config.sync_every_ms();
        let first_round_ms = every / 2 + u64::from(rng.below(clamp_u32(every / 2).max(1)));
        let offline = rng.chance(config.offline_share).then(|| {
            let start = u64::from(rng.below(clamp_u32(SIMULATED_MS * 8 / 10)));
            let rest = SIMULATED_MS - start;
            // One window in four lasts to the end of the day (reconnects at the final sync).
            let end = if rng.chance(25) {
                SIMULATED_MS
            } else {
                start + rest / 20 + u64::from(rng.below(clamp_u32(rest - rest / 20).max(1)))
            };
            (start, end)
        });
        let rounds = config.rounds();
        let crash = (rng.chance(config.crash_share) && rounds > 4).then(|| {
            let terminal = rng.index(usize::from(config.terminals));
            let round = 3 + u64::from(rng.below(clamp_u32(rounds - 4)));
            (terminal, round)
        });
        StorePlan {
            offline,
            crash,
            first_round_ms,
        }
    }

    /// Whether the cloud is unreachable at `at_ms`.
    pub fn is_offline(&self, at_ms: u64) -> bool {
        self.offline
            .is_some_and(|(start, end)| (start..end).contains(&at_ms))
    }
}

fn clamp_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_close_to_the_configured_percentages() {
        let config = Config {
            offline_share: 10,
            crash_share: 5,
            ..Config::default()
        };
        let plans: Vec<StorePlan> = (0..2_000).map(|p| StorePlan::draw(&config, p)).collect();
        let offline = plans.iter().filter(|p| p.offline.is_some()).count();
        let crashed = plans.iter().filter(|p| p.crash.is_some()).count();
        assert!((140..260).contains(&offline), "{offline} offline of 2000");
        assert!((60..140).contains(&crashed), "{crashed} crashes of 2000");
        let whole_day = plans
            .iter()
            .filter(|p| p.offline.is_some_and(|(_, end)| end == SIMULATED_MS))
            .count();
        assert!(whole_day > 0);
        for p in &plans {
            if let Some((s, e)) = p.offline {
                assert!(s < e && e <= SIMULATED_MS);
                assert!(p.is_offline(s) && !p.is_offline(e));
            }
            assert!(p.first_round_ms < config.sync_every_ms());
        }
        assert_eq!(StorePlan::draw(&config, 7), StorePlan::draw(&config, 7));
    }
}
