//! Plugins in other languages, end to end on the real broker: the same transform
//! (mask-upper) written in Rust, JavaScript and Python, the same source (greetings) in
//! JavaScript and Python, and the JavaScript one feeding a Python and a JavaScript sink. The
//! example components are built from source by `cargo xtask examples` (which installs
//! componentize-js and componentize-py under target/ when missing).
//!
//! Two tests only, each one worker: the JS and Python components are 12-19 MB and take a
//! while to compile on 2 cores; the workers share the harness's plugin cache, so each
//! component is compiled once per test run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use sluice_tests::{
    default_worker_props, read_to_string, run_ok, unique, Broker, Metrics, TestDir, Worker,
};

use crate::{datagen, JSON_CONVERTER, STRING_CONVERTER};

/// The repository this test binary was compiled from.
fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Builds the examples once per test binary; panics with the build output on failure.
pub(crate) fn example_plugins() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let out = std::process::Command::new(&cargo)
            .args(["xtask", "examples"])
            .current_dir(repo_root())
            .output()
            .unwrap_or_else(|e| panic!("cannot run cargo xtask examples: {e}"));
        assert!(
            out.status.success(),
            "cargo xtask examples failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(|d| repo_root().join(d))
            .unwrap_or_else(|| repo_root().join("target"));
        target.join("example-plugins")
    })
}

/// Worker properties whose plugin path also holds the example components.
fn worker_props(broker: &Broker, dir: &TestDir) -> String {
    let examples = example_plugins();
    let props = default_worker_props(Some(broker), dir.path());
    let path_line = props
        .lines()
        .find(|l| l.starts_with("plugin.path="))
        .expect("default worker props set plugin.path")
        .to_string();
    props.replace(&path_line, &format!("{path_line},{}", examples.display()))
}

/// JSON values by `seq`.
fn by_seq(messages: &[sluice_tests::Message]) -> HashMap<i64, Value> {
    messages
        .iter()
        .map(|m| {
            let v: Value = serde_json::from_str(m.value_str())
                .unwrap_or_else(|e| panic!("not JSON ({e}): {}", m.value_str()));
            (v["seq"].as_i64().expect("int seq"), v)
        })
        .collect()
}

#[test]
fn the_same_transform_in_rust_javascript_and_python_gives_the_same_records() {
    const COUNT: u64 = 20;
    let broker = Broker::shared();
    let dir = TestDir::new("polyglot-transform");
    let plain = unique("users-plain");
    let mut connectors = vec![(
        "plain.properties".to_string(),
        datagen(&unique("gen-plain"), &plain, COUNT, 0),
    )];
    let langs = ["rust", "js", "python"];
    let mut topics = Vec::new();
    let mut names = Vec::new();
    for lang in langs {
        let topic = unique(&format!("users-{lang}"));
        let name = unique(&format!("gen-{lang}"));
        connectors.push((
            format!("{lang}.properties"),
            format!(
                "{}transforms=mask\n\
                 transforms.mask.type={lang}-mask-upper\n\
                 transforms.mask.mask.fields=email\n\
                 transforms.mask.upper.fields=name,region\n",
                datagen(&name, &topic, COUNT, 0)
            ),
        ));
        topics.push(topic);
        names.push(name);
    }
    let files: Vec<(&str, &str)> = connectors
        .iter()
        .map(|(f, c)| (f.as_str(), c.as_str()))
        .collect();
    let worker = Worker::start(&dir, &worker_props(broker, &dir), &files);

    let originals = by_seq(&broker.consume_all(&plain, COUNT as usize, Duration::from_secs(240)));
    assert_eq!(originals.len(), COUNT as usize);
    for (lang, topic) in langs.iter().zip(&topics) {
        let transformed =
            by_seq(&broker.consume_all(topic, COUNT as usize, Duration::from_secs(240)));
        assert_eq!(
            transformed.len(),
            COUNT as usize,
            "{lang}: one record per seq"
        );
        for (seq, original) in &originals {
            // datagen is seeded, so each connector generated the same users.
            let mut expected = original.clone();
            expected["email"] = Value::from("****");
            for f in ["name", "region"] {
                let upper = original[f].as_str().expect("string field").to_uppercase();
                expected[f] = Value::from(upper);
            }
            assert_eq!(transformed[seq], expected, "{lang} transform of seq {seq}");
        }
    }
    // Each language's transform counted the records it kept in its own metric (the metrics
    // WIT import), published with its connector and task.
    let metrics = Metrics::scrape(worker.rest);
    for (lang, name) in langs.iter().zip(&names) {
        assert_eq!(
            metrics.get(
                "kafka_connect_plugins_records_kept_total",
                &[("connector", name), ("task", "0")]
            ),
            COUNT as f64,
            "{lang}"
        );
    }
}

/// The JavaScript and Python greetings sources write the same records (keys, and values with
/// their inline schemas, byte for byte); the JavaScript one feeds a Python and a JavaScript
/// sink behind a Python transform.
#[test]
fn js_and_python_sources_write_the_same_records_that_python_and_js_sinks_read() {
    const COUNT: usize = 5;
    let broker = Broker::shared();
    let dir = TestDir::new("polyglot-source-sink");
    let topic = unique("greetings");
    let py_topic = unique("greetings-py");
    broker.create_topic(&topic, 1);
    broker.create_topic(&py_topic, 1);
    let out_file = dir.join("greetings.jsonl");
    let js_out_file = dir.join("greetings-js.jsonl");
    let source = |class: &str, topic: &str| {
        format!(
            "name={}\nconnector.class={class}\ntopic={topic}\ncount={COUNT}\nmessage=hello\n\
             key.converter={STRING_CONVERTER}\n\
             value.converter={JSON_CONVERTER}\nvalue.converter.schemas.enable=true\n",
            unique(class)
        )
    };
    let js_source = source("js-greetings-source", &topic);
    let py_source = source("python-greetings-source", &py_topic);
    // The same sink in Python and in JavaScript (packed batches, file access through
    // wasi:filesystem), each behind the Python transform.
    let sink = |class: &str, file: &Path| {
        format!(
            "name={}\nconnector.class={class}\ntopics={topic}\nfile={}\n\
             value.converter={JSON_CONVERTER}\nvalue.converter.schemas.enable=true\n\
             transforms=shout\ntransforms.shout.type=python-mask-upper\n\
             transforms.shout.upper.fields=message\n",
            unique(class),
            file.display()
        )
    };
    let py_sink = sink("python-jsonl-sink", &out_file);
    let js_sink = sink("js-jsonl-sink", &js_out_file);
    let worker = Worker::start(
        &dir,
        &worker_props(broker, &dir),
        &[
            ("source.properties", &js_source),
            ("py-source.properties", &py_source),
            ("sink.properties", &py_sink),
            ("js-sink.properties", &js_sink),
        ],
    );
    worker.wait_for_lines(&out_file, COUNT, Duration::from_secs(240));
    worker.wait_for_lines(&js_out_file, COUNT, Duration::from_secs(240));
    // Let a wrong extra record show up before comparing.
    std::thread::sleep(Duration::from_secs(2));
    let parse = |file: &Path| -> Vec<Value> {
        read_to_string(file)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    };
    let lines = parse(&out_file);
    let expected: Vec<Value> = (0..COUNT)
        .map(|i| {
            serde_json::json!({
                "topic": topic,
                "partition": 0,
                "offset": i,
                "key": format!("greeting-{i}"),
                "value": {"seq": i, "message": format!("HELLO #{i}")},
            })
        })
        .collect();
    assert_eq!(lines, expected, "python-jsonl-sink");
    assert_eq!(parse(&js_out_file), expected, "js-jsonl-sink");

    let written = |topic: &str| -> Vec<(String, String)> {
        broker
            .consume_all(topic, COUNT, Duration::from_secs(240))
            .iter()
            .map(|m| {
                let key = String::from_utf8(m.key.clone().unwrap_or_default()).expect("UTF-8 key");
                (key, m.value_str().to_string())
            })
            .collect()
    };
    let js = written(&topic);
    assert_eq!(js.len(), COUNT);
    assert_eq!(
        js[1],
        (
            "greeting-1".to_string(),
            r#"{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"seq"},{"type":"string","optional":false,"field":"message"}],"optional":false,"name":"example.Greeting"},"payload":{"seq":1,"message":"hello #1"}}"#
                .to_string()
        ),
        "js-greetings-source's second record"
    );
    assert_eq!(
        written(&py_topic),
        js,
        "python-greetings-source against js-greetings-source"
    );
}

#[test]
fn scaffolded_projects_build_and_load_in_every_language() {
    // The toolchains `cargo xtask examples` installed under target/ stand in for the
    // project's own `npm install` / `pip install` (same pinned versions), so this test needs
    // no network beyond what that step needed.
    let examples = example_plugins();
    let target = examples.parent().expect("target dir").to_path_buf();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run_ok(
        std::process::Command::new(&cargo)
            .args(["build", "-p", "sluice", "--bin", "sluice"])
            .current_dir(repo_root()),
        "building sluice",
    );
    let sluice = target.join("debug").join("sluice");
    let dir = TestDir::new("scaffold");
    for lang in ["rust", "js", "python"] {
        let name = format!("my-{lang}-plugin");
        run_ok(
            std::process::Command::new(&sluice)
                .args(["plugin", "new", "--lang", lang, "--dir"])
                .arg(dir.path())
                .arg(&name),
            "sluice plugin new",
        );
        let project = dir.join(&name);
        assert!(project.join("README.md").is_file(), "{lang}: README");
        let component = match lang {
            "rust" => {
                let wasm_target = target.join("wasm");
                run_ok(
                    std::process::Command::new(&cargo)
                        .args(["build", "--release", "--target", "wasm32-wasip2"])
                        .env("CARGO_TARGET_DIR", &wasm_target)
                        .env_remove("RUSTFLAGS")
                        .current_dir(&project),
                    "cargo build of the Rust project",
                );
                wasm_target.join("wasm32-wasip2/release/my_rust_plugin.wasm")
            }
            "js" => {
                std::os::unix::fs::symlink(
                    target.join("js-toolchain/node_modules"),
                    project.join("node_modules"),
                )
                .expect("link node_modules");
                for script in ["test", "build"] {
                    run_ok(
                        std::process::Command::new("npm")
                            .args(["run", script])
                            .current_dir(&project),
                        &format!("npm run {script}"),
                    );
                }
                project.join(format!("{name}.wasm"))
            }
            _ => {
                let venv_bin = target.join("py-toolchain/bin");
                let path = format!(
                    "{}:{}",
                    venv_bin.display(),
                    std::env::var("PATH").unwrap_or_default()
                );
                run_ok(
                    std::process::Command::new(venv_bin.join("python"))
                        .args(["-m", "unittest"])
                        .env("PYTHONPATH", "sdk")
                        .current_dir(&project),
                    "python unit tests",
                );
                run_ok(
                    std::process::Command::new("sh")
                        .arg("build.sh")
                        .env("PATH", path)
                        .current_dir(&project),
                    "build.sh",
                );
                project.join(format!("{name}.wasm"))
            }
        };
        let out = std::process::Command::new(&sluice)
            .args(["plugins", "inspect"])
            .arg(&component)
            .output()
            .expect("sluice plugins inspect");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{lang}: inspect failed: {text}");
        assert!(
            text.contains("kind:         transformation") && text.contains(&name),
            "{lang}: {text}"
        );
    }
}
