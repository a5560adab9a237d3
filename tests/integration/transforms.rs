//! Transform chains through real WASM plugins, with Kafka's class names, on both sides:
//! a sink chain Filter(RecordIsTombstone) + InsertField$Value on schemaless JSON, and a source
//! chain RegexRouter + InsertField$Value on datagen's Structs.

use std::time::Duration;

use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;
use sluice_tests::{
    assert_all_seqs, default_worker_props, read_to_string, seqs, unique, Broker, TestDir, Worker,
};

use crate::{datagen, JSON_CONVERTER};

const T: &str = "org.apache.kafka.connect.transforms";

/// A raw record: its value (`None` = tombstone) and an optional (key, value) header.
type RawRecord<'a> = (Option<&'a str>, Option<(&'a str, &'a str)>);

/// Produces `records` to partition 0 of `topic`, in order.
fn produce_raw(broker: &Broker, topic: &str, records: &[RawRecord<'_>]) {
    use rdkafka::message::{Header, OwnedHeaders};
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .create()
        .expect("producer");
    for (value, header) in records {
        let mut r = BaseRecord::<(), str>::to(topic).partition(0);
        if let Some(v) = value {
            r = r.payload(*v);
        }
        if let Some((key, v)) = header {
            r = r.headers(OwnedHeaders::new().insert(Header {
                key,
                value: Some(*v),
            }));
        }
        producer.send(r).map_err(|(e, _)| e).expect("send");
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
}

/// Runs one FileStreamSink connector (`config` = its keys after `file`) until its file has
/// `lines` lines, waits a little longer for anything extra, and returns the file.
fn sink_output(broker: &Broker, dir: &TestDir, topic: &str, config: &str, lines: usize) -> String {
    let out_file = dir.join("out.txt");
    let connector = format!(
        "name={}\nconnector.class=FileStreamSink\nfile={}\ntopics={topic}\n{config}",
        unique("sink"),
        out_file.display()
    );
    let worker = Worker::start(
        dir,
        &default_worker_props(Some(broker), dir.path()),
        &[("sink.properties", &connector)],
    );
    worker.wait_for_lines(&out_file, lines, Duration::from_secs(120));
    // Let a wrong extra record show up before the caller compares.
    std::thread::sleep(Duration::from_secs(2));
    read_to_string(&out_file)
}

#[test]
fn sink_chain_drops_tombstones_and_inserts_a_field() {
    let broker = Broker::shared();
    let dir = TestDir::new("sink-chain");
    let topic = unique("sink-chain");
    broker.create_topic(&topic, 1);
    produce_raw(
        broker,
        &topic,
        &[
            (Some(r#"{"id":1}"#), None),
            (None, None),
            (Some(r#"{"id":2}"#), None),
        ],
    );
    let output = sink_output(
        broker,
        &dir,
        &topic,
        &format!(
            "value.converter={JSON_CONVERTER}\nvalue.converter.schemas.enable=false\n\
             transforms=dropTombstones,origin\n\
             transforms.dropTombstones.type={T}.Filter\n\
             transforms.dropTombstones.predicate=isTombstone\n\
             transforms.origin.type={T}.InsertField$Value\n\
             transforms.origin.static.field=origin\n\
             transforms.origin.static.value=sluice\n\
             predicates=isTombstone\n\
             predicates.isTombstone.type={T}.predicates.RecordIsTombstone\n"
        ),
        2,
    );
    // FileStreamSink prints the value as Java's Map.toString(); the tombstone was filtered out
    // (without the Filter it would be a `null` line).
    assert_eq!(output, "{id=1, origin=sluice}\n{id=2, origin=sluice}\n");
}

#[test]
fn source_chain_routes_and_inserts_a_field() {
    const COUNT: u64 = 50;
    let broker = Broker::shared();
    let dir = TestDir::new("source-chain");
    let topic = unique("source-chain");
    let routed = format!("routed-{topic}");
    let connector = format!(
        "{}transforms=route,origin\n\
         transforms.route.type={T}.RegexRouter\n\
         transforms.route.regex=(.*)\n\
         transforms.route.replacement=routed-$1\n\
         transforms.origin.type={T}.InsertField$Value\n\
         transforms.origin.static.field=origin\n\
         transforms.origin.static.value=sluice\n",
        datagen(&unique("gen"), &topic, COUNT, 0)
    );
    let _worker = Worker::start(
        &dir,
        &default_worker_props(Some(broker), dir.path()),
        &[("datagen.properties", &connector)],
    );
    // The routed topic is created by the source task on its first record.
    let messages = broker.consume_all(&routed, COUNT as usize, Duration::from_secs(120));
    assert_all_seqs(&seqs(&messages), COUNT as i64);
    for m in &messages {
        let v: serde_json::Value = serde_json::from_str(m.value_str()).expect("JSON value");
        assert_eq!(v["origin"], "sluice", "InsertField on a Struct: {v}");
        assert!(v["email"].is_string(), "the original fields are kept: {v}");
    }
}

#[test]
fn sink_chain_filters_records_by_header_key() {
    let broker = Broker::shared();
    let dir = TestDir::new("header-chain");
    let topic = unique("header-chain");
    broker.create_topic(&topic, 1);
    let marked = Some(("x-drop", "yes"));
    produce_raw(
        broker,
        &topic,
        &[
            (Some("keep-1"), None),
            (Some("drop-1"), marked),
            (Some("keep-2"), None),
        ],
    );
    let output = sink_output(
        broker,
        &dir,
        &topic,
        &format!(
            "transforms=dropMarked\n\
             transforms.dropMarked.type={T}.Filter\n\
             transforms.dropMarked.predicate=marked\n\
             predicates=marked\n\
             predicates.marked.type={T}.predicates.HasHeaderKey\n\
             predicates.marked.name=x-drop\n"
        ),
        2,
    );
    assert_eq!(output, "keep-1\nkeep-2\n");
}
