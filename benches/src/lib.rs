//! # pharm-benches
//!
//! Shared scenario builders for the `pharm-demo` binary and the criterion benchmark
//! `benches/evaluate.rs`.
//!
//! - [`typical_refill`]: an insured, on-time, non-controlled refill with a FEFO lot pick
//!   at a Texas store — the most common request a pharmacy makes.
//! - [`cii_partial_fill`]: the remainder of a Schedule II partial fill (pathway (a),
//!   within 72 hours) with a PMP check — one of the most rule-heavy requests.
//! - [`realistic_day`]: ~230 requests of one business day at a Texas store (with an
//!   afternoon offline) plus a few under other state presets, in time order.
//!
//! Everything is deterministic: the same seed gives the same day on every machine.
//!
//! ```
//! use pharm_core::rules::{evaluate, Outcome};
//!
//! let (request, ctx) = pharm_benches::typical_refill();
//! assert_eq!(evaluate(&request, &ctx).outcome, Outcome::Allow);
//! ```
// The builders parse constant literals (dates, NDCs); the unit tests below build every
// scenario, so a bad literal fails the tests rather than a user's input.
#![allow(clippy::expect_used)]

pub mod catalog;
mod day;
pub mod orange_book;
/// The seeded xorshift generator, shared with `pharm-loadtest` (which owns it).
pub use pharm_loadtest::rng;
pub mod sync_scenario;

pub use day::{ROUTINE_REQUESTS, Scenario, realistic_day};

use pharm_core::model::{Fill, PartialPathway};
use pharm_core::rules::{Context, PmpStatus, Request};

use catalog::{
    at, atorvastatin, commercial_plan, day, fill_request, hm, oxycodone, past_fill, patient,
    prescription, store_context, with_fefo, with_history,
};

/// Seed of the demo day.
pub const DEMO_SEED: u64 = 0x5EED_2026_0415;

/// An insured refill of atorvastatin 20 mg #30 at 10:40 on the demo day in Texas: Rx
/// written 2026-02-14 with 5 refills, two earlier fills (the last 27 days ago, past the
/// payer's 80 % threshold), the store's four lots of the NDC (expired, recalled, the
/// FEFO lot and a later one) and the FEFO pick. Evaluates to `Allow` with no findings.
pub fn typical_refill() -> (Request, Context) {
    let product = atorvastatin();
    let rx = prescription(
        "RX-6000001",
        patient(901),
        0,
        &product,
        30,
        30,
        5,
        at("2026-02-14T09:00:00").date(),
    );
    let rx = with_history(rx, at("2026-03-19T10:15:00"), 2);
    let mut r = fill_request(rx, &product);
    r.payment = commercial_plan();
    let r = with_fefo(r, day());
    (Request::Fill(r), store_context(hm(10, 40)))
}

/// The remainder (40 of 60) of an oxycodone 5 mg CII partial fill at 11:00 on the demo
/// day in Texas: EPCS written 2026-04-13, first portion of 20 dispensed that afternoon
/// under pathway (a) (pharmacy unable to supply), PMP queried at 10:50, insured, FEFO lot
/// pick. Inside the 72-hour window, so it evaluates to `Allow`.
pub fn cii_partial_fill() -> (Request, Context) {
    let product = oxycodone();
    let mut rx = prescription(
        "RX-6000002",
        patient(902),
        1,
        &product,
        60,
        15,
        0,
        at("2026-04-13T09:00:00").date(),
    );
    let first = Fill {
        partial: Some(PartialPathway::UnableToSupply),
        ..past_fill(&rx, at("2026-04-13T16:00:00"), 20, 5)
    };
    rx.fills.push(first);
    let mut r = fill_request(rx, &product);
    r.quantity = 40;
    r.days_supply = 10;
    r.payment = commercial_plan();
    r.pmp = PmpStatus::Queried { at: hm(10, 50) };
    let r = with_fefo(r, day());
    (Request::Fill(r), store_context(hm(11, 0)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use pharm_core::rules::{Decision, Outcome, evaluate};

    fn outcome_of(day: &[Scenario], label: &str) -> Decision {
        let (_, request, ctx) = day
            .iter()
            .find(|(l, _, _)| l == label)
            .unwrap_or_else(|| panic!("no scenario {label:?}"));
        evaluate(request, ctx)
    }

    fn rules(d: &Decision) -> Vec<&'static str> {
        d.findings.iter().map(|f| f.rule.as_str()).collect()
    }

    #[test]
    fn benchmark_scenarios_are_allowed_with_lot_picks() {
        for (request, ctx) in [typical_refill(), cii_partial_fill()] {
            let d = evaluate(&request, &ctx);
            assert_eq!(d.outcome, Outcome::Allow, "{:#?}", d.findings);
            let Request::Fill(r) = &request else {
                panic!("not a fill")
            };
            assert_eq!(r.picks.len(), 1, "FEFO must pick one lot");
            assert!(r.picks[0].lot_number.ends_with("26A"));
        }
        assert!(
            evaluate(&typical_refill().0, &typical_refill().1)
                .findings
                .is_empty()
        );
    }

    #[test]
    fn day_is_deterministic_sorted_and_large() {
        let a = realistic_day(DEMO_SEED);
        let b = realistic_day(DEMO_SEED);
        assert_eq!(a, b);
        assert!(a.len() >= 200, "{} requests", a.len());
        assert!(a.windows(2).all(|w| w[0].2.now <= w[1].2.now));
        assert!(a.iter().any(|(_, _, c)| c.connectivity.is_offline()));
        assert_ne!(realistic_day(1), a);
    }

    #[test]
    fn scripted_events_hit_their_rules() {
        use Outcome::*;
        let day = realistic_day(DEMO_SEED);
        let cases: &[(&str, Outcome, &str)] = &[
            (
                "intake: CIV alprazolam with 6 refills",
                Warn,
                "CS34-REFILLS-01",
            ),
            ("refill Lipitor DAW 1, generic picked", Block, "RX-DAW-01"),
            ("refill Lipitor DAW 0, brand dispensed", Warn, "RX-DAW-02"),
            (
                "refill metformin, Rx written 2025-04-02",
                Block,
                "RX-EXP-01",
            ),
            ("refill lisinopril, no refills left", Block, "RX-REFILLS-01"),
            ("levothyroxine: scan expired lot", Block, "LOT-EXP-01"),
            ("levothyroxine: scan recalled lot", Block, "LOT-STATUS-01"),
            (
                "levothyroxine: scan later lot (not FEFO)",
                Warn,
                "LOT-FEFO-01",
            ),
            (
                "levothyroxine: DSCSA mismatch on scan",
                Block,
                "LOT-DSCSA-01",
            ),
            ("new CII hydrocodone, PMP not checked", Block, "CS-PMP-01"),
            (
                "CII remainder 40/60 after 72 h",
                Block,
                "CS2-PARTIAL-SUPPLY-01",
            ),
            ("CII refill requested", Block, "CS2-REFILL-01"),
            (
                "CII written 2026-03-11 (TX 30 days)",
                Block,
                "CS2-STATEEXP-01",
            ),
            (
                "CII stimulant before earliest fill date",
                Block,
                "CS2-EARLIEST-01",
            ),
            (
                "CII received by fax (not LTCF/hospice)",
                Block,
                "CS2-FORM-01",
            ),
            ("CIII refill 6+ months after issue", Block, "CS34-6MO-01"),
            ("CIV refill #6 of 6 (cap 5)", Block, "CS34-REFILLS-01"),
            ("PSE 48 ct after 120 ct this morning", Block, "PSE-DAY-01"),
            ("PSE 24 ct, no photo ID", Block, "PSE-ID-01"),
            ("CV syrup, 2nd bottle within 48 h", Block, "CS5-OTC-01"),
            ("hand-off CII oxycodone, no ID", Block, "CS-PICKUP-ID-01"),
            (
                "offline: CII, no override yet",
                RequireOverride,
                "CS-OFFLINE-01",
            ),
            ("offline: same CII with override", Warn, "CS-OFFLINE-01"),
            ("offline: insured refill too soon", Warn, "RX-RTS-01"),
            (
                "offline: PSE 24 ct (NPLEx unreachable)",
                Block,
                "PSE-DAY-01",
            ),
            (
                "offline: CV codeine syrup, no Rx",
                RequireOverride,
                "CS5-OTC-01",
            ),
            (
                "transfer CIII refills out a 2nd time",
                Block,
                "CS345-XFER-01",
            ),
            ("[NY] emergency oral CII, 7 days", Block, "CS2-EMERG-01"),
            (
                "[NY] Synthroid Rx, generic levothyroxine",
                Block,
                "RX-SUBST-01",
            ),
            ("[AK] CIII refill, PMP down", Block, "CS-PMP-01"),
            (
                "[US] PSE 24 ct, NPLEx unreachable",
                RequireOverride,
                "PSE-DAY-01",
            ),
            ("end of day", Warn, "CS-PMP-REPORT-01"),
        ];
        for (label, outcome, rule) in cases {
            let d = outcome_of(&day, label);
            assert_eq!(d.outcome, *outcome, "{label}: {:#?}", d.findings);
            assert!(
                rules(&d).contains(rule),
                "{label}: expected {rule}, got {:?}",
                rules(&d)
            );
        }
        let allowed = [
            "Synthroid Rx, generic levothyroxine",
            "levothyroxine: FEFO allocation",
            "new Rx amoxicillin susp (BUD 14 d)",
            "destroy expired lot LEV25EXP",
            "new CII oxycodone, PMP checked",
            "CII partial 20/60 (unable to supply)",
            "CII partial 30/60 (patient request)",
            "CII remainder 40/60 within 72 h",
            "emergency oral CII, 3-day supply",
            "CV pregabalin refill",
            "PSE 2 x 24 ct, ID + logbook",
            "CV codeine syrup 118 mL, no Rx",
            "hand-off CII oxycodone with ID",
            "offline: insured refill, claim queued",
            "offline: hand-off CII with ID",
            "back online: CII, PMP checked",
            "transfer unfilled EPCS CII",
            "[CA] CII written 60 days ago",
            "[MN] end of day, nothing reportable",
            "[MA] emergency oral CII, follow-up in 3 d",
        ];
        for label in allowed {
            let d = outcome_of(&day, label);
            assert_eq!(d.outcome, Outcome::Allow, "{label}: {:#?}", d.findings);
        }
        let ma = outcome_of(&day, "[MA] emergency oral CII, follow-up in 3 d");
        assert!(
            serde_json::to_string(&ma.follow_ups)
                .unwrap()
                .contains("2026-04-18")
        );
        let amox = outcome_of(&day, "new Rx amoxicillin susp (BUD 14 d)");
        assert_eq!(amox.beyond_use_date, Some(catalog::date("2026-04-29")));
    }

    #[test]
    fn every_scenario_serializes() {
        for (label, request, ctx) in realistic_day(DEMO_SEED) {
            let d = evaluate(&request, &ctx);
            assert!(serde_json::to_string(&d).is_ok(), "{label}");
        }
    }
}
