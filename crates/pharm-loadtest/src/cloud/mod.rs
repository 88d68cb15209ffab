//! The cloud side of the load test: each pharmacy's root peer, routed by pharm-shard's
//! directory to a logical shard whose store keeps the transactions the root logs.

pub mod cache;
pub mod lag;
#[cfg(feature = "postgres")]
pub mod pg;
pub mod table;
pub mod writer;
