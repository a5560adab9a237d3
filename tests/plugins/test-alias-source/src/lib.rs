//! Test-only source `test-alias-source`: each `poll` returns `alias.records` records whose
//! string values all point at the **same** `alias.bytes` bytes of guest memory. The plugin
//! holds those bytes once, but lifting the batch copies them once per record, so the host's
//! copy could be many times the plugin's memory limit (the lifted-size amplification of
//! docs/sandbox.md). tests/integration/sandbox.rs checks the host refuses such a batch before
//! allocating it, naming the limit, and fails only this task.
//!
//! Design decision: it exports the structured `source-connector` interface only, with its
//! own `wit-bindgen` bindings, because the aliasing is only possible there (a packed batch is
//! one `list<u8>`, copied exactly once). The spec (`plugin` interface) is the SDK's. A
//! global allocator that never frees makes the aliased `String`s safe to drop.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use sluice_plugin_sdk::{
    Config, ConfigDef, PluginSpec, Source, SourcePosition, SourceRecord, TaskError,
};

mod bindings {
    wit_bindgen::generate!({
        inline: "
            package sluice:test-alias;
            world alias-source {
                export sluice:connect/source-connector@0.1.0;
            }
        ",
        world: "sluice:test-alias/alias-source",
        path: "../../../wit",
        with: {
            "sluice:connect/types@0.1.0": sluice_plugin_sdk::__private::bindings::plugin_world::sluice::connect::types,
        },
    });
}

use bindings::exports::sluice::connect::source_connector as export;
use sluice_plugin_sdk::__private::bindings::plugin_world::sluice::connect::types as wit;

/// Never frees: the aliased strings of a batch share one allocation, which must not be freed
/// once per string (by `post-return` or a drop).
struct NeverFree;

unsafe impl GlobalAlloc for NeverFree {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static ALLOC: NeverFree = NeverFree;

/// The spec (through the SDK's `plugin` export); `open`/`poll` are never called.
pub struct AliasSource;

impl Source for AliasSource {
    fn spec() -> PluginSpec {
        PluginSpec::new("test-alias-source", "0.1.0")
            .description("Test only: returns batches whose strings alias the same guest bytes.")
            .config(
                ConfigDef::string("topic")
                    .required()
                    .doc("Topic to write to."),
            )
            .config(
                ConfigDef::long("alias.records")
                    .default(100)
                    .doc("Records per batch, all pointing at the same value bytes."),
            )
            .config(
                ConfigDef::long("alias.bytes")
                    .default(1 << 20)
                    .doc("Size of the one shared value."),
            )
    }

    fn open(_config: Config, _committed: Vec<SourcePosition>) -> Result<Self, TaskError> {
        Ok(AliasSource)
    }

    fn poll(&mut self, _max_records: u32) -> Result<Vec<SourceRecord>, TaskError> {
        Ok(Vec::new())
    }
}

/// The structured task.
pub struct AliasTask {
    topic: String,
    records: u64,
    bytes: usize,
    polls: Cell<u64>,
}

fn setting(config: &wit::Config, key: &str, default: u64) -> u64 {
    config
        .iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(default)
}

/// The component's structured source export.
pub struct Export;

impl export::Guest for Export {
    type SourceTask = AliasTask;

    fn task_configs(config: wit::Config, _max_tasks: u32) -> Result<Vec<wit::Config>, String> {
        Ok(vec![config])
    }
}

impl export::GuestSourceTask for AliasTask {
    fn open(
        config: wit::Config,
        _committed: Vec<wit::SourcePosition>,
    ) -> Result<export::SourceTask, wit::TaskError> {
        let topic = config
            .iter()
            .find(|(k, _)| k == "topic")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        Ok(export::SourceTask::new(AliasTask {
            topic,
            records: setting(&config, "alias.records", 100),
            bytes: setting(&config, "alias.bytes", 1 << 20) as usize,
            polls: Cell::new(0),
        }))
    }

    fn poll(&self, _max_records: u32) -> Result<wit::SourceBatch, wit::TaskError> {
        let polls = self.polls.get() + 1;
        self.polls.set(polls);
        // One buffer, leaked; every record's value is a `String` over the same bytes.
        let shared = std::mem::ManuallyDrop::new("a".repeat(self.bytes));
        let (ptr, len) = (shared.as_ptr() as *mut u8, shared.len());
        let records = (0..self.records)
            .map(|n| {
                // SAFETY: the bytes stay allocated (never freed, see `NeverFree`) and are only
                // read; the aliasing is the point of this plugin.
                let value = unsafe { String::from_raw_parts(ptr, len, len) };
                wit::SourceRecord {
                    source_partition: vec![],
                    source_offset: vec![(
                        "n".into(),
                        wit::OffsetValue::Int((polls << 32 | n) as i64),
                    )],
                    record: wit::ConnectRecord {
                        topic: self.topic.clone(),
                        kafka_partition: None,
                        kafka_offset: None,
                        timestamp: None,
                        timestamp_type: wit::TimestampType::NoTimestampType,
                        key: wit::Data {
                            schema: None,
                            value: vec![],
                        },
                        value: wit::Data {
                            schema: None,
                            value: vec![wit::ValueNode::String(value)],
                        },
                        headers: vec![],
                    },
                }
            })
            .collect();
        Ok(wit::SourceBatch {
            schemas: vec![],
            records,
        })
    }

    fn stop(&self) {}
}

type SpecExport = sluice_plugin_sdk::__private::SourceExport<AliasSource>;
sluice_plugin_sdk::__private::bindings::plugin_world::__sluice_export_plugin_part!(
    SpecExport with_types_in sluice_plugin_sdk::__private::bindings::plugin_world);
bindings::export!(Export with_types_in bindings);
