//! The harnesses of pharm's fuzz targets, as plain functions.
//!
//! Each function takes one fuzz input, runs it through a family of pharm's entry points and
//! panics when a promised property does not hold (bad input must give a typed error, never
//! a panic; what the code promises to round-trip must round-trip). The libFuzzer targets in
//! `fuzz_targets/` call these functions and nothing else, and `tests/replay.rs` runs every
//! file of `corpus/` and `regressions/` through them on stable Rust, so a crash found once
//! stays a test.
#![deny(unsafe_code)]

pub mod c_abi_json;
pub mod identifiers;
pub mod ndc_directory;
pub mod orange_book;
pub mod rules_json;
mod samples;
pub mod seeds;
pub mod sync_codec;
pub mod sync_peer;

/// A fuzz target: its name (the name of its `fuzz_targets/` file, its `corpus/` and
/// `regressions/` folders) and its harness.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Name of the target.
    pub name: &'static str,
    /// The harness: panics when a property fails on the input.
    pub run: fn(&[u8]),
}

/// Every target (`scripts/fuzz smoke` runs the `fuzz_targets/` files `cargo fuzz list`
/// names, one per target here).
pub const TARGETS: [Target; 7] = [
    Target {
        name: "orange_book",
        run: orange_book::run,
    },
    Target {
        name: "ndc_directory",
        run: ndc_directory::run,
    },
    Target {
        name: "identifiers",
        run: identifiers::run,
    },
    Target {
        name: "rules_json",
        run: rules_json::run,
    },
    Target {
        name: "sync_codec",
        run: sync_codec::run,
    },
    Target {
        name: "sync_peer",
        run: sync_peer::run,
    },
    Target {
        name: "c_abi_json",
        run: c_abi_json::run,
    },
];

/// Splits an input into its first byte (which picks a mode or an entry point) and the rest;
/// an empty input is selector 0 with no payload.
pub fn split_selector(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((first, rest)) => (*first, rest),
        None => (0, &[]),
    }
}
