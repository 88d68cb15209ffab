//! The `sync_peer` fuzz target: see `pharm_fuzz::sync_peer`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pharm_fuzz::sync_peer::run(data));
