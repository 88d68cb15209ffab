//! The `ndc_directory` fuzz target: see `pharm_fuzz::ndc_directory`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pharm_fuzz::ndc_directory::run(data));
