//! The partners a pharmacy calls (the state PMP and the insurance payer) as simulated
//! services, each called through pharm-shard's breaker + retry + budget policy
//! ([`Resilience`], the design's `pmp-api` and `insurance-api` presets).
//!
//! A simulated service answers in simulated time: a latency drawn from its distribution,
//! an injected failure rate, and an outage window in which every call is refused. The call
//! loop is the caller-driven one of [`pharm_shard::resilience`]: before each try the policy
//! may reject (breaker OPEN); after it, the policy says return, retry after a backoff, or
//! give up. A give-up or rejection is a degradation (the design's §5): manual PMP
//! verification, cash only with the claim queued. The simulator adds per-seed outage
//! windows and slow calls ([`PartnerFaults`]).

use std::time::Duration;

use pharm_shard::breaker::State;
use pharm_shard::resilience::{Next, Outcome, Resilience, ResilienceConfig};
use pharm_shard::retry::ErrorKind;

use crate::config::SIMULATED_MS;
use crate::faults::{FaultCounts, FaultKind};
use crate::partner_faults::PartnerFaults;
use crate::rng::XorShift64;
use crate::workload::stream_seed;

/// A simulated partner service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceModel {
    /// Fastest answer, ms.
    pub base_ms: u32,
    /// Most answers take `base_ms` plus up to this, ms.
    pub spread_ms: u32,
    /// Per mille of answers in the slow tail (`base + spread` to ten times that).
    pub slow_per_mille: u32,
    /// Per mille of calls that fail (a 5xx) outside the outage.
    pub fail_per_mille: u32,
    /// The outage: calls in `[start, end)` simulated ms are refused after `refused_ms`.
    pub outage_ms: (u64, u64),
    /// How long a refused call takes, ms.
    pub refused_ms: u32,
}

impl ServiceModel {
    /// The state PMP: ~150–400 ms, 1 % slow, 0.5 % errors, down for three minutes of the
    /// hour (40 %–45 %).
    pub fn pmp() -> Self {
        ServiceModel {
            base_ms: 150,
            spread_ms: 250,
            slow_per_mille: 10,
            fail_per_mille: 5,
            outage_ms: (SIMULATED_MS * 40 / 100, SIMULATED_MS * 45 / 100),
            refused_ms: 20,
        }
    }

    /// The payer: ~300–900 ms, 2 % slow, 1 % errors, down for two minutes of the hour
    /// (60 %–63.3 %).
    pub fn payer() -> Self {
        ServiceModel {
            base_ms: 300,
            spread_ms: 600,
            slow_per_mille: 20,
            fail_per_mille: 10,
            outage_ms: (SIMULATED_MS * 60 / 100, SIMULATED_MS * 60 / 100 + 120_000),
            refused_ms: 20,
        }
    }

    /// Whether `at_ms` is inside the outage.
    pub fn is_down(&self, at_ms: u64) -> bool {
        (self.outage_ms.0..self.outage_ms.1).contains(&at_ms)
    }

    /// One try at `at_ms` with `timeout`, its latency multiplied by `slowdown`: how long it
    /// took and how it ended.
    fn answer(
        &self,
        rng: &mut XorShift64,
        at_ms: u64,
        timeout: Duration,
        slowdown: u32,
    ) -> (u64, Outcome) {
        if self.is_down(at_ms) {
            return (
                u64::from(self.refused_ms),
                Outcome::Failure(ErrorKind::Retryable),
            );
        }
        let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let fast = self.base_ms.saturating_add(self.spread_ms);
        let latency = u64::from(if rng.below(1_000) < self.slow_per_mille {
            fast.saturating_add(rng.below(fast.saturating_mul(9).max(1)))
        } else {
            self.base_ms + rng.below(self.spread_ms.max(1))
        })
        .saturating_mul(u64::from(slowdown));
        if latency > timeout_ms {
            return (timeout_ms, Outcome::Failure(ErrorKind::Retryable));
        }
        if rng.below(1_000) < self.fail_per_mille {
            return (latency, Outcome::Failure(ErrorKind::Retryable));
        }
        (latency, Outcome::Success)
    }
}

/// How one logical call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// It succeeded (otherwise: degrade).
    pub ok: bool,
    /// Simulated time from the first try to the end, ms (tries and backoffs).
    pub elapsed_ms: u64,
    /// Tries made.
    pub tries: u32,
    /// The breaker refused a try (OPEN).
    pub rejected: bool,
}

/// Counters of one partner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PartnerCounts {
    /// Logical calls.
    pub calls: u64,
    /// Tries (calls plus retries).
    pub tries: u64,
    /// Calls that degraded (gave up or were rejected).
    pub degraded: u64,
    /// Calls the breaker rejected without a try reaching the service.
    pub rejected: u64,
    /// Simulated milliseconds spent in calls.
    pub elapsed_ms: u64,
    /// Times a breaker was seen OPEN after a call.
    pub opened: u64,
}

impl PartnerCounts {
    /// Adds another pharmacy's counters.
    pub fn merge(&mut self, o: &PartnerCounts) {
        self.calls += o.calls;
        self.tries += o.tries;
        self.degraded += o.degraded;
        self.rejected += o.rejected;
        self.elapsed_ms += o.elapsed_ms;
        self.opened += o.opened;
    }

    /// The counters as one report line.
    pub fn line(&self, name: &str) -> String {
        format!(
            "{name}: {} calls, {} tries, {} degraded ({} rejected by an OPEN breaker), breakers opened {} times, {:.0} ms per call on average (simulated)",
            self.calls,
            self.tries,
            self.degraded,
            self.rejected,
            self.opened,
            self.elapsed_ms as f64 / self.calls.max(1) as f64
        )
    }
}

/// One pharmacy's connection to one partner: the simulated service and the policy.
#[derive(Debug)]
pub struct Partner {
    model: ServiceModel,
    policy: Resilience,
    /// What this connection counted.
    pub counts: PartnerCounts,
    /// The drawn outages and slow calls.
    faults: PartnerFaults,
    /// Tries slowed by the drawn slow calls.
    slowed: u64,
}

/// Most tries of one logical call the loop makes (the presets allow 3).
const MAX_TRIES: u32 = 8;

impl Partner {
    /// A connection of pharmacy `pharmacy` to `model` through the preset `config`; the
    /// policy's jitter is seeded from the run's seed.
    pub fn new(
        name: &str,
        mut config: ResilienceConfig,
        model: ServiceModel,
        seed: u64,
        pharmacy: u32,
    ) -> Result<Partner, String> {
        config.jitter_seed = stream_seed(seed, &[u64::from(pharmacy), 0x7A47]);
        let policy = Resilience::new(name, config, Duration::ZERO)
            .map_err(|e| format!("partner {name}: {e}"))?;
        Ok(Partner {
            model,
            policy,
            counts: PartnerCounts::default(),
            faults: PartnerFaults::default(),
            slowed: 0,
        })
    }

    /// The same connection with drawn outages and slow calls.
    pub fn with_faults(mut self, faults: PartnerFaults) -> Partner {
        self.faults = faults;
        self
    }

    /// The drawn faults this connection met: its outage windows and its slowed tries.
    pub fn fault_counts(&self) -> FaultCounts {
        let mut c = FaultCounts::default();
        for _ in &self.faults.outages {
            c.add(FaultKind::PartnerOutage);
        }
        for _ in 0..self.slowed {
            c.add(FaultKind::SlowCall);
        }
        c
    }

    /// The breaker's state now.
    pub fn breaker_state(&self) -> State {
        self.policy.breaker().state()
    }

    /// After the day: health-check calls from `at_ms` on (first after the longest OPEN wait of
    /// the presets, then every 5 s, at most 10) until the breaker is CLOSED again. Returns
    /// whether it is.
    pub fn recover(&mut self, rng: &mut XorShift64, at_ms: u64) -> bool {
        let mut t = at_ms + 61_000;
        for _ in 0..10 {
            if self.breaker_state() == State::Closed {
                return true;
            }
            self.call(rng, t);
            t += 5_000;
        }
        self.breaker_state() == State::Closed
    }

    /// One logical call at simulated `at_ms`, retried as the policy says.
    pub fn call(&mut self, rng: &mut XorShift64, at_ms: u64) -> Answer {
        let mut now = at_ms;
        let mut call = self.policy.begin(Duration::from_millis(now));
        let mut answer = Answer {
            ok: false,
            elapsed_ms: 0,
            tries: 0,
            rejected: false,
        };
        let was_open = matches!(self.policy.breaker().state(), State::Open);
        while answer.tries < MAX_TRIES {
            let permit = match call.before_call(Duration::from_millis(now)) {
                Ok(p) => p,
                Err(_) => {
                    answer.rejected = true;
                    break;
                }
            };
            answer.tries += 1;
            let (took, outcome) = if self.faults.is_down(now) {
                (
                    u64::from(self.model.refused_ms),
                    Outcome::Failure(ErrorKind::Retryable),
                )
            } else {
                let slowdown = self.faults.slowdown_at(rng, now);
                if slowdown > 1 {
                    self.slowed += 1;
                }
                self.model
                    .answer(rng, now, permit.attempt().timeout, slowdown)
            };
            now += took;
            match call.after_call(permit, outcome, Duration::from_millis(now)) {
                Next::Return => {
                    answer.ok = true;
                    break;
                }
                Next::RetryAfter(wait) => {
                    now += u64::try_from(wait.as_millis()).unwrap_or(u64::MAX / 4);
                }
                Next::GiveUp(_) => break,
            }
        }
        answer.elapsed_ms = now - at_ms;
        if !was_open && matches!(self.policy.breaker().state(), State::Open) {
            self.counts.opened += 1;
        }
        self.counts.calls += 1;
        self.counts.tries += u64::from(answer.tries);
        self.counts.elapsed_ms += answer.elapsed_ms;
        if !answer.ok {
            self.counts.degraded += 1;
        }
        if answer.rejected {
            self.counts.rejected += 1;
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outage_opens_the_breaker_and_recovery_closes_it() {
        let model = ServiceModel::pmp();
        let Ok(mut p) = Partner::new("pmp-api", ResilienceConfig::pmp_api(), model, 7, 0) else {
            panic!("preset refused")
        };
        let mut rng = XorShift64::new(1);
        // Calls every 5 s through the outage, then 10 minutes after it.
        let (down, up) = model.outage_ms;
        let mut t = down - 60_000;
        let mut degraded_in_outage = 0;
        while t < up + 600_000 {
            let a = p.call(&mut rng, t);
            if model.is_down(t) && !a.ok {
                degraded_in_outage += 1;
            }
            t += 5_000;
        }
        assert!(degraded_in_outage > 0);
        assert!(p.counts.opened >= 1, "the breaker never opened");
        assert!(p.counts.rejected > 0, "an OPEN breaker rejected nothing");
        assert_eq!(p.breaker_state(), State::Closed);
    }

    #[test]
    fn a_whole_day_outage_with_slow_calls_ends_with_the_day_and_recovery_closes_the_breaker() {
        let faults = PartnerFaults {
            outages: vec![(0, SIMULATED_MS / 2)],
            slow_per_mille: 1_000,
            slowdown: crate::partner_faults::MAX_SLOWDOWN,
        };
        let Ok(p) = Partner::new(
            "pmp-api",
            ResilienceConfig::pmp_api(),
            ServiceModel::pmp(),
            7,
            0,
        ) else {
            panic!("preset refused")
        };
        let mut p = p.with_faults(faults);
        let mut rng = XorShift64::new(3);
        let mut t = 1_000;
        while t < SIMULATED_MS {
            let ok = p.call(&mut rng, t).ok;
            assert!(
                !ok || t >= SIMULATED_MS / 2,
                "a call went through at {t} ms"
            );
            t += 20_000;
        }
        assert!(p.counts.opened >= 1 && p.breaker_state() != State::Closed);
        assert!(p.recover(&mut rng, SIMULATED_MS));
        let c = p.fault_counts();
        assert_eq!(c.of(FaultKind::PartnerOutage), 1);
        assert!(c.of(FaultKind::SlowCall) > 0);
    }

    #[test]
    fn outside_the_outage_almost_every_call_succeeds() {
        let model = ServiceModel::payer();
        let Ok(mut p) = Partner::new(
            "insurance-api",
            ResilienceConfig::insurance_api(),
            model,
            7,
            1,
        ) else {
            panic!("preset refused")
        };
        let mut rng = XorShift64::new(2);
        let ok = (0..500u64)
            .filter(|i: &u64| p.call(&mut rng, 1_000 + i * 1_000).ok)
            .count();
        assert!(ok >= 495, "{ok} of 500");
        assert_eq!(p.counts.calls, 500);
        assert!(p.counts.tries >= 500);
    }
}
