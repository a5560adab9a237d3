//! Transform chains through real WASM plugins, with Kafka's class names, on both sides:
//! a sink chain Filter(RecordIsTombstone) + InsertField$Value on schemaless JSON, and a source
//! chain RegexRouter + InsertField$Value on datagen's Structs.

use std::time::Duration;

use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;
use sluice_tests::{
    assert_all_seqs, count_lines, default_worker_props, read_to_string, seqs, unique, wait_until,
    Broker, TestDir, Worker,
};

use crate::{datagen, JSON_CONVERTER};

const T: &str = "org.apache.kafka.connect.transforms";

/// Produces JSON values and tombstones (`None`) to partition 0, in order.
fn produce_with_tombstones(broker: &Broker, topic: &str, values: &[Option<&str>]) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .create()
        .expect("producer");
    for v in values {
        let mut r = BaseRecord::<(), str>::to(topic).partition(0);
        if let Some(v) = v {
            r = r.payload(*v);
        }
        producer.send(r).map_err(|(e, _)| e).expect("send");
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
}

#[test]
fn sink_chain_drops_tombstones_and_inserts_a_field() {
    let broker = Broker::shared();
    let dir = TestDir::new("sink-chain");
    let topic = unique("sink-chain");
    broker.create_topic(&topic, 1);
    produce_with_tombstones(
        broker,
        &topic,
        &[Some(r#"{"id":1}"#), None, Some(r#"{"id":2}"#)],
    );

    let out_file = dir.join("out.txt");
    let connector = format!(
        "name={}\nconnector.class=FileStreamSink\nfile={}\ntopics={topic}\n\
         value.converter={JSON_CONVERTER}\nvalue.converter.schemas.enable=false\n\
         transforms=dropTombstones,origin\n\
         transforms.dropTombstones.type={T}.Filter\n\
         transforms.dropTombstones.predicate=isTombstone\n\
         transforms.origin.type={T}.InsertField$Value\n\
         transforms.origin.static.field=origin\n\
         transforms.origin.static.value=sluice\n\
         predicates=isTombstone\n\
         predicates.isTombstone.type={T}.predicates.RecordIsTombstone\n",
        unique("sink"),
        out_file.display()
    );
    let worker = Worker::start(
        &dir,
        &default_worker_props(Some(broker), dir.path()),
        &[("sink.properties", &connector)],
    );
    wait_until(
        "two lines in the sink file",
        Duration::from_secs(120),
        || (count_lines(&out_file) >= 2).then_some(()),
        || {
            format!(
                "{} lines; log:\n{}",
                count_lines(&out_file),
                worker.log_tail(30)
            )
        },
    );
    std::thread::sleep(Duration::from_secs(2));
    // FileStreamSink prints the value as Java's Map.toString(); the tombstone was filtered out
    // (without the Filter it would be a `null` line).
    assert_eq!(
        read_to_string(&out_file),
        "{id=1, origin=sluice}\n{id=2, origin=sluice}\n"
    );
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
    use rdkafka::message::{Header, OwnedHeaders};
    let broker = Broker::shared();
    let dir = TestDir::new("header-chain");
    let topic = unique("header-chain");
    broker.create_topic(&topic, 1);
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .create()
        .expect("producer");
    for (value, drop) in [("keep-1", false), ("drop-1", true), ("keep-2", false)] {
        let mut r = BaseRecord::<(), str>::to(&topic)
            .partition(0)
            .payload(value);
        if drop {
            r = r.headers(OwnedHeaders::new().insert(Header {
                key: "x-drop",
                value: Some("yes"),
            }));
        }
        producer.send(r).map_err(|(e, _)| e).expect("send");
    }
    producer.flush(Duration::from_secs(30)).expect("flush");

    let out_file = dir.join("out.txt");
    let connector = format!(
        "name={}\nconnector.class=FileStreamSink\nfile={}\ntopics={topic}\n\
         transforms=dropMarked\n\
         transforms.dropMarked.type={T}.Filter\n\
         transforms.dropMarked.predicate=marked\n\
         predicates=marked\n\
         predicates.marked.type={T}.predicates.HasHeaderKey\n\
         predicates.marked.name=x-drop\n",
        unique("sink"),
        out_file.display()
    );
    let worker = Worker::start(
        &dir,
        &default_worker_props(Some(broker), dir.path()),
        &[("sink.properties", &connector)],
    );
    wait_until(
        "two lines in the sink file",
        Duration::from_secs(120),
        || (count_lines(&out_file) >= 2).then_some(()),
        || {
            format!(
                "{} lines; log:\n{}",
                count_lines(&out_file),
                worker.log_tail(30)
            )
        },
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(read_to_string(&out_file), "keep-1\nkeep-2\n");
}
