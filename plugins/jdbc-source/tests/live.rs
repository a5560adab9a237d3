//! The source's logic natively (no worker) against the machine's PostgreSQL and MariaDB:
//! task splitting, every mode's queries and the resume from committed offsets. The
//! end-to-end tests (worker, broker, sandbox) are `tests/integration/jdbc_source.rs`.

use std::process::Command;

use jdbc_source::{settings::spec, JdbcSource};
use sluice_plugin_sdk::{Config, Source, SourcePosition, SourceRecord, Value};

fn sql(pg: bool, stmt: &str) {
    let out = if pg {
        Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "test",
                "-v",
                "ON_ERROR_STOP=1",
                "-qc",
                stmt,
            ])
            .output()
    } else {
        Command::new("mysql")
            .args(["-h", "127.0.0.1", "-u", "root", "test", "-e", stmt])
            .output()
    }
    .expect("database client");
    assert!(
        out.status.success(),
        "{stmt}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn table(prefix: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}_{}_{n}", std::process::id())
}

fn config(pg: bool, t: &str, mode: &str) -> Config {
    let url = if pg {
        "jdbc:postgresql://127.0.0.1:5432/test"
    } else {
        "jdbc:mariadb://127.0.0.1:3306/test"
    };
    Config::from_pairs(
        &[
            ("connection.url", url),
            ("mode", mode),
            ("incrementing.column.name", "id"),
            ("timestamp.column.name", "updated"),
            ("table.whitelist", t),
            ("topic.prefix", "p-"),
            ("poll.interval.ms", "1"),
            ("batch.max.rows", "2"),
        ],
        &spec().config,
    )
}

fn drain(task: &mut JdbcSource) -> Vec<SourceRecord> {
    let mut out = Vec::new();
    for _ in 0..20 {
        let batch = task.poll(100).unwrap_or_else(|e| panic!("{e:?}"));
        out.extend(batch);
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    out
}

fn names(records: &[SourceRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| match &r.record.value {
            Value::Struct(s) => s
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            other => panic!("{other:?}"),
        })
        .collect()
}

fn modes(pg: bool) {
    let ddl = |t: &str| {
        if pg {
            format!("CREATE TABLE {t} (id serial PRIMARY KEY, name text, updated timestamp(6) NOT NULL DEFAULT clock_timestamp())")
        } else {
            format!("CREATE TABLE {t} (id int AUTO_INCREMENT PRIMARY KEY, name text, updated datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))")
        }
    };
    for mode in ["incrementing", "timestamp", "timestamp+incrementing"] {
        let t = table("live_src");
        sql(pg, &ddl(&t));
        sql(
            pg,
            &format!("INSERT INTO {t} (name) VALUES ('a'), ('b'), ('c')"),
        );
        let c = config(pg, &t, mode);
        let tasks = JdbcSource::task_configs(&c, 4).unwrap();
        assert_eq!(tasks.len(), 1);
        let mut task =
            JdbcSource::open(tasks[0].clone(), vec![]).unwrap_or_else(|e| panic!("{e:?}"));
        let first = drain(&mut task);
        assert_eq!(names(&first), ["a", "b", "c"], "{mode}");
        sql(pg, &format!("INSERT INTO {t} (name) VALUES ('d')"));
        if mode != "incrementing" {
            let touch = if pg {
                ", updated = clock_timestamp()"
            } else {
                ""
            };
            sql(
                pg,
                &format!("UPDATE {t} SET name = 'b2'{touch} WHERE id = 2"),
            );
        }
        let second = drain(&mut task);
        let want: &[&str] = if mode == "incrementing" {
            &["d"]
        } else {
            &["d", "b2"]
        };
        let mut got = names(&second);
        got.sort();
        let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(got, want, "{mode}");
        // Resume from the last record's offset: nothing again, then only new rows.
        let last = second.last().unwrap();
        let committed = vec![SourcePosition {
            partition: last.source_partition.clone(),
            offset: last.source_offset.clone(),
        }];
        task.stop();
        let mut task = JdbcSource::open(tasks[0].clone(), committed).unwrap();
        assert!(
            drain(&mut task).is_empty(),
            "{mode}: resumed task re-read rows"
        );
        sql(pg, &format!("INSERT INTO {t} (name) VALUES ('e')"));
        assert_eq!(names(&drain(&mut task)), ["e"], "{mode}");
        sql(pg, &format!("DROP TABLE {t}"));
    }
}

#[test]
fn postgres_modes_and_resume() {
    modes(true);
}

#[test]
fn mariadb_modes_and_resume() {
    modes(false);
}
