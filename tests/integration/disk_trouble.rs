//! Disk trouble under a standalone worker: the directory of its offsets file becomes
//! read-only while a FileStreamSource runs. The task fails with a trace that names the file
//! and the cause, the offsets file keeps the last positions written (intact, valid JSON),
//! and after the directory is fixed a task restart resumes with every line delivered.
//!
//! Read-only for real even as root: `chattr +i` (immutable directory) when the tests run as
//! root, whom `chmod` does not stop; `chmod 555` otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use sluice_tests::{default_worker_props, unique, wait_until, Broker, TestDir, Worker};

use crate::file_source;

const WAIT: Duration = Duration::from_secs(120);

/// Makes a directory read-only for this process until dropped (also when the test panics,
/// so the test directory can be removed).
struct ReadOnly(PathBuf);

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("run id -u");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

fn run(cmd: &str, args: &[&str]) {
    let status = Command::new(cmd)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("run {cmd}: {e}"));
    assert!(status.success(), "{cmd} {args:?}: {status}");
}

impl ReadOnly {
    fn new(dir: &Path) -> ReadOnly {
        let d = dir.to_str().expect("UTF-8 path");
        if is_root() {
            run("chattr", &["+i", d]);
        } else {
            run("chmod", &["555", d]);
        }
        // The fault is real: this process cannot create a file there either.
        assert!(
            std::fs::write(dir.join("probe"), "x").is_err(),
            "{d} is still writable"
        );
        ReadOnly(dir.to_path_buf())
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        let d = self.0.to_str().unwrap_or_default();
        if is_root() {
            let _ = Command::new("chattr").args(["-i", d]).status();
        } else {
            let _ = Command::new("chmod").args(["755", d]).status();
        }
    }
}

fn append(file: &Path, from: usize, to: usize) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(file)
        .expect("open input");
    for i in from..to {
        writeln!(f, "line-{i}").expect("append");
    }
}

#[test]
fn read_only_offsets_directory_fails_the_task_keeps_the_file_and_recovers() {
    let broker = Broker::shared();
    let dir = TestDir::new("disk-trouble");
    let state = dir.join("state");
    std::fs::create_dir(&state).expect("mkdir state");
    let offsets = state.join("offsets.json");
    let input = dir.write("in.txt", "");
    append(&input, 0, 100);
    let topic = unique("disk");
    broker.create_topic(&topic, 1);
    let name = unique("disk-src");
    let props = format!(
        "{}offset.storage.file.filename={}\n",
        default_worker_props(Some(broker), dir.path()),
        offsets.display()
    );
    let worker = Worker::start(
        &dir,
        &props,
        &[("source.properties", &file_source(&name, &input, &topic))],
    );
    let mut reader = broker.reader(&topic);
    reader.read_until(100, WAIT);
    // The first 100 lines' position is on disk.
    let good = wait_until(
        "the offsets file to hold the first 100 lines' position",
        WAIT,
        || {
            let text = std::fs::read_to_string(&offsets).ok()?;
            text.contains(&format!(
                "\"position\":{}",
                std::fs::metadata(&input).ok()?.len()
            ))
            .then_some(text)
        },
        || std::fs::read_to_string(&offsets).unwrap_or_default(),
    );

    let read_only = ReadOnly::new(&state);
    append(&input, 100, 200);
    let task = worker.wait_for_task_state(&name, 0, "FAILED", WAIT);
    let trace = task["trace"].as_str().unwrap_or_default();
    for part in [
        "cannot write source offsets",
        &offsets.display().to_string(),
        "3 attempts in a row failed",
        "restart the task",
    ] {
        assert!(
            trace.contains(part),
            "missing {part:?} in the trace: {task}"
        );
    }
    assert!(
        trace.contains("Operation not permitted") || trace.contains("Permission denied"),
        "the trace does not say why: {trace}"
    );
    // The last good offsets file is intact: same bytes, valid JSON, no temp file left.
    assert_eq!(
        std::fs::read_to_string(&offsets).expect("read offsets"),
        good
    );
    serde_json::from_str::<serde_json::Value>(&good).expect("the offsets file is JSON");
    let temp_files: Vec<String> = std::fs::read_dir(&state)
        .expect("list state")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(temp_files.is_empty(), "{temp_files:?}");

    // Fixed: a task restart resumes; every line arrives, and the new position is written.
    drop(read_only);
    append(&input, 200, 300);
    let r = sluice_tests::http_request(
        worker.rest,
        "POST",
        &format!("/connectors/{name}/tasks/0/restart"),
        None,
    )
    .expect("restart");
    assert_eq!(r.status, 204, "{}", r.body);
    worker.wait_for_task_state(&name, 0, "RUNNING", WAIT);
    let all = reader.read_while(WAIT, |m| {
        let distinct: std::collections::BTreeSet<&str> = m.iter().map(|m| m.value_str()).collect();
        distinct.len() < 300
    });
    let values: Vec<&str> = all.iter().map(|m| m.value_str()).collect();
    for i in 0..300 {
        let line = format!("line-{i}");
        assert!(values.contains(&line.as_str()), "{line} is missing");
    }
    let duplicates = values.len() - 300;
    eprintln!("disk trouble: 300 lines, {duplicates} duplicates after the restart");
    let size = std::fs::metadata(&input).expect("input").len();
    wait_until(
        "the offsets file to hold the final position",
        WAIT,
        || {
            std::fs::read_to_string(&offsets)
                .ok()?
                .contains(&format!("\"position\":{size}"))
                .then_some(())
        },
        || std::fs::read_to_string(&offsets).unwrap_or_default(),
    );
}
