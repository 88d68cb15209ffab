//! `pharm-loadtest`: the design's load test (§9 / load-test table) run through the
//! library's public APIs.
//!
//! - [`workload`]: a seeded schedule per terminal over the design's hour, with the 3×
//!   rush-hour peak: sales, fills, receipts, counts, transfers, and each store's sync rounds;
//! - [`requests`]: each sale or fill as a pharm-core request and context in simulated time;
//! - [`plan`]: each pharmacy's faults (offline window, terminal crash and restore);
//! - [`partners`]: the PMP and the payer as simulated services behind pharm-shard's
//!   breaker + retry + budget policy;
//! - [`store`]: one pharmacy: terminals as pharm-sync peers with their leader election,
//!   the cloud's root peer, sync rounds, the oracle and the invariant checks;
//! - [`cloud`]: the shard stores' transaction tables (in memory, or PostgreSQL with the
//!   `postgres` feature), routed by pharm-shard's directory;
//! - [`orange_book`]: the synthetic full-size FDA Orange Book `products.txt` (shared with the
//!   benchmarks), and [`subst_desk`]: the substitution lookups on it or on a real file;
//! - [`sim`]: the sans-IO core that plays the events; [`counts`], [`report`]: what a run
//!   counted and reports; [`plot`]: the latency plot (SVG); [`progress`]: the binary's
//!   progress bar; [`config`]: the flags.
//!
//! The binary (`src/main.rs`) plays the schedule open-loop in wall time and measures
//! latency from each event's scheduled time.
//!
//! ```
//! use std::sync::Arc;
//! use pharm_loadtest::config::Config;
//! use pharm_loadtest::sim::{World, run_simulated};
//! use pharm_loadtest::subst_desk::SubstDesk;
//!
//! let desk = Arc::new(SubstDesk::generated(7)?);
//! let config = Config { pharmacies: 2, terminals: 2, txns: 20, ..Config::default() };
//! let a = run_simulated(&config, &World::embedded(Arc::clone(&desk))?)?;
//! let b = run_simulated(&config, &World::embedded(desk)?)?;
//! assert_eq!(a, b);
//! assert_eq!(a.counts.total(), 80);
//! assert!(a.violations.is_empty(), "{:?}", a.violations);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod cloud;
pub mod config;
pub mod counts;
pub mod faults;
pub mod orange_book;
pub mod partner_faults;
pub mod partners;
pub mod plan;
pub mod plot;
pub mod products;
pub mod progress;
pub mod report;
pub mod requests;
pub mod rng;
pub mod sim;
pub mod simulator;
pub mod store;
pub mod subst_desk;
pub mod workload;
