//! The JDBC source (`io.confluent.connect.jdbc.JdbcSourceConnector`) against the machine's
//! real PostgreSQL and MariaDB, a real worker and a real broker: each mode on its own table
//! in one worker; rows inserted (and, in the timestamp modes, updated) while it runs arrive
//! once; after a graceful restart the tasks resume from the stored offsets (nothing read
//! twice, new rows arrive); records carry Confluent's schemas (JsonConverter, schemas on).

use std::time::Duration;

use serde_json::{json, Value};
use sluice_tests::{
    default_worker_props, mariadb, psql, unique, unique_table, Broker, Message, TestDir, Worker,
    MARIADB_URL, PG_URL,
};

const JDBC_SOURCE: &str = "io.confluent.connect.jdbc.JdbcSourceConnector";
const WAIT: Duration = Duration::from_secs(120);

pub fn json_worker_props(broker: &Broker, dir: &TestDir) -> String {
    format!(
        "{}value.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter.schemas.enable=true\n",
        default_worker_props(Some(broker), dir.path())
    )
}

/// The parsed JSON value of a message.
pub fn value(m: &Message) -> Value {
    serde_json::from_str(m.value_str())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", m.value_str()))
}

/// `(id, name)` of each message's payload, in arrival order.
fn ids_names(messages: &[Message]) -> Vec<(i64, String)> {
    messages
        .iter()
        .map(|m| {
            let v = value(m);
            let p = &v["payload"];
            (
                p["id"].as_i64().unwrap_or(-1),
                p["name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

struct Db {
    url: &'static str,
    allow: &'static str,
    exec: fn(&str) -> String,
    /// CREATE TABLE statement for a table name.
    ddl: fn(&str) -> String,
    /// The UPDATE that bumps a row's timestamp.
    touch: fn(&str, i64, &str) -> String,
}

fn pg() -> Db {
    Db {
        url: PG_URL,
        allow: "127.0.0.1:5432",
        exec: psql,
        ddl: |t| {
            format!(
                "CREATE TABLE {t} (id serial PRIMARY KEY, name text NOT NULL, amount numeric(10,2), data bytea, \
                 flag boolean, born date, at time, updated timestamp(6) NOT NULL DEFAULT clock_timestamp(), doc jsonb, u uuid)"
            )
        },
        touch: |t, id, name| {
            format!("UPDATE {t} SET name = '{name}', updated = clock_timestamp() WHERE id = {id}")
        },
    }
}

fn maria() -> Db {
    Db {
        url: MARIADB_URL,
        allow: "127.0.0.1:3306",
        exec: mariadb,
        ddl: |t| {
            format!(
                "CREATE TABLE {t} (id int AUTO_INCREMENT PRIMARY KEY, name varchar(50) NOT NULL, amount decimal(10,2), data blob, \
                 flag tinyint, born date, at time, updated datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), doc text, u char(36))"
            )
        },
        touch: |t, id, name| format!("UPDATE {t} SET name = '{name}' WHERE id = {id}"),
    }
}

fn insert(db: &Db, table: &str, names: &[&str]) {
    for n in names {
        (db.exec)(&format!(
            "INSERT INTO {table} (name, amount) VALUES ('{n}', 12.50)"
        ));
    }
}

fn connector(db: &Db, name: &str, table: &str, mode: &str, prefix: &str) -> String {
    let cols = match mode {
        "incrementing" => "incrementing.column.name=id\n",
        "timestamp" => "timestamp.column.name=updated\n",
        "timestamp+incrementing" => "incrementing.column.name=id\ntimestamp.column.name=updated\n",
        _ => "",
    };
    format!(
        "name={name}\nconnector.class={JDBC_SOURCE}\nconnection.url={}\nmode={mode}\n{cols}table.whitelist={table}\n\
         topic.prefix={prefix}\npoll.interval.ms=200\nwasm.network.allow={}\n",
        db.url, db.allow
    )
}

/// Every mode on one database: start, add rows, restart, add rows.
fn modes_round_trip(db: Db, label: &str) {
    let broker = Broker::shared();
    let dir = TestDir::new(&format!("jdbc-source-{label}"));
    let prefix = format!("{}-", unique(label));
    let modes = [
        "incrementing",
        "timestamp",
        "timestamp+incrementing",
        "bulk",
    ];
    let tables: Vec<String> = modes
        .iter()
        .map(|m| unique_table(&format!("src_{}", m.replace('+', "_"))))
        .collect();
    for t in &tables {
        (db.exec)(&(db.ddl)(t));
        insert(&db, t, &["a", "b", "c"]);
        broker.create_topic(&format!("{prefix}{t}"), 1);
    }
    let files: Vec<(String, String)> = modes
        .iter()
        .zip(&tables)
        .map(|(m, t)| {
            (
                format!("{t}.properties"),
                connector(&db, &unique("jdbc"), t, m, &prefix),
            )
        })
        .collect();
    let file_refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(f, c)| (f.as_str(), c.as_str()))
        .collect();
    let props = json_worker_props(broker, &dir);
    let mut worker = Worker::start(&dir, &props, &file_refs);
    let mut readers: Vec<_> = tables
        .iter()
        .map(|t| broker.reader(&format!("{prefix}{t}")))
        .collect();

    // The first three rows, each once (bulk: at least one full copy).
    for (i, r) in readers.iter_mut().enumerate() {
        let got = ids_names(r.read_until(3, WAIT));
        assert_eq!(
            &got[..3],
            &[(1, "a".into()), (2, "b".into()), (3, "c".into())],
            "{}: {got:?}",
            modes[i]
        );
    }
    // Schema and payload as Confluent's JsonConverter writes them.
    let first = value(&readers[0].messages[0]);
    check_schema(&first["schema"], &tables[0], label);
    assert_eq!(
        first["payload"]["amount"],
        json!("BOI="),
        "12.50 as Decimal(scale 2): {first}"
    );

    // New rows while running; the timestamp modes also see an update.
    for (i, t) in tables.iter().enumerate() {
        insert(&db, t, &["d"]);
        if modes[i].starts_with("timestamp") {
            (db.exec)(&(db.touch)(t, 2, "b2"));
        }
    }
    let expect_running: [&[(i64, &str)]; 3] = [
        &[(1, "a"), (2, "b"), (3, "c"), (4, "d")],
        &[(1, "a"), (2, "b"), (3, "c"), (4, "d"), (2, "b2")],
        &[(1, "a"), (2, "b"), (3, "c"), (4, "d"), (2, "b2")],
    ];
    for (i, expected) in expect_running.iter().enumerate() {
        let got = ids_names(readers[i].read_until(expected.len(), WAIT));
        let mut got_sorted = got.clone();
        got_sorted.sort();
        let mut want: Vec<(i64, String)> =
            expected.iter().map(|(i, n)| (*i, n.to_string())).collect();
        want.sort();
        assert_eq!(got_sorted, want, "{}: {got:?}", modes[i]);
    }
    // Bulk: a later poll re-reads the whole table, new row included.
    readers[3].read_while(WAIT, |m| !ids_names(m).iter().any(|(id, _)| *id == 4));

    // Graceful restart: offsets are stored; rows added while stopped arrive, nothing twice.
    worker.sigterm();
    worker.wait_exit(Duration::from_secs(60));
    for t in &tables {
        insert(&db, t, &["e"]);
    }
    let worker = Worker::start(&dir, &props, &file_refs);
    for (i, r) in readers.iter_mut().take(3).enumerate() {
        let before = r.messages.len();
        r.read_while(WAIT, |m| !ids_names(m).iter().any(|(_, n)| n == "e"));
        let after: Vec<(i64, String)> = ids_names(&r.messages[before..]);
        assert_eq!(
            after,
            [(5, "e".to_string())],
            "{} after restart read: {after:?}; log:\n{}",
            modes[i],
            worker.log_tail(30)
        );
    }
    readers[3].read_while(WAIT, |m| !ids_names(m).iter().any(|(id, _)| *id == 5));
    for t in &tables {
        (db.exec)(&format!("DROP TABLE {t}"));
    }
}

fn check_schema(schema: &Value, table: &str, label: &str) {
    let opt = |t: &str, f: &str| json!({"type": t, "optional": true, "field": f});
    let logical = |t: &str, name: &str, optional: bool, f: &str| json!({"type": t, "optional": optional, "name": name, "version": 1, "field": f});
    let (data_type, flag, doc_u) = if label == "pg" {
        (
            opt("bytes", "data"),
            opt("boolean", "flag"),
            [opt("string", "doc"), opt("string", "u")],
        )
    } else {
        (
            opt("bytes", "data"),
            opt("int8", "flag"),
            [opt("string", "doc"), opt("string", "u")],
        )
    };
    let expected = json!({
        "type": "struct",
        "fields": [
            {"type": "int32", "optional": false, "field": "id"},
            {"type": "string", "optional": false, "field": "name"},
            {"type": "bytes", "optional": true, "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": {"scale": "2"}, "field": "amount"},
            data_type,
            flag,
            logical("int32", "org.apache.kafka.connect.data.Date", true, "born"),
            logical("int32", "org.apache.kafka.connect.data.Time", true, "at"),
            logical("int64", "org.apache.kafka.connect.data.Timestamp", false, "updated"),
            doc_u[0],
            doc_u[1],
        ],
        "optional": false,
        "name": table,
    });
    assert_eq!(schema, &expected, "schema of {table}");
}

#[test]
fn jdbc_source_modes_on_postgres() {
    modes_round_trip(pg(), "pg");
}

#[test]
fn jdbc_source_modes_on_mariadb() {
    modes_round_trip(maria(), "maria");
}

#[test]
fn jdbc_source_maps_postgres_types_like_confluent() {
    let broker = Broker::shared();
    let dir = TestDir::new("jdbc-source-types");
    let t = unique_table("src_types");
    psql(&format!(
        "CREATE TABLE {t} (id bigint PRIMARY KEY, i2 smallint, f4 real, f8 double precision, big numeric(30,4), \
         b bytea, ok boolean, d date, tm time(3), ts timestamptz(3), j json, u uuid, v varchar(10))"
    ));
    psql(&format!(
        "INSERT INTO {t} VALUES (1, -2, 1.5, 2.25, -12345678901234567890.1234, '\\x00ff', true, '2024-01-02', \
         '03:04:05.123', '2024-01-02 03:04:05.123+02', '{{\"a\": 1}}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'x')"
    ));
    let prefix = format!("{}-", unique("types"));
    broker.create_topic(&format!("{prefix}{t}"), 1);
    let name = unique("jdbc-types");
    let config = format!(
        "name={name}\nconnector.class={JDBC_SOURCE}\nconnection.url={PG_URL}\nconnection.user=postgres\nmode=bulk\n\
         table.whitelist={t}\ntopic.prefix={prefix}\npoll.interval.ms=60000\nwasm.network.allow=127.0.0.1:5432\n"
    );
    let _worker = Worker::start(
        &dir,
        &json_worker_props(broker, &dir),
        &[("types.properties", &config)],
    );
    let m = broker.consume_all(&format!("{prefix}{t}"), 1, WAIT);
    let v = value(&m[0]);
    assert_eq!(
        v["payload"],
        json!({
            "id": 1, "i2": -2, "f4": 1.5, "f8": 2.25,
            // -123456789012345678901234 (scale 4) as big-endian two's complement, base64.
            "big": "5dtk4O9fk2lQDg==",
            "b": "AP8=", "ok": true, "d": 19724, "tm": 11045123, "ts": 1704157445123i64,
            "j": "{\"a\": 1}", "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "v": "x"
        }),
        "{v}"
    );
    assert_eq!(
        v["schema"]["fields"][4]["parameters"],
        json!({"scale": "4"})
    );
    assert_eq!(
        v["schema"]["fields"][0],
        json!({"type": "int64", "optional": false, "field": "id"})
    );
    psql(&format!("DROP TABLE {t}"));
}
