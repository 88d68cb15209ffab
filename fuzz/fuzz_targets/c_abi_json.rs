//! The `c_abi_json` fuzz target: see `pharm_fuzz::c_abi_json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pharm_fuzz::c_abi_json::run(data));
