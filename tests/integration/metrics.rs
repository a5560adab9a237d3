//! `GET /metrics` on a worker running real pipelines against tansu: the scrape parses as
//! Prometheus text, carries Kafka Connect's metric names as Strimzi's JMX-exporter rules
//! publish them, with `connector`/`task` labels, and its counters equal the records that
//! flowed: datagen → Kafka → FileStreamSink, a JsonConverter sink tolerating bad records into a
//! dead letter queue, and a source whose plugin traps (its task shows `status="failed"`).

use std::time::Duration;

use sluice_tests::{count_lines, unique, wait_until, Broker, Metrics, TestDir, Worker};

use crate::{datagen, file_sink, props_with_test_plugins, trapping_source, JSON_CONVERTER};

/// Scrapes until `name{labels}` equals `expected` (counters settle once the records are
/// through; the series may not exist before the task started).
fn wait_for_value(worker: &Worker, name: &str, labels: &[(&str, &str)], expected: f64) {
    wait_until(
        &format!("{name}{labels:?} = {expected}"),
        Duration::from_secs(120),
        || (Metrics::scrape(worker.rest).value(name, labels) == Some(expected)).then_some(()),
        || {
            format!(
                "{name}{labels:?} = {:?}",
                Metrics::scrape(worker.rest).value(name, labels)
            )
        },
    );
}

#[test]
fn metrics_count_the_records_of_real_pipelines_under_kafka_connect_names() {
    const N: u64 = 3000;
    const BAD: usize = 3;
    const GOOD: usize = 7;
    let broker = Broker::shared();
    let dir = TestDir::new("metrics");
    let topic = unique("metrics");
    broker.create_topic(&topic, 1);
    let (src, snk) = (unique("m-src"), unique("m-snk"));
    let out = dir.join("out.txt");

    // A sink reading JSON that tolerates bad records into a dead letter queue.
    let json_topic = unique("metrics-json");
    broker.create_topic(&json_topic, 1);
    let dlq = unique("metrics-dlq");
    let tolerant = unique("m-tolerant");
    let json_out = dir.join("json-out.txt");
    let tolerant_config = format!(
        "{}value.converter={JSON_CONVERTER}\nvalue.converter.schemas.enable=false\n\
         errors.tolerance=all\nerrors.log.enable=true\n\
         errors.deadletterqueue.topic.name={dlq}\n\
         errors.deadletterqueue.topic.replication.factor=1\n",
        file_sink(&tolerant, &json_out, &json_topic)
    );
    let mut values: Vec<String> = (0..GOOD).map(|i| format!("{{\"n\":{i}}}")).collect();
    values.extend((0..BAD).map(|i| format!("{{not json {i}")));
    broker.produce(&json_topic, &values);

    // A source whose plugin traps after 10 records: its task fails.
    let trap = unique("m-trap");
    let trap_config = trapping_source(broker, &trap);
    let props = props_with_test_plugins(broker, dir.path());
    let worker = Worker::start(
        &dir,
        &props,
        &[
            ("source.properties", &datagen(&src, &topic, N, 0)),
            ("sink.properties", &file_sink(&snk, &out, &topic)),
            ("tolerant.properties", &tolerant_config),
            ("trap.properties", &trap_config),
        ],
    );
    worker.wait_for_lines(&out, N as usize, Duration::from_secs(300));
    worker.wait_for_lines(&json_out, GOOD, Duration::from_secs(120));
    worker.wait_for_task_state(&trap, 0, "FAILED", Duration::from_secs(120));

    let src_task = [("connector", src.as_str()), ("task", "0")];
    let snk_task = [("connector", snk.as_str()), ("task", "0")];
    let tolerant_task = [("connector", tolerant.as_str()), ("task", "0")];
    let n = N as f64;
    // The sink's counters settle once the records are through (the file has them all).
    wait_for_value(
        &worker,
        "kafka_connect_sink_task_sink_record_read_total",
        &snk_task,
        n,
    );
    wait_for_value(
        &worker,
        "kafka_connect_task_error_total_record_errors",
        &tolerant_task,
        BAD as f64,
    );
    let m = Metrics::scrape(worker.rest);

    // Source: every record polled (before SMTs) was written (after SMTs), in batches.
    assert_eq!(
        m.get(
            "kafka_connect_source_task_source_record_poll_total",
            &src_task
        ),
        n
    );
    assert_eq!(
        m.get(
            "kafka_connect_source_task_source_record_write_total",
            &src_task
        ),
        n
    );
    let batch_max = m.get("kafka_connect_connector_task_batch_size_max", &src_task);
    let batch_avg = m.get("kafka_connect_connector_task_batch_size_avg", &src_task);
    assert!(batch_max >= 1.0 && batch_max <= n, "batch max {batch_max}");
    assert!(
        batch_avg >= 1.0 && batch_avg <= batch_max,
        "batch avg {batch_avg} (max {batch_max})"
    );
    assert!(
        m.get(
            "kafka_connect_source_task_poll_batch_avg_time_ms",
            &src_task
        ) >= 0.0
    );
    assert!(
        m.get(
            "sluice_plugin_calls_total",
            &[("connector", &src), ("call", "poll")]
        ) >= 1.0
    );

    // Sink: everything read was put; lines in the file = records sent.
    assert_eq!(
        m.get("kafka_connect_sink_task_sink_record_read_total", &snk_task),
        n
    );
    assert_eq!(
        m.get("kafka_connect_sink_task_sink_record_send_total", &snk_task),
        n
    );
    assert_eq!(count_lines(&out) as f64, n);
    assert_eq!(
        m.get("kafka_connect_sink_task_partition_count", &snk_task),
        1.0
    );
    assert!(m.get("kafka_connect_sink_task_put_batch_max_time_ms", &snk_task) >= 0.0);
    assert_eq!(
        m.get("kafka_connect_task_error_total_record_errors", &snk_task),
        0.0
    );
    // Everything was read: no lag left, per partition and at most.
    assert_eq!(
        m.get("kafka_connect_sink_task_sink_record_lag_max", &snk_task),
        0.0
    );
    assert_eq!(
        m.get(
            "sluice_sink_partition_lag",
            &[("connector", &snk), ("topic", &topic), ("partition", "0")]
        ),
        0.0
    );
    // Sink offset commits (every offset.flush.interval.ms=500): numbered, completed, never
    // skipped (they are synchronous), and they keep coming while the task runs.
    let completed = |m: &Metrics| {
        m.get(
            "kafka_connect_sink_task_offset_commit_completion_total",
            &snk_task,
        )
    };
    let first = completed(&m);
    assert!(first >= 1.0, "sink commits completed: {first}");
    assert!(m.get("kafka_connect_sink_task_offset_commit_seq_no", &snk_task) >= first);
    assert_eq!(
        m.get(
            "kafka_connect_sink_task_offset_commit_skip_total",
            &snk_task
        ),
        0.0
    );
    for task in [&snk_task, &src_task] {
        let ok = m.get(
            "kafka_connect_connector_task_offset_commit_success_percentage",
            task,
        );
        assert!(ok > 0.0 && ok <= 1.0, "{task:?}: commit success {ok}");
        // A commit with nothing new to commit completes in under a microsecond, which the
        // summary records as 0; the time shows once a commit that had work is done, which
        // may be after the scrape above (commits run every offset.flush.interval.ms).
        let max_time = |m: &Metrics| {
            m.get(
                "kafka_connect_connector_task_offset_commit_max_time_ms",
                task,
            )
        };
        wait_until(
            "a timed offset commit",
            Duration::from_secs(60),
            || (max_time(&Metrics::scrape(worker.rest)) > 0.0).then_some(()),
            || {
                format!(
                    "{task:?}: commit max time {}",
                    max_time(&Metrics::scrape(worker.rest))
                )
            },
        );
    }
    wait_until(
        "more sink offset commits",
        Duration::from_secs(60),
        || {
            let now = Metrics::scrape(worker.rest);
            (completed(&now) > first
                && now.get("kafka_connect_sink_task_offset_commit_seq_no", &snk_task) > first)
                .then_some(())
        },
        || format!("completed {}", completed(&Metrics::scrape(worker.rest))),
    );

    // The plugins' memory, within their limits.
    for task in [&src_task, &snk_task] {
        let used = m.get("sluice_plugin_memory_bytes", task);
        let limit = m.get("sluice_plugin_memory_limit_bytes", task);
        assert!(used > 0.0 && used <= limit, "{task:?}: {used} of {limit}");
    }

    // The tolerant sink: bad records counted, skipped, logged and sent to the DLQ; the good
    // ones put.
    let total = (GOOD + BAD) as f64;
    assert_eq!(
        m.get(
            "kafka_connect_sink_task_sink_record_read_total",
            &tolerant_task
        ),
        total
    );
    assert_eq!(
        m.get(
            "kafka_connect_sink_task_sink_record_send_total",
            &tolerant_task
        ),
        GOOD as f64
    );
    assert_eq!(
        m.get(
            "kafka_connect_task_error_total_records_skipped",
            &tolerant_task
        ),
        BAD as f64
    );
    assert_eq!(
        m.get(
            "kafka_connect_task_error_total_errors_logged",
            &tolerant_task
        ),
        BAD as f64
    );
    assert_eq!(
        m.get(
            "kafka_connect_task_error_deadletterqueue_produce_requests",
            &tolerant_task
        ),
        BAD as f64
    );
    assert_eq!(
        m.get(
            "kafka_connect_task_error_deadletterqueue_produce_failures",
            &tolerant_task
        ),
        0.0
    );
    assert!(
        m.get(
            "kafka_connect_task_error_last_error_timestamp",
            &tolerant_task
        ) > 1.6e12
    );
    assert_eq!(
        broker.consume_all(&dlq, BAD, Duration::from_secs(60)).len(),
        BAD
    );

    // States: connector and task status as label values, one series each.
    let status = |c: &str, s: &str| {
        m.value(
            "kafka_connect_connector_status",
            &[("connector", c), ("status", s)],
        )
    };
    assert_eq!(status(&src, "running"), Some(1.0));
    assert_eq!(
        m.label_sets("kafka_connect_connector_task_status")
            .into_iter()
            .filter(|l| l.contains(&("connector".into(), trap.clone())))
            .collect::<Vec<_>>(),
        vec![vec![
            ("connector".to_string(), trap.clone()),
            ("status".to_string(), "failed".to_string()),
            ("task".to_string(), "0".to_string()),
        ]],
        "the trapped task, once, as failed"
    );
    assert_eq!(
        m.get(
            "kafka_connect_connector_task_status",
            &[("connector", &snk), ("task", "0"), ("status", "running")]
        ),
        1.0
    );
    assert_eq!(
        m.get(
            "kafka_connect_connector_connector_type",
            &[("connector", &snk), ("connector_type", "sink")]
        ),
        1.0
    );
    assert_eq!(
        m.get(
            "kafka_connect_connector_connector_class",
            &[("connector", &snk), ("connector_class", crate::FILE_SINK)]
        ),
        1.0
    );

    // Worker: four connectors, four tasks, one of them failed; every task start attempted
    // succeeded (the trap came after the start).
    assert_eq!(m.get("kafka_connect_worker_connector_count", &[]), 4.0);
    assert_eq!(m.get("kafka_connect_worker_task_count", &[]), 4.0);
    assert_eq!(
        m.get(
            "kafka_connect_worker_connector_failed_task_count",
            &[("connector", &trap)]
        ),
        1.0
    );
    assert_eq!(
        m.get(
            "kafka_connect_worker_connector_running_task_count",
            &[("connector", &src)]
        ),
        1.0
    );
    assert_eq!(
        m.get("kafka_connect_worker_connector_startup_attempts_total", &[]),
        4.0
    );
    assert_eq!(
        m.get("kafka_connect_worker_connector_startup_success_total", &[]),
        4.0
    );
    assert_eq!(
        m.get("kafka_connect_worker_task_startup_attempts_total", &[]),
        4.0
    );
    assert_eq!(
        m.get("kafka_connect_worker_task_startup_failure_total", &[]),
        0.0
    );

    // Every task metric carries exactly the labels connector and task.
    for name in [
        "kafka_connect_source_task_source_record_poll_total",
        "kafka_connect_sink_task_sink_record_send_total",
        "kafka_connect_connector_task_batch_size_avg",
        "kafka_connect_task_error_total_record_failures",
    ] {
        for labels in m.label_sets(name) {
            let keys: Vec<&str> = labels.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(keys, ["connector", "task"], "{name}: {labels:?}");
        }
    }

    // Every series the example Grafana dashboard queries exists in this scrape.
    let dashboard_file =
        sluice_tests::workspace_root().join("examples/grafana/sluice-dashboard.json");
    let dashboard = std::fs::read_to_string(&dashboard_file).expect("read the example dashboard");
    let names = series_names(&dashboard);
    assert!(names.len() >= 10, "{names:?}");
    for name in names {
        assert!(
            m.scrape.samples.iter().any(|s| s.metric == name),
            "{} queries {name}, which the worker does not publish",
            dashboard_file.display()
        );
    }
    drop(worker);
}

/// The metric names (`kafka_connect_…`, `sluice_…`) mentioned in `text`.
fn series_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for prefix in ["kafka_connect_", "sluice_"] {
        let mut rest = text;
        while let Some(at) = rest.find(prefix) {
            let name: String = rest[at..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            rest = &rest[at + name.len()..];
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}
