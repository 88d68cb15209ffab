//! The `identifiers` fuzz target: see `pharm_fuzz::identifiers`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pharm_fuzz::identifiers::run(data));
