//! `compile` tests: Kafka's messages, every problem at once, and the typed plan.

use super::*;
use std::time::Duration;

use crate::config::restart::HEALTHY_AFTER;
use crate::config::test_plugins::{cfg, def, FakeCatalog, FakePlugin};
use crate::config::{ConverterConfig, StepSpec, Tolerance};
use crate::spec::{ConfigType, PluginSpec};

fn catalog() -> FakeCatalog {
    FakeCatalog(vec![
        FakePlugin::new(
            "org.apache.kafka.connect.file.FileStreamSinkConnector",
            PluginKind::Sink,
            vec![def("file", ConfigType::String, true, false)],
        ),
        FakePlugin::new(
            "org.apache.kafka.connect.file.FileStreamSourceConnector",
            PluginKind::Source,
            vec![
                def("file", ConfigType::String, true, false),
                def("batch.size", ConfigType::Int, false, false),
                def("api.pin", ConfigType::Long, false, true),
                def("verbose", ConfigType::Boolean, false, false),
            ],
        ),
        FakePlugin::new(
            "org.apache.kafka.connect.transforms.InsertField$Value",
            PluginKind::Transform,
            vec![],
        ),
        FakePlugin::new("a.JdbcSource", PluginKind::Source, vec![]),
    ])
}

fn problems(pairs: &[(&str, &str)]) -> Vec<ConfigProblem> {
    match compile(&cfg(pairs), &catalog()) {
        Ok(c) => panic!("expected problems, got {c:?}"),
        Err(p) => p,
    }
}

fn messages(p: &[ConfigProblem]) -> Vec<String> {
    p.iter()
        .map(|p| format!("{}: {}", p.key, p.message))
        .collect()
}

#[test]
fn valid_sink_with_converter_overrides() {
    let raw = cfg(&[
        ("name", "local-file-sink"),
        ("connector.class", "FileStreamSink"),
        ("tasks.max", "3"),
        ("file", "/tmp/out.txt"),
        ("topics", "a, b,,c"),
        (
            "value.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        ),
        ("value.converter.encoding", "UTF-16"),
    ]);
    let c = compile(&raw, &catalog()).expect("valid");
    assert_eq!(c.kind(), PluginKind::Sink);
    assert_eq!(c.name, "local-file-sink");
    assert_eq!(c.class, "FileStreamSink");
    assert_eq!(c.tasks_max, 3);
    assert_eq!(c.topics, vec!["a", "b", "c"]);
    assert_eq!(c.topics_regex, None);
    assert_eq!(c.key_converter, None);
    let v = c.value_converter.expect("override");
    assert_eq!(v.class, "org.apache.kafka.connect.storage.StringConverter");
    assert_eq!(v.props, cfg(&[("encoding", "UTF-16")]));
    assert_eq!(c.raw, raw);
}

#[test]
fn valid_source_defaults_tasks_max() {
    let raw = cfg(&[
        ("name", "src"),
        (
            "connector.class",
            "org.apache.kafka.connect.file.FileStreamSourceConnector",
        ),
        ("file", "/tmp/in"),
        ("batch.size", " 100 "),
        ("verbose", "TRUE"),
    ]);
    let c = compile(&raw, &catalog()).expect("valid");
    assert_eq!(c.tasks_max, 1);
    assert!(c.topics.is_empty());
}

#[test]
fn missing_name_class_and_required_keys() {
    let p = problems(&[]);
    assert_eq!(
        messages(&p),
        vec![
            "name: Missing required configuration \"name\" which has no default value.",
            "connector.class: Missing required configuration \"connector.class\" which has no default value.",
        ]
    );
    let p = problems(&[("name", "s"), ("connector.class", "FileStreamSource")]);
    assert_eq!(
        messages(&p),
        vec!["file: Missing required configuration \"file\" which has no default value."]
    );
}

#[test]
fn a_full_config_compiles_to_the_typed_plan_the_worker_runs() {
    let cat = catalog();
    let raw = cfg(&[
        ("name", "orders-out"),
        ("connector.class", "FileStreamSink"),
        ("file", "/tmp/orders"),
        ("tasks.max", "4"),
        ("tasks.max.enforce", "false"),
        ("topics", "orders, refunds"),
        (
            "value.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        ),
        ("value.converter.encoding", "UTF-16"),
        ("transforms", "tag"),
        ("transforms.tag.type", "InsertField$Value"),
        ("transforms.tag.static.field", "origin"),
        ("errors.tolerance", "all"),
        ("errors.retry.timeout", "5000"),
        ("errors.deadletterqueue.topic.name", "orders-dlq"),
        ("restart.on.failure", "true"),
        ("restart.max.attempts", "3"),
    ]);
    let plan = compile(&raw, &cat).expect("valid");
    let expected = ConnectorPlan {
        name: "orders-out".into(),
        class: "FileStreamSink".into(),
        plugin: cat.0[0].clone(),
        tasks_max: 4,
        enforce_tasks_max: false,
        key_converter: None,
        value_converter: Some(ConverterConfig {
            class: "org.apache.kafka.connect.storage.StringConverter".into(),
            props: cfg(&[("encoding", "UTF-16")]),
        }),
        header_converter: None,
        topics: vec!["orders".into(), "refunds".into()],
        topics_regex: None,
        chain: ChainSpec {
            steps: vec![StepSpec {
                alias: "tag".into(),
                class: "InsertField$Value".into(),
                plugin: cat.0[2].clone(),
                config: cfg(&[("static.field", "origin")]),
                predicate: None,
                negate: false,
            }],
        },
        errors: ErrorSettings {
            tolerance: Tolerance::All,
            retry_timeout: Some(Duration::from_secs(5)),
            dlq_topic: Some("orders-dlq".into()),
            ..ErrorSettings::default()
        },
        restart: Some(RestartPolicy {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
            max_attempts: Some(3),
            healthy_after: HEALTHY_AFTER,
        }),
        raw: raw.clone(),
    };
    assert_eq!(plan, expected);
    assert_eq!(plan.kind(), PluginKind::Sink);
    // The plugin never sees the host's `restart.*` keys.
    assert!(plan
        .plugin_config()
        .iter()
        .all(|(k, _)| !k.starts_with("restart.")));
    assert_eq!(plan.plugin_config().len(), raw.len() - 2);
}

#[test]
fn every_problem_of_every_part_is_returned_together() {
    let p = problems(&[
        ("name", ""),
        ("connector.class", "FileStreamSink"),
        ("tasks.max", "0"),
        ("transforms", "t"),
        ("transforms.t.type", "x.Missing"),
        ("errors.tolerance", "some"),
        ("restart.on.failure", "maybe"),
    ]);
    assert_eq!(
        messages(&p),
        vec![
            "name: Invalid value  for configuration name: String may not be empty",
            "tasks.max: Invalid value 0 for configuration tasks.max: Value must be at least 1",
            "topics: Must configure one of topics or topics.regex",
            "topics.regex: Must configure one of topics or topics.regex",
            "transforms.t.type: Invalid value x.Missing for configuration transforms.t.type: \
             Class x.Missing could not be found; available transformations are: \
             org.apache.kafka.connect.transforms.InsertField$Value",
            "errors.tolerance: Invalid value some for configuration errors.tolerance: String \
             must be one of: none, all",
            "restart.on.failure: Invalid value maybe for configuration restart.on.failure: \
             Expected value to be either true or false",
            "file: Missing required configuration \"file\" which has no default value.",
        ]
    );
}

#[test]
fn bad_names() {
    let p = problems(&[
        ("name", ""),
        ("connector.class", "FileStreamSource"),
        ("file", "f"),
    ]);
    assert_eq!(
        messages(&p),
        vec!["name: Invalid value  for configuration name: String may not be empty"]
    );
    let p = problems(&[
        ("name", "a\tb"),
        ("connector.class", "FileStreamSource"),
        ("file", "f"),
    ]);
    assert!(
        p[0].message.contains("control characters: \\u0009"),
        "{p:?}"
    );
}

#[test]
fn unknown_class_lists_sorted_connectors() {
    let p = problems(&[("name", "x"), ("connector.class", "com.example.Nope")]);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].key, "connector.class");
    assert_eq!(
        p[0].message,
        "Failed to find any class that implements Connector and which name matches \
         com.example.Nope, available connectors are: a.JdbcSource, \
         org.apache.kafka.connect.file.FileStreamSinkConnector, \
         org.apache.kafka.connect.file.FileStreamSourceConnector"
    );
}

#[test]
fn transform_as_connector_class_is_explained() {
    let p = problems(&[("name", "x"), ("connector.class", "InsertField$Value")]);
    assert_eq!(p.len(), 1);
    assert!(
        p[0].message
            .contains("is a transformation, not a source or sink connector"),
        "{p:?}"
    );
    assert!(p[0].message.contains("a.JdbcSource"), "{p:?}");
}

#[test]
fn a_plugin_quoting_a_secret_in_its_problems_is_redacted() {
    let quoting = FakePlugin::with_spec(
        PluginSpec {
            name: "Quoting".into(),
            aliases: Vec::new(),
            version: "1.0".into(),
            kind: PluginKind::Source,
            description: String::new(),
            config: vec![def("api.key", ConfigType::Password, true, true)],
        },
        Ok(vec![ConfigProblem {
            key: "api.key".into(),
            message: "api.key 's3cr3t-value' was refused; also bad: s3cr3t-value".into(),
        }]),
    );
    let raw: Config = [
        ("name", "q"),
        ("connector.class", "Quoting"),
        ("api.key", "s3cr3t-value"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let p = match compile(&raw, &FakeCatalog(vec![quoting])) {
        Err(p) => p,
        Ok(_) => panic!("the plugin reports a problem"),
    };
    assert_eq!(
        messages(&p),
        vec!["api.key: api.key '[hidden]' was refused; also bad: [hidden]"]
    );
}

#[test]
fn tasks_max_and_types_use_kafka_messages() {
    // Spec keys are reported in the spec's order, secrets masked.
    let p = problems(&[
        ("name", "s"),
        ("connector.class", "FileStreamSource"),
        ("file", "f"),
        ("tasks.max", "0"),
        ("batch.size", "lots"),
        ("verbose", "yes"),
        ("api.pin", "secret-1234"),
    ]);
    assert_eq!(
        messages(&p),
        vec![
            "tasks.max: Invalid value 0 for configuration tasks.max: Value must be at least 1",
            "batch.size: Invalid value lots for configuration batch.size: Not a number of type INT",
            "api.pin: Invalid value [hidden] for configuration api.pin: Not a number of type LONG",
            "verbose: Invalid value yes for configuration verbose: Expected value to be either true or false",
        ]
    );
    let p = problems(&[
        ("name", "s"),
        ("connector.class", "FileStreamSource"),
        ("file", "f"),
        ("tasks.max", "x"),
    ]);
    // Kafka's two errors: the parse error, then the validator's about the null value.
    assert_eq!(
        messages(&p),
        vec![
            "tasks.max: Invalid value x for configuration tasks.max: Not a number of type INT",
            "tasks.max: Invalid value null for configuration tasks.max: Value must be non-null",
        ]
    );
}

#[test]
fn exactly_once_keys_accept_at_least_once_values_only() {
    let source = [
        ("name", "s"),
        ("connector.class", "FileStreamSource"),
        ("file", "f"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut all = source.to_vec();
        all.extend_from_slice(extra);
        compile(&cfg(&all), &catalog()).map(|_| ())
    };
    // Kafka's defaults, any case, and the keys that have no effect in standalone mode.
    assert_eq!(
        with(&[
            ("exactly.once.support", " REQUESTED "),
            ("transaction.boundary", "Poll"),
            ("transaction.boundary.interval.ms", "0"),
            ("offsets.storage.topic", "my-offsets"),
            ("tasks.max.enforce", "false"),
        ]),
        Ok(())
    );
    let refused = |extra: &[(&'static str, &'static str)]| {
        messages(&with(extra).expect_err("must be refused"))
    };
    assert_eq!(
        refused(&[("exactly.once.support", "required")]),
        vec![
            "exactly.once.support: Invalid value required for configuration \
              exactly.once.support: Sluice's source connectors deliver at-least-once: their \
              records are not written in producer transactions, so exactly-once support \
              cannot be required; use requested (the default) or leave the key out"
        ]
    );
    assert_eq!(
        refused(&[("transaction.boundary", "connector")]),
        vec![
            "transaction.boundary: Invalid value connector for configuration \
              transaction.boundary: Sluice's source connectors deliver at-least-once: their \
              records are not written in producer transactions, so they have no transaction \
              boundaries to define; use poll (the default) or leave the key out"
        ]
    );
    assert!(refused(&[("transaction.boundary", "interval")])[0].contains("use poll (the default)"));
    // Values Kafka itself rejects get Kafka's messages.
    assert_eq!(
        refused(&[
            ("exactly.once.support", "maybe"),
            ("transaction.boundary", "never"),
            ("transaction.boundary.interval.ms", "-5"),
            ("tasks.max.enforce", "sometimes"),
        ]),
        vec![
            "tasks.max.enforce: Invalid value sometimes for configuration tasks.max.enforce: \
             Expected value to be either true or false",
            "exactly.once.support: Invalid value maybe for configuration exactly.once.support: \
             String must be one of (case insensitive): REQUIRED, REQUESTED",
            "transaction.boundary: Invalid value never for configuration transaction.boundary: \
             String must be one of (case insensitive): INTERVAL, POLL, CONNECTOR",
            "transaction.boundary.interval.ms: Invalid value -5 for configuration \
             transaction.boundary.interval.ms: Value must be at least 0",
        ]
    );
    assert_eq!(
        refused(&[("transaction.boundary.interval.ms", "soon")]),
        vec![
            "transaction.boundary.interval.ms: Invalid value soon for configuration \
              transaction.boundary.interval.ms: Not a number of type LONG"
        ]
    );
    // For a sink they are not Kafka's keys: the plugin's business, never refused here.
    assert_eq!(
        compile(
            &cfg(&[
                ("name", "k"),
                ("connector.class", "FileStreamSink"),
                ("file", "f"),
                ("topics", "t"),
                ("exactly.once.support", "required"),
            ]),
            &catalog()
        )
        .map(|_| ()),
        Ok(())
    );
}

#[test]
fn tasks_max_enforce_fails_extra_tasks_unless_false() {
    let cc = |extra: &[(&'static str, &'static str)]| {
        let mut all = vec![
            ("name", "s"),
            ("connector.class", "FileStreamSource"),
            ("file", "f"),
            ("tasks.max", "2"),
        ];
        all.extend_from_slice(extra);
        compile(&cfg(&all), &catalog()).expect("valid")
    };
    assert_eq!(cc(&[]).check_task_count(2), Ok(()));
    assert_eq!(cc(&[]).check_task_count(1), Ok(()));
    assert_eq!(
        cc(&[]).check_task_count(3).map_err(|e| e.to_string()),
        Err(
            "The connector s has generated 3 tasks, which is greater than 2, the maximum \
             number of tasks it is configured to create. This behaviour should be considered \
             a bug and is disallowed. If necessary, it can be permitted by reconfiguring the \
             connector with 'tasks.max.enforce' set to false; however, this option will be \
             removed in a future release of Kafka Connect."
                .into()
        )
    );
    assert!(cc(&[("tasks.max.enforce", "true")])
        .check_task_count(3)
        .is_err());
    assert_eq!(
        cc(&[("tasks.max.enforce", " FALSE ")]).check_task_count(3),
        Ok(())
    );
}

#[test]
fn sink_topic_rules() {
    let base = [
        ("name", "k"),
        ("connector.class", "FileStreamSink"),
        ("file", "f"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut all = base.to_vec();
        all.extend_from_slice(extra);
        problems(&all)
    };
    // Kafka's exact (bare) messages, as the reference's validate shows them.
    let p = with(&[]);
    assert_eq!(p.len(), 2);
    assert!(p
        .iter()
        .all(|p| p.message == "Must configure one of topics or topics.regex"));
    assert_eq!(
        (p[0].key.as_str(), p[1].key.as_str()),
        ("topics", "topics.regex")
    );
    let p = with(&[("topics", "a"), ("topics.regex", "a.*")]);
    assert_eq!(p.len(), 2);
    assert!(p.iter().all(|p| p.message
        == "topics and topics.regex are mutually exclusive options, but both are set."));
    let p = with(&[("topics.regex", "a(")]);
    assert_eq!(p.len(), 1);
    assert!(
        p[0].message
            .starts_with("Invalid value a( for configuration topics.regex: Invalid regex: "),
        "{p:?}"
    );
    let p = with(&[
        ("topics", "a,dlq"),
        ("errors.deadletterqueue.topic.name", "dlq"),
    ]);
    assert!(
        p[0].message
            .contains("The DLQ topic 'dlq' may not be included in the list of topics"),
        "{p:?}"
    );
    let p = with(&[
        ("topics.regex", "d.*"),
        ("errors.deadletterqueue.topic.name", "dlq"),
    ]);
    assert_eq!(
        p[0].message,
        "The DLQ topic 'dlq' may not be matched by the regex for the topics \
         ('topics.regex=d.*') consumed by the connector"
    );
    // The regex must match the whole name, as Java's Matcher.matches does.
    let c = compile(
        &cfg(&[
            ("name", "k"),
            ("connector.class", "FileStreamSink"),
            ("file", "f"),
            ("topics.regex", "d"),
            ("errors.deadletterqueue.topic.name", "dlq"),
        ]),
        &catalog(),
    )
    .expect("valid: 'd' does not match all of 'dlq'");
    assert_eq!(c.topics_regex.as_deref(), Some("d"));
    assert!(c.topics.is_empty());
}

#[test]
fn plugin_validate_problems_are_collected_with_host_ones() {
    let mut spec = catalog().0[1].spec().clone();
    spec.name = "v.Source".into();
    let reporting = FakePlugin::with_spec(
        spec.clone(),
        Ok(vec![ConfigProblem {
            key: "file".into(),
            message: "must be absolute".into(),
        }]),
    );
    spec.name = "e.Source".into();
    let failing = FakePlugin::with_spec(spec, Err("plugin trapped: out of fuel".into()));
    let cat = FakeCatalog(vec![reporting, failing]);
    let p = compile(
        &cfg(&[
            ("name", "s"),
            ("connector.class", "v.Source"),
            ("file", "rel"),
            ("tasks.max", "-1"),
        ]),
        &cat,
    )
    .map(|_| ())
    .expect_err("must fail");
    assert_eq!(p.len(), 2);
    assert_eq!(
        p[1],
        ConfigProblem {
            key: "file".into(),
            message: "must be absolute".into()
        }
    );
    let p = compile(
        &cfg(&[
            ("name", "s"),
            ("connector.class", "e.Source"),
            ("file", "f"),
        ]),
        &cat,
    )
    .map(|_| ())
    .expect_err("must fail");
    assert_eq!(
        p[0].message,
        "e.Source could not validate the configuration: plugin trapped: out of fuel"
    );
}

#[test]
fn describe_like_kafka() {
    let text = describe_problems(&[
        ConfigProblem {
            key: "file".into(),
            message: "Missing required configuration \"file\" which has no default value.".into(),
        },
        ConfigProblem {
            key: "file".into(),
            message: "must be absolute".into(),
        },
    ]);
    assert_eq!(
        text,
        "Connector configuration is invalid and contains the following 2 error(s):\n\
         Missing required configuration \"file\" which has no default value.\n\
         file: must be absolute\n\
         You can also find the above list of errors at the endpoint \
         `/connector-plugins/{connectorType}/config/validate`"
    );
}
