//! The `orange_book` fuzz target: see `pharm_fuzz::orange_book`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pharm_fuzz::orange_book::run(data));
