//! The capture task natively (no WASM, no Kafka) against the machine's PostgreSQL
//! (127.0.0.1:5432, trust auth, database `test`, wal_level=logical — `cargo xtask test`
//! prepares it): snapshot, streaming, the slot advancing only on `commit`, and resuming after
//! a restart without re-delivering what was committed. The end-to-end tests with a worker and
//! a broker are in tests/integration/postgres_cdc.rs.

use postgres_cdc::PostgresCdc;
use sluice_plugin_sdk::{Config, OffsetMap, Source, SourcePosition, SourceRecord, Value};
use sql_wire::pg::PgConnection;
use sql_wire::ConnectParams;

fn admin() -> PgConnection {
    PgConnection::connect(&ConnectParams::new("127.0.0.1", 5432, "test", "postgres"))
    .expect("PostgreSQL must run on 127.0.0.1:5432 (database test, trust auth): cargo xtask test prepares it")
}

fn sql(conn: &mut PgConnection, s: &str) -> Vec<Vec<Option<String>>> {
    conn.simple_query(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .pop()
        .map(|r| r.rows)
        .unwrap_or_default()
}

struct Names {
    table: String,
    slot: String,
    publication: String,
}

impl Names {
    fn new(tag: &str) -> Names {
        let n = format!("{tag}_{}", std::process::id());
        Names {
            table: format!("cdc_live_{n}"),
            slot: format!("cdc_live_{n}"),
            publication: format!("cdc_live_{n}"),
        }
    }
}

impl Drop for Names {
    fn drop(&mut self) {
        let mut c = admin();
        let _ = c.simple_query(&format!(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '{}' AND NOT active",
            self.slot
        ));
        let _ = c.simple_query(&format!("DROP PUBLICATION IF EXISTS {}", self.publication));
        let _ = c.simple_query(&format!("DROP TABLE IF EXISTS {}", self.table));
    }
}

fn config(n: &Names) -> Config {
    let pairs = [
        ("database.hostname", "127.0.0.1"),
        ("database.user", "postgres"),
        ("database.dbname", "test"),
        ("topic.prefix", "live"),
        ("slot.name", n.slot.as_str()),
        ("publication.name", n.publication.as_str()),
        ("publication.autocreate.mode", "filtered"),
        ("table.include.list", &format!("public\\.{}", n.table)),
        ("status.update.interval.ms", "1"),
    ];
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, *v)).collect();
    Config::from_pairs(&pairs, &PostgresCdc::spec().config)
}

fn poll_until(task: &mut PostgresCdc, n: usize) -> Vec<SourceRecord> {
    let mut out = Vec::new();
    for _ in 0..400 {
        out.extend(task.poll(100).expect("poll"));
        if out.len() >= n {
            return out;
        }
    }
    panic!("expected {n} records, got {}: {out:?}", out.len());
}

fn op(r: &SourceRecord) -> String {
    match &r.record.value {
        Value::Struct(s) => s
            .get("op")
            .and_then(|v| v.as_str())
            .unwrap_or("?")
            .to_string(),
        Value::Null => "tombstone".into(),
        _ => "?".into(),
    }
}

fn id(r: &SourceRecord) -> Value {
    match &r.record.key {
        Value::Struct(k) => k.get("id").cloned().unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

fn confirmed_flush(conn: &mut PgConnection, slot: &str) -> u64 {
    let rows = sql(
        conn,
        &format!("SELECT confirmed_flush_lsn - '0/0' FROM pg_replication_slots WHERE slot_name = '{slot}'"),
    );
    rows[0][0].as_deref().unwrap().parse().unwrap()
}

#[test]
fn snapshot_stream_commit_and_resume() {
    let n = Names::new("a");
    let mut db = admin();
    sql(
        &mut db,
        &format!(
            "CREATE TABLE {} (id int PRIMARY KEY, v text, big bigint NOT NULL)",
            n.table
        ),
    );
    sql(
        &mut db,
        &format!(
            "INSERT INTO {} VALUES (1, 'one', 10), (2, NULL, 20)",
            n.table
        ),
    );

    let mut task = PostgresCdc::open(config(&n), Vec::new()).expect("open");
    let snap = poll_until(&mut task, 2);
    assert_eq!(snap.iter().map(op).collect::<Vec<_>>(), ["r", "r"]);
    assert_eq!(snap[0].record.topic, format!("live.public.{}", n.table));
    assert_eq!(
        snap[1].source_offset.get("snapshot_completed").cloned(),
        Some(true.into())
    );

    sql(
        &mut db,
        &format!("INSERT INTO {} VALUES (3, 'three', 30)", n.table),
    );
    sql(
        &mut db,
        &format!("UPDATE {} SET v = 'uno' WHERE id = 1", n.table),
    );
    sql(&mut db, &format!("DELETE FROM {} WHERE id = 2", n.table));
    let changes = poll_until(&mut task, 4);
    assert_eq!(
        changes.iter().map(op).collect::<Vec<_>>(),
        ["c", "u", "d", "tombstone"]
    );
    assert_eq!(
        changes.iter().map(id).collect::<Vec<_>>(),
        [
            Value::Int32(3),
            Value::Int32(1),
            Value::Int32(2),
            Value::Int32(2)
        ]
    );

    // Nothing committed yet: the slot has not moved past its creation point.
    let before = confirmed_flush(&mut db, &n.slot);
    // Commit up to the insert (first change): the slot confirms its transaction's commit LSN.
    let insert_offset = changes[0].source_offset.clone();
    task.commit(vec![SourcePosition {
        partition: changes[0].source_partition.clone(),
        offset: insert_offset.clone(),
    }]);
    // The server applies a standby status update asynchronously, after the task has sent it:
    // keep polling (each poll may send another update) until the slot shows it, within a bound.
    let commit_lsn = insert_offset.get_i64("lsn_commit").unwrap() as u64;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut after = before;
    while std::time::Instant::now() < deadline {
        let _ = task.poll(10).unwrap();
        after = confirmed_flush(&mut db, &n.slot);
        if after >= commit_lsn && after > before {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        after >= commit_lsn && after > before,
        "confirmed_flush {after} (was {before}), commit lsn {commit_lsn}"
    );
    task.stop();
    drop(task);

    // Restart from the committed insert: the update, delete and tombstone come again, the
    // insert does not.
    let committed = vec![SourcePosition {
        partition: changes[0].source_partition.clone(),
        offset: insert_offset,
    }];
    let mut task = PostgresCdc::open(config(&n), committed).expect("reopen");
    let again = poll_until(&mut task, 3);
    assert_eq!(
        again.iter().map(op).collect::<Vec<_>>(),
        ["u", "d", "tombstone"]
    );
    task.stop();
}

#[test]
fn clear_errors_for_a_missing_publication_and_an_unreachable_server() {
    let n = Names::new("b");
    let mut pairs: Vec<(String, String)> = config(&n).entries().to_vec();
    pairs.retain(|(k, _)| k != "publication.autocreate.mode");
    pairs.push(("publication.autocreate.mode".into(), "disabled".into()));
    let e = PostgresCdc::open(Config::new(pairs), Vec::new())
        .err()
        .expect("must fail");
    assert!(
        e.to_string()
            .contains("does not exist and publication.autocreate.mode=disabled"),
        "{e}"
    );

    let mut pairs: Vec<(String, String)> = config(&n).entries().to_vec();
    pairs.push(("database.port".into(), "1".into()));
    let e = PostgresCdc::open(Config::new(pairs), Vec::new())
        .err()
        .expect("must fail");
    assert!(
        e.to_string()
            .contains("cannot connect to PostgreSQL at 127.0.0.1:1"),
        "{e}"
    );
    let _ = OffsetMap::new();
}

fn config_with(n: &Names, extra: &[(&str, &str)]) -> Config {
    let mut pairs: Vec<(String, String)> = config(n).entries().to_vec();
    for (k, v) in extra {
        pairs.retain(|(key, _)| key != k);
        pairs.push((k.to_string(), v.to_string()));
    }
    Config::new(pairs)
}

/// Polls a few times and returns everything (for phases that must stay empty).
fn poll_some(task: &mut PostgresCdc, polls: usize) -> Vec<SourceRecord> {
    (0..polls)
        .flat_map(|_| task.poll(100).expect("poll"))
        .collect()
}

#[test]
fn snapshot_modes_no_data_initial_only_and_always() {
    let n = Names::new("c");
    let mut db = admin();
    sql(
        &mut db,
        &format!(
            "CREATE TABLE {} (id int PRIMARY KEY, v text, big bigint NOT NULL)",
            n.table
        ),
    );
    sql(
        &mut db,
        &format!(
            "INSERT INTO {} VALUES (1, 'one', 10), (2, 'two', 20)",
            n.table
        ),
    );

    // no_data: no snapshot; only what changes after the slot exists.
    let mut task = PostgresCdc::open(config_with(&n, &[("snapshot.mode", "no_data")]), Vec::new())
        .expect("open");
    sql(
        &mut db,
        &format!("INSERT INTO {} VALUES (3, 'three', 30)", n.table),
    );
    let got = poll_until(&mut task, 1);
    assert_eq!(got.iter().map(op).collect::<Vec<_>>(), ["c"]);
    assert_eq!(id(&got[0]), Value::Int32(3));
    let streamed = got[0].clone();
    task.stop();
    drop(task);

    // initial_only: the rows present, then nothing (not even new changes).
    let mut task = PostgresCdc::open(
        config_with(&n, &[("snapshot.mode", "initial_only")]),
        Vec::new(),
    )
    .expect("open");
    let snap = poll_until(&mut task, 3);
    assert_eq!(snap.iter().map(op).collect::<Vec<_>>(), ["r", "r", "r"]);
    sql(
        &mut db,
        &format!("INSERT INTO {} VALUES (4, 'four', 40)", n.table),
    );
    assert!(
        poll_some(&mut task, 20).is_empty(),
        "initial_only streams nothing"
    );
    task.stop();
    drop(task);

    // always: a committed streaming offset does not prevent the snapshot.
    let committed = vec![SourcePosition {
        partition: streamed.source_partition.clone(),
        offset: streamed.source_offset.clone(),
    }];
    let mut task = PostgresCdc::open(
        config_with(&n, &[("snapshot.mode", "always")]),
        committed.clone(),
    )
    .expect("open");
    let snap = poll_until(&mut task, 4);
    assert_eq!(
        snap.iter().map(op).collect::<Vec<_>>(),
        ["r", "r", "r", "r"]
    );
    task.stop();
    drop(task);

    // initial with that committed offset: no snapshot, the stream resumes after it.
    let mut task = PostgresCdc::open(config_with(&n, &[("snapshot.mode", "initial")]), committed)
        .expect("open");
    let got = poll_until(&mut task, 1);
    assert_eq!(got.iter().map(op).collect::<Vec<_>>(), ["c"]);
    assert_eq!(id(&got[0]), Value::Int32(4));
    task.stop();
}
