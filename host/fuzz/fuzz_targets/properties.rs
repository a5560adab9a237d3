//! `sluice::fuzzing::properties` under libFuzzer: the properties it checks are documented there.
//! Run: `cargo xtask fuzz 60 properties`.

#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| sluice::fuzzing::properties(bytes));
