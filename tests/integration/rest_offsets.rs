//! `GET/PATCH/DELETE /connectors/{name}/offsets` and `/connectors/{name}/topics[/reset]`
//! against a real worker, real plugins and a real broker: a FileStreamSource's offsets in the
//! offset file and a FileStreamSink's consumer-group offsets are read, refused while running,
//! altered and reset while STOPPED, and the tasks resume from what was written.

use std::time::Duration;

use serde_json::{json, Value};
use sluice_tests::{
    count_lines, default_worker_props, unique, wait_until, Broker, TestDir, Worker,
};

use crate::rest_api::{call, error, expect, wait_connector_state};
use crate::{FILE_SINK, FILE_SOURCE};

const NOT_STOPPED: &str = "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint";
const ALTERED: &str = "The offsets for this connector have been altered successfully";
const RESET: &str = "The offsets for this connector have been reset successfully";

fn offsets(worker: &Worker, name: &str) -> Value {
    expect(
        call(worker, "GET", &format!("/connectors/{name}/offsets"), None),
        200,
        "get offsets",
    )
    .json()
}

fn wait_offsets(worker: &Worker, name: &str, expected: &Value) {
    wait_until(
        &format!("offsets of {name} = {expected}"),
        Duration::from_secs(120),
        || (offsets(worker, name) == *expected).then_some(()),
        || offsets(worker, name).to_string(),
    );
}

fn stop(worker: &Worker, name: &str) {
    expect(
        call(worker, "PUT", &format!("/connectors/{name}/stop"), None),
        204,
        "stop",
    );
    wait_connector_state(worker, name, "STOPPED");
}

fn resume(worker: &Worker, name: &str) {
    expect(
        call(worker, "PUT", &format!("/connectors/{name}/resume"), None),
        202,
        "resume",
    );
    worker.wait_for_state(name, "RUNNING", Duration::from_secs(120));
}

#[test]
fn source_offsets_and_topics_are_read_altered_and_reset() {
    let broker = Broker::shared();
    let dir = TestDir::new("rest-source-offsets");
    let topic = unique("offs-src");
    broker.create_topic(&topic, 1);
    let input = dir.write("in.txt", "a\nb\nc\n");
    let file = input.display().to_string();
    let worker = Worker::start(&dir, &default_worker_props(Some(broker), dir.path()), &[]);
    assert_eq!(
        worker.get("/health").json(),
        json!({"status": "healthy", "message": "Worker has completed startup and is ready to handle requests."})
    );
    let src = unique("offs-src");
    let config = json!({"connector.class": FILE_SOURCE, "file": file, "topic": topic});
    expect(
        call(
            &worker,
            "POST",
            "/connectors",
            Some(&json!({"name": src, "config": config})),
        ),
        201,
        "create",
    );
    let mut reader = broker.reader(&topic);
    reader.read_until(3, Duration::from_secs(120));
    // "a\nb\nc\n": the position after the last line is 6.
    let partition = json!({"filename": file});
    wait_offsets(
        &worker,
        &src,
        &json!({"offsets": [{"partition": partition, "offset": {"position": 6}}]}),
    );
    assert_eq!(
        worker.get(&format!("/connectors/{src}/topics")).json(),
        json!({ src.clone(): {"topics": [topic]} })
    );

    // Not STOPPED: 400 with Kafka's message, for PATCH and DELETE alike.
    let patch = json!({"offsets": [{"partition": partition, "offset": {"position": 2}}]});
    let r = call(
        &worker,
        "PATCH",
        &format!("/connectors/{src}/offsets"),
        Some(&patch),
    );
    assert_eq!(
        (r.status, r.json()),
        (400, error(&NOT_STOPPED.replace("{name}", &src), 400))
    );
    let r = call(
        &worker,
        "DELETE",
        &format!("/connectors/{src}/offsets"),
        None,
    );
    assert_eq!(
        (r.status, r.json()),
        (400, error(&NOT_STOPPED.replace("{name}", &src), 400))
    );
    let r = call(
        &worker,
        "PATCH",
        &format!("/connectors/{src}/offsets"),
        Some(&json!({"offsets": []})),
    );
    assert_eq!(
        (r.status, r.json()),
        (
            400,
            error(
                "Partitions / offsets need to be provided for an alter offsets request",
                400
            )
        )
    );

    // Alter while STOPPED: the task resumes after "a\n" and sends b, c again.
    stop(&worker, &src);
    let r = expect(
        call(
            &worker,
            "PATCH",
            &format!("/connectors/{src}/offsets"),
            Some(&patch),
        ),
        200,
        "alter",
    );
    assert_eq!(r.json(), json!({ "message": ALTERED }));
    assert_eq!(
        offsets(&worker, &src),
        json!({"offsets": [{"partition": partition, "offset": {"position": 2}}]})
    );
    let stored = std::fs::read_to_string(dir.join("offsets.json")).expect("offset file");
    assert!(stored.contains("{\"position\":2}"), "{stored}");
    resume(&worker, &src);
    let got: Vec<&str> = reader
        .read_until(5, Duration::from_secs(120))
        .iter()
        .map(|m| m.value_str())
        .collect();
    assert_eq!(got, ["a", "b", "c", "b", "c"]);

    // Topics: reset forgets them; new records record the topic again.
    let r = expect(
        call(
            &worker,
            "PUT",
            &format!("/connectors/{src}/topics/reset"),
            None,
        ),
        202,
        "reset topics",
    );
    assert_eq!(r.body, "");
    assert_eq!(
        worker.get(&format!("/connectors/{src}/topics")).json(),
        json!({ src.clone(): {"topics": []} })
    );

    // Reset while STOPPED: no offsets; the task starts from the beginning of the file.
    stop(&worker, &src);
    let r = expect(
        call(
            &worker,
            "DELETE",
            &format!("/connectors/{src}/offsets"),
            None,
        ),
        200,
        "reset",
    );
    assert_eq!(r.json(), json!({ "message": RESET }));
    assert_eq!(offsets(&worker, &src), json!({"offsets": []}));
    resume(&worker, &src);
    let got: Vec<&str> = reader
        .read_until(8, Duration::from_secs(120))
        .iter()
        .map(|m| m.value_str())
        .collect();
    assert_eq!(got, ["a", "b", "c", "b", "c", "a", "b", "c"]);
    assert_eq!(
        worker.get(&format!("/connectors/{src}/topics")).json(),
        json!({ src.clone(): {"topics": [topic]} })
    );

    // Unknown connectors: Kafka's 404 for offsets; topics of an unknown connector are empty
    // (the reference answers 200 `{"ghost":{"topics":[]}}` and 202 for the reset).
    assert_eq!(
        worker.get("/connectors/ghost/topics").json(),
        json!({"ghost": {"topics": []}})
    );
    assert_eq!(
        call(&worker, "PUT", "/connectors/ghost/topics/reset", None).status,
        202
    );
    for (method, path) in [
        ("GET", "/connectors/ghost/offsets"),
        ("DELETE", "/connectors/ghost/offsets"),
    ] {
        let r = call(&worker, method, path, None);
        assert_eq!(
            (r.status, r.json()),
            (404, error("Connector ghost not found", 404)),
            "{method} {path}"
        );
    }
}

#[test]
fn sink_offsets_are_the_consumer_group_offsets() {
    let broker = Broker::shared();
    let dir = TestDir::new("rest-sink-offsets");
    let topic = unique("offs-sink");
    broker.create_topic(&topic, 1);
    broker.produce(&topic, &["r0", "r1", "r2"]);
    let output = dir.join("out.txt");
    let worker = Worker::start(&dir, &default_worker_props(Some(broker), dir.path()), &[]);
    let sink = unique("offs-sink");
    expect(
        call(
            &worker,
            "PUT",
            &format!("/connectors/{sink}/config"),
            Some(
                &json!({"connector.class": FILE_SINK, "topics": topic, "file": output.display().to_string()}),
            ),
        ),
        201,
        "create sink",
    );
    let lines = |n: usize| {
        wait_until(
            &format!("{n} lines in the sink file"),
            Duration::from_secs(120),
            || (count_lines(&output) >= n).then_some(()),
            || {
                format!(
                    "{} lines; offsets {}; status {:?}",
                    count_lines(&output),
                    offsets(&worker, &sink),
                    worker.status(&sink)
                )
            },
        )
    };
    lines(3);
    let tp = json!({"kafka_topic": topic, "kafka_partition": 0});
    wait_offsets(
        &worker,
        &sink,
        &json!({"offsets": [{"partition": tp, "offset": {"kafka_offset": 3}}]}),
    );
    assert_eq!(
        worker.get(&format!("/connectors/{sink}/topics")).json(),
        json!({ sink.clone(): {"topics": [topic]} })
    );
    // Offset 0, a record-batch boundary: tansu 0.6 answers a fetch that starts inside a batch
    // (the three records were produced as one) with no records.
    let patch = json!({"offsets": [{"partition": tp, "offset": {"kafka_offset": "0"}}]});
    let r = call(
        &worker,
        "PATCH",
        &format!("/connectors/{sink}/offsets"),
        Some(&patch),
    );
    assert_eq!(
        (r.status, r.json()),
        (400, error(&NOT_STOPPED.replace("{name}", &sink), 400))
    );

    stop(&worker, &sink);
    // Kafka's sink offset checks, message for message.
    let bad = [
        (json!({"offsets": [{"offset": null}]}), "The partition for a sink connector offset cannot be null or missing".to_string()),
        (json!({"offsets": [{"partition": {}, "offset": null}]}), "The partition for a sink connector offset must contain the keys 'kafka_topic' and 'kafka_partition'".to_string()),
        (json!({"offsets": [{"partition": {"kafka_topic": topic, "kafka_partition": "not a number"}, "offset": null}]}), "Failed to parse the following Kafka partition value in the provided offsets: 'not a number'. Partition values for sink connectors need to be integers.".to_string()),
        (json!({"offsets": [{"partition": tp, "offset": {}}]}), "The offset for a sink connector should either be null or contain the key 'kafka_offset'".to_string()),
        (json!({"offsets": [{"partition": tp, "offset": {"kafka_offset": "x"}}]}), "Failed to parse the following Kafka offset value in the provided offsets: 'x'. Offset values for sink connectors need to be integers.".to_string()),
    ];
    for (body, message) in bad {
        let r = call(
            &worker,
            "PATCH",
            &format!("/connectors/{sink}/offsets"),
            Some(&body),
        );
        assert_eq!((r.status, r.json()), (400, error(&message, 400)), "{body}");
    }
    let r = expect(
        call(
            &worker,
            "PATCH",
            &format!("/connectors/{sink}/offsets"),
            Some(&patch),
        ),
        200,
        "alter sink",
    );
    assert_eq!(r.json(), json!({ "message": ALTERED }));
    assert_eq!(
        offsets(&worker, &sink),
        json!({"offsets": [{"partition": tp, "offset": {"kafka_offset": 0}}]})
    );
    // Resumed, the sink reads from offset 0 again: every record is written twice.
    resume(&worker, &sink);
    lines(6);
    let out = std::fs::read_to_string(&output).expect("sink output");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["r0", "r1", "r2", "r0", "r1", "r2"]
    );

    // Reset: the group's offsets are gone; resumed, the sink reads the topic from the start.
    wait_offsets(
        &worker,
        &sink,
        &json!({"offsets": [{"partition": tp, "offset": {"kafka_offset": 3}}]}),
    );
    stop(&worker, &sink);
    let r = expect(
        call(
            &worker,
            "DELETE",
            &format!("/connectors/{sink}/offsets"),
            None,
        ),
        200,
        "reset sink",
    );
    assert_eq!(r.json(), json!({ "message": RESET }));
    let after = offsets(&worker, &sink);
    assert!(
        after == json!({"offsets": []})
            || after == json!({"offsets": [{"partition": tp, "offset": {"kafka_offset": 0}}]}),
        "{after}"
    );
    resume(&worker, &sink);
    lines(9);
    let out = std::fs::read_to_string(&output).expect("sink output");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["r0", "r1", "r2", "r0", "r1", "r2", "r0", "r1", "r2"]
    );
}
