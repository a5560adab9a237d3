//! Tests of the decoder (and of the scanning that must agree with it) on the input it is
//! there for: untrusted bytes. Every malformed payload must give a precise [`Error`] (or
//! `None` from [`scan`]), never a panic, an overlong loop or an allocation larger than the
//! payload.
#![allow(clippy::unwrap_used)]

use crate::*;

/// One record with every value tag in its value, two headers, a schema'd key.
fn record_bytes(w: &mut Writer, topic: &str) {
    RecordHead {
        topic,
        partition: Some(3),
        offset: Some(1 << 40),
        timestamp: Some(-7),
        timestamp_type: 1,
    }
    .write(w);
    w.schema_ref(Some(0));
    w.u8(tag::INT64);
    w.svar(-300);
    w.schema_ref(None);
    w.u8(tag::STRUCT);
    w.len(12);
    w.u8(tag::NULL);
    w.u8(tag::BOOLEAN);
    w.bool(true);
    w.u8(tag::INT8);
    w.u8(0xfe);
    w.u8(tag::INT16);
    w.svar(-2);
    w.u8(tag::INT32);
    w.svar(70_000);
    w.u8(tag::FLOAT32);
    w.f32(0.5);
    w.u8(tag::FLOAT64);
    w.f64(-0.25);
    w.u8(tag::STRING);
    w.str("héllo");
    w.u8(tag::BYTES);
    w.bytes(&[0, 255]);
    w.u8(tag::ARRAY);
    w.len(2);
    w.u8(tag::STRING);
    w.str("a");
    w.u8(tag::NULL);
    w.u8(tag::MAP);
    w.len(1);
    w.u8(tag::STRING);
    w.str("k");
    w.u8(tag::INT32);
    w.svar(1);
    w.u8(tag::STRUCT);
    w.len(0);
    w.len(2);
    w.str("h1");
    w.schema_ref(None);
    w.u8(tag::BYTES);
    w.bytes(b"v");
    w.str("h2");
    w.schema_ref(None);
    w.u8(tag::NULL);
}

#[test]
fn scanning_finds_the_same_ends_as_reading_and_refuses_what_reading_refuses() {
    let mut w = Writer::with_capacity(0);
    record_bytes(&mut w, "topic");
    record_bytes(&mut w, "другой");
    let b = w.finish();
    let mut r = Reader::new(&b).unwrap();
    let mut ends = Vec::new();
    while !r.is_empty() {
        skip_record(&mut r, 1).unwrap();
        ends.push(r.position());
    }
    assert_eq!(scan::checked_record_end(&b, 1, 1), Some(ends[0]));
    assert_eq!(scan::checked_record_end(&b, ends[0], 1), Some(ends[1]));

    // The value alone: `value_end` agrees with `skip_value` on the struct and each field.
    let mut r = Reader::new(&b).unwrap();
    RecordHead::read(&mut r).unwrap();
    r.schema_ref().unwrap();
    skip_value(&mut r, 0).unwrap();
    r.schema_ref().unwrap();
    let value = r.position();
    skip_value(&mut r, 0).unwrap();
    assert_eq!(scan::value_end(&b, value, 0), Some(r.position()));
    assert_eq!(scan::data(&b, value - 1, 1), Some((None, r.position())));

    // Every cut-short prefix is refused, never read past.
    for cut in 1..ends[0] {
        assert_eq!(
            scan::checked_record_end(&b[..cut], 1, 1),
            None,
            "cut at {cut}"
        );
    }
    // A schema index past the table, a bad timestamp type, bad UTF-8 in a string.
    assert_eq!(scan::checked_record_end(&b, 1, 0), None);
    let mut bad = b.clone();
    let mut head = Reader::new(&b).unwrap();
    RecordHead::read(&mut head).unwrap();
    let ts_type = head.position() - 1;
    assert_eq!(bad[ts_type], 1);
    bad[ts_type] = 3;
    assert_eq!(scan::checked_record_end(&bad, 1, 1), None);
    assert!(skip_record(&mut Reader::new(&bad).unwrap(), 1).is_err());
    let mut bad = b.clone();
    let at = b.windows(2).position(|w| w == "é".as_bytes()).unwrap();
    bad[at] = 0xff;
    assert_eq!(scan::checked_record_end(&bad, 1, 1), None);
    assert!(skip_record(&mut Reader::new(&bad).unwrap(), 1).is_err());
    // Unchecked scanning does not look inside strings.
    assert!(scan::value_end(&bad, value, 0).is_some());
}

#[test]
fn primitives_round_trip() {
    let mut w = Writer::with_capacity(0);
    for v in [0i64, 1, -1, 63, -64, 64, i64::MAX, i64::MIN] {
        w.svar(v);
    }
    w.uvar(u64::MAX);
    w.str("héllo");
    w.bytes(&[]);
    w.opt_svar(None);
    w.opt_svar(Some(-5));
    w.opt_str(Some("x"));
    w.f32(1.5);
    w.f64(-2.25);
    w.schema_ref(None);
    w.schema_ref(Some(3));
    let buf = w.finish();
    let mut r = Reader::new(&buf).unwrap();
    for v in [0i64, 1, -1, 63, -64, 64, i64::MAX, i64::MIN] {
        assert_eq!(r.svar().unwrap(), v);
    }
    assert_eq!(r.uvar().unwrap(), u64::MAX);
    assert_eq!(r.str().unwrap(), "héllo");
    assert_eq!(r.bytes().unwrap(), &[] as &[u8]);
    assert_eq!(r.opt_svar().unwrap(), None);
    assert_eq!(r.opt_svar().unwrap(), Some(-5));
    assert_eq!(r.opt_string().unwrap().as_deref(), Some("x"));
    assert_eq!(r.f32().unwrap(), 1.5);
    assert_eq!(r.f64().unwrap(), -2.25);
    assert_eq!(r.schema_ref().unwrap(), None);
    assert_eq!(r.schema_ref().unwrap(), Some(3));
    r.finish().unwrap();
}

#[test]
fn malformed_input_is_an_error_with_its_position() {
    assert!(Reader::new(&[]).is_err());
    let e = Reader::new(&[9]).unwrap_err();
    assert!(e.message.contains("version 9"), "{e}");
    // A length larger than what is left.
    let mut r = Reader::new(&[VERSION, 200, 1, b'a']).unwrap();
    let e = r.str().unwrap_err();
    assert!(e.message.contains("exceeds"), "{e}");
    // Invalid UTF-8.
    let mut r = Reader::new(&[VERSION, 1, 0xff]).unwrap();
    assert!(r.str().unwrap_err().message.contains("UTF-8"));
    // An unterminated varint.
    let mut r = Reader::new(&[VERSION, 0x80, 0x80]).unwrap();
    assert!(r.uvar().is_err());
    // Eleven continuation bytes.
    let mut r = Reader::new(&[
        VERSION, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ])
    .unwrap();
    assert!(r.uvar().is_err());
    // Trailing bytes.
    let mut r = Reader::new(&[VERSION, 0, 7]).unwrap();
    r.u8().unwrap();
    assert!(r.finish().unwrap_err().message.contains("1 unread"));
    // A boolean that is neither 0 nor 1.
    let mut r = Reader::new(&[VERSION, 2]).unwrap();
    assert!(r.bool().is_err());
}

/// A reader over `bytes` after a [`VERSION`] byte.
fn reader(bytes: &[u8]) -> (Vec<u8>, usize) {
    let mut b = vec![VERSION];
    b.extend_from_slice(bytes);
    let n = b.len();
    (b, n)
}

fn err(at: usize, message: &str) -> Error {
    Error {
        at,
        message: message.to_string(),
    }
}

fn one_record() -> Vec<u8> {
    let mut w = Writer::with_capacity(0);
    record_bytes(&mut w, "topic");
    w.finish()
}

#[test]
fn truncated_input_is_refused_at_every_cut() {
    assert_eq!(Reader::new(&[]).unwrap_err(), err(0, "payload ends early"));
    let b = one_record();
    let mut whole = Reader::new(&b).unwrap();
    skip_record(&mut whole, 1).unwrap();
    whole.finish().unwrap();
    for cut in 1..b.len() {
        let mut r = Reader::new(&b[..cut]).unwrap();
        let e = skip_record(&mut r, 1).unwrap_err();
        assert!(e.at <= cut, "cut at {cut}: {e}");
        assert!(
            e.message.starts_with("payload ends early") || e.message.contains("exceeds the"),
            "cut at {cut}: {e}"
        );
        assert_eq!(
            scan::checked_record_end(&b[..cut], 1, 1),
            None,
            "cut at {cut}"
        );
    }
    // Precisely: a topic of 5 bytes with 3 left; a float with 3 of its 8 bytes.
    let (b, _) = reader(&[5, b't', b'o', b'p']);
    let mut r = Reader::new(&b).unwrap();
    assert_eq!(
        r.str().unwrap_err(),
        err(2, "count 5 exceeds the 3 bytes left")
    );
    let (b, _) = reader(&[tag::FLOAT64, 0, 0, 0]);
    let mut r = Reader::new(&b).unwrap();
    assert_eq!(
        skip_value(&mut r, 0).unwrap_err(),
        err(2, "payload ends early: 8 bytes wanted, 3 left")
    );
}

#[test]
fn wrong_tags_are_named_with_their_position() {
    let (b, _) = reader(&[13]);
    assert_eq!(
        skip_value(&mut Reader::new(&b).unwrap(), 0).unwrap_err(),
        err(2, "unknown value tag 13")
    );
    assert_eq!(scan::value_end(&b, 1, 0), None);
    let (b, _) = reader(&[schema_type::STRUCT + 1]);
    assert_eq!(
        skip_schema(&mut Reader::new(&b).unwrap(), 0).unwrap_err(),
        err(2, "unknown schema type code 12")
    );
    // A boolean value must be 0 or 1, in a value as in the scalar fields.
    let (b, _) = reader(&[tag::BOOLEAN, 2]);
    assert_eq!(
        skip_value(&mut Reader::new(&b).unwrap(), 0).unwrap_err(),
        err(3, "boolean byte 2, expected 0 or 1")
    );
    assert_eq!(scan::value_end(&b, 1, 0), None);
    // Record heads: the timestamp type, the partition's range, a schema index past the table.
    let b = one_record();
    let mut head = Reader::new(&b).unwrap();
    RecordHead::read(&mut head).unwrap();
    let ts_type = head.position() - 1;
    let mut bad = b.clone();
    bad[ts_type] = 3;
    assert_eq!(
        skip_record(&mut Reader::new(&bad).unwrap(), 1).unwrap_err(),
        err(ts_type + 1, "unknown timestamp type 3")
    );
    assert_eq!(
        skip_record(&mut Reader::new(&b).unwrap(), 0).unwrap_err(),
        err(
            ts_type + 2,
            "schema index 0 out of range (the payload has 0 schemas)"
        )
    );
    let mut w = Writer::with_capacity(0);
    w.str("t");
    w.opt_svar(Some(i64::from(i32::MAX) + 1));
    let b = w.finish();
    assert_eq!(
        RecordHead::read(&mut Reader::new(&b).unwrap()).unwrap_err(),
        err(b.len(), "partition 2147483648 out of range")
    );
    assert_eq!(scan::checked_record_end(&b, 1, 0), None);
}

#[test]
fn lengths_past_the_end_are_refused_before_anything_is_reserved() {
    // A count of 2^32 - 1 items with nothing left: refused when read, not looped over.
    let (b, n) = reader(&[tag::ARRAY, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert_eq!(
        skip_value(&mut Reader::new(&b).unwrap(), 0).unwrap_err(),
        err(n, "count 4294967295 exceeds the 0 bytes left")
    );
    assert_eq!(scan::value_end(&b, 1, 0), None);
    let (b, n) = reader(&[tag::BYTES, 100, 1]);
    assert_eq!(
        skip_value(&mut Reader::new(&b).unwrap(), 0).unwrap_err(),
        err(n - 1, "count 100 exceeds the 1 bytes left")
    );
    assert_eq!(scan::value_end(&b, 1, 0), None);
    // A header count larger than the rest of the record.
    let b = one_record();
    let mut cut = b.clone();
    let headers_at = {
        let mut r = Reader::new(&b).unwrap();
        RecordHead::read(&mut r).unwrap();
        for _ in 0..2 {
            r.schema_ref().unwrap();
            skip_value(&mut r, 0).unwrap();
        }
        r.position()
    };
    assert_eq!(cut[headers_at], 2);
    cut[headers_at] = 100;
    let e = skip_record(&mut Reader::new(&cut).unwrap(), 1).unwrap_err();
    assert_eq!(e.at, headers_at + 1, "{e}");
    assert!(e.message.starts_with("count 100 exceeds the"), "{e}");
    assert_eq!(scan::checked_record_end(&cut, 1, 1), None);
}

/// `levels` arrays of one item each around a null.
fn nested_arrays(levels: usize) -> Vec<u8> {
    let mut b = vec![VERSION];
    for _ in 0..levels {
        b.extend_from_slice(&[tag::ARRAY, 1]);
    }
    b.push(tag::NULL);
    b
}

/// `levels` array schemas, each the item schema of the one before.
fn nested_schemas(levels: usize) -> Vec<u8> {
    let mut w = Writer::with_capacity(0);
    for level in 0..=levels {
        let leaf = level == levels;
        w.u8(if leaf {
            schema_type::INT8
        } else {
            schema_type::ARRAY
        });
        w.bool(false); // optional
        w.opt_str(None); // name
        w.opt_svar(None); // version
        w.opt_str(None); // doc
        w.len(0); // parameters
        w.bool(false); // default
        w.bool(!leaf); // item schema; the nested one follows
        if leaf {
            w.bool(false);
            w.bool(false);
            w.len(0);
        }
    }
    // Close every level: no key or value schema, no fields.
    for _ in 0..levels {
        w.bool(false);
        w.bool(false);
        w.len(0);
    }
    w.finish()
}

#[test]
fn deep_nesting_is_refused_at_the_depth_limit_without_exhausting_the_stack() {
    let ok = nested_arrays(MAX_DEPTH);
    let mut r = Reader::new(&ok).unwrap();
    skip_value(&mut r, 0).unwrap();
    r.finish().unwrap();
    assert_eq!(scan::value_end(&ok, 1, 0), Some(ok.len()));

    let deep = nested_arrays(MAX_DEPTH + 1);
    assert_eq!(
        skip_value(&mut Reader::new(&deep).unwrap(), 0).unwrap_err(),
        err(1 + 2 * (MAX_DEPTH + 1), "value tree too deep")
    );
    assert_eq!(scan::value_end(&deep, 1, 0), None);
    // Far deeper input costs no more: reading stops at the limit.
    let deeper = nested_arrays(100_000);
    assert_eq!(
        skip_value(&mut Reader::new(&deeper).unwrap(), 0).unwrap_err(),
        err(1 + 2 * (MAX_DEPTH + 1), "value tree too deep")
    );
    assert_eq!(scan::value_end(&deeper, 1, 0), None);
    // An empty container at the limit holds nothing deeper, so both accept it.
    let mut empty = nested_arrays(MAX_DEPTH);
    empty.pop();
    empty.extend_from_slice(&[tag::ARRAY, 0]);
    assert!(skip_value(&mut Reader::new(&empty).unwrap(), 0).is_ok());
    assert_eq!(scan::value_end(&empty, 1, 0), Some(empty.len()));

    let ok = nested_schemas(MAX_DEPTH);
    let mut r = Reader::new(&ok).unwrap();
    skip_schema(&mut r, 0).unwrap();
    r.finish().unwrap();
    let deep = nested_schemas(MAX_DEPTH + 1);
    let e = skip_schema(&mut Reader::new(&deep).unwrap(), 0).unwrap_err();
    assert_eq!(e.message, "schema nested too deeply");
}

#[test]
fn text_that_is_not_utf8_is_refused_where_it_starts() {
    for bad in [
        &[0xc3, 0x28][..],       // a lead byte without its continuation
        &[0xed, 0xa0, 0x80][..], // a UTF-16 surrogate
        &[0xc0, 0xaf][..],       // an overlong encoding
        &[0xff][..],
    ] {
        let mut payload = vec![bad.len() as u8];
        payload.extend_from_slice(bad);
        let (b, _) = reader(&payload);
        let why = std::str::from_utf8(bad).unwrap_err();
        assert_eq!(
            Reader::new(&b).unwrap().str().unwrap_err(),
            err(1, &format!("string is not UTF-8: {why}"))
        );
        // As a string value, and as a record's topic.
        let mut value = vec![tag::STRING];
        value.extend_from_slice(&payload);
        let (b, _) = reader(&value);
        assert!(skip_value(&mut Reader::new(&b).unwrap(), 0).is_err());
        let (b, _) = reader(&payload);
        assert_eq!(scan::checked_record_end(&b, 1, 0), None);
    }
}

#[test]
fn varints_longer_than_64_bits_are_refused() {
    // u64::MAX is the longest varint: nine 0xff, then 0x01.
    let mut max = vec![0xff; 9];
    max.push(0x01);
    let (b, n) = reader(&max);
    assert_eq!(Reader::new(&b).unwrap().uvar().unwrap(), u64::MAX);
    assert_eq!(scan::uvar(&b, 1), Some((u64::MAX, n)));
    // A tenth byte with more than bit 63, or an eleventh byte.
    for tenth in [0x02, 0x7f, 0x81] {
        let mut over = vec![0xff; 9];
        over.extend_from_slice(&[tenth, 0x01]);
        let (b, _) = reader(&over);
        assert_eq!(
            Reader::new(&b).unwrap().uvar().unwrap_err(),
            err(11, "varint overflows 64 bits"),
            "tenth byte {tenth:#x}"
        );
        assert_eq!(scan::uvar(&b, 1), None, "tenth byte {tenth:#x}");
    }
    // As a length, the largest varint is refused as larger than the payload.
    let (b, n) = reader(&max);
    assert_eq!(
        Reader::new(&b).unwrap().len().unwrap_err(),
        err(n, "count 18446744073709551615 exceeds the 0 bytes left")
    );
    // As a signed value that must fit 32 bits.
    let mut w = Writer::with_capacity(0);
    w.svar(i64::from(i32::MIN) - 1);
    let b = w.finish();
    assert_eq!(
        Reader::new(&b)
            .unwrap()
            .svar_as::<i32>("version")
            .unwrap_err(),
        err(b.len(), "version -2147483649 is out of range")
    );
}

/// The fast scan must accept exactly the records the checked skip accepts, ending at the same
/// byte: the host copies records the scan accepts into the next step's batch unread.
#[test]
fn scanning_and_skipping_agree_on_every_single_byte_corruption() {
    let b = one_record();
    for at in 1..b.len() {
        for byte in [0x00, 0x01, 0x02, 0x0c, 0x0d, 0x7f, 0x80, 0xc3, 0xff] {
            let mut bad = b.clone();
            bad[at] = byte;
            let mut r = Reader::new(&bad).unwrap();
            let skipped = skip_record(&mut r, 1).map(|()| r.position());
            let scanned = scan::checked_record_end(&bad, 1, 1);
            assert_eq!(scanned, skipped.ok(), "byte {at} set to {byte:#x}");
        }
    }
}

/// Arbitrary bytes through every entry point: errors, never a panic (a cheap, deterministic
/// stand-in for the `cargo fuzz` target in `fuzz/`).
#[test]
fn arbitrary_bytes_never_panic() {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let len = (next() % 64) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if let Some(first) = bytes.first_mut() {
            *first = VERSION;
        }
        check_every_entry_point(&bytes);
    }
}

/// What the fuzz target does with one input.
fn check_every_entry_point(bytes: &[u8]) {
    let schemas = bytes.get(1).map_or(0, |&b| usize::from(b % 4));
    if let Ok(mut r) = Reader::new(bytes) {
        let _ = skip_value(&mut r.clone(), 0);
        let _ = skip_schema(&mut r.clone(), 0);
        let skipped = skip_record(&mut r, schemas).map(|()| r.position());
        assert_eq!(scan::checked_record_end(bytes, 1, schemas), skipped.ok());
    }
    let _ = scan::value_end(bytes, 0, 0);
    let _ = scan::data(bytes, 0, schemas);
}
