//! Sluice's integration tests: one test binary (like wasmtime's `tests/all`), one module per
//! concern. Every test runs the real `sluice` binary against a real broker (tansu) with the real
//! built plugins, through the harness in `tests/harness/`, and asserts on the data that came out.
//!
//! Run with `cargo xtask test` (installs tansu and the wasm target, then runs every suite) or,
//! once those are in place, `cargo test -p sluice-tests`: the harness and this crate's build
//! script build everything else the tests run.

mod avro;
mod bad_config;
mod broker_outage;
mod cli;
mod crash_recovery;
mod dashboard;
mod disk_trouble;
mod distributed;
mod distributed_cooperative;
mod dlq;
mod elasticsearch_sink;
mod example_postgres_cdc;
mod examples;
mod file_pipeline;
mod harness;
mod http_examples;
mod http_sink;
mod jdbc_bad_input;
mod jdbc_sink;
mod jdbc_sink_crash;
mod jdbc_source;
mod jdbc_tls_and_zones;
mod json_logs;
mod json_schema;
mod lifecycle;
mod metrics;
mod plugin_failures;
mod poison_records;
mod polyglot;
mod postgres_cdc;
mod prometheus;
mod protobuf;
mod quickstart;
mod rest_admin;
mod rest_api;
mod rest_differential;
mod rest_fuzz;
mod rest_offsets;
mod rest_secrets;
mod rest_security;
mod s3_sink;
mod sandbox;
mod schema_registry;
mod shutdown;
mod sink_crash;
mod sink_tasks;
mod smt_fixtures;
mod transforms;
mod wasi_http;

use std::path::Path;

/// Kafka's class names, as users' existing configs spell them.
pub const FILE_SOURCE: &str = "org.apache.kafka.connect.file.FileStreamSourceConnector";
pub const FILE_SINK: &str = "org.apache.kafka.connect.file.FileStreamSinkConnector";
pub const STRING_CONVERTER: &str = "org.apache.kafka.connect.storage.StringConverter";
pub const JSON_CONVERTER: &str = "org.apache.kafka.connect.json.JsonConverter";

/// A source connector file whose test plugin traps after 10 records (its task fails), on a
/// fresh topic; its worker needs [`props_with_test_plugins`].
pub fn trapping_source(broker: &sluice_tests::Broker, name: &str) -> String {
    let topic = sluice_tests::unique("trap");
    broker.create_topic(&topic, 1);
    format!("name={name}\nconnector.class=test-trap-source\ntopic={topic}\ntrap.after=10\n")
}

/// Default worker properties whose plugin path also holds the test plugins.
pub fn props_with_test_plugins(broker: &sluice_tests::Broker, dir: &Path) -> String {
    let plugins = sluice_tests::plugins();
    format!(
        "{}plugin.path={},{}\n",
        sluice_tests::default_worker_props(Some(broker), dir),
        plugins.plugin_path.display(),
        plugins.test_plugins.display()
    )
}

/// A FileStreamSource connector file (`.properties`), exactly as Kafka's example writes one.
pub fn file_source(name: &str, file: &Path, topic: &str) -> String {
    format!(
        "name={name}\nconnector.class={FILE_SOURCE}\ntasks.max=1\nfile={}\ntopic={topic}\n",
        file.display()
    )
}

/// A FileStreamSink connector file (`.properties`).
pub fn file_sink(name: &str, file: &Path, topics: &str) -> String {
    format!(
        "name={name}\nconnector.class={FILE_SINK}\ntasks.max=1\nfile={}\ntopics={topics}\n",
        file.display()
    )
}

/// A datagen connector writing `count` users at `rate` records/s to `topic`, values as schemaless
/// JSON (`{"seq":0,…}`) and keys as strings (`user_0`), whatever the worker's converters are.
pub fn datagen(name: &str, topic: &str, count: u64, rate: u64) -> String {
    format!(
        "name={name}\nconnector.class=datagen\ntasks.max=1\ntopic={topic}\nquickstart=users\n\
         count={count}\nrate={rate}\nseed=42\n\
         key.converter={STRING_CONVERTER}\n\
         value.converter={JSON_CONVERTER}\nvalue.converter.schemas.enable=false\n"
    )
}

/// Standard base64 with padding (JsonConverter's Decimals, HTTP Basic credentials).
pub fn base64(b: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, &x| n << 8 | x as u32) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
