//! The seeded workload: per terminal, `txns` arrivals over the design's hour with a 3×
//! rush-hour rate (the design's §9 / load-test table), each a kind of transaction.
//!
//! Arrivals are a pure function of the seed, the pharmacy and the terminal, so any split of
//! the pharmacies among driver threads plays the same transactions.

use crate::config::{Config, SIMULATED_MS};
use crate::rng::XorShift64;

/// The rush hour starts at this fraction of the hour (17:00 of the 08:00–20:00 day).
pub const RUSH_START: f64 = 0.75;
/// The rush hour ends at this fraction of the hour (18:30).
pub const RUSH_END: f64 = 0.875;
/// Arrival rate in the rush hour relative to the rest of the day (§9: 3× peak).
pub const PEAK: f64 = 3.0;

/// What a transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// An OTC sale (ibuprofen, loratadine).
    Otc,
    /// A pseudoephedrine sale (photo ID, logbook, NPLEx).
    Pseudoephedrine,
    /// A refill of a non-controlled maintenance prescription.
    Refill,
    /// The first fill of a new non-controlled prescription.
    NewFill,
    /// A fill of a CIV prescription (alprazolam), PMP queried.
    ScheduleIv,
    /// A fill of a new CII prescription (oxycodone, hydrocodone), PMP queried.
    ScheduleIi,
    /// A receipt of stock into a known lot (a wholesaler delivery).
    Receipt,
    /// A physical count of one lot (the difference is recorded).
    Count,
    /// A transfer of units of one lot to the partner pharmacy, received there at once.
    Transfer,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 9] = [
        Kind::Otc,
        Kind::Pseudoephedrine,
        Kind::Refill,
        Kind::NewFill,
        Kind::ScheduleIv,
        Kind::ScheduleIi,
        Kind::Receipt,
        Kind::Count,
        Kind::Transfer,
    ];

    /// The kind's name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Otc => "otc",
            Kind::Pseudoephedrine => "pseudoephedrine",
            Kind::Refill => "refill",
            Kind::NewFill => "new_fill",
            Kind::ScheduleIv => "civ_fill",
            Kind::ScheduleIi => "cii_fill",
            Kind::Receipt => "receipt",
            Kind::Count => "count",
            Kind::Transfer => "transfer",
        }
    }

    /// Index in [`Kind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether the rule engine decides it (a sale or a fill), rather than an inventory
    /// operation.
    pub fn is_decided(self) -> bool {
        !matches!(self, Kind::Receipt | Kind::Count | Kind::Transfer)
    }

    /// Whether it dispenses a controlled substance.
    pub fn is_controlled(self) -> bool {
        matches!(self, Kind::ScheduleIv | Kind::ScheduleIi)
    }

    /// The mix: 18 % OTC, 5 % pseudoephedrine, 47 % refills, 10 % new fills, 10 % CIV,
    /// 5 % CII, 2 % receipts, 2 % counts, 1 % transfers.
    fn draw(rng: &mut XorShift64) -> Kind {
        match rng.below(100) {
            0..18 => Kind::Otc,
            18..23 => Kind::Pseudoephedrine,
            23..70 => Kind::Refill,
            70..80 => Kind::NewFill,
            80..90 => Kind::ScheduleIv,
            90..95 => Kind::ScheduleIi,
            95..97 => Kind::Receipt,
            97..99 => Kind::Count,
            _ => Kind::Transfer,
        }
    }
}

/// One scheduled transaction. Ordered by time, then pharmacy, terminal and sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Arrival {
    /// When it arrives, in simulated milliseconds from the start of the hour.
    pub at_ms: u64,
    /// Pharmacy index (`0..pharmacies`).
    pub pharmacy: u32,
    /// Terminal index in the pharmacy.
    pub terminal: u16,
    /// Sequence number of the terminal's transaction (`0..txns`, in generation order).
    pub seq: u32,
    /// What it is.
    pub kind: Kind,
}

/// A seed for one stream of the run, mixed from the run's seed and the stream's
/// coordinates (splitmix64 finaliser).
pub fn stream_seed(seed: u64, parts: &[u64]) -> u64 {
    let mut x = seed;
    for p in parts {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15).wrapping_add(*p);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
    }
    x
}

/// Maps a uniform fraction of the day's arrivals to a fraction of the hour, through the
/// rush-hour rate profile (the inverse of its cumulative distribution).
pub fn time_fraction(u: f64) -> f64 {
    let rush = RUSH_END - RUSH_START;
    let total = 1.0 - rush + PEAK * rush;
    let w = u.clamp(0.0, 1.0) * total;
    let before = RUSH_START;
    let during = PEAK * rush;
    if w < before {
        w
    } else if w < before + during {
        RUSH_START + (w - before) / PEAK
    } else {
        (RUSH_END + (w - before - during)).min(1.0)
    }
}

/// The arrivals of one pharmacy's terminals, sorted.
pub fn pharmacy_arrivals(config: &Config, pharmacy: u32) -> Vec<Arrival> {
    let mut out = Vec::with_capacity(config.terminals as usize * config.txns as usize);
    for terminal in 0..config.terminals {
        let mut rng = XorShift64::new(stream_seed(
            config.seed,
            &[u64::from(pharmacy), u64::from(terminal)],
        ));
        for seq in 0..config.txns {
            let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            let at_ms = (time_fraction(u) * SIMULATED_MS as f64) as u64;
            let kind = Kind::draw(&mut rng);
            out.push(Arrival {
                at_ms: at_ms.min(SIMULATED_MS - 1),
                pharmacy,
                terminal,
                seq,
                kind,
            });
        }
    }
    out.sort_unstable();
    out
}

/// The arrivals of several pharmacies, merged in schedule order.
pub fn schedule(config: &Config, pharmacies: impl IntoIterator<Item = u32>) -> Vec<Arrival> {
    let mut all: Vec<Arrival> = pharmacies
        .into_iter()
        .flat_map(|p| pharmacy_arrivals(config, p))
        .collect();
    all.sort_unstable();
    all
}

/// A store's sync round `k` at `at_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Round {
    /// When, in simulated milliseconds from the start of the hour.
    pub at_ms: u64,
    /// Pharmacy index.
    pub pharmacy: u32,
    /// Round number, from 1.
    pub k: u64,
}

/// What the driver plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// A transaction.
    Txn(Arrival),
    /// A store's sync round.
    Round(Round),
}

impl Event {
    /// When it is due, in simulated milliseconds.
    pub fn at_ms(&self) -> u64 {
        match self {
            Event::Txn(a) => a.at_ms,
            Event::Round(r) => r.at_ms,
        }
    }

    /// The pharmacy it belongs to.
    pub fn pharmacy(&self) -> u32 {
        match self {
            Event::Txn(a) => a.pharmacy,
            Event::Round(r) => r.pharmacy,
        }
    }

    fn order(&self) -> (u64, u32, u8, u16, u64) {
        match self {
            Event::Txn(a) => (a.at_ms, a.pharmacy, 0, a.terminal, u64::from(a.seq)),
            Event::Round(r) => (r.at_ms, r.pharmacy, 1, 0, r.k),
        }
    }
}

/// The sync rounds of pharmacy `p` in the day.
pub fn rounds(config: &Config, p: u32) -> impl Iterator<Item = Round> {
    let first = crate::plan::StorePlan::draw(config, p).first_round_ms;
    let every = config.sync_every_ms().max(1);
    (0..)
        .map(move |i: u64| first + i * every)
        .take_while(|at| *at < SIMULATED_MS)
        .zip(1..)
        .map(move |(at_ms, k)| Round {
            at_ms,
            pharmacy: p,
            k,
        })
}

/// Transactions and sync rounds of several pharmacies, in the order they are due.
pub fn events(config: &Config, pharmacies: impl IntoIterator<Item = u32>) -> Vec<Event> {
    let mut all = Vec::new();
    for p in pharmacies {
        all.extend(pharmacy_arrivals(config, p).into_iter().map(Event::Txn));
        all.extend(rounds(config, p).map(Event::Round));
    }
    all.sort_unstable_by_key(Event::order);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rush_hour_is_three_times_as_busy() {
        let config = Config {
            pharmacies: 20,
            ..Config::default()
        };
        let s = schedule(&config, 0..config.pharmacies);
        assert_eq!(s.len(), 20 * 5 * 100);
        assert!(s.windows(2).all(|w| w[0] <= w[1]));
        let ms = SIMULATED_MS as f64;
        let rush = s
            .iter()
            .filter(|a| (a.at_ms as f64) >= RUSH_START * ms && (a.at_ms as f64) < RUSH_END * ms)
            .count() as f64;
        let per_rush_ms = rush / ((RUSH_END - RUSH_START) * ms);
        let per_other_ms = (s.len() as f64 - rush) / ((1.0 - RUSH_END + RUSH_START) * ms);
        let ratio = per_rush_ms / per_other_ms;
        assert!((2.6..3.4).contains(&ratio), "peak ratio {ratio}");
    }

    #[test]
    fn time_fraction_is_monotone_and_bounded() {
        let mut last = 0.0;
        for i in 0..=1000 {
            let f = time_fraction(f64::from(i) / 1000.0);
            assert!(f >= last && f <= 1.0);
            last = f;
        }
    }
}
