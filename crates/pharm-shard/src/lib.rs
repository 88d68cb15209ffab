//! pharm-shard
#![forbid(unsafe_code)]

pub mod breaker;
pub mod directory;
pub mod failover;
pub mod hash;
pub mod lag;
pub mod reads;
pub mod reshard;
pub mod retry;
pub mod scaling;
pub mod scatter;

#[cfg(feature = "postgres")]
pub mod pg;
