//! Arbitrary bytes through every decoding entry point of `sluice-packed`: the checked
//! skipping (`skip_value`, `skip_schema`, `skip_record`) must return errors, never panic, and
//! the fast scan (`scan::checked_record_end`) must accept exactly the records the checked
//! skip accepts, ending at the same byte (the host copies what the scan accepts unread).
//!
//! Run: `cargo +nightly fuzz run decode` in `plugin-sdk/packed` (see the crate docs).

#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_packed::{scan, skip_record, skip_schema, skip_value, Reader};

fuzz_target!(|bytes: &[u8]| {
    // The first byte after the version picks the schema table size the records refer to.
    let schemas = bytes.get(1).map_or(0, |&b| usize::from(b % 4));
    if let Ok(r) = Reader::new(bytes) {
        let _ = skip_value(&mut r.clone(), 0);
        let _ = skip_schema(&mut r.clone(), 0);
        // A payload of records, as a transform's output body: each one skipped and scanned.
        let mut r = r;
        while !r.is_empty() {
            let start = r.position();
            let skipped = skip_record(&mut r, schemas).map(|()| r.position());
            assert_eq!(
                scan::checked_record_end(bytes, start, schemas),
                skipped.clone().ok(),
                "record at byte {start}"
            );
            if skipped.is_err() {
                break;
            }
        }
    }
    let _ = scan::value_end(bytes, 0, 0);
    let _ = scan::data(bytes, 0, schemas);
});
