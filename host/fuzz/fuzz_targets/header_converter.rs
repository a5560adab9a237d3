//! `sluice::fuzzing::header_converter` under libFuzzer: the properties it checks are documented there.
//! Run: `cargo xtask fuzz 60 header_converter`.

#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| sluice::fuzzing::header_converter(bytes));
