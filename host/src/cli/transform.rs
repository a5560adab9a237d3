//! `sluice transform`: runs records from a JSONL file (or stdin) through a connector config's
//! SMT chain (`transforms=…`, `predicates=…`) and prints what came out, one line per record.
//!
//! It is both a user tool ("test your SMT chain locally, without Kafka") and the harness the
//! SMT fixture tests compare against Kafka Connect's own output. Design decision: it uses the
//! very code a connector uses, [`ChainSpec::resolve`] + [`TransformChain::apply`] over real
//! WASM plugins, batched, and the host's JsonConverter (`schemas.enable=true`) for keys,
//! values and headers, so a chain that behaves here behaves the same in a running connector.
//!
//! Line format (input and output):
//! `{"topic":"t","partition":0,"timestamp":1700000000000,"key":K,"value":V,"headers":[{"key":"h","value":H}]}`
//! where K, V, H are JsonConverter envelopes (`{"schema":…|null,"payload":…}`) or JSON null
//! for a Kafka null. Input may also carry `offset` (default: the record's 0-based position in
//! the input, as if the input were one partition read from its start); records are sink
//! records, as in the reference capture. Output per record: the transformed record,
//! `{"dropped":true}` or `{"error":"<message>"}` (a per-record failure). A missing `partition`
//! is 0 and `timestampType` is CreateTime when there is a timestamp, as for a consumed record.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde_json::{Map, Value as Json};

use crate::config::{describe_problems, load_connector, ChainSpec, Config};
use crate::convert::{JsonConverter, JsonConverterConfig};
use crate::data::{ConnectRecord, Data, Header, TimestampType};
use crate::runtime::plugin::{PluginCatalog, TaskId};
use crate::runtime::retry::RetryPolicy;
use crate::runtime::transforms::{ChainOutcome, TransformChain};
use crate::wasm::{self, WasmPlugins};

/// Records per call into the chain: the same order of magnitude as a sink task's poll batch.
pub const DEFAULT_BATCH_SIZE: usize = 500;

/// What `sluice transform` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--plugin-path` entries (directories or `.wasm` files), as the worker's `plugin.path`.
    pub plugin_path: Vec<PathBuf>,
    /// Where precompiled plugins are cached (default: the worker's default cache).
    pub cache_dir: Option<PathBuf>,
    /// A connector `.properties` or `.json` file with `transforms=…` (other keys are ignored).
    pub config: PathBuf,
    /// JSONL records; `None`: stdin.
    pub input: Option<PathBuf>,
    pub batch_size: usize,
}

/// Counts of what happened, printed to stderr by the binary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub records: u64,
    pub kept: u64,
    pub dropped: u64,
    pub failed: u64,
    /// Wall time spent inside the chain (`TransformChain::apply`: lowering into the plugins,
    /// the plugins' work, lifting back), without reading, converting or printing. What the
    /// SMT-chain benchmark reports per record.
    pub chain_time: std::time::Duration,
}

/// Loads the plugins and the config, then streams `input` (or stdin) to `out`.
pub fn run(options: &Options, out: &mut dyn Write) -> Result<Summary> {
    let raw = load_connector(&options.config)?;
    let cache_dir = options
        .cache_dir
        .clone()
        .unwrap_or_else(wasm::default_cache_dir);
    let plugins = WasmPlugins::load(&options.plugin_path, &cache_dir)?;
    for r in plugins.rejected() {
        tracing::warn!(path = %r.path.display(), "plugin not loaded: {}", r.reason);
    }
    let mut chain = open_chain(&raw, &plugins)
        .with_context(|| format!("{}: invalid transform chain", options.config.display()))?;
    let batch = options.batch_size.max(1);
    match &options.input {
        Some(path) => {
            let file = std::fs::File::open(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let name = path.display().to_string();
            process(&mut chain, std::io::BufReader::new(file), out, &name, batch)
        }
        None => process(&mut chain, std::io::stdin().lock(), out, "<stdin>", batch),
    }
}

/// Resolves and opens the chain exactly as a connector task does (no retries: a retriable
/// failure is reported at once rather than waited out).
pub fn open_chain(raw: &Config, catalog: &dyn PluginCatalog) -> Result<TransformChain> {
    let spec =
        ChainSpec::resolve(raw, catalog).map_err(|p| anyhow::anyhow!(describe_problems(&p)))?;
    if spec.is_empty() {
        bail!("no transforms configured: set transforms=<alias>[,<alias>…] and transforms.<alias>.type=<class>");
    }
    let connector = crate::config::get(raw, "name")
        .filter(|n| !n.trim().is_empty())
        .unwrap_or("sluice-transform")
        .to_string();
    let id = TaskId { connector, task: 0 };
    TransformChain::open(&spec, &id, RetryPolicy::none()).map_err(|e| anyhow::anyhow!(e))
}

/// The converter for every key, value and header: JsonConverter with envelopes.
fn converter() -> JsonConverter {
    JsonConverter::new(JsonConverterConfig {
        schemas_enable: true,
        ..JsonConverterConfig::default()
    })
}

/// Streams JSONL records through `chain` in batches of `batch` and writes one output line per
/// input record, in order. Blank input lines are skipped. A malformed line or a whole-chain
/// failure (e.g. a plugin trap) stops the run with an error naming the line.
pub fn process(
    chain: &mut TransformChain,
    input: impl BufRead,
    out: &mut dyn Write,
    input_name: &str,
    batch: usize,
) -> Result<Summary> {
    let conv = converter();
    let mut summary = Summary::default();
    let mut records: Vec<ConnectRecord> = Vec::with_capacity(batch);
    let mut first_line = 0usize;
    let mut position: i64 = 0;
    let mut text = String::new();
    let mut flush = |records: &mut Vec<ConnectRecord>,
                     first_line: usize,
                     summary: &mut Summary|
     -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let outcomes = chain.apply(std::mem::take(records)).with_context(|| {
            format!("{input_name}: the chain failed on the batch starting at line {first_line}")
        })?;
        summary.chain_time += started.elapsed();
        text.clear();
        for o in &outcomes {
            summary.records += 1;
            match o {
                ChainOutcome::Keep(_) => summary.kept += 1,
                ChainOutcome::Drop => summary.dropped += 1,
                ChainOutcome::Fail { .. } => summary.failed += 1,
            }
            render(o, &conv, &mut text);
            text.push('\n');
        }
        out.write_all(text.as_bytes())
            .context("cannot write the output")?;
        Ok(())
    };
    for (n, line) in input.lines().enumerate() {
        let number = n + 1;
        let line = line.with_context(|| format!("{input_name}:{number}: cannot read"))?;
        if line.trim().is_empty() {
            continue;
        }
        let record = parse_record(&line, position, &conv)
            .map_err(|e| anyhow::anyhow!("{input_name}:{number}: {e}"))?;
        position += 1;
        if records.is_empty() {
            first_line = number;
        }
        records.push(record);
        if records.len() >= batch {
            flush(&mut records, first_line, &mut summary)?;
        }
    }
    flush(&mut records, first_line, &mut summary)?;
    out.flush().context("cannot write the output")?;
    Ok(summary)
}

const FIELDS: &str = "topic, partition, offset, timestamp, timestampType, key, value, headers";

/// One input line as a sink record. `position` is the default offset. The error is the
/// message `run` prefixes with the input's name and line number.
fn parse_record(line: &str, position: i64, conv: &JsonConverter) -> Result<ConnectRecord, String> {
    let doc: Json = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Json::Object(obj) = doc else {
        return Err(format!(
            "expected a record object {{\"topic\":…,\"key\":…,\"value\":…}}, found {}",
            kind(&doc)
        ));
    };
    if let Some(k) = obj
        .keys()
        .find(|k| !FIELDS.split(", ").any(|f| f == k.as_str()))
    {
        return Err(format!("unknown field \"{k}\"; a record has: {FIELDS}"));
    }
    let topic = match obj.get("topic") {
        Some(Json::String(t)) => t.clone(),
        Some(other) => return Err(format!("\"topic\" must be a string, found {}", kind(other))),
        None => return Err("missing \"topic\" (a string)".to_string()),
    };
    // A sink record always has a partition (Kafka's SinkRecord takes an `int`).
    let partition = match int_field(&obj, "partition")? {
        None => 0,
        Some(p) => {
            i32::try_from(p).map_err(|_| format!("\"partition\" {p} is out of the int32 range"))?
        }
    };
    let offset = int_field(&obj, "offset")?.unwrap_or(position);
    let timestamp = int_field(&obj, "timestamp")?;
    let timestamp_type = match obj.get("timestampType") {
        None | Some(Json::Null) if timestamp.is_some() => TimestampType::CreateTime,
        None | Some(Json::Null) => TimestampType::NoTimestampType,
        Some(Json::String(s)) if s == "CreateTime" => TimestampType::CreateTime,
        Some(Json::String(s)) if s == "LogAppendTime" => TimestampType::LogAppendTime,
        Some(Json::String(s)) if s == "NoTimestampType" => TimestampType::NoTimestampType,
        Some(other) => {
            return Err(format!(
                "\"timestampType\" must be \"CreateTime\", \"LogAppendTime\" or \"NoTimestampType\", found {other}"
            ))
        }
    };
    let key = data_field(obj.get("key"), conv).map_err(|e| format!("key: {e}"))?;
    let value = data_field(obj.get("value"), conv).map_err(|e| format!("value: {e}"))?;
    let mut headers = Vec::new();
    match obj.get("headers") {
        None | Some(Json::Null) => {}
        Some(Json::Array(items)) => {
            for (i, h) in items.iter().enumerate() {
                let Json::Object(h) = h else {
                    return Err(format!(
                        "headers[{i}] must be an object {{\"key\":\"name\",\"value\":…}}, found {}",
                        kind(h)
                    ));
                };
                if let Some(k) = h.keys().find(|k| *k != "key" && *k != "value") {
                    return Err(format!(
                        "headers[{i}]: unknown field \"{k}\"; a header has: key, value"
                    ));
                }
                let key = match h.get("key") {
                    Some(Json::String(k)) => k.clone(),
                    _ => return Err(format!("headers[{i}]: \"key\" must be a string")),
                };
                let value = data_field(h.get("value"), conv)
                    .map_err(|e| format!("headers[{i}] ({key}): {e}"))?;
                headers.push(Header { key, value });
            }
        }
        Some(other) => {
            return Err(format!(
                "\"headers\" must be an array of {{\"key\":…,\"value\":…}}, found {}",
                kind(other)
            ))
        }
    }
    Ok(ConnectRecord {
        topic,
        kafka_partition: Some(partition),
        kafka_offset: Some(offset),
        timestamp,
        timestamp_type,
        key,
        value,
        headers,
    })
}

fn int_field(obj: &Map<String, Json>, name: &str) -> Result<Option<i64>, String> {
    match obj.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("\"{name}\" must be an integer, found {n}")),
        Some(other) => Err(format!(
            "\"{name}\" must be an integer, found {}",
            kind(other)
        )),
    }
}

/// An envelope (or JSON null: a Kafka null) read back exactly as JsonConverter reads bytes.
fn data_field(v: Option<&Json>, conv: &JsonConverter) -> Result<Data, String> {
    match v {
        None | Some(Json::Null) => conv.deserialize(None).map_err(|e| e.0),
        Some(v) => {
            let bytes = serde_json::to_vec(v).map_err(|e| e.to_string())?;
            conv.deserialize(Some(&bytes)).map_err(|e| e.0)
        }
    }
}

/// Appends one output line (without the newline) to `out`.
pub fn render(outcome: &ChainOutcome, conv: &JsonConverter, out: &mut String) {
    match outcome {
        ChainOutcome::Drop => out.push_str("{\"dropped\":true}"),
        ChainOutcome::Fail { message, .. } => error_line(message, out),
        ChainOutcome::Keep(r) => {
            let start = out.len();
            if let Err(e) = render_record(r, conv, out) {
                out.truncate(start);
                error_line(&e, out);
            }
        }
    }
}

fn error_line(message: &str, out: &mut String) {
    out.push_str("{\"error\":");
    out.push_str(&Json::String(message.to_string()).to_string());
    out.push('}');
}

fn render_record(r: &ConnectRecord, conv: &JsonConverter, out: &mut String) -> Result<(), String> {
    use std::fmt::Write as _;
    out.push_str("{\"topic\":");
    out.push_str(&Json::String(r.topic.clone()).to_string());
    out.push_str(",\"partition\":");
    match r.kafka_partition {
        Some(p) => {
            let _ = write!(out, "{p}");
        }
        None => out.push_str("null"),
    }
    out.push_str(",\"timestamp\":");
    match r.timestamp {
        Some(t) => {
            let _ = write!(out, "{t}");
        }
        None => out.push_str("null"),
    }
    out.push_str(",\"key\":");
    encode(&r.key, conv, out).map_err(|e| format!("cannot encode the transformed key: {e}"))?;
    out.push_str(",\"value\":");
    encode(&r.value, conv, out).map_err(|e| format!("cannot encode the transformed value: {e}"))?;
    out.push_str(",\"headers\":[");
    for (i, h) in r.headers.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"key\":");
        out.push_str(&Json::String(h.key.clone()).to_string());
        out.push_str(",\"value\":");
        encode(&h.value, conv, out)
            .map_err(|e| format!("cannot encode the transformed header {}: {e}", h.key))?;
        out.push('}');
    }
    out.push_str("]}");
    Ok(())
}

/// The converter's bytes are JSON already: they go into the line as they are.
fn encode(data: &Data, conv: &JsonConverter, out: &mut String) -> Result<(), String> {
    match conv.serialize(data).map_err(|e| e.0)? {
        None => out.push_str("null"),
        Some(bytes) => out.push_str(
            std::str::from_utf8(&bytes).map_err(|e| format!("converter wrote non-UTF-8: {e}"))?,
        ),
    }
    Ok(())
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::data::Value;
    use crate::runtime::test_doubles::{cfg, smt_catalog, TestCatalog};

    fn catalog() -> TestCatalog {
        smt_catalog(&Arc::default())
    }

    fn run_lines(config: &[(&str, &str)], input: &str, batch: usize) -> Result<Vec<Json>> {
        let mut chain = open_chain(&cfg(config), &catalog())?;
        let mut out = Vec::new();
        process(&mut chain, input.as_bytes(), &mut out, "in.jsonl", batch)?;
        Ok(String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect())
    }

    /// Appends "!" to string values (a value "fail" fails), then drops what became "y!".
    const SUFFIX_DROP_Y: &[(&str, &str)] = &[
        ("transforms", "up,dropY"),
        ("transforms.up.type", "x.Suffix"),
        ("transforms.up.suffix", "!"),
        ("transforms.dropY.type", "x.Drop"),
        ("transforms.dropY.predicate", "isY"),
        ("predicates", "isY"),
        ("predicates.isY.type", "x.Equals"),
        ("predicates.isY.equals", "y!"),
    ];

    #[test]
    fn one_output_line_per_record_in_order_across_batches() {
        let input = [
            r#"{"topic":"b","partition":2,"timestamp":5,"key":{"schema":{"type":"string","optional":false},"payload":"k"},"value":{"schema":null,"payload":"x"},"headers":[{"key":"h","value":{"schema":null,"payload":1}},{"key":"n","value":null}]}"#,
            r#"{"topic":"a","key":null,"value":{"schema":null,"payload":"y"}}"#,
            "",
            r#"{"topic":"b","key":null,"value":{"schema":null,"payload":"fail"}}"#,
            r#"{"topic":"b","key":null,"value":null}"#,
        ]
        .join("\n");
        for batch in [1, 2, 500] {
            let out = run_lines(SUFFIX_DROP_Y, &input, batch).unwrap();
            assert_eq!(
                out,
                vec![
                    serde_json::json!({"topic":"b","partition":2,"timestamp":5,
                        "key":{"schema":{"type":"string","optional":false},"payload":"k"},
                        "value":{"schema":null,"payload":"x!"},
                        "headers":[{"key":"h","value":{"schema":null,"payload":1}},{"key":"n","value":null}]}),
                    serde_json::json!({"dropped":true}),
                    serde_json::json!({"error":"cannot suffix 'fail'"}),
                    serde_json::json!({"topic":"b","partition":0,"timestamp":null,"key":null,"value":null,"headers":[]}),
                ],
                "batch {batch}"
            );
        }
    }

    #[test]
    fn bad_lines_name_the_line_and_what_is_accepted() {
        let cases = [
            ("[1]", "in.jsonl:1: expected a record object"),
            (
                "{\"topic\":\"t\",\"val\":null}",
                "in.jsonl:1: unknown field \"val\"; a record has: topic",
            ),
            ("{\"key\":null}", "in.jsonl:1: missing \"topic\""),
            (
                "{\"topic\":\"t\",\"partition\":\"0\"}",
                "\"partition\" must be an integer, found a string",
            ),
            (
                "{\"topic\":\"t\",\"value\":{\"payload\":1}}",
                "in.jsonl:1: value: ",
            ),
            (
                "{\"topic\":\"t\",\"headers\":[{\"key\":1}]}",
                "headers[0]: \"key\" must be a string",
            ),
            ("{\"topic\":", "in.jsonl:1: not JSON"),
        ];
        for (line, want) in cases {
            let e = run_lines(SUFFIX_DROP_Y, line, 10).unwrap_err();
            let text = format!("{e:#}");
            assert!(text.contains(want), "{line}: {text}");
        }
    }

    #[test]
    fn chain_problems_are_reported_with_their_keys() {
        let e = open_chain(
            &cfg(&[("transforms", "x"), ("transforms.x.type", "Nope")]),
            &catalog(),
        )
        .map(|_| ())
        .unwrap_err();
        let text = format!("{e:#}");
        assert!(
            text.contains("transforms.x.type") && text.contains("x.Suffix"),
            "{text}"
        );
        let e = open_chain(&cfg(&[("name", "c")]), &catalog())
            .map(|_| ())
            .unwrap_err();
        assert!(e.to_string().contains("no transforms configured"), "{e}");
    }

    #[test]
    fn schema_d_values_round_trip_through_the_json_converter() {
        let conv = converter();
        let line = r#"{"topic":"t","offset":7,"timestamp":1,"key":null,"value":{"schema":{"type":"struct","fields":[{"type":"int32","optional":true,"field":"id"},{"type":"struct","fields":[{"type":"string","optional":false,"field":"c"}],"optional":true,"field":"addr"}],"optional":false,"name":"r"},"payload":{"id":null,"addr":{"c":"x"}}}}"#;
        let r = parse_record(line, 0, &conv).unwrap();
        assert_eq!(r.kafka_offset, Some(7));
        assert_eq!(r.timestamp_type, TimestampType::CreateTime);
        assert!(matches!(r.value.value, Value::Struct(_)));
        let mut out = String::new();
        render(&ChainOutcome::Keep(r), &conv, &mut out);
        let got: Json = serde_json::from_str(&out).unwrap();
        let want: Json = serde_json::from_str(line).unwrap();
        assert_eq!(got["value"], want["value"]);
        assert_eq!(
            parse_record(r#"{"topic":"t"}"#, 3, &conv)
                .unwrap()
                .kafka_offset,
            Some(3)
        );
    }
}
