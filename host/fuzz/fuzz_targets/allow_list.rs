//! `sluice::fuzzing::allow_list` under libFuzzer: the properties it checks are documented there.
//! Run: `cargo xtask fuzz 60 allow_list`.

#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| sluice::fuzzing::allow_list(bytes));
