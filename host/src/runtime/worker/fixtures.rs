//! A worker over test doubles for the worker's unit tests: one idle-capable test source,
//! converters that pass UTF-8 through, and an `env` config provider.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use super::Worker;
use crate::config::{ConverterConfig, WorkerConfig};
use crate::kafka::KafkaSettings;
use crate::runtime::config_store::ConfigStore;
use crate::runtime::test_doubles::*;
use crate::spec::{Config, PluginKind};

pub fn worker(store: Option<ConfigStore>) -> Worker {
    let source = TestPlugin::new("com.example.TestSourceConnector", PluginKind::Source);
    let conv = |class: &str| ConverterConfig {
        class: class.to_string(),
        props: Vec::new(),
    };
    let config = WorkerConfig {
        bootstrap_servers: None,
        key_converter: conv("org.apache.kafka.connect.storage.StringConverter"),
        value_converter: conv("org.apache.kafka.connect.storage.StringConverter"),
        header_converter: conv("org.apache.kafka.connect.storage.SimpleHeaderConverter"),
        offset_storage_file: "/nonexistent/unused".into(),
        offset_flush_interval: Duration::from_millis(200),
        plugin_path: Vec::new(),
        listeners: Vec::new(),
        task_shutdown_graceful_timeout: Duration::from_secs(5),
        metrics_enabled: true,
        raw: cfg(&[
            ("config.providers", "env"),
            (
                "config.providers.env.class",
                "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
            ),
            (
                "config.providers.env.param.allowlist.pattern",
                "SLUICE_ADMIN_.*",
            ),
        ]),
    };
    // Nothing listens on port 1: clients are created lazily and idle tasks never connect.
    let w = Worker::new(
        config,
        KafkaSettings::plain("127.0.0.1:1"),
        Arc::new(TestCatalog(vec![source])),
        Arc::new(MemoryOffsetStore::default()),
    )
    .with_converter_factory(Arc::new(Utf8Converters));
    match store {
        Some(s) => w.with_config_store(s).unwrap(),
        None => w,
    }
}

pub fn idle(name: &str) -> Config {
    cfg(&[
        ("name", name),
        ("connector.class", "TestSource"),
        ("tasks.max", "2"),
        ("test.behaviour.0", "idle"),
        ("test.behaviour.1", "idle"),
    ])
}
