//! The `rules_json` fuzz target: see `pharm_fuzz::rules_json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pharm_fuzz::rules_json::run(data));
