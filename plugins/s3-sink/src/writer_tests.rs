//! The S3 sink's task logic against an in-memory store: object names and contents, rotations,
//! multipart uploads, retries, replays and the offsets offered for commit.

#![allow(clippy::unwrap_used)]

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use chrono_tz::Tz;
use sluice_plugin_sdk::json::JsonOptions;
use sluice_plugin_sdk::{Record, Schema, Struct, TaskError, TopicPartitionOffset, Value};

use crate::format::Format;
use crate::partitioner::{Extractor, Partitioner, TimeBased};
use crate::path_format::PathFormat;
use crate::store::{Store, StoreError};
use crate::task::Task;
use crate::writer::{NullValues, Settings};

/// An upload in progress: its key and the parts sent.
type Upload = (String, Vec<(u32, Vec<u8>)>);

#[derive(Default)]
struct Memory {
    objects: BTreeMap<String, Vec<u8>>,
    /// upload id → (key, parts)
    uploads: BTreeMap<String, Upload>,
    ops: Vec<String>,
    /// Errors to answer the next requests with, in order.
    fail: Vec<StoreError>,
    next_id: u32,
}

#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Memory>>);

impl Shared {
    fn check(&self, op: String) -> Result<(), StoreError> {
        let mut m = self.0.borrow_mut();
        m.ops.push(op);
        if m.fail.is_empty() {
            Ok(())
        } else {
            Err(m.fail.remove(0))
        }
    }
    fn objects(&self) -> BTreeMap<String, String> {
        self.0
            .borrow()
            .objects
            .iter()
            .map(|(k, v)| (k.clone(), String::from_utf8(v.clone()).unwrap()))
            .collect()
    }
    fn ops(&self) -> Vec<String> {
        self.0.borrow().ops.clone()
    }
}

impl Store for Shared {
    fn put_object(&mut self, key: &str, body: &[u8]) -> Result<(), StoreError> {
        self.check(format!("put {key}"))?;
        self.0
            .borrow_mut()
            .objects
            .insert(key.into(), body.to_vec());
        Ok(())
    }
    fn create_multipart(&mut self, key: &str) -> Result<String, StoreError> {
        self.check(format!("create {key}"))?;
        let mut m = self.0.borrow_mut();
        m.next_id += 1;
        let id = format!("u{}", m.next_id);
        m.uploads.insert(id.clone(), (key.into(), Vec::new()));
        Ok(id)
    }
    fn upload_part(
        &mut self,
        key: &str,
        id: &str,
        part: u32,
        body: &[u8],
    ) -> Result<String, StoreError> {
        self.check(format!("part {part} {key}"))?;
        let mut m = self.0.borrow_mut();
        m.uploads.get_mut(id).unwrap().1.push((part, body.to_vec()));
        Ok(format!("\"etag{part}\""))
    }
    fn complete_multipart(
        &mut self,
        key: &str,
        id: &str,
        parts: &[(u32, String)],
    ) -> Result<(), StoreError> {
        self.check(format!("complete {key}"))?;
        let mut m = self.0.borrow_mut();
        let (k, uploaded) = m.uploads.remove(id).unwrap();
        assert_eq!(k, key);
        assert_eq!(parts.len(), uploaded.len());
        let body: Vec<u8> = uploaded.into_iter().flat_map(|(_, b)| b).collect();
        m.objects.insert(key.into(), body);
        Ok(())
    }
    fn abort_multipart(&mut self, key: &str, id: &str) -> Result<(), StoreError> {
        self.check(format!("abort {key}"))?;
        self.0.borrow_mut().uploads.remove(id);
        Ok(())
    }
}

fn settings(flush_size: u64) -> Settings {
    Settings {
        topics_dir: "topics".into(),
        directory_delim: "/".into(),
        file_delim: "+".into(),
        flush_size,
        rotate_interval_ms: -1,
        rotate_schedule_interval_ms: -1,
        tz: Tz::UTC,
        part_size: 5 * 1024 * 1024,
        zero_pad_width: 10,
        null_values: NullValues::Fail,
        format: Format::Json(JsonOptions::default()),
        partitioner: Partitioner::Default,
    }
}

struct Harness {
    store: Shared,
    clock: Rc<Cell<i64>>,
}

impl Harness {
    fn new() -> Harness {
        Harness {
            store: Shared::default(),
            clock: Rc::new(Cell::new(1_700_000_000_000)),
        }
    }
    fn task(&self, settings: Settings) -> Task {
        let clock = self.clock.clone();
        Task::new(
            settings,
            Box::new(self.store.clone()),
            Box::new(move || clock.get()),
        )
    }
}

fn rec(topic: &str, partition: i32, offset: i64, value: Value) -> Record {
    let mut r = Record::new(topic)
        .with_partition(partition)
        .with_value(None, value);
    r.offset = Some(offset);
    r
}

fn n(topic: &str, partition: i32, offsets: std::ops::Range<i64>) -> Vec<Record> {
    offsets
        .map(|o| rec(topic, partition, o, Value::Int64(o)))
        .collect()
}

fn offered(topic: &str, partition: i32, offset: i64) -> Vec<TopicPartitionOffset> {
    vec![TopicPartitionOffset {
        topic: topic.into(),
        partition,
        offset,
    }]
}

#[test]
fn objects_are_named_and_cut_as_confluents_and_only_completed_offsets_are_offered() {
    let h = Harness::new();
    let mut task = h.task(settings(3));
    assert!(task.put(&n("orders", 0, 0..7)).unwrap().is_empty());
    assert_eq!(
        h.store.objects(),
        BTreeMap::from([
            (
                "topics/orders/partition=0/orders+0+0000000000.json".to_string(),
                "0\n1\n2\n".to_string()
            ),
            (
                "topics/orders/partition=0/orders+0+0000000003.json".to_string(),
                "3\n4\n5\n".to_string()
            ),
        ])
    );
    assert_eq!(
        task.open_keys(),
        vec!["topics/orders/partition=0/orders+0+0000000006.json"]
    );
    // Offset 6 is only in an open file: commit up to 6, not the offered 7.
    assert_eq!(
        task.pre_commit(&offered("orders", 0, 7)).unwrap(),
        offered("orders", 0, 6)
    );
    // Never beyond what the host offers.
    assert_eq!(
        task.pre_commit(&offered("orders", 0, 4)).unwrap(),
        offered("orders", 0, 4)
    );
    // A partition with nothing completed is left out.
    task.put(&n("orders", 1, 0..2)).unwrap();
    assert_eq!(task.pre_commit(&offered("orders", 1, 2)).unwrap(), vec![]);
}

/// A crash after objects were written but before the offsets were committed: the replay from
/// the last committed offset writes the same objects again, nothing twice.
#[test]
fn a_replay_after_a_crash_overwrites_the_same_objects() {
    let h = Harness::new();
    let mut first = h.task(settings(3));
    first.put(&n("t", 0, 0..4)).unwrap();
    first.put(&n("t", 0, 4..8)).unwrap();
    let before = h.store.objects();
    assert_eq!(before.len(), 2);
    drop(first); // crash: nothing was committed, the open file (6, 7) is lost

    let mut replay = h.task(settings(3));
    replay.put(&n("t", 0, 0..5)).unwrap();
    replay.put(&n("t", 0, 5..10)).unwrap();
    let after = h.store.objects();
    for (key, body) in &before {
        assert_eq!(
            after.get(key),
            Some(body),
            "{key} rewritten with the same content"
        );
    }
    assert_eq!(after.len(), 3);
    let lines: Vec<String> = after
        .values()
        .flat_map(|b| b.lines().map(String::from).collect::<Vec<_>>())
        .collect();
    assert_eq!(lines, (0..9).map(|i| i.to_string()).collect::<Vec<_>>());
    assert_eq!(
        replay.pre_commit(&offered("t", 0, 10)).unwrap(),
        offered("t", 0, 9)
    );
}

/// A `put` that failed on an upload is retried by the host with the same records: records
/// already taken are skipped, the pending upload is finished first, nothing is duplicated.
#[test]
fn a_retried_put_writes_nothing_twice() {
    let h = Harness::new();
    let mut task = h.task(settings(3));
    h.store.0.borrow_mut().fail = vec![StoreError::Retriable("HTTP 503 SlowDown".into())];
    let batch = n("t", 0, 0..5);
    let e = task.put(&batch).unwrap_err();
    assert_eq!(e, TaskError::Retriable("HTTP 503 SlowDown".into()));
    assert!(h.store.objects().is_empty());
    assert!(task.put(&batch).unwrap().is_empty());
    assert_eq!(
        h.store.objects().into_values().collect::<Vec<_>>(),
        vec!["0\n1\n2\n".to_string()]
    );
    task.put(&n("t", 0, 5..6)).unwrap();
    assert_eq!(h.store.objects().len(), 2);
    assert_eq!(h.store.objects().values().nth(1).unwrap(), "3\n4\n5\n");
    // Re-delivered records (a rebalance gave the partition back) are skipped too.
    task.put(&n("t", 0, 0..6)).unwrap();
    assert_eq!(h.store.objects().len(), 2);
    // A fatal store error fails the task.
    h.store.0.borrow_mut().fail = vec![StoreError::Fatal("HTTP 403 AccessDenied".into())];
    assert!(matches!(
        task.put(&n("t", 0, 6..9)),
        Err(TaskError::Fatal(_))
    ));
}

#[test]
fn large_files_go_up_as_multipart_uploads() {
    let h = Harness::new();
    let mut s = settings(100);
    s.part_size = 10;
    let mut task = h.task(s);
    let records: Vec<Record> = (0..5)
        .map(|o| rec("t", 0, o, Value::from("abcdef")))
        .collect();
    task.put(&records).unwrap();
    // Each record is 9 bytes ("\"abcdef\"\n"): a part goes up after every second record.
    let key = "topics/t/partition=0/t+0+0000000000.json";
    assert_eq!(
        h.store.ops(),
        vec![
            format!("create {key}"),
            format!("part 1 {key}"),
            format!("part 2 {key}")
        ]
    );
    assert!(
        h.store.objects().is_empty(),
        "not complete before the rotation"
    );
    task.put(
        &(5..100)
            .map(|o| rec("t", 0, o, Value::from("abcdef")))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let objects = h.store.objects();
    assert_eq!(objects[key], "\"abcdef\"\n".repeat(100));
    assert_eq!(h.store.ops().last().unwrap(), &format!("complete {key}"));
    // A file that never filled a part is one PUT.
    task.put(&[rec("t", 0, 100, Value::from("x"))]).unwrap();
    task.stop();
    assert!(h
        .store
        .ops()
        .iter()
        .all(|op| !op.contains("0000000100") || op.starts_with("abort")));
}

/// A partition revoked and later given back: the open file is dropped at `close`, so the
/// records re-read from the committed offset start a fresh file under the same name.
#[test]
fn close_drops_the_open_files_of_revoked_partitions() {
    let h = Harness::new();
    let mut task = h.task(settings(3));
    task.put(&n("t", 0, 0..5)).unwrap(); // 0-2 complete, 3-4 open
    task.put(&n("t", 1, 0..1)).unwrap();
    task.close(&[("t".to_string(), 0)]);
    assert_eq!(
        task.open_keys(),
        vec!["topics/t/partition=1/t+1+0000000000.json"]
    );
    // Another task wrote 3..9 meanwhile; this one gets the partition back at 9.
    task.put(&n("t", 0, 9..12)).unwrap();
    assert_eq!(
        h.store.objects()["topics/t/partition=0/t+0+0000000009.json"],
        "9\n10\n11\n"
    );
    assert!(!h
        .store
        .objects()
        .contains_key("topics/t/partition=0/t+0+0000000003.json"));
}

#[test]
fn stop_aborts_open_multipart_uploads() {
    let h = Harness::new();
    let mut s = settings(100);
    s.part_size = 10;
    let mut task = h.task(s);
    task.put(
        &(0..3)
            .map(|o| rec("t", 0, o, Value::from("abcdef")))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    task.stop();
    let key = "topics/t/partition=0/t+0+0000000000.json";
    assert_eq!(h.store.ops().last().unwrap(), &format!("abort {key}"));
    assert!(h.store.0.borrow().uploads.is_empty());
}

fn hourly(extractor: Extractor) -> Partitioner {
    Partitioner::Time(TimeBased {
        format: PathFormat::new("'dt'=YYYY-MM-dd/'hour'=HH", Tz::UTC, "en").unwrap(),
        duration_ms: 3_600_000,
        tz: Tz::UTC,
        extractor,
    })
}

fn at(offset: i64, timestamp: i64) -> Record {
    rec("t", 0, offset, Value::Int64(offset)).with_timestamp(timestamp)
}

#[test]
fn rotate_interval_uses_record_time_and_new_time_partitions() {
    let h = Harness::new();
    let mut s = settings(1000);
    s.rotate_interval_ms = 60_000;
    s.partitioner = hourly(Extractor::Record);
    let mut task = h.task(s);
    let t0 = 1_700_000_000_000; // 2023-11-14T22:13:20Z
    task.put(&[
        at(0, t0),
        at(1, t0 + 30_000),
        at(2, t0 + 60_000), // a minute of record time after the first: rotates before it
        at(3, t0 + 61_000),
        at(4, t0 + 3_600_000), // another hour: another directory, rotates too
    ])
    .unwrap();
    assert_eq!(
        h.store.objects(),
        BTreeMap::from([
            (
                "topics/t/dt=2023-11-14/hour=22/t+0+0000000000.json".to_string(),
                "0\n1\n".to_string()
            ),
            (
                "topics/t/dt=2023-11-14/hour=22/t+0+0000000002.json".to_string(),
                "2\n3\n".to_string()
            ),
        ])
    );
    assert_eq!(
        task.open_keys(),
        vec!["topics/t/dt=2023-11-14/hour=23/t+0+0000000004.json"]
    );
    assert_eq!(
        task.pre_commit(&offered("t", 0, 5)).unwrap(),
        offered("t", 0, 4)
    );
}

#[test]
fn rotate_schedule_uses_the_wall_clock_also_without_new_records() {
    let h = Harness::new();
    let mut s = settings(1000);
    s.rotate_schedule_interval_ms = 600_000; // every 10 minutes from midnight UTC
    let mut task = h.task(s);
    h.clock.set(1_700_000_000_000); // 22:13:20: next rotation at 22:20:00
    task.put(&n("t", 0, 0..2)).unwrap();
    h.clock.set(1_700_000_399_000); // 22:19:59
    assert_eq!(task.pre_commit(&offered("t", 0, 2)).unwrap(), vec![]);
    h.clock.set(1_700_000_400_000); // 22:20:00
    assert_eq!(
        task.pre_commit(&offered("t", 0, 2)).unwrap(),
        offered("t", 0, 2)
    );
    assert_eq!(h.store.objects().len(), 1);
    // The next records wait for 22:30.
    h.clock.set(1_700_000_500_000);
    task.put(&n("t", 0, 2..3)).unwrap();
    assert_eq!(h.store.objects().len(), 1);
    h.clock.set(1_700_001_000_000);
    task.put(&n("t", 0, 3..4)).unwrap();
    assert_eq!(
        h.store.objects().len(),
        2,
        "a record after 22:30 rotates first"
    );
}

#[test]
fn field_partitioner_keeps_one_file_per_value_and_rotates_them_together() {
    let h = Harness::new();
    let mut s = settings(3);
    s.partitioner = Partitioner::Field(vec!["region".into()]);
    let schema = Schema::struct_builder()
        .field("region", Schema::string())
        .build()
        .into_ref();
    let region = |o: i64, r: &str| {
        let mut v = Struct::new(schema.clone()).unwrap();
        v.put("region", r).unwrap();
        let mut rec = Record::new("t")
            .with_partition(0)
            .with_value(Some(schema.clone()), Value::Struct(v));
        rec.offset = Some(o);
        rec
    };
    let mut task = h.task(s);
    task.put(&[region(10, "eu"), region(11, "us"), region(12, "eu")])
        .unwrap();
    assert_eq!(
        h.store.objects(),
        BTreeMap::from([
            (
                "topics/t/region=eu/t+0+0000000010.json".to_string(),
                "{\"region\":\"eu\"}\n{\"region\":\"eu\"}\n".to_string()
            ),
            (
                "topics/t/region=us/t+0+0000000011.json".to_string(),
                "{\"region\":\"us\"}\n".to_string()
            ),
        ])
    );
}

#[test]
fn null_values_fail_or_are_skipped_and_bad_records_are_reported() {
    let h = Harness::new();
    let mut task = h.task(settings(2));
    let failures = task
        .put(&[
            rec("t", 0, 0, Value::Int64(0)),
            rec("t", 0, 1, Value::Null),
            rec("t", 0, 2, Value::Int64(2)),
        ])
        .unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].index, 1);
    assert!(
        failures[0].message.contains("behavior.on.null.values"),
        "{}",
        failures[0].message
    );
    assert_eq!(h.store.objects().values().next().unwrap(), "0\n2\n");

    let h = Harness::new();
    let mut s = settings(2);
    s.null_values = NullValues::Ignore;
    let mut task = h.task(s);
    let failures = task
        .put(&[rec("t", 0, 0, Value::Int64(0)), rec("t", 0, 1, Value::Null)])
        .unwrap();
    assert!(failures.is_empty());
    // Only a skipped record after the last open file: everything taken is committable.
    task.put(&[rec("t", 0, 2, Value::Int64(2)), rec("t", 0, 3, Value::Null)])
        .unwrap();
    assert_eq!(
        task.pre_commit(&offered("t", 0, 4)).unwrap(),
        offered("t", 0, 4)
    );

    let h = Harness::new();
    let mut s = settings(2);
    s.format = Format::ByteArray {
        extension: ".bin".into(),
        separator: b"\n".to_vec(),
    };
    let mut task = h.task(s);
    let failures = task
        .put(&[
            rec("t", 0, 0, Value::from("text")),
            rec("t", 0, 1, Value::Bytes(b"raw".to_vec())),
        ])
        .unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(
        task.open_keys(),
        vec!["topics/t/partition=0/t+0+0000000001.bin"]
    );
}

/// A record that failed in a `put` that then failed as a whole is reported again when the
/// host retries that `put` (its offset was taken, so it is skipped otherwise).
#[test]
fn failures_of_a_failed_put_are_reported_by_its_retry() {
    let h = Harness::new();
    let mut task = h.task(settings(2));
    let batch = vec![
        rec("t", 0, 0, Value::Null),
        rec("t", 0, 1, Value::Int64(1)),
        rec("t", 0, 2, Value::Int64(2)),
    ];
    h.store.0.borrow_mut().fail = vec![StoreError::Retriable("reset".into())];
    assert!(task.put(&batch).is_err());
    let failures = task.put(&batch).unwrap();
    assert_eq!(
        failures.iter().map(|f| f.index).collect::<Vec<_>>(),
        vec![0]
    );
    assert_eq!(h.store.objects().values().next().unwrap(), "1\n2\n");
}

fn with_schema(offset: i64, schema: &sluice_plugin_sdk::SchemaRef, id: i64) -> Record {
    let mut s = Struct::new(schema.clone()).unwrap();
    s.put("id", id).unwrap();
    let mut r = Record::new("t")
        .with_partition(0)
        .with_value(Some(schema.clone()), Value::Struct(s));
    r.offset = Some(offset);
    r
}

#[test]
fn avro_files_rotate_on_schema_changes_refuse_schemaless_records_and_replay_identically() {
    let h = Harness::new();
    let mut s = settings(3);
    s.format = Format::Avro(crate::avro::Codec::Deflate);
    let v1 = Schema::struct_builder()
        .name("shop.Order")
        .field("id", Schema::int64())
        .build_ref();
    let v2 = Schema::struct_builder()
        .name("shop.Order")
        .version(2)
        .field("id", Schema::int64())
        .build_ref();
    // An equal schema in another Arc is the same schema.
    let v1_copy = std::sync::Arc::new((*v1).clone());
    let mut records = vec![
        with_schema(0, &v1, 0),
        with_schema(1, &v1_copy, 1),
        with_schema(2, &v2, 2),
    ];
    records.push(rec("t", 0, 3, Value::from("no schema")));
    records.push(with_schema(4, &v2, 4));
    records.push(with_schema(5, &v2, 5));
    let mut task = h.task(s.clone());
    let failures = task.put(&records).unwrap();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].index, 3);
    assert!(
        failures[0]
            .message
            .contains("AvroFormat needs records with a value schema")
            && failures[0].message.contains("offset 3"),
        "{}",
        failures[0].message
    );
    let objects = h.store.0.borrow().objects.clone();
    let keys: Vec<&String> = objects.keys().collect();
    assert_eq!(
        keys,
        [
            "topics/t/partition=0/t+0+0000000000.avro",
            "topics/t/partition=0/t+0+0000000002.avro"
        ],
        "v1 records 0-1, then v2 records 2, 4, 5 (flush.size counts written records)"
    );
    for (key, body) in &objects {
        assert!(body.starts_with(b"Obj\x01"), "{key}");
        let text = String::from_utf8_lossy(body);
        assert!(text.contains("deflate"), "{key}");
    }
    assert!(String::from_utf8_lossy(&objects[keys[1]]).contains("\"connect.version\":2"));
    assert_eq!(
        task.pre_commit(&offered("t", 0, 6)).unwrap(),
        offered("t", 0, 6)
    );

    // A replay (a new task after a crash) writes byte-identical objects.
    let h2 = Harness::new();
    let mut replay = h2.task(s);
    replay.put(&records).unwrap();
    assert_eq!(h2.store.0.borrow().objects, objects);
}

#[test]
fn parquet_files_rotate_on_schema_changes_refuse_records_without_struct_schemas_and_replay_identically(
) {
    let h = Harness::new();
    let mut s = settings(3);
    s.format = Format::Parquet(crate::parquet_file::ParquetCodec::Snappy);
    let v1 = Schema::struct_builder()
        .name("shop.Order")
        .field("id", Schema::int64())
        .build_ref();
    let v2 = Schema::struct_builder()
        .name("shop.Order")
        .version(2)
        .field("id", Schema::int64())
        .build_ref();
    let mut records = vec![
        with_schema(0, &v1, 0),
        with_schema(1, &v1, 1),
        with_schema(2, &v2, 2),
    ];
    records.push(rec("t", 0, 3, Value::from("no schema")));
    let mut not_a_struct = rec("t", 0, 4, Value::Int64(4));
    not_a_struct.value_schema = Some(Schema::int64().into_ref());
    records.push(not_a_struct);
    records.push(with_schema(5, &v2, 5));
    records.push(with_schema(6, &v2, 6));
    let mut task = h.task(s.clone());
    let failures = task.put(&records).unwrap();
    let messages: Vec<(u32, &str)> = failures
        .iter()
        .map(|f| (f.index, f.message.as_str()))
        .collect();
    assert_eq!(failures.len(), 2, "{messages:?}");
    assert_eq!((failures[0].index, failures[1].index), (3, 4));
    assert!(
        failures[0]
            .message
            .contains("ParquetFormat needs records with a value schema")
            && failures[0].message.contains("offset 3"),
        "{}",
        failures[0].message
    );
    assert!(
        failures[1]
            .message
            .contains("ParquetFormat needs Struct values")
            && failures[1].message.contains("offset 4")
            && failures[1].message.contains("Int64"),
        "{}",
        failures[1].message
    );
    let objects = h.store.0.borrow().objects.clone();
    let keys: Vec<&String> = objects.keys().collect();
    assert_eq!(
        keys,
        [
            "topics/t/partition=0/t+0+0000000000.snappy.parquet",
            "topics/t/partition=0/t+0+0000000002.snappy.parquet"
        ]
    );
    for (key, body) in &objects {
        assert!(
            body.starts_with(b"PAR1") && body.ends_with(b"PAR1"),
            "{key}"
        );
    }
    assert!(String::from_utf8_lossy(&objects[keys[1]]).contains("\"connect.version\":2"));
    assert_eq!(
        task.pre_commit(&offered("t", 0, 7)).unwrap(),
        offered("t", 0, 7)
    );

    let h2 = Harness::new();
    let mut replay = h2.task(s);
    replay.put(&records).unwrap();
    assert_eq!(h2.store.0.borrow().objects, objects);
}
