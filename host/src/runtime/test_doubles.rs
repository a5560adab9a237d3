//! Native test doubles of the plugin, task, converter and offset-store seams, so the runtime
//! is tested without WebAssembly.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::json;

use super::plugin::{Plugin, PluginCatalog, TaskId};
use super::retry::RetryPolicy;
use super::task::{
    Outcome, Predicate, RecordFailure, SinkTask, SourceTask, TaskError, TopicPartitionOffset,
    Transform,
};
use super::transforms::{ChainError, ChainOutcome, ChainSegment, JoinStep};
use super::worker::ConverterFactory;
use crate::config::{get, ConverterConfig};
use crate::convert::{ConvertError, Converter, HeaderConverter};
use crate::data::{
    ConnectRecord, Data, Header, OffsetMap, SourceBatch, SourcePosition, SourceRecord, Value,
};
use crate::offsets::{OffsetError, SourceOffsetStore};
use crate::spec::{
    Config, ConfigDef, ConfigProblem, ConfigType, Importance, PluginKind, PluginSpec,
};

/// UTF-8 strings both ways; `Value::Null` is a Kafka null.
pub struct Utf8Converter;

fn to_bytes(data: &Data) -> Result<Option<Vec<u8>>, ConvertError> {
    match &data.value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.as_bytes().to_vec())),
        other => Err(ConvertError::new(format!(
            "test converter only takes strings, got {other:?}"
        ))),
    }
}

fn from_bytes(bytes: Option<&[u8]>) -> Data {
    match bytes {
        None => Data::NULL,
        Some(b) => Data::schemaless(Value::String(String::from_utf8_lossy(b).into_owned())),
    }
}

impl Converter for Utf8Converter {
    fn from_connect(&self, _topic: &str, data: &Data) -> Result<Option<Vec<u8>>, ConvertError> {
        to_bytes(data)
    }
    fn to_connect(&self, _topic: &str, bytes: Option<&[u8]>) -> Result<Data, ConvertError> {
        Ok(from_bytes(bytes))
    }
}

impl HeaderConverter for Utf8Converter {
    fn from_connect_header(
        &self,
        _t: &str,
        _k: &str,
        data: &Data,
    ) -> Result<Option<Vec<u8>>, ConvertError> {
        to_bytes(data)
    }
    fn to_connect_header(
        &self,
        _t: &str,
        _k: &str,
        bytes: Option<&[u8]>,
    ) -> Result<Data, ConvertError> {
        Ok(from_bytes(bytes))
    }
}

pub struct Utf8Converters;

impl ConverterFactory for Utf8Converters {
    fn converter(
        &self,
        _c: &ConverterConfig,
        _is_key: bool,
    ) -> Result<Arc<dyn Converter>, ConvertError> {
        Ok(Arc::new(Utf8Converter))
    }
    fn header_converter(
        &self,
        _c: &ConverterConfig,
    ) -> Result<Arc<dyn HeaderConverter>, ConvertError> {
        Ok(Arc::new(Utf8Converter))
    }
}

/// Source offsets in memory: `flushed` is what a restart would see.
#[derive(Default)]
pub struct MemoryOffsetStore {
    staged: Mutex<BTreeMap<(String, String), (OffsetMap, OffsetMap)>>,
    pub flushed: Mutex<BTreeMap<(String, String), (OffsetMap, OffsetMap)>>,
}

impl SourceOffsetStore for MemoryOffsetStore {
    fn positions(&self, connector: &str) -> Vec<SourcePosition> {
        self.flushed
            .lock()
            .iter()
            .filter(|((c, _), _)| c == connector)
            .map(|(_, (p, o))| SourcePosition {
                partition: p.clone(),
                offset: o.clone(),
            })
            .collect()
    }
    fn stage(&self, connector: &str, offsets: Vec<(OffsetMap, OffsetMap)>) {
        let mut staged = self.staged.lock();
        for (p, o) in offsets {
            let key = (
                connector.to_string(),
                serde_json::to_string(&p).unwrap_or_default(),
            );
            staged.insert(key, (p, o));
        }
    }
    fn flush(&self) -> Result<(), OffsetError> {
        let staged = std::mem::take(&mut *self.staged.lock());
        self.flushed.lock().extend(staged);
        Ok(())
    }
    fn remove(
        &self,
        connector: &str,
        partitions: Option<Vec<OffsetMap>>,
    ) -> Result<(), OffsetError> {
        let keys: Option<Vec<String>> = partitions.map(|ps| {
            ps.iter()
                .map(|p| serde_json::to_string(p).unwrap_or_default())
                .collect()
        });
        self.flushed
            .lock()
            .retain(|(c, p), _| c != connector || keys.as_ref().is_some_and(|k| !k.contains(p)));
        Ok(())
    }
}

/// What a test source task does; chosen per task by the `test.behaviour.<task>` key.
/// `count:<topic>:<total>` emits `v<i>` records (resuming after the committed position),
/// `idle` never emits, `trap:<msg>` traps on the first poll.
pub struct TestSource {
    topic: String,
    next: u64,
    total: u64,
    trap: Option<String>,
}

impl SourceTask for TestSource {
    fn poll(&mut self, max_records: u32) -> Result<SourceBatch, TaskError> {
        if let Some(t) = &self.trap {
            return Err(TaskError::Trap(t.clone()));
        }
        let end = self.total.min(self.next + u64::from(max_records.min(100)));
        let batch: Vec<SourceRecord> = (self.next..end)
            .map(|i| {
                let mut record = ConnectRecord::new(
                    self.topic.clone(),
                    Data::schemaless(Value::String(format!("k{i}"))),
                    Data::schemaless(Value::String(format!("v{i}"))),
                );
                record.headers.push(Header {
                    key: "h".into(),
                    value: Data::schemaless(Value::String(format!("x{i}"))),
                });
                SourceRecord {
                    source_partition: std::sync::Arc::new(
                        [("src".to_string(), json!("test"))].into_iter().collect(),
                    ),
                    source_offset: [("pos".to_string(), json!(i))].into_iter().collect(),
                    record,
                }
            })
            .collect();
        self.next = end;
        Ok(batch.into())
    }
    fn stop(&mut self) {}
}

/// Everything test sinks received and were asked to flush.
#[derive(Default)]
pub struct SinkLog {
    pub received: Mutex<Vec<ConnectRecord>>,
    pub flushes: Mutex<Vec<Vec<TopicPartitionOffset>>>,
}

pub struct TestSink {
    log: Arc<SinkLog>,
    /// `test.fail.value`: records with this value are rejected one by one.
    fail_value: Option<String>,
}

impl SinkTask for TestSink {
    fn put(&mut self, records: &mut Vec<ConnectRecord>) -> Result<Vec<RecordFailure>, TaskError> {
        let failures: Vec<RecordFailure> = records
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                self.fail_value.is_some() && r.value.value.as_str() == self.fail_value.as_deref()
            })
            .map(|(i, r)| RecordFailure {
                index: i as u32,
                message: format!("cannot store {:?}", r.value.value),
            })
            .collect();
        self.log.received.lock().append(records);
        Ok(failures)
    }
    fn flush(&mut self, offsets: &[TopicPartitionOffset]) -> Result<(), TaskError> {
        self.log.flushes.lock().push(offsets.to_vec());
        Ok(())
    }
    fn stop(&mut self) {}
}

pub struct TestPlugin {
    spec: PluginSpec,
    pub sink_log: Arc<SinkLog>,
}

impl TestPlugin {
    pub fn new(name: &str, kind: PluginKind) -> Arc<Self> {
        Arc::new(TestPlugin {
            spec: PluginSpec {
                name: name.to_string(),
                aliases: Vec::new(),
                version: "0.0.1".into(),
                kind,
                description: "test double".into(),
                config: Vec::new(),
            },
            sink_log: Arc::new(SinkLog::default()),
        })
    }
}

impl Plugin for TestPlugin {
    fn spec(&self) -> &PluginSpec {
        &self.spec
    }
    fn validate(&self, _config: &Config) -> Result<Vec<ConfigProblem>, TaskError> {
        Ok(Vec::new())
    }
    fn task_configs(&self, config: &Config, max_tasks: u32) -> Result<Vec<Config>, TaskError> {
        Ok((0..max_tasks)
            .map(|i| {
                let mut c = config.clone();
                c.push(("test.task".into(), i.to_string()));
                c
            })
            .collect())
    }
    fn open_source(
        &self,
        _id: &TaskId,
        config: &Config,
        committed: Vec<SourcePosition>,
    ) -> Result<Box<dyn SourceTask>, TaskError> {
        let task = get(config, "test.task").unwrap_or("0");
        let behaviour = get(config, &format!("test.behaviour.{task}"))
            .unwrap_or("idle")
            .to_string();
        let resume = committed
            .iter()
            .filter_map(|p| p.offset.get("pos").and_then(serde_json::Value::as_u64))
            .max()
            .map_or(0, |p| p + 1);
        if let Some(msg) = behaviour.strip_prefix("trap:") {
            return Ok(Box::new(TestSource {
                topic: String::new(),
                next: 0,
                total: 0,
                trap: Some(msg.to_string()),
            }));
        }
        let mut parts = behaviour.splitn(3, ':');
        let source = match (parts.next(), parts.next(), parts.next()) {
            (Some("count"), Some(topic), Some(total)) => TestSource {
                topic: topic.to_string(),
                next: resume,
                total: total
                    .parse()
                    .map_err(|_| TaskError::Fatal(format!("bad total {total}")))?,
                trap: None,
            },
            _ => TestSource {
                topic: String::new(),
                next: 0,
                total: 0,
                trap: None,
            },
        };
        Ok(Box::new(source))
    }
    fn open_sink(&self, _id: &TaskId, config: &Config) -> Result<Box<dyn SinkTask>, TaskError> {
        let fail_value = get(config, "test.fail.value").map(str::to_string);
        Ok(Box::new(TestSink {
            log: self.sink_log.clone(),
            fail_value,
        }))
    }
    fn open_transform(
        &self,
        _id: &TaskId,
        _class: &str,
        _config: &Config,
    ) -> Result<Box<dyn Transform>, TaskError> {
        Err(TaskError::Fatal("not a transform".into()))
    }
    fn open_predicate(
        &self,
        _id: &TaskId,
        _class: &str,
        _config: &Config,
    ) -> Result<Box<dyn Predicate>, TaskError> {
        Err(TaskError::Fatal("not a predicate".into()))
    }
}

/// A native SMT/predicate plugin, for chain tests without WASM. Transform behaviour by `class`:
/// `…Suffix`: appends config `suffix` to string values ("fail" values fail);
/// `…Drop`: drops everything. Predicate: value equals config `equals`. Two or more
/// consecutive `…Suffix` steps are joined into one segment ([`SuffixRun`]).
pub struct NativeSmt {
    spec: PluginSpec,
    /// Batch sizes seen by `apply` / `test` (one call per batch).
    calls: Arc<Mutex<Vec<(String, usize)>>>,
}

fn native_smt(
    name: &str,
    kind: PluginKind,
    calls: &Arc<Mutex<Vec<(String, usize)>>>,
) -> Arc<dyn Plugin> {
    let config = if name.ends_with("Suffix") {
        vec![ConfigDef {
            name: "suffix".into(),
            ty: ConfigType::String,
            default: None,
            required: true,
            secret: false,
            importance: Importance::High,
            documentation: String::new(),
            group: None,
            recommended_values: Vec::new(),
            file_access: None,
        }]
    } else {
        Vec::new()
    };
    Arc::new(NativeSmt {
        spec: PluginSpec {
            name: name.into(),
            aliases: Vec::new(),
            version: "1".into(),
            kind,
            description: String::new(),
            config,
        },
        calls: calls.clone(),
    })
}

struct SuffixT(String, Arc<Mutex<Vec<(String, usize)>>>);
impl Transform for SuffixT {
    fn apply(&mut self, records: Vec<ConnectRecord>) -> Result<Vec<Outcome>, TaskError> {
        self.1.lock().push(("suffix".into(), records.len()));
        Ok(records
            .into_iter()
            .map(|mut r| match &r.value.value {
                Value::String(s) if s == "fail" => Outcome::Fail("cannot suffix 'fail'".into()),
                Value::String(s) => {
                    r.value.value = Value::String(format!("{s}{}", self.0));
                    Outcome::Keep(r)
                }
                _ => Outcome::Keep(r),
            })
            .collect())
    }
}
/// Consecutive `…Suffix` steps applied in one call per batch (`suffix-run` in `calls`); a
/// "fail" value fails in the first step.
struct SuffixRun {
    /// Per step: its alias, class and suffix.
    steps: Vec<(String, String, String)>,
    calls: Arc<Mutex<Vec<(String, usize)>>>,
}

impl ChainSegment for SuffixRun {
    fn apply(
        &mut self,
        live: Vec<(usize, ConnectRecord)>,
        done: &mut [Option<ChainOutcome>],
    ) -> Result<Vec<(usize, ConnectRecord)>, ChainError> {
        self.calls.lock().push(("suffix-run".into(), live.len()));
        let mut kept = Vec::with_capacity(live.len());
        for (i, mut r) in live {
            match &r.value.value {
                Value::String(s) if s == "fail" => {
                    done[i] = Some(ChainOutcome::Fail {
                        class: self.steps[0].1.clone(),
                        message: "cannot suffix 'fail'".into(),
                    })
                }
                Value::String(s) => {
                    let suffixes: String = self.steps.iter().map(|(_, _, x)| x.as_str()).collect();
                    r.value.value = Value::String(format!("{s}{suffixes}"));
                    kept.push((i, r));
                }
                _ => kept.push((i, r)),
            }
        }
        Ok(kept)
    }
}

struct DropT(Arc<Mutex<Vec<(String, usize)>>>);
impl Transform for DropT {
    fn apply(&mut self, records: Vec<ConnectRecord>) -> Result<Vec<Outcome>, TaskError> {
        self.0.lock().push(("drop".into(), records.len()));
        Ok(records.iter().map(|_| Outcome::Drop).collect())
    }
}
struct EqualsP(String, Arc<Mutex<Vec<(String, usize)>>>);
impl Predicate for EqualsP {
    fn test(&mut self, records: &[ConnectRecord]) -> Result<Vec<Result<bool, String>>, TaskError> {
        self.1.lock().push(("equals".into(), records.len()));
        Ok(records
            .iter()
            .map(|r| Ok(r.value.value == Value::String(self.0.clone())))
            .collect())
    }
}

impl Plugin for NativeSmt {
    fn spec(&self) -> &PluginSpec {
        &self.spec
    }
    fn validate(&self, _: &Config) -> Result<Vec<ConfigProblem>, TaskError> {
        Ok(Vec::new())
    }
    fn task_configs(&self, c: &Config, _: u32) -> Result<Vec<Config>, TaskError> {
        Ok(vec![c.clone()])
    }
    fn open_source(
        &self,
        _: &TaskId,
        _: &Config,
        _: Vec<SourcePosition>,
    ) -> Result<Box<dyn SourceTask>, TaskError> {
        Err(TaskError::Fatal("no".into()))
    }
    fn open_sink(&self, _: &TaskId, _: &Config) -> Result<Box<dyn SinkTask>, TaskError> {
        Err(TaskError::Fatal("no".into()))
    }
    fn open_transform(
        &self,
        _: &TaskId,
        class: &str,
        config: &Config,
    ) -> Result<Box<dyn Transform>, TaskError> {
        assert_eq!(
            class, self.spec.name,
            "the configured class is passed through"
        );
        if class.ends_with("Suffix") {
            let s = get(config, "suffix").unwrap_or_default().to_string();
            Ok(Box::new(SuffixT(s, self.calls.clone())))
        } else {
            Ok(Box::new(DropT(self.calls.clone())))
        }
    }
    fn join_transforms(
        &self,
        steps: &mut Vec<JoinStep>,
        _: &RetryPolicy,
    ) -> Result<Option<Box<dyn ChainSegment>>, ChainError> {
        let suffix = |s: &JoinStep| {
            let any: &dyn std::any::Any = &*s.transform;
            any.downcast_ref::<SuffixT>().map(|t| t.0.clone())
        };
        let n = steps.iter().take_while(|s| suffix(s).is_some()).count();
        if n < 2 {
            return Ok(None);
        }
        let joined = steps
            .drain(..n)
            .map(|s| {
                let x = suffix(&s).unwrap_or_default();
                (s.alias, s.class, x)
            })
            .collect();
        Ok(Some(Box::new(SuffixRun {
            steps: joined,
            calls: self.calls.clone(),
        })))
    }
    fn open_predicate(
        &self,
        _: &TaskId,
        _: &str,
        config: &Config,
    ) -> Result<Box<dyn Predicate>, TaskError> {
        Ok(Box::new(EqualsP(
            get(config, "equals").unwrap_or_default().to_string(),
            self.calls.clone(),
        )))
    }
}

/// `x.Suffix`, `x.Drop`, `x.Equals` and a sink connector `x.SomeSinkConnector`; every
/// `apply`/`test` records its batch size in `calls`.
pub fn smt_catalog(calls: &Arc<Mutex<Vec<(String, usize)>>>) -> TestCatalog {
    TestCatalog(vec![
        native_smt("x.Suffix", PluginKind::Transform, calls),
        native_smt("x.Drop", PluginKind::Transform, calls),
        native_smt("x.Equals", PluginKind::Predicate, calls),
        native_smt("x.SomeSinkConnector", PluginKind::Sink, calls),
    ])
}

pub struct TestCatalog(pub Vec<Arc<dyn Plugin>>);

impl PluginCatalog for TestCatalog {
    fn find(&self, class: &str) -> Option<Arc<dyn Plugin>> {
        self.0.iter().find(|p| p.spec().answers_to(class)).cloned()
    }
    fn plugins(&self) -> Vec<Arc<dyn Plugin>> {
        self.0.clone()
    }
}

pub fn cfg(pairs: &[(&str, &str)]) -> Config {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Polls `cond` every 20 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

/// Routes `tracing` (and librdkafka's `log` lines) to the test output; `RUST_LOG` filters.
pub fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .compact()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}
