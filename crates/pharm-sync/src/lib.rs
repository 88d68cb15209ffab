//! pharm-sync
#![forbid(unsafe_code)]

pub mod hlc;
pub mod ids;
pub mod protocol;
pub mod replica;
pub mod state;
pub mod txn;
