//! PostgreSQL change data capture (`io.debezium.connector.postgresql.PostgresConnector`, the
//! postgres-cdc plugin) with a real worker, a real broker and the machine's PostgreSQL
//! (wal_level=logical: `cargo xtask test` prepares it):
//! - the JsonConverter output for the fixture table equals what Debezium 3.0.7 wrote
//!   (tests/fixtures/debezium/, captured by tools/capture-debezium-fixtures/capture.sh), except
//!   for the fields documented in docs/connectors/postgres-cdc.md;
//! - a SIGKILL mid-stream loses nothing: after a restart every change is there, in commit order
//!   per key;
//! - bad input (unreachable server, wrong password, no REPLICATION attribute, no matching
//!   table) fails the task with a clear trace and the worker keeps running.
//!
//! Every test uses its own table, slot and publication, and drops them at the end.

use std::time::Duration;

use serde_json::{json, Value};
use sluice_tests::{
    default_worker_props, psql, try_psql, unique, Broker, Message, TestDir, Worker,
};

const CDC: &str = "io.debezium.connector.postgresql.PostgresConnector";
const WAIT: Duration = Duration::from_secs(180);

/// A table, slot, publication and topic prefix of this test alone; dropped on drop.
struct Capture {
    table: String,
    slot: String,
    publication: String,
    prefix: String,
}

impl Capture {
    fn new(tag: &str) -> Capture {
        let base = unique(tag).replace('-', "_");
        Capture {
            table: format!("{base}_t"),
            slot: format!("{base}_slot"),
            publication: format!("{base}_pub"),
            prefix: format!("{base}_srv"),
        }
    }

    fn topic(&self) -> String {
        format!("{}.public.{}", self.prefix, self.table)
    }

    /// The connector config (JSON file), with `extra` keys added.
    fn connector(&self, name: &str, extra: &[(&str, &str)]) -> String {
        let mut c = json!({
            "name": name,
            "config": {
                "connector.class": CDC,
                "tasks.max": "1",
                "database.hostname": "127.0.0.1",
                "database.port": "5432",
                "database.user": "postgres",
                "database.password": "",
                "database.dbname": "test",
                "topic.prefix": self.prefix,
                "slot.name": self.slot,
                "publication.name": self.publication,
                "publication.autocreate.mode": "filtered",
                "table.include.list": format!("public.{}", self.table),
                "wasm.network.allow": "127.0.0.1:5432",
            }
        });
        for (k, v) in extra {
            c["config"][*k] = json!(v);
        }
        c.to_string()
    }

    /// Runs a fixture SQL file with `{table}` replaced.
    fn run_fixture_sql(&self, file: &str) {
        let path = sluice_tests::workspace_root()
            .join("tests/fixtures/debezium")
            .join(file);
        let sql =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let sql: String = sql
            .lines()
            .filter(|l| !l.starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n")
            .replace("{table}", &self.table);
        // One statement per psql call: each change is its own transaction, as in the capture.
        for stmt in sql.split(";\n").map(str::trim).filter(|s| !s.is_empty()) {
            psql(stmt.trim_end_matches(';'));
        }
    }
}

impl Drop for Capture {
    /// Drops slot, publication and table, also when the test failed (so never panics: a
    /// leaked slot would hold WAL on the server for good).
    fn drop(&mut self) {
        let quiet = |sql: &str| try_psql(&["-c", sql]).unwrap_or_default();
        // The worker is gone by now (tests drop it first); its walsender lets go of the slot
        // within moments.
        for _ in 0..50 {
            let active = quiet(&format!(
                "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{}' AND active",
                self.slot
            ));
            if active == "0" {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        quiet(&format!(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '{}'",
            self.slot
        ));
        quiet(&format!("DROP PUBLICATION IF EXISTS {}", self.publication));
        quiet(&format!("DROP TABLE IF EXISTS {}", self.table));
    }
}

/// Worker properties with JsonConverter (schemas on) for keys and values, as the fixtures.
fn json_props(broker: &Broker, dir: &TestDir) -> String {
    format!(
        "{}key.converter=org.apache.kafka.connect.json.JsonConverter\nkey.converter.schemas.enable=true\n\
         value.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter.schemas.enable=true\n",
        default_worker_props(Some(broker), dir.path())
    )
}

fn parse(bytes: Option<&[u8]>) -> Value {
    match bytes {
        None => Value::Null,
        Some(b) => serde_json::from_slice(b)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(b))),
    }
}

/// Replaces `from` by `to` in every string of `v`.
fn rename(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::String(s) => *s = s.replace(from, to),
        Value::Array(a) => a.iter_mut().for_each(|x| rename(x, from, to)),
        Value::Object(o) => o.values_mut().for_each(|x| rename(x, from, to)),
        _ => {}
    }
}

/// Drops the fields that differ by nature (docs/connectors/postgres-cdc.md, "Differences").
fn strip_run_specific(value: &mut Value) {
    let Some(payload) = value.get_mut("payload").and_then(Value::as_object_mut) else {
        return;
    };
    for k in ["ts_ms", "ts_us", "ts_ns"] {
        payload.remove(k);
    }
    if let Some(source) = payload.get_mut("source").and_then(Value::as_object_mut) {
        for k in [
            "ts_ms", "ts_us", "ts_ns", "lsn", "txId", "xmin", "sequence", "version", "name",
        ] {
            source.remove(k);
        }
    }
}

#[test]
fn json_output_matches_debezium_for_snapshot_and_streamed_changes() {
    let fixture = sluice_tests::workspace_root().join("tests/fixtures/debezium/postgres-cdc.jsonl");
    let expected: Vec<Value> = std::fs::read_to_string(&fixture)
        .unwrap_or_else(|e| panic!("{}: {e}", fixture.display()))
        .lines()
        .skip(1) // the {"comment": …} line
        .map(|l| serde_json::from_str(l).expect("fixture line is JSON"))
        .collect();
    let broker = Broker::shared();
    let dir = TestDir::new("cdc-diff");
    let cap = Capture::new("cdcdiff");
    cap.run_fixture_sql("postgres-cdc-setup.sql");
    let name = unique("cdc");
    broker.create_topic(&cap.topic(), 1);
    let worker = Worker::start(
        &dir,
        &json_props(broker, &dir),
        &[("cdc.json", &cap.connector(&name, &[]))],
    );
    worker.wait_for_state(&name, "RUNNING", WAIT);
    let mut reader = broker.reader(&cap.topic());
    reader.read_until(3, WAIT);
    cap.run_fixture_sql("postgres-cdc-changes.sql");
    let got: Vec<Message> = reader.read_until(expected.len(), WAIT).to_vec();
    drop(worker);
    assert_eq!(got.len(), expected.len(), "records: {got:?}");
    for (i, (m, want)) in got.iter().zip(&expected).enumerate() {
        let mut key = parse(m.key.as_deref());
        let mut value = parse(m.value.as_deref());
        for v in [&mut key, &mut value] {
            rename(
                v,
                &format!("{}.public.{}", cap.prefix, cap.table),
                "fixture.public.cdc_fixture",
            );
            rename(v, &cap.table, "cdc_fixture");
            strip_run_specific(v);
        }
        let mut want_key = want["key"].clone();
        let mut want_value = want["value"].clone();
        strip_run_specific(&mut want_key);
        strip_run_specific(&mut want_value);
        assert_eq!(key, want_key, "key of record {i}");
        assert_eq!(
            value, want_value,
            "value of record {i}:\n sluice:   {}\n debezium: {}",
            value, want_value
        );
    }
}

/// `(id, v)` of a change event's `after` (None for deletes and tombstones).
fn after_id_v(m: &Message) -> Option<(i64, i64)> {
    let v = parse(m.value.as_deref());
    let after = &v["payload"]["after"];
    Some((after["id"].as_i64()?, after["v"].as_i64()?))
}

#[test]
fn sigkill_mid_stream_then_restart_loses_no_change() {
    const KEYS: i64 = 20;
    const ROUNDS: i64 = 150; // updates per key and batch
    let broker = Broker::shared();
    let dir = TestDir::new("cdc-crash");
    let cap = Capture::new("cdccrash");
    psql(&format!(
        "CREATE TABLE {} (id int PRIMARY KEY, v int NOT NULL)",
        cap.table
    ));
    psql(&format!(
        "INSERT INTO {} SELECT g, 0 FROM generate_series(1, {KEYS}) g",
        cap.table
    ));
    let name = unique("cdc");
    let connector = cap.connector(&name, &[]);
    let props = json_props(broker, &dir);
    // One transaction per update, `ROUNDS` per key: v counts 1, 2, 3, … per id.
    let updates = |from: i64| {
        format!(
            "DO $$ BEGIN FOR r IN {from}..{} LOOP FOR k IN 1..{KEYS} LOOP \
             UPDATE {} SET v = r WHERE id = k; COMMIT; END LOOP; END LOOP; END $$",
            from + ROUNDS - 1,
            cap.table
        )
    };
    broker.create_topic(&cap.topic(), 1);
    let mut worker = Worker::start(&dir, &props, &[("cdc.json", &connector)]);
    worker.wait_for_state(&name, "RUNNING", WAIT);
    let mut reader = broker.reader(&cap.topic());
    reader.read_until(KEYS as usize, WAIT); // the snapshot
    let writer = std::thread::spawn({
        let sql = updates(1);
        move || psql(&sql)
    });
    reader.read_until(KEYS as usize + 200, WAIT);
    // Kill once a streaming offset is committed (so the restart resumes the stream rather than
    // repeating the snapshot), while the updates are still being streamed.
    let offsets = dir.join("offsets.json");
    sluice_tests::wait_until(
        "a committed streaming offset",
        WAIT,
        || {
            std::fs::read_to_string(&offsets)
                .ok()
                .filter(|t| t.contains("lsn_proc"))
        },
        || format!("{:?}", std::fs::read_to_string(&offsets)),
    );
    worker.sigkill();
    let before_kill = reader.messages.len();
    drop(worker);
    writer.join().expect("writer");
    // More changes while the worker is down.
    psql(&updates(ROUNDS + 1));
    let total_rounds = 2 * ROUNDS;
    assert!(
        (before_kill as i64) < KEYS * (total_rounds + 1),
        "precondition: the kill must land mid-stream ({before_kill} records read)"
    );

    let restarted = Worker::start(&dir, &props, &[("cdc.json", &connector)]);
    restarted.wait_for_state(&name, "RUNNING", WAIT);
    let done = |msgs: &[Message]| {
        let mut last = vec![-1i64; KEYS as usize + 1];
        for (id, v) in msgs.iter().filter_map(after_id_v) {
            last[id as usize] = last[id as usize].max(v);
        }
        last[1..].iter().all(|&v| v == total_rounds)
    };
    let all = reader.read_while(WAIT, |msgs| !done(msgs)).to_vec();
    drop(restarted);
    // Every change present, and per key the first occurrence of each value in commit order.
    let mut seen: Vec<Vec<i64>> = vec![Vec::new(); KEYS as usize + 1];
    for (id, v) in all.iter().filter_map(after_id_v) {
        let s = &mut seen[id as usize];
        if !s.contains(&v) {
            s.push(v);
        }
    }
    for (id, values) in seen.iter().enumerate().skip(1) {
        let want: Vec<i64> = (0..=total_rounds).collect();
        assert_eq!(values, &want, "key {id}: values in first-arrival order");
    }
    eprintln!(
        "cdc crash recovery: killed after {before_kill} records; {} records in total for {} changes (at-least-once)",
        all.len(),
        KEYS * (total_rounds + 1)
    );
}

/// Starts a connector that must fail; returns its task trace. The worker keeps running.
fn failed_trace(tag: &str, cap: &Capture, extra: &[(&str, &str)]) -> String {
    let broker = Broker::shared();
    let dir = TestDir::new(tag);
    let name = unique("cdc");
    let worker = Worker::start(
        &dir,
        &json_props(broker, &dir),
        &[("cdc.json", &cap.connector(&name, extra))],
    );
    let task = worker.wait_for_task_state(&name, 0, "FAILED", WAIT);
    let trace = task["trace"].as_str().unwrap_or_default().to_string();
    assert_eq!(
        worker.get("/").status,
        200,
        "the worker keeps serving after the failure"
    );
    assert!(
        !trace.contains("secret-pw"),
        "the password leaked into the trace: {trace}"
    );
    trace
}

#[test]
fn bad_input_fails_the_task_with_a_clear_trace() {
    let cap = Capture::new("cdcbad");
    psql(&format!("CREATE TABLE {} (id int PRIMARY KEY)", cap.table));

    let trace = failed_trace(
        "cdc-unreachable",
        &cap,
        &[
            ("database.port", "1"),
            ("wasm.network.allow", "127.0.0.1:1"),
        ],
    );
    assert!(
        trace.contains("cannot connect to PostgreSQL at 127.0.0.1:1"),
        "{trace}"
    );

    // A password login (the role is a member of sluice_password_auth, which pg_hba.conf asks
    // for a password: `cargo xtask test` prepares it) with the wrong password.
    let role = format!("{}_role", cap.slot);
    psql(&format!(
        "CREATE ROLE {role} LOGIN REPLICATION PASSWORD 'right-pw' IN ROLE sluice_password_auth"
    ));
    let trace = failed_trace(
        "cdc-password",
        &cap,
        &[("database.user", &role), ("database.password", "secret-pw")],
    );
    assert!(
        trace.contains("28P01") || trace.contains("password authentication failed"),
        "{trace}"
    );

    // No REPLICATION attribute: the replication connection is refused (the publication
    // exists, created by an administrator).
    psql(&format!(
        "ALTER ROLE {role} NOREPLICATION PASSWORD 'secret-pw'"
    ));
    psql(&format!("GRANT SELECT ON {} TO {role}", cap.table));
    psql(&format!(
        "CREATE PUBLICATION {} FOR TABLE {}",
        cap.publication, cap.table
    ));
    let trace = failed_trace(
        "cdc-noreplication",
        &cap,
        &[
            ("database.user", &role),
            ("database.password", "secret-pw"),
            ("publication.autocreate.mode", "disabled"),
        ],
    );
    assert!(
        trace.contains("cannot open a replication connection"),
        "{trace}"
    );
    assert!(trace.contains("replication role"), "{trace}");
    psql(&format!("DROP PUBLICATION {}", cap.publication));

    // No table matches the include list: nothing to publish.
    let trace = failed_trace(
        "cdc-notable",
        &cap,
        &[("table.include.list", "public.no_such_table_here")],
    );
    assert!(
        trace.contains("no table of database \"test\" matches table.include.list"),
        "{trace}"
    );
    psql(&format!("DROP OWNED BY {role}; DROP ROLE {role}"));
}
