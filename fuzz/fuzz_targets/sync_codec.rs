//! The `sync_codec` fuzz target: see `pharm_fuzz::sync_codec`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pharm_fuzz::sync_codec::run(data));
