//! The README's quickstart, run from the exact files in `examples/quickstart/`: datagen users →
//! the embedded in-memory broker → FileStreamSink into /tmp/sluice-quickstart/users.txt.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use sluice_tests::{count_lines, plugins, read_to_string, wait_until, workspace_root, Worker};

/// The number after the first `seq` in a line, whatever the sink's rendering (`"seq":7`, `seq=7`).
fn seq_of(line: &str) -> Option<u64> {
    let rest = &line[line.find("seq")? + 3..];
    let digits: String = rest
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn property(file: &Path, key: &str) -> String {
    let text = read_to_string(file);
    text.lines()
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| panic!("{} has no {key}", file.display()))
}

#[test]
fn quickstart_examples_produce_users_file() {
    plugins();
    let root = workspace_root();
    let examples = root.join("examples/quickstart");
    let worker_file = examples.join("worker.properties");
    let datagen_file = examples.join("datagen-users.properties");
    let sink_file = examples.join("file-sink.properties");
    let out = std::path::PathBuf::from(property(&sink_file, "file"));
    let count: usize = property(&datagen_file, "count")
        .parse()
        .expect("count is a number");
    assert!(
        !read_to_string(&worker_file)
            .lines()
            .any(|l| l.trim_start().starts_with("bootstrap.servers")),
        "the quickstart must run on the embedded broker (no bootstrap.servers)"
    );
    // A previous run's offsets would make datagen resume at its end and produce nothing.
    // `cargo xtask quickstart` does the same: clear the directory, then create it (like Kafka's
    // FileStreamSink and offset store, Sluice does not create missing parent directories).
    if let Some(parent) = out.parent() {
        let _ = std::fs::remove_dir_all(parent);
        std::fs::create_dir_all(parent)
            .unwrap_or_else(|e| panic!("create {}: {e}", parent.display()));
    }
    let listener = property(&worker_file, "listeners");
    let rest: SocketAddr = listener
        .trim_start_matches("http://")
        .parse()
        .unwrap_or_else(|e| panic!("listeners={listener} in the example is not host:port: {e}"));

    let mut worker = Worker::launch(root, &[worker_file, datagen_file, sink_file], rest);
    worker.wait_rest_ready(Duration::from_secs(240));
    let log = worker.log_text().to_lowercase();
    assert!(
        log.contains("in-memory"),
        "the worker must say loudly that the embedded broker is in-memory:\n{log}"
    );

    wait_until(
        &format!("{count} users in {}", out.display()),
        Duration::from_secs(300),
        || (count_lines(&out) >= count).then_some(()),
        || format!("{} lines", count_lines(&out)),
    );
    let text = read_to_string(&out);
    let mut seqs: Vec<u64> = text
        .lines()
        .map(|l| seq_of(l).unwrap_or_else(|| panic!("a users line without seq: {l:?}")))
        .collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(
        seqs,
        (0..count as u64).collect::<Vec<_>>(),
        "every generated user reached the file"
    );
}
