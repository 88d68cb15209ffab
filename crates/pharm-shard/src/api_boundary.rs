//! What is not public API, checked by compile-fail doctests (rustdoc runs them; the module
//! exists only then). Each refused path sits beside the public one that compiles.
//!
//! One clock (pharm-core's), one sleep trait, one physical shard type:
//! ```
//! use pharm_core::time::{Clock, ManualClock};
//! use pharm_shard::{PhysicalShard, Sleep};
//! let clock = ManualClock::new();
//! assert_eq!(clock.now(), std::time::Duration::ZERO);
//! let _: PhysicalShard = PhysicalShard(3);
//! fn takes_sleep(_: &dyn Sleep) {}
//! ```
//! ```compile_fail
//! use pharm_shard::breaker::Clock;
//! ```
//! ```compile_fail
//! use pharm_shard::retry::Clock;
//! ```
//! ```compile_fail
//! use pharm_shard::retry::Sleeper;
//! ```
//! ```compile_fail
//! use pharm_shard::scatter::Timer;
//! ```
//! The PostgreSQL adapter does not hand out its drivers' types:
//! ```compile_fail
//! use pharm_shard::pg::tokio_postgres;
//! ```
//! ```compile_fail
//! use pharm_shard::pg::deadpool_postgres;
//! ```
