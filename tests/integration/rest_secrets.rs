//! Secrets against a real worker, a real broker and a real plugin with a PASSWORD key
//! (`test-secret-source`, which emits the hash of the key it received): every REST response
//! that shows a config shows `[hidden]`, errors and the worker log never contain the value,
//! GET-then-PUT keeps the real value (the plugin still hashes it), and the real value is what
//! `connectors.json` keeps, so a restarted worker runs the connector again.

use std::time::Duration;

use serde_json::{json, Value};
use sluice_tests::{default_worker_props, plugins, unique, Broker, TestDir, Worker};

use crate::rest_api::{call, expect, wait_connector_state};

/// The plugin's record for `key` (FNV-1a 64, as `tests/plugins/test-secret-source` computes it).
fn record_for(key: &str) -> String {
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("key-fnv1a={hash:016x}")
}

/// Waits until `topic` holds at least `n` records and returns their values.
fn values(broker: &Broker, topic: &str, n: usize) -> Vec<String> {
    broker
        .consume_all(topic, n, Duration::from_secs(120))
        .iter()
        .map(|m| m.value_str().to_string())
        .collect()
}

#[test]
fn secrets_are_hidden_in_rest_and_logs_and_kept_through_get_then_put() {
    let broker = Broker::shared();
    let dir = TestDir::new("rest-secrets");
    let topic = unique("secrets");
    broker.create_topic(&topic, 1);
    let p = plugins();
    let props = format!(
        "{}plugin.path={},{}\n",
        default_worker_props(Some(broker), dir.path()),
        p.plugin_path.display(),
        p.test_plugins.display()
    );
    let mut worker = Worker::start(&dir, &props, &[]);
    let name = unique("vault");
    let key = format!("sk-{}", unique("real-secret"));
    let jaas = unique("jaas-secret");
    let config = json!({
        "connector.class": "test-secret-source",
        "topic": topic,
        "api.key": key,
        // Host-known secret (a Kafka PASSWORD client key); librdkafka has no such key, so
        // the worker drops it with a warning that must not quote it either.
        "producer.override.sasl.jaas.config": jaas,
    });
    let shown = json!({
        "connector.class": "test-secret-source",
        "topic": topic,
        "api.key": "[hidden]",
        "producer.override.sasl.jaas.config": "[hidden]",
        "name": name,
    });

    // A refused create quotes neither value (the plugin's own message quotes the key).
    let leaky = unique("leaky-secret");
    let mut bad = config.clone();
    bad["api.key"] = json!(leaky);
    let r = expect(
        call(
            &worker,
            "POST",
            "/connectors",
            Some(&json!({"name": name, "config": bad})),
        ),
        400,
        "create with a refused key",
    );
    assert!(
        r.json()["message"]
            .as_str()
            .is_some_and(|m| m.contains("api.key '[hidden]' is refused: it must start with sk-")),
        "{}",
        r.body
    );
    assert!(!r.body.contains(&leaky), "{}", r.body);
    // `[hidden]` on create has nothing to stand for.
    let mut hidden = config.clone();
    hidden["api.key"] = json!("[hidden]");
    let r = expect(
        call(
            &worker,
            "POST",
            "/connectors",
            Some(&json!({"name": name, "config": hidden})),
        ),
        400,
        "create with [hidden]",
    );
    assert_eq!(
        r.json()["message"],
        "The value of secret config \"api.key\" is \"[hidden]\", the mask REST responses show \
         for secrets; the connector does not exist yet, so there is no stored value to keep. \
         Send the real value or a ${provider:…} placeholder"
    );
    // Validation masks the submitted values and the plugin's quote of them.
    let r = expect(
        call(
            &worker,
            "PUT",
            "/connector-plugins/test-secret-source/config/validate",
            Some(&bad),
        ),
        200,
        "validate",
    );
    assert!(
        !r.body.contains(&leaky) && !r.body.contains(&jaas),
        "{}",
        r.body
    );
    let infos = r.json();
    let entry = |key: &str| -> Value {
        infos["configs"]
            .as_array()
            .expect("configs")
            .iter()
            .find(|c| c["value"]["name"] == key)
            .cloned()
            .unwrap_or_else(|| panic!("{key} in {infos}"))
    };
    assert_eq!(entry("api.key")["value"]["value"], "[hidden]");
    assert_eq!(
        entry("api.key")["value"]["errors"],
        json!(["api.key '[hidden]' is refused: it must start with sk-"])
    );

    // --- create: the plugin gets the real key, REST shows [hidden] everywhere ---
    let r = expect(
        call(
            &worker,
            "POST",
            "/connectors",
            Some(&json!({"name": name, "config": config})),
        ),
        201,
        "create",
    );
    assert_eq!(r.json()["config"], shown);
    assert_eq!(values(broker, &topic, 1), [record_for(&key)]);
    wait_connector_state(&worker, &name, "RUNNING");
    assert_eq!(
        worker.get(&format!("/connectors/{name}/config")).json(),
        shown
    );
    assert_eq!(
        worker.get(&format!("/connectors/{name}")).json()["config"],
        shown
    );
    let expanded = worker.get("/connectors?expand=info&expand=status").json();
    assert_eq!(expanded[&name]["info"]["config"], shown);
    let tasks = worker.get(&format!("/connectors/{name}/tasks")).json();
    assert_eq!(tasks[0]["config"]["api.key"], "[hidden]", "{tasks}");
    assert_eq!(
        tasks[0]["config"]["producer.override.sasl.jaas.config"],
        "[hidden]"
    );
    for path in [
        format!("/connectors/{name}"),
        format!("/connectors/{name}/config"),
        format!("/connectors/{name}/tasks"),
        format!("/connectors/{name}/status"),
        format!("/connectors/{name}/tasks/0/status"),
        "/connectors?expand=info&expand=status".to_string(),
    ] {
        let body = worker.get(&path).body;
        assert!(
            !body.contains(&key) && !body.contains(&jaas),
            "{path}: {body}"
        );
    }

    // --- GET-then-PUT: the stored key is kept; the restarted task hashes the real key ---
    let mut round_trip = worker.get(&format!("/connectors/{name}/config")).json();
    round_trip["count"] = json!("2");
    let r = expect(
        call(
            &worker,
            "PUT",
            &format!("/connectors/{name}/config"),
            Some(&round_trip),
        ),
        200,
        "put back what GET showed",
    );
    assert_eq!(r.json()["config"]["api.key"], "[hidden]");
    let after = values(broker, &topic, 2);
    assert!(
        after.iter().all(|v| *v == record_for(&key)),
        "every record hashes the real key: {after:?}"
    );
    // PATCH with [hidden] keeps it too.
    expect(
        call(
            &worker,
            "PATCH",
            &format!("/connectors/{name}/config"),
            Some(&json!({"api.key": "[hidden]", "count": "3"})),
        ),
        200,
        "patch with [hidden]",
    );
    let after = values(broker, &topic, 3);
    assert!(after.iter().all(|v| *v == record_for(&key)), "{after:?}");

    // The worker's own store keeps the real value (it must, to start the connector again);
    // it is the worker's private storage, like Kafka's config topic.
    let stored = std::fs::read_to_string(dir.join("connectors.json")).expect("connectors.json");
    let stored: Value = serde_json::from_str(&stored).expect("json");
    let entry = stored["connectors"]
        .as_array()
        .expect("connectors")
        .iter()
        .find(|c| c["name"] == name.as_str())
        .cloned()
        .expect("stored connector");
    assert_eq!(entry["config"]["api.key"], json!(key));
    assert_eq!(
        entry["config"]["producer.override.sasl.jaas.config"],
        json!(jaas)
    );

    // A task failing with a message that quotes its key: the trace in the status and the
    // worker log carry `[hidden]` instead.
    let failing = unique("vault-fail");
    let failing_key = format!("sk-fail-{}", unique("trace-secret"));
    let mut fail_config = config.clone();
    fail_config["api.key"] = json!(failing_key);
    expect(
        call(
            &worker,
            "POST",
            "/connectors",
            Some(&json!({"name": failing, "config": fail_config})),
        ),
        201,
        "create a connector whose task fails quoting its key",
    );
    let status = sluice_tests::wait_until(
        "the failing task's status",
        Duration::from_secs(60),
        || {
            worker
                .status(&failing)
                .filter(|s| s["tasks"][0]["state"] == "FAILED")
        },
        || format!("{:?}", worker.status(&failing)),
    );
    let trace = status["tasks"][0]["trace"].as_str().expect("trace");
    assert!(
        trace.contains("cannot log in with key '[hidden]'") && !trace.contains(&failing_key),
        "{trace}"
    );

    let log = worker.log_text();
    assert!(
        log.contains("cannot log in with key '[hidden]'"),
        "the failure is logged, redacted"
    );
    for secret in [&key, &jaas, &leaky, &failing_key] {
        assert!(!log.contains(secret.as_str()), "{secret} in the worker log");
    }
    assert!(
        log.contains("producer.override.sasl.jaas.config"),
        "the dropped client key is named in the log"
    );

    // --- a restarted worker starts the stored connector with the real key ---
    worker.sigterm();
    assert!(worker.wait_exit(Duration::from_secs(60)).success());
    drop(worker);
    let worker = Worker::start(&dir, &props, &[]);
    wait_connector_state(&worker, &name, "RUNNING");
    assert_eq!(
        worker.get(&format!("/connectors/{name}/config")).json()["api.key"],
        "[hidden]"
    );
    expect(
        call(
            &worker,
            "PATCH",
            &format!("/connectors/{name}/config"),
            Some(&json!({"count": "4"})),
        ),
        200,
        "patch after restart",
    );
    let after = values(broker, &topic, 4);
    assert!(after.iter().all(|v| *v == record_for(&key)), "{after:?}");
    let log = worker.log_text();
    assert!(
        !log.contains(&key) && !log.contains(&jaas),
        "secret in the restarted worker's log"
    );
}
