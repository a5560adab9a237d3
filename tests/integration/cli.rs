//! The `sluice connectors|plugins` REST client, run as a user runs it (the real binary) against
//! a real worker with the real plugins and a real broker: every command's table and `-o json`
//! output, and the exit codes scripts rely on (0 ok, 1 API error, 2 usage, 3 cannot connect).

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use sluice_tests::{default_worker_props, sluice_bin, unique, Broker, TestDir, Worker};

use crate::{file_source, FILE_SOURCE};

const WAIT: Duration = Duration::from_secs(120);

/// What one `sluice …` run printed and returned.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {:?}", self.stdout))
    }
}

/// Runs `sluice ARGS…` in `cwd` with `SLUICE_URL` unset (unless `env` sets it).
fn sluice(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(sluice_bin());
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("SLUICE_URL")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = cmd
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", sluice_bin().display()));
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// `sluice connectors --url URL ARGS…`, expecting exit code `code`.
fn connectors(dir: &TestDir, url: &str, args: &[&str], code: i32) -> Run {
    let mut all = vec!["connectors", "--url", url];
    all.extend_from_slice(args);
    let run = sluice(dir.path(), &all, &[]);
    assert_eq!(
        run.code, code,
        "sluice {all:?}: exit {} (expected {code})\nstdout: {}\nstderr: {}",
        run.code, run.stdout, run.stderr
    );
    run
}

#[test]
fn cli_manages_a_connectors_lifecycle() {
    let broker = Broker::shared();
    let dir = TestDir::new("cli");
    let topic = unique("cli");
    broker.create_topic(&topic, 1);
    let input = dir.write("in.txt", "one\ntwo\nthree\n");
    let worker = Worker::start(&dir, &default_worker_props(Some(broker), dir.path()), &[]);
    let url = format!("http://{}", worker.rest);
    let name = unique("cli-src");
    dir.write("src.properties", file_source(&name, &input, &topic));

    // create -f FILE.properties
    let run = connectors(&dir, &url, &["create", "-f", "src.properties"], 0);
    assert_eq!(
        run.stdout,
        format!("Created connector {name} (source, 1 task).\n")
    );
    let status = worker.wait_for_state(&name, "RUNNING", WAIT);
    let worker_id = status["connector"]["worker_id"]
        .as_str()
        .expect("worker_id")
        .to_string();

    // a second create: Kafka's 409 message on stderr, exit 1
    let run = connectors(&dir, &url, &["create", "-f", "src.properties"], 1);
    assert_eq!(
        run.stderr,
        format!("sluice: Connector {name} already exists (HTTP 409)\n")
    );
    assert_eq!(run.stdout, "");

    // list: a table, and with -o json the API's expanded document
    let run = connectors(&dir, &url, &["list"], 0);
    let pad = " ".repeat(name.len().saturating_sub(4));
    assert_eq!(
        run.stdout,
        format!(
            "NAME{pad}  TYPE    STATE    TASKS      CLASS\n\
             {name}  source  RUNNING  1 RUNNING  {FILE_SOURCE}\n"
        )
    );
    let run = connectors(&dir, &url, &["list", "-o", "json"], 0);
    assert_eq!(
        run.json(),
        worker.get("/connectors?expand=status&expand=info").json()
    );

    // status and get
    let run = connectors(&dir, &url, &["status", &name], 0);
    let w = worker_id.len();
    assert_eq!(
        run.stdout,
        format!(
            "Connector {name} (source)\n\
             INSTANCE   STATE    {:<w$}  TRACE\n\
             connector  RUNNING  {worker_id}\n\
             task 0     RUNNING  {worker_id}\n",
            "WORKER"
        )
    );
    let run = connectors(&dir, &url, &["-o", "json", "status", &name], 0);
    assert_eq!(
        run.json(),
        worker.get(&format!("/connectors/{name}/status")).json()
    );
    let run = connectors(&dir, &url, &["get", &name], 0);
    let file = input.display().to_string();
    let rows = [
        ("name", name.as_str()),
        ("connector.class", FILE_SOURCE),
        ("tasks.max", "1"),
        ("file", file.as_str()),
        ("topic", topic.as_str()),
    ];
    let kw = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut expected = format!(
        "Name:   {name}\nType:   source\nTasks:  0\n\n{:<kw$}  VALUE\n",
        "KEY"
    );
    for (k, v) in rows {
        expected.push_str(&format!("{k:<kw$}  {v}\n"));
    }
    assert_eq!(run.stdout, expected);

    // pause / resume (asynchronous: the CLI says so, the status shows it)
    let run = connectors(&dir, &url, &["pause", &name], 0);
    assert_eq!(
        run.stdout,
        format!("Pause of connector {name} requested (asynchronous; see `sluice connectors status {name}`).\n")
    );
    worker.wait_for_state(&name, "PAUSED", WAIT);
    let run = connectors(&dir, &url, &["resume", &name], 0);
    assert!(
        run.stdout
            .starts_with(&format!("Resume of connector {name} requested")),
        "{}",
        run.stdout
    );
    worker.wait_for_state(&name, "RUNNING", WAIT);

    // restart: the connector only (204), with tasks (202 + snapshot), one task (204)
    let run = connectors(&dir, &url, &["restart", &name], 0);
    assert_eq!(run.stdout, format!("Restarted connector {name}.\n"));
    worker.wait_for_state(&name, "RUNNING", WAIT);
    let run = connectors(&dir, &url, &["restart", &name, "--include-tasks"], 0);
    assert_eq!(
        run.stdout,
        format!(
            "Restart of connector {name} requested:\n\
             Connector {name} (source)\n\
             INSTANCE   STATE       {:<w$}  TRACE\n\
             connector  RESTARTING  {worker_id}\n\
             task 0     RESTARTING  {worker_id}\n",
            "WORKER"
        )
    );
    worker.wait_for_state(&name, "RUNNING", WAIT);
    let run = connectors(
        &dir,
        &url,
        &[
            "restart",
            &name,
            "--include-tasks",
            "--only-failed",
            "-o",
            "json",
        ],
        0,
    );
    // Nothing had failed, so nothing restarts: the snapshot shows RUNNING.
    assert_eq!(run.json()["tasks"][0]["state"], "RUNNING", "{}", run.stdout);
    let run = connectors(&dir, &url, &["restart", &name, "--task", "0"], 0);
    assert_eq!(
        run.stdout,
        format!("Restarted task 0 of connector {name}.\n")
    );
    worker.wait_for_state(&name, "RUNNING", WAIT);

    // offsets: the file's byte position once all three lines were read and flushed
    let expected_offsets =
        json!({"offsets": [{"partition": {"filename": file}, "offset": {"position": 14}}]});
    sluice_tests::wait_until(
        "the committed offset to reach the end of the input",
        WAIT,
        || {
            let run = connectors(&dir, &url, &["offsets", &name, "-o", "json"], 0);
            (run.json() == expected_offsets).then_some(())
        },
        || connectors(&dir, &url, &["offsets", &name, "-o", "json"], 0).stdout,
    );
    let run = connectors(&dir, &url, &["offsets", &name], 0);
    let pw = format!("{{\"filename\":\"{file}\"}}").len();
    assert_eq!(
        run.stdout,
        format!(
            "{:<pw$}  OFFSET\n{{\"filename\":\"{file}\"}}  {{\"position\":14}}\n",
            "PARTITION"
        )
    );

    // update -f FILE.json (flat form): 200 → "Updated"
    dir.write(
        "update.json",
        json!({"name": name, "connector.class": FILE_SOURCE, "tasks.max": 1, "file": file,
               "topic": topic, "batch.size": 100})
        .to_string(),
    );
    let run = connectors(&dir, &url, &["update", &name, "-f", "update.json"], 0);
    assert_eq!(
        run.stdout,
        format!("Updated connector {name} (source, 1 task).\n")
    );
    let config = worker.get(&format!("/connectors/{name}/config")).json();
    assert_eq!(config["batch.size"], "100");
    // a name in the file that is not the one on the command line: Kafka's 400
    let run = connectors(&dir, &url, &["update", "other", "-f", "update.json"], 1);
    assert_eq!(
        run.stderr,
        format!("sluice: Connector name configuration ({name}) doesn't match connector name in the URL (other) (HTTP 400)\n")
    );

    // stop: STOPPED, no tasks
    let run = connectors(&dir, &url, &["stop", &name], 0);
    assert_eq!(run.stdout, format!("Stopped connector {name}.\n"));
    let run = connectors(&dir, &url, &["list"], 0);
    assert!(
        run.stdout
            .contains(&format!("{name}  source  STOPPED  -      {FILE_SOURCE}\n")),
        "{}",
        run.stdout
    );

    // delete, then every command on it is the API's 404 with exit 1
    let run = connectors(&dir, &url, &["delete", &name], 0);
    assert_eq!(run.stdout, format!("Deleted connector {name}.\n"));
    let run = connectors(&dir, &url, &["get", &name], 1);
    assert_eq!(
        run.stderr,
        format!("sluice: Connector {name} not found (HTTP 404)\n")
    );
    let run = connectors(&dir, &url, &["status", &name], 1);
    assert_eq!(
        run.stderr,
        format!("sluice: No status found for connector {name} (HTTP 404)\n")
    );
    // -o json: the API's error object on stdout too, for scripts
    let run = connectors(&dir, &url, &["get", &name, "-o", "json"], 1);
    assert_eq!(
        run.json(),
        json!({"error_code": 404, "message": format!("Connector {name} not found")})
    );
    let run = connectors(&dir, &url, &["list"], 0);
    assert_eq!(run.stdout, "No connectors.\n");
}

#[test]
fn cli_creates_from_json_with_initial_state_and_validates_with_plugins() {
    let broker = Broker::shared();
    let dir = TestDir::new("cli-json");
    let topic = unique("cli-json");
    broker.create_topic(&topic, 1);
    let input = dir.write("in.txt", "a\n");
    let worker = Worker::start(&dir, &default_worker_props(Some(broker), dir.path()), &[]);
    // The URL from the environment, as scripts set it once.
    let env_url = format!("http://{}", worker.rest);
    let env = [("SLUICE_URL", env_url.as_str())];
    let name = unique("cli-json-src");
    let config = json!({"connector.class": "FileStreamSource", "tasks.max": "1",
                        "file": input.display().to_string(), "topic": topic});
    dir.write(
        "c.json",
        json!({"name": name, "config": config, "initial_state": "STOPPED"}).to_string(),
    );
    let run = sluice(
        dir.path(),
        &["connectors", "create", "-f", "c.json", "-o", "json"],
        &env,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut stored = config.clone();
    stored["name"] = json!(name);
    // Kafka's ConnectorInfo; a connector created STOPPED has no tasks.
    assert_eq!(
        run.json(),
        json!({"name": name, "config": stored, "tasks": [], "type": "source"})
    );
    let status = worker.status(&name).expect("created");
    assert_eq!(status["connector"]["state"], "STOPPED");

    // plugins list: Sluice's FileStreamSource is listed under Kafka's class name
    let run = sluice(dir.path(), &["plugins", "list"], &env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let header = run.stdout.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("CLASS") && header.contains("TYPE"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with(FILE_SOURCE) && l.contains(" source ")),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("transformation"), "{}", run.stdout);
    let run = sluice(
        dir.path(),
        &["plugins", "list", "--all", "-o", "json"],
        &env,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.json(),
        worker.get("/connector-plugins?connectorsOnly=false").json()
    );
    assert!(
        run.json()
            .as_array()
            .expect("a list")
            .iter()
            .any(|p| p["type"] == "transformation"),
        "{}",
        run.stdout
    );

    // validate: a valid file exits 0, an invalid one prints every error and exits 1
    let run = sluice(dir.path(), &["plugins", "validate", "-f", "c.json"], &env);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .starts_with("The config for FileStreamSource is valid ("),
        "{}",
        run.stdout
    );
    dir.write("bad.properties", "name=bad\ntasks.max=abc\nfile=/x\n");
    let run = sluice(
        dir.path(),
        &[
            "plugins",
            "validate",
            "FileStreamSource",
            "-f",
            "bad.properties",
        ],
        &env,
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        // Kafka's three: tasks.max's parse error and its validator's error about the
        // (unparsed, so null: an empty VALUE) value, and the missing topic.
        lines[0],
        "The config for FileStreamSource has 3 error(s):",
        "{}",
        run.stdout
    );
    assert!(
        lines.iter().any(|l| l.starts_with("tasks.max  ")
            && l.ends_with(
                "Invalid value abc for configuration tasks.max: Not a number of type INT"
            )),
        "{}",
        run.stdout
    );
    assert!(
        lines.iter().any(|l| l.starts_with("tasks.max  ")
            && l.ends_with(
                "Invalid value null for configuration tasks.max: Value must be non-null"
            )),
        "{}",
        run.stdout
    );
    assert!(
        lines.iter().any(|l| l.starts_with("topic ")),
        "{}",
        run.stdout
    );
    assert_eq!(run.stderr, "sluice: the config has 3 error(s)\n");
    // a class that does not match the file's: Kafka's 400
    let run = sluice(
        dir.path(),
        &["plugins", "validate", "FileStreamSink", "-f", "c.json"],
        &env,
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "sluice: Included connector type FileStreamSource does not match request type FileStreamSink (HTTP 400)\n"
    );
}

#[test]
fn cli_exit_codes_for_usage_errors_and_an_unreachable_worker() {
    let dir = TestDir::new("cli-usage");
    // No worker listens on a port that was free a moment ago: exit 3, naming the URL.
    let url = format!("http://127.0.0.1:{}", sluice_tests::free_port());
    let run = sluice(dir.path(), &["connectors", "--url", &url, "list"], &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with(&format!("sluice: cannot talk to the worker at {url}: ")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("is it running?"), "{}", run.stderr);
    let run = sluice(dir.path(), &["plugins", "list"], &[("SLUICE_URL", &url)]);
    assert_eq!(run.code, 3, "{}", run.stderr);

    // Usage errors: exit 2 before any request is made (the URL is unreachable anyway).
    for (args, message) in [
        (
            vec![
                "connectors",
                "--url",
                &url,
                "create",
                "-f",
                "missing.properties",
            ],
            "missing.properties",
        ),
        (
            vec![
                "connectors",
                "--url",
                &url,
                "restart",
                "c",
                "--task",
                "1",
                "--only-failed",
            ],
            "cannot be used with",
        ),
        (
            vec!["connectors", "--url", &url, "bogus"],
            "unrecognized subcommand 'bogus'",
        ),
        (
            vec!["connectors", "--url", "ftp://x:1", "list"],
            "expected http:// or https://",
        ),
        (
            vec![
                "plugins",
                "validate",
                "--url",
                &url,
                "-f",
                "nameless.properties",
            ],
            "no connector class",
        ),
    ] {
        dir.write("nameless.properties", "tasks.max=1\n");
        let run = sluice(dir.path(), &args, &[]);
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(message), "{args:?}: {}", run.stderr);
    }
    dir.write("noname.properties", "connector.class=FileStreamSource\n");
    let run = sluice(
        dir.path(),
        &[
            "connectors",
            "--url",
            &url,
            "create",
            "-f",
            "noname.properties",
        ],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "sluice: noname.properties names no connector: add name=… (.properties) or \"name\" (.json)\n"
    );
}
