//! `sluice::fuzzing::connector_json` under libFuzzer: the properties it checks are documented there.
//! Run: `cargo xtask fuzz 60 connector_json`.

#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| sluice::fuzzing::connector_json(bytes));
