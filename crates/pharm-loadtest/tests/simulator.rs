//! The fault-injection simulator: a range of seeds holds every invariant, a seed replays
//! exactly, the seeds that once found a bug stay fixed, and each deliberate defect is
//! reported under the invariant it breaks, with its seed.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use pharm_loadtest::config::Breaks;
use pharm_loadtest::faults::{FaultKind, Faults};
use pharm_loadtest::simulator::{SeedRun, SimOptions, run_seed};
use pharm_loadtest::subst_desk::SubstDesk;

/// The synthetic Orange Book desk, built once for every test.
fn desk() -> Arc<SubstDesk> {
    static DESK: OnceLock<Arc<SubstDesk>> = OnceLock::new();
    Arc::clone(
        DESK.get_or_init(|| {
            Arc::new(SubstDesk::generated(7).unwrap_or_else(|e| panic!("desk: {e}")))
        }),
    )
}

/// Plays `seed`. Without a scratch directory of its own it gets one per test, so a seed
/// plays here the world `scripts/sim --seed N` plays (one seed in four has a durable
/// pharmacy when the build has the storage faults, as `scripts/sim`'s does).
fn play(seed: u64, options: &SimOptions) -> SeedRun {
    let mut options = options.clone();
    if options.scratch.is_none() {
        let test = std::thread::current()
            .name()
            .unwrap_or("main")
            .replace("::", "-");
        let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pharm-sim");
        options.scratch = Some(base.join(test));
    }
    run_seed(seed, &options, &desk()).unwrap_or_else(|e| panic!("seed {seed}: {e}"))
}

fn holds(seed: u64, options: &SimOptions) {
    let run = play(seed, options);
    assert!(run.violations.is_empty(), "{}", run.report());
    assert!(run.committed > 0, "seed {seed} committed nothing");
}

fn only(spec: &str) -> SimOptions {
    SimOptions {
        max: Faults::only(spec).unwrap_or_else(|e| panic!("{e}")),
        ..SimOptions::default()
    }
}

#[test]
fn a_range_of_seeds_holds_every_invariant_under_every_fault() {
    // The release binary runs thousands (scripts/sim, in scripts/test); a debug build a few.
    let options = SimOptions::default();
    let mut injected = 0;
    for seed in 1_000..1_040 {
        let run = play(seed, &options);
        assert!(run.violations.is_empty(), "{}", run.report());
        injected += run.faults.total();
    }
    assert!(injected > 100, "the seeds injected only {injected} faults");
}

#[test]
fn a_seed_replays_exactly() {
    let options = SimOptions::default();
    let a = play(7, &options);
    let b = play(7, &options);
    assert_eq!(a, b);
    assert!(a.faults.total() > 0, "seed 7 injected no fault");
    assert_ne!(a.digest, play(8, &options).digest);
}

/// A leader's root acknowledged a top segment after learning the head as state; the
/// terminal then kept the transactions below it forever (`Replica::relayable_for`).
#[test]
fn regression_seed_20_without_clock_skew() {
    holds(20, &only("skew-ms=0"));
}

/// A relayed run whose seal went with a later copy blocked every run after it
/// (`add_runs` in the protocol's uploads).
#[test]
fn regression_seed_405_under_every_fault() {
    holds(405, &SimOptions::default());
}

/// Found by the 10,000-seed soak: a member crashed while its last run sat only in its own
/// outbox (the leader had buffered it after a gap it knew as state), so its disk took those
/// records with it; a crash now waits until the leader holds the member's outbox as relay
/// copies.
#[test]
fn regression_seeds_3543_and_5637_crash_only_what_is_held_upstream() {
    holds(3543, &SimOptions::default());
    holds(5637, &SimOptions::default());
}

/// Message loss alone: a terminal crashed while its leader was out of reach.
#[test]
fn regression_seed_54_with_message_loss() {
    holds(54, &only("loss"));
}

/// Slow partner calls went on into the recovery after the day, so its health checks timed
/// out and a breaker stayed OPEN; the drawn slow calls, like the outages, end with the day.
#[test]
fn regression_seed_33_with_partner_outages_and_slow_calls() {
    holds(33, &only("partner-outage=1000,slow-calls=1000"));
}

#[test]
fn partner_outages_slow_calls_and_lag_spikes_are_injected_and_survived() {
    let options = only("partner-outage=1000,slow-calls=300,shard-failure=300,lag-spike=1000");
    let mut runs = Vec::new();
    for seed in 0..6 {
        let run = play(seed, &options);
        assert!(run.violations.is_empty(), "{}", run.report());
        runs.push(run);
    }
    for kind in [
        FaultKind::PartnerOutage,
        FaultKind::SlowCall,
        FaultKind::LagSpike,
    ] {
        let n: u64 = runs.iter().map(|r| r.faults.of(kind)).sum();
        assert!(n > 0, "no {} injected", kind.name());
    }
}

/// Runs seeds from `first` until one breaks `invariant` under `defect` (at most `tries`),
/// and returns that seed; the report names the invariant and the seed.
fn caught(defect: &str, invariant: &str, first: u64, tries: u64) -> u64 {
    caught_under(SimOptions::default(), defect, invariant, first, tries)
}

/// [`caught`] with the fault knobs of `options`.
fn caught_under(options: SimOptions, defect: &str, invariant: &str, first: u64, tries: u64) -> u64 {
    let mut breaks = Breaks::default();
    assert!(breaks.switch_on(defect), "unknown defect {defect}");
    let options = SimOptions { breaks, ..options };
    for seed in first..first + tries {
        let run = play(seed, &options);
        if run.violations.iter().any(|v| v.invariant == invariant) {
            let report = run.report();
            assert!(
                report.contains(&format!("VIOLATED {invariant}:")),
                "{report}"
            );
            assert!(report.contains(&format!("--seed {seed}")), "{report}");
            return seed;
        }
    }
    panic!(
        "{defect}: no seed of {first}..{} broke {invariant:?}",
        first + tries
    )
}

#[test]
fn dropping_an_upload_loses_a_transaction() {
    assert_eq!(caught("drop-upload", "no transaction lost", 0, 3), 0);
}

#[test]
fn acknowledging_before_storing_loses_a_transaction_at_failover() {
    caught("ack-before-store", "no transaction lost", 1, 3);
}

#[test]
fn not_rewriting_the_tail_after_a_lag_spike_loses_a_transaction() {
    let options = only("shard-failure=300,lag-spike=1000");
    let seed = caught_under(
        options.clone(),
        "no-tail-rewrite",
        "no transaction lost",
        0,
        5,
    );
    let mut breaks = Breaks::default();
    breaks.switch_on("no-tail-rewrite");
    let run = play(seed, &SimOptions { breaks, ..options });
    assert!(run.faults.of(FaultKind::LagSpike) > 0);
    assert!(
        run.report().contains("replica lag spike"),
        "{}",
        run.report()
    );
}

#[test]
fn reusing_an_incarnation_breaks_unit_conservation_and_the_cs_log() {
    caught("reuse-incarnation", "units conserved per lot", 22, 3);
    caught(
        "reuse-incarnation",
        "controlled-substance log intact",
        22,
        3,
    );
}

#[cfg(feature = "test-breaks")]
#[test]
fn skipping_the_mac_check_takes_damaged_messages() {
    caught("skip-mac", "damaged messages refused", 1, 3);
}

#[cfg(feature = "test-breaks")]
#[test]
fn dropping_the_term_check_elects_two_leaders_in_a_term() {
    caught("no-term-check", "at most one leader per term", 87, 3);
    caught("no-term-check", "at most one leader", 55, 3);
}

#[cfg(not(feature = "test-breaks"))]
#[test]
fn the_protocol_defects_need_their_feature() {
    let mut breaks = Breaks::default();
    assert!(breaks.switch_on("skip-mac"));
    let options = SimOptions {
        breaks,
        ..SimOptions::default()
    };
    let err = run_seed(1, &options, &desk()).err().unwrap_or_default();
    assert!(err.contains("test-breaks"), "{err}");
}

/// A seed with a durable pharmacy (its terminals SQLite stores in a scratch directory):
/// its terminals crash inside write transactions and reopen, one terminal's files are
/// rolled back, refused and restored from its backup, and every invariant still holds;
/// the seed replays exactly and its directory is removed after it passed.
#[cfg(feature = "store-faults")]
#[test]
fn a_durable_seed_with_store_crashes_and_a_rollback_holds_every_invariant() {
    use pharm_loadtest::faults::FaultKind;

    let scratch = std::env::temp_dir().join(format!("pharm-sim-test-{}", std::process::id()));
    let options = SimOptions {
        scratch: Some(scratch.clone()),
        ..only("store-crash=100,rollback=300")
    };
    let run = play(15, &options);
    assert_eq!(run.config.durable, 1, "seed 15 has a durable pharmacy");
    assert!(run.violations.is_empty(), "{}", run.report());
    assert!(run.faults.of(FaultKind::StoreCrash) > 0, "{:?}", run.faults);
    assert_eq!(run.faults.of(FaultKind::Rollback), 1, "{:?}", run.faults);
    assert!(!scratch.join("seed-15").exists());
    assert_eq!(play(15, &options), run);
    let _ = std::fs::remove_dir_all(&scratch);
}
