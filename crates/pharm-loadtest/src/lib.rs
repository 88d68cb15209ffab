//! `pharm-loadtest`: the design's load test (§9 / load-test table) run through the
//! library's public APIs, first slice.
//!
//! - [`workload`]: a seeded schedule of arrivals per terminal over the design's hour, with
//!   the 3× rush-hour peak;
//! - [`requests`]: each arrival as a pharm-core request and context in simulated time;
//! - [`sim`]: the sans-IO core, `pharm_core::rules::evaluate` then, on allow or warn, a
//!   dispense on the terminal's in-memory `pharm_sync` replica ([`pharmacy`]);
//! - [`digest`], [`counts`]: the final-state digest and the counters;
//! - [`config`]: the flags;
//! - [`plot`], [`progress`]: the binary's latency plot (SVG) and progress bar.
//!
//! The binary (`src/main.rs`) plays the schedule open-loop in wall time and measures
//! latency from each arrival's scheduled time.
//!
//! ```
//! use pharm_loadtest::config::Config;
//! use pharm_loadtest::sim::run_simulated;
//!
//! let config = Config { pharmacies: 2, terminals: 2, txns: 20, ..Config::default() };
//! let a = run_simulated(&config).unwrap();
//! let b = run_simulated(&config).unwrap();
//! assert_eq!(a, b);
//! assert_eq!(a.counts.total(), 80);
//! ```

pub mod cloud;
pub mod config;
pub mod counts;
pub mod digest;
pub mod pharmacy;
pub mod plot;
pub mod products;
pub mod progress;
pub mod requests;
pub mod rng;
pub mod sim;
pub mod workload;
