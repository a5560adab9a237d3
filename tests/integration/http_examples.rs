//! Outgoing HTTP from the JavaScript and Python SDKs, end to end: the example plugins
//! `examples/js-http-lookup` (`fetch`) and `examples/python-http-lookup` (`sluice.http`) look
//! each record's value up at a real HTTP server of the test's own, in a connector's transform
//! chain in a real worker on the real broker. Granted by the transform's
//! `transforms.<alias>.wasm.network.allow`, the answers
//! replace the values and a 404 sends its record to the dead letter queue; without the grant,
//! nothing reaches the server and the record fails with the refusal.

use std::time::Duration;

use sluice_tests::{default_worker_props, unique, Broker, Reply, TestDir, TestHttpServer, Worker};

use crate::polyglot::example_plugins;
use crate::FILE_SINK;

const WAIT: Duration = Duration::from_secs(240);

/// A lookup server: `/users/1` → `Ann`, `/users/2` → `Bob`, anything else 404.
fn directory() -> TestHttpServer {
    TestHttpServer::start(|r, _| match r.path.as_str() {
        "/users/1" => Reply::status(200, "Ann"),
        "/users/2" => Reply::status(200, "Bob"),
        _ => Reply::status(404, "no such user"),
    })
}

/// A FileStreamSink whose chain runs `transform` against `url`; returns (name, file, dlq, config).
fn lookup_sink(
    dir: &TestDir,
    transform: &str,
    url: &str,
    values: &[&str],
    extra: &str,
) -> (String, std::path::PathBuf, String, String) {
    let name = unique(transform);
    let topic = name.clone();
    let broker = Broker::shared();
    broker.create_topic(&topic, 1);
    broker.produce(&topic, values);
    let file = dir.join(&format!("{name}.txt"));
    let dlq = unique("lookup-dlq");
    let config = format!(
        "name={name}\nconnector.class={FILE_SINK}\ntopics={topic}\nfile={}\n\
         transforms=lookup\ntransforms.lookup.type={transform}\ntransforms.lookup.lookup.url={url}\n\
         errors.tolerance=all\nerrors.log.enable=true\nerrors.deadletterqueue.topic.name={dlq}\n\
         errors.deadletterqueue.topic.replication.factor=1\n\
         errors.deadletterqueue.context.headers.enable=true\n{extra}",
        file.display()
    );
    (name, file, dlq, config)
}

fn lookups_answer_where_granted_and_are_refused_elsewhere(transform: &str) {
    let dir = TestDir::new(transform);
    let granted_server = directory();
    let (_, file, dlq, granted) = lookup_sink(
        &dir,
        transform,
        &granted_server.url("/users/"),
        &["1", "2", "3"],
        // A transform's sandbox keys go under its alias.
        &format!(
            "transforms.lookup.wasm.network.allow=127.0.0.1:{}\n",
            granted_server.port()
        ),
    );
    let fenced_server = directory();
    let (fenced, _, fenced_dlq, fenced_cfg) =
        lookup_sink(&dir, transform, &fenced_server.url("/users/"), &["1"], "");
    // The built-in plugins and just this example: every component on the path is compiled at
    // start, and the other examples' 12-19 MB components would only slow it down.
    let only = dir.join("example");
    std::fs::create_dir_all(&only).expect("create the example plugin dir");
    let component = format!("{transform}.wasm");
    std::fs::copy(example_plugins().join(&component), only.join(&component))
        .unwrap_or_else(|e| panic!("copy {component}: {e}"));
    let props = default_worker_props(Some(Broker::shared()), dir.path());
    let path_line = props
        .lines()
        .find(|l| l.starts_with("plugin.path="))
        .expect("default worker props set plugin.path")
        .to_string();
    let props = props.replace(&path_line, &format!("{path_line},{}", only.display()));
    let worker = Worker::start(
        &dir,
        &props,
        &[
            ("granted.properties", &granted),
            ("fenced.properties", &fenced_cfg),
        ],
    );

    worker.wait_for_lines(&file, 2, WAIT);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(sluice_tests::read_to_string(&file), "Ann\nBob\n");
    let dead = Broker::shared().consume_all(&dlq, 1, WAIT);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].value_str(), "3", "the 404's record");
    let paths: Vec<String> = granted_server
        .requests()
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert_eq!(paths, ["/users/1", "/users/2", "/users/3"]);

    // Not granted: the record fails in the plugin with the refusal, the host logs the denial,
    // and nothing reaches the server.
    let dead = Broker::shared().consume_all(&fenced_dlq, 1, WAIT);
    assert_eq!(dead.len(), 1);
    worker.wait_for_log_line("the denial of the fenced lookup", WAIT, |l| {
        l.contains(&fenced) && l.contains("network access denied")
    });
    let line = worker.wait_for_log_line("the fenced record's failure", WAIT, |l| {
        l.contains(&fenced) && l.contains("http-lookup: GET http://127.0.0.1:")
    });
    assert!(
        line.contains(&format!("{}/users/1", fenced_server.port())),
        "{line}"
    );
    assert!(
        fenced_server.requests().is_empty(),
        "nothing may reach an ungranted server"
    );
}

#[test]
fn javascript_fetch_reaches_only_granted_servers() {
    lookups_answer_where_granted_and_are_refused_elsewhere("js-http-lookup");
}

#[test]
fn python_sluice_http_reaches_only_granted_servers() {
    lookups_answer_where_granted_and_are_refused_elsewhere("python-http-lookup");
}
