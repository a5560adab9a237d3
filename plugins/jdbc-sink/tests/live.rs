//! The sink's logic natively (no worker) against the machine's PostgreSQL and MariaDB:
//! auto.create, upsert (idempotent replay), tombstone deletes, auto.evolve and a constraint
//! violation failing only its record. End-to-end: `tests/integration/jdbc_sink.rs`.

use std::process::Command;

use jdbc_sink::{settings::spec, JdbcSink};
use sluice_plugin_sdk::{Config, Record, Schema, SchemaRef, Sink, Struct, Value};

fn query(pg: bool, stmt: &str) -> String {
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
                "-Atc",
                stmt,
            ])
            .output()
    } else {
        Command::new("mysql")
            .args([
                "-h",
                "127.0.0.1",
                "-u",
                "root",
                "test",
                "-N",
                "-B",
                "-e",
                stmt,
            ])
            .output()
    }
    .expect("database client");
    assert!(
        out.status.success(),
        "{stmt}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .replace('\t', "|")
}

fn table(prefix: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}_{}_{n}", std::process::id())
}

fn sink(pg: bool, extra: &[(&str, &str)]) -> JdbcSink {
    let url = if pg {
        "jdbc:postgresql://127.0.0.1:5432/test"
    } else {
        "jdbc:mariadb://127.0.0.1:3306/test"
    };
    let mut pairs = vec![
        ("connection.url", url),
        ("insert.mode", "upsert"),
        ("pk.mode", "record_key"),
        ("delete.enabled", "true"),
        ("auto.create", "true"),
        ("auto.evolve", "true"),
    ];
    pairs.extend_from_slice(extra);
    JdbcSink::open(Config::from_pairs(&pairs, &spec().config)).unwrap_or_else(|e| panic!("{e:?}"))
}

fn key_schema() -> SchemaRef {
    Schema::struct_builder()
        .name("Key")
        .field("id", Schema::int32())
        .build_ref()
}

fn value_schema(extra: bool) -> SchemaRef {
    let mut b = Schema::struct_builder()
        .name("Value")
        .field("name", Schema::string())
        .field("amount", Schema::decimal(2).optional())
        .field("at", Schema::timestamp().optional());
    if extra {
        b = b.field("extra", Schema::string().optional());
    }
    b.build_ref()
}

fn rec(topic: &str, id: i32, value: Option<(&str, i128)>, extra: Option<&str>) -> Record {
    let ks = key_schema();
    let key = Value::Struct(Struct::from_values(ks.clone(), vec![Value::Int32(id)]).unwrap());
    let mut r = Record::new(topic).with_key(Some(ks), key);
    r.partition = Some(0);
    r.offset = Some(id as i64);
    if let Some((name, cents)) = value {
        let vs = value_schema(extra.is_some());
        let mut values = vec![
            Value::from(name),
            Value::decimal(cents),
            Value::Int64(1_704_164_645_123),
        ];
        if let Some(x) = extra {
            values.push(Value::from(x));
        }
        r = r.with_value(
            Some(vs.clone()),
            Value::Struct(Struct::from_values(vs, values).unwrap()),
        );
    }
    r
}

fn scenario(pg: bool) {
    let t = table("live_sink");
    let mut s = sink(pg, &[]);
    let batch = vec![
        rec(&t, 1, Some(("a", 1250)), None),
        rec(&t, 2, Some(("b", -5)), None),
        rec(&t, 3, Some(("c", 0)), None),
    ];
    assert!(s.put(batch.clone()).unwrap().is_empty());
    // Replaying the same batch (at-least-once delivery) leaves the table equal.
    assert!(s.put(batch).unwrap().is_empty());
    let rows = query(pg, &format!("SELECT id, name, amount FROM {t} ORDER BY id"));
    assert_eq!(rows, "1|a|12.50\n2|b|-0.05\n3|c|0.00");
    let at = query(pg, &format!("SELECT at FROM {t} WHERE id = 1"));
    assert!(at.starts_with("2024-01-02 03:04:05.123"), "{at}");
    // Upsert, a repeated key in one batch, a tombstone, a new optional field.
    let f = s
        .put(vec![
            rec(&t, 2, Some(("b2", 1)), None),
            rec(&t, 4, Some(("d", 1)), None),
            rec(&t, 4, Some(("d2", 2)), None),
            rec(&t, 1, None, None),
            rec(&t, 5, Some(("e", 1)), Some("x")),
        ])
        .unwrap();
    assert!(f.is_empty(), "{f:?}");
    let rows = query(pg, &format!("SELECT id, name, extra FROM {t} ORDER BY id"));
    let null = if pg { "" } else { "NULL" };
    assert_eq!(rows, format!("2|b2|{null}\n3|c|{null}\n4|d2|{null}\n5|e|x"));
    // A constraint violation fails only its record.
    query(
        pg,
        &format!("ALTER TABLE {t} ADD CONSTRAINT {t}_pos CHECK (amount >= 0)"),
    );
    let f = s
        .put(vec![
            rec(&t, 6, Some(("f", 1)), None),
            rec(&t, 7, Some(("bad", -1)), None),
            rec(&t, 8, Some(("h", 1)), None),
        ])
        .unwrap();
    assert_eq!(s.chunks_row_by_row(), 1);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].index, 1);
    assert!(
        f[0].message.contains(if pg { "23514" } else { "23000" }),
        "{}",
        f[0].message
    );
    assert_eq!(
        query(pg, &format!("SELECT id FROM {t} WHERE id >= 6 ORDER BY id")),
        "6\n8"
    );
    s.stop();
    query(pg, &format!("DROP TABLE {t}"));
}

#[test]
fn postgres_upsert_delete_create_evolve_and_constraint() {
    scenario(true);
}

#[test]
fn mariadb_upsert_delete_create_evolve_and_constraint() {
    scenario(false);
}

/// Every column type, with text COPY must escape (tab, newline, backslash, quotes), bytes with
/// a backslash and a zero byte, non-finite floats and NULLs: the upsert path (`COPY` into a
/// staging table) must store exactly what the SQL-literal path (`insert.mode=update`) stores.
#[test]
fn postgres_copy_and_sql_literals_store_the_same_values() {
    let vs = Schema::struct_builder()
        .name("Value")
        .field("s", Schema::string().optional())
        .field("b", Schema::bytes().optional())
        .field("flag", Schema::boolean())
        .field("f64", Schema::float64())
        .field("f32", Schema::float32())
        .field("i8", Schema::int8())
        .field("i16", Schema::int16())
        .field("d", Schema::date())
        .field("t", Schema::time())
        .field("ts", Schema::timestamp())
        .field("dec", Schema::decimal(2).optional())
        .build_ref();
    let texts = [
        Some("tab\there"),
        Some("line\nbreak\r\nand \\ back\\slash \\N"),
        Some("it's \"quoted\" ünïcødé"),
        None,
    ];
    let floats = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.5];
    let records = |topic: &str, dummy: bool| -> Vec<Record> {
        (0..4)
            .map(|i| {
                let ks = key_schema();
                let key =
                    Value::Struct(Struct::from_values(ks.clone(), vec![Value::Int32(i)]).unwrap());
                let iu = i as usize;
                let values = vec![
                    if dummy {
                        Value::from("x")
                    } else {
                        texts[iu].map_or(Value::Null, Value::from)
                    },
                    if iu == 3 {
                        Value::Null
                    } else {
                        Value::Bytes(vec![0, b'\\', b'\t', 0xff, i as u8])
                    },
                    Value::Boolean(iu.is_multiple_of(2)),
                    Value::Float64(floats[iu]),
                    Value::Float32(1.25 * i as f32),
                    Value::Int8(-(i as i8)),
                    Value::Int16(300 * i as i16),
                    Value::Int32(19_000 + i),
                    Value::Int32(3_600_000 * i + 123),
                    Value::Int64(1_704_164_645_123 + i as i64),
                    if iu == 3 {
                        Value::Null
                    } else {
                        Value::decimal(-12_345 * i as i128)
                    },
                ];
                Record::new(topic).with_key(Some(ks), key).with_value(
                    Some(vs.clone()),
                    Value::Struct(Struct::from_values(vs.clone(), values).unwrap()),
                )
            })
            .collect()
    };
    let copied = table("live_copy");
    let literal = table("live_literal");
    let mut upsert = sink(true, &[]);
    assert!(upsert.put(records(&copied, false)).unwrap().is_empty());
    // The same rows through SQL literals: created with placeholders, then updated.
    assert!(upsert.put(records(&literal, true)).unwrap().is_empty());
    // Every value went through COPY: none made the server reject its chunk.
    assert_eq!(upsert.chunks_row_by_row(), 0);
    upsert.stop();
    let mut update = sink(true, &[("insert.mode", "update")]);
    assert!(update.put(records(&literal, false)).unwrap().is_empty());
    update.stop();
    let rows = |t: &str| query(true, &format!("SELECT * FROM {t} ORDER BY id"));
    assert_eq!(rows(&copied), rows(&literal));
    assert_eq!(
        query(true, &format!("SELECT s FROM {copied} WHERE id = 1")),
        "line\nbreak\r\nand \\ back\\slash \\N"
    );
    assert_eq!(
        query(true, &format!("SELECT b, f64 FROM {copied} WHERE id = 0")),
        "\\x005c09ff00|NaN"
    );
    query(true, &format!("DROP TABLE {copied}; DROP TABLE {literal}"));
}
