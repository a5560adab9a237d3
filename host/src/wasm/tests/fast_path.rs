//! The fast path: packed interfaces and host-applied struct plans match the structured path.

use super::*;
use std::sync::Arc;

use crate::runtime::plugin::{Plugin, PluginCatalog};
use crate::runtime::retry::RetryPolicy;
use crate::runtime::task::Outcome;
use crate::runtime::transforms::{ChainOutcome, ChainSegment, JoinStep, TransformChain};

/// The Rust SDK exports the packed interfaces; a component run over them must give exactly
/// what the structured interfaces give (the JS and Python SDKs only have the latter).
#[test]
fn packed_and_structured_interfaces_give_the_same_results() {
    let (plugins, _cache) = load(&[plugin_path()]);
    const INSERT: &str = "org.apache.kafka.connect.transforms.InsertField$Value";
    const MASK: &str = "org.apache.kafka.connect.transforms.MaskField$Value";
    for class in ["datagen", "FileStreamSink", INSERT, MASK] {
        assert!(
            plugins.has_packed(class),
            "{class} exports its packed interface"
        );
    }

    // Source: the same records through both polls.
    let poll = |plugin: Arc<dyn Plugin>| {
        let mut t = plugin
            .open_source(&id(0), &datagen_config(), vec![])
            .expect("open");
        let records = poll(t.as_mut(), 200).expect("poll");
        t.stop();
        records
    };
    let packed = poll(plugins.find("datagen").expect("datagen"));
    let structured = poll(plugins.find_structured("datagen").expect("datagen"));
    assert_eq!(packed.len(), 200);
    assert_eq!(packed, structured);

    // Transforms: struct values with schemas, a timestamp inserted and fields masked.
    let records: Vec<ConnectRecord> = packed.into_iter().map(|r| r.record).collect();
    let chain = |find: &dyn Fn(&str) -> Option<Arc<dyn Plugin>>| {
        let mut insert = find(INSERT)
            .expect("insert")
            .open_transform(
                &id(0),
                INSERT,
                &config(&[("timestamp.field", "ts"), ("topic.field", "from")]),
            )
            .expect("create");
        let mut mask = find(MASK)
            .expect("mask")
            .open_transform(&id(0), MASK, &config(&[("fields", "name,email")]))
            .expect("create");
        let mut out = Vec::new();
        for o in insert.apply(records.clone()).expect("apply") {
            match o {
                Outcome::Keep(r) => out.push(r),
                other => panic!("unexpected {other:?}"),
            }
        }
        mask.apply(out).expect("apply")
    };
    let packed = chain(&|c: &str| plugins.find(c));
    let structured = chain(&|c: &str| plugins.find_structured(c));
    assert_eq!(packed.len(), records.len());
    assert_eq!(packed, structured);
    assert!(
        matches!(&packed[0], Outcome::Keep(r) if r.value.schema.as_ref().is_some_and(|s| s.fields.iter().any(|f| f.name == "ts"))),
        "the field was inserted: {:?}",
        packed[0]
    );

    // Sink: the same file content through both puts.
    let dir = tempfile::tempdir().expect("temp dir");
    let sink = |plugin: Arc<dyn Plugin>, file: &Path| {
        let cfg = config(&[("file", file.to_str().expect("utf-8")), ("topics", "t")]);
        let mut t = plugin.open_sink(&id(0), &cfg).expect("open");
        let mut batch: Vec<ConnectRecord> = (0..100)
            .map(|i| string_record(&format!("line {i}")))
            .collect();
        assert_eq!(t.put(&mut batch).expect("put"), vec![]);
        t.flush(&[]).expect("flush");
        t.stop();
        std::fs::read_to_string(file).expect("read")
    };
    let packed = sink(
        plugins.find("FileStreamSink").expect("sink"),
        &dir.path().join("packed.txt"),
    );
    let structured = sink(
        plugins.find_structured("FileStreamSink").expect("sink"),
        &dir.path().join("structured.txt"),
    );
    assert_eq!(packed.lines().count(), 100);
    assert_eq!(packed, structured);
}

/// `find` with every plugin's struct plans ignored.
struct Unplanned<'a>(&'a WasmPlugins);

impl PluginCatalog for Unplanned<'_> {
    fn find(&self, class: &str) -> Option<Arc<dyn Plugin>> {
        self.0.find_unplanned(class)
    }
    fn plugins(&self) -> Vec<Arc<dyn Plugin>> {
        self.0.plugins()
    }
}

/// Struct plans the host applies (`transform-plans`) must give exactly what the plugins'
/// own `apply` gives, record for record, including for the records a plan does not fit.
#[test]
fn host_applied_struct_plans_give_what_the_plugins_give() {
    use crate::config::ChainSpec;
    use crate::data::{Field, Schema, SchemaType};
    let (plugins, _cache) = load(&[plugin_path()]);
    const INSERT: &str = "org.apache.kafka.connect.transforms.InsertField$Value";
    const MASK: &str = "org.apache.kafka.connect.transforms.MaskField$Value";
    const REPLACE: &str = "org.apache.kafka.connect.transforms.ReplaceField$Value";
    for class in [INSERT, MASK, REPLACE] {
        assert!(plugins.has_plans(class), "{class} exports transform-plans");
    }
    let raw = config(&[
        ("transforms", "insert,mask,rename"),
        ("transforms.insert.type", INSERT),
        ("transforms.insert.timestamp.field", "ts"),
        ("transforms.insert.offset.field", "off"),
        ("transforms.insert.topic.field", "from"),
        ("transforms.insert.static.field", "origin"),
        ("transforms.insert.static.value", "test"),
        ("transforms.mask.type", MASK),
        ("transforms.mask.fields", "ssn,amount"),
        ("transforms.rename.type", REPLACE),
        ("transforms.rename.renames", "id:customer_id"),
        ("transforms.rename.exclude", "note"),
    ]);
    let field = |name: &str, schema: Schema| Field {
        name: name.into(),
        schema: schema.into_ref(),
    };
    let schema = Schema::structure(vec![
        field("id", Schema::new(SchemaType::Int64)),
        field("ssn", Schema::new(SchemaType::String).optional()),
        field("amount", Schema::new(SchemaType::Float64)),
        field(
            "note",
            Schema::new(SchemaType::String)
                .optional()
                .with_default(Value::from("n/a")),
        ),
        field(
            "tier",
            Schema::new(SchemaType::Int32)
                .optional()
                .with_default(Value::Int32(1)),
        ),
    ])
    .into_ref();
    let mut records = Vec::new();
    for i in 0..40i64 {
        let ssn = if i % 3 == 0 {
            Value::Null
        } else {
            Value::from(format!("123-{i}"))
        };
        let tier = if i % 4 == 0 {
            Value::Null
        } else {
            Value::Int32(i as i32)
        };
        let value = Value::Struct(vec![
            Value::Int64(i),
            ssn,
            Value::Float64(i as f64 / 4.0),
            Value::from(format!("note {i}")),
            tier,
        ]);
        let mut r = ConnectRecord::new(
            "payments",
            Data::NULL,
            Data::new(Some(schema.clone()), value),
        );
        r.kafka_partition = Some(0);
        r.kafka_offset = Some(i);
        // Every fifth record has no timestamp: the plan cannot insert one, `apply` decides.
        r.timestamp = (i % 5 != 0).then_some(1_700_000_000_000 + i);
        records.push(r);
    }
    // Records no plan fits: schemaless, a tombstone, a value that does not match its schema.
    records.push(ConnectRecord::new(
        "payments",
        Data::NULL,
        Data::schemaless(Value::Map(vec![(Value::from("id"), Value::Int64(1))])),
    ));
    records.push(ConnectRecord::new("payments", Data::NULL, Data::NULL));
    records.push(ConnectRecord::new(
        "payments",
        Data::NULL,
        Data::new(Some(schema.clone()), Value::Struct(vec![Value::from("x")])),
    ));
    let run = |catalog: &dyn PluginCatalog| {
        let spec = ChainSpec::resolve(&raw, catalog).expect("valid chain");
        let mut chain = TransformChain::open(&spec, &id(0), RetryPolicy::none()).expect("open");
        // Two batches: the second one finds its plans cached.
        let mut out = chain.apply(records.clone()).expect("apply");
        out.extend(chain.apply(records.clone()).expect("apply"));
        out
    };
    let planned = run(&plugins);
    let unplanned = run(&Unplanned(&plugins));
    assert_eq!(planned.len(), unplanned.len());
    for (i, (p, u)) in planned.iter().zip(&unplanned).enumerate() {
        assert_eq!(p, u, "record {i}");
    }

    // The same steps as the segment the chain joins them into: the plans do the work.
    let mut segment = joined(&plugins, &raw, &["insert", "mask", "rename"]);
    let mut out = segment_outcomes(&mut segment, records.clone());
    out.extend(segment_outcomes(&mut segment, records.clone()));
    assert_eq!(out, planned);
    // InsertField plans the 32 records with a timestamp of each batch; the 8 without fall
    // through to `apply`, whose output the later steps plan too (all 40 well-formed struct
    // records). The three records no plan fits go through `apply` in every step.
    assert_eq!(
        segment.planned(),
        vec![64, 80, 80],
        "records rewritten by plans, per step"
    );
    // Without plans, every record crosses through the plugins' packed `apply`, encoded once
    // for the whole segment.
    let mut segment = joined(&Unplanned(&plugins), &raw, &["insert", "mask", "rename"]);
    let mut out = segment_outcomes(&mut segment, records.clone());
    out.extend(segment_outcomes(&mut segment, records.clone()));
    assert_eq!(out, unplanned);
    assert_eq!(segment.planned(), vec![0, 0, 0]);
    let packed = segment.packed();
    assert_eq!(packed[0], 2 * records.len() as u64, "{packed:?}");
    assert!(packed.iter().all(|&n| n > 0), "{packed:?}");
}

/// The transforms `aliases` of chain config `raw`, opened from `catalog` and joined into one
/// packed segment (as `ChainSpec::open` has `WasmPlugin::join_transforms` do).
fn joined(catalog: &dyn PluginCatalog, raw: &Config, aliases: &[&str]) -> packed::FusedSteps {
    let mut steps = Vec::new();
    for alias in aliases {
        let prefix = format!("transforms.{alias}.");
        let class = raw
            .iter()
            .find(|(k, _)| *k == format!("{prefix}type"))
            .map(|(_, v)| v.clone())
            .expect("type");
        let config: Config = raw
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.to_string(), v.clone())))
            .filter(|(k, _)| k != "type")
            .collect();
        let transform = catalog
            .find(&class)
            .expect("plugin")
            .open_transform(&id(0), &class, &config)
            .expect("open");
        steps.push(JoinStep {
            alias: alias.to_string(),
            class,
            transform,
        });
    }
    let segment = packed::join(&mut steps, &RetryPolicy::none())
        .expect("join")
        .expect("packed transforms are joined");
    assert!(steps.is_empty(), "every step joined");
    segment
}

/// One outcome per record of a batch given to `segment` alone, as the chain would report it.
fn segment_outcomes(
    segment: &mut packed::FusedSteps,
    records: Vec<ConnectRecord>,
) -> Vec<ChainOutcome> {
    let mut done: Vec<Option<ChainOutcome>> = vec![None; records.len()];
    let live = records.into_iter().enumerate().collect();
    for (i, r) in segment.apply(live, &mut done).expect("apply") {
        done[i] = Some(ChainOutcome::Keep(r));
    }
    done.into_iter()
        .map(|o| o.expect("every record has an outcome"))
        .collect()
}
