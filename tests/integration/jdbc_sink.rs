//! The JDBC sink (`io.confluent.connect.jdbc.JdbcSinkConnector`) against the machine's real
//! PostgreSQL and MariaDB, a real worker and broker, JsonConverter records with schemas:
//! auto.create, upsert (a key updated twice, a replayed record), tombstone → DELETE,
//! auto.evolve (a new optional field becomes a column), and a record a CHECK constraint
//! rejects going to the dead letter queue while the rest of its batch is written.

use std::time::Duration;

use sluice_tests::{
    default_worker_props, mariadb, psql, unique, unique_table, wait_until, Broker, TestDir, Worker,
    MARIADB_URL, PG_URL,
};

use crate::base64;

const JDBC_SINK: &str = "io.confluent.connect.jdbc.JdbcSinkConnector";
const WAIT: Duration = Duration::from_secs(120);

pub(crate) fn key(id: i32) -> String {
    format!(
        r#"{{"schema":{{"type":"struct","fields":[{{"type":"int32","optional":false,"field":"id"}}],"optional":false,"name":"Key"}},"payload":{{"id":{id}}}}}"#
    )
}

/// A value with `name` and a Decimal(2) `amount` (given in cents), and optionally `extra`.
fn value(name: &str, cents: i64, extra: Option<&str>) -> String {
    let amount = {
        // Minimal big-endian two's complement, base64 (as JsonConverter writes Decimals).
        let bytes = cents.to_be_bytes();
        let mut start = 0;
        while start < 7
            && ((bytes[start] == 0 && bytes[start + 1] & 0x80 == 0)
                || (bytes[start] == 0xff && bytes[start + 1] & 0x80 != 0))
        {
            start += 1;
        }
        base64(&bytes[start..])
    };
    let (extra_field, extra_value) = match extra {
        Some(x) => (
            r#",{"type":"string","optional":true,"field":"extra"}"#.to_string(),
            format!(r#","extra":"{x}""#),
        ),
        None => (String::new(), String::new()),
    };
    format!(
        r#"{{"schema":{{"type":"struct","fields":[{{"type":"string","optional":false,"field":"name"}},{{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{{"scale":"2"}},"field":"amount"}}{extra_field}],"optional":false,"name":"Value"}},"payload":{{"name":"{name}","amount":"{amount}"{extra_value}}}}}"#
    )
}

pub(crate) fn sink(
    name: &str,
    url: &str,
    allow: &str,
    topic: &str,
    table_format: &str,
    extra: &str,
) -> String {
    format!(
        "name={name}\nconnector.class={JDBC_SINK}\ntopics={topic}\nconnection.url={url}\n\
         insert.mode=upsert\npk.mode=record_key\ntable.name.format={table_format}\n\
         key.converter=org.apache.kafka.connect.json.JsonConverter\nkey.converter.schemas.enable=true\n\
         value.converter=org.apache.kafka.connect.json.JsonConverter\nvalue.converter.schemas.enable=true\n\
         wasm.network.allow={allow}\n{extra}"
    )
}

#[test]
fn jdbc_sink_upsert_delete_create_evolve_and_constraint_dlq() {
    let broker = Broker::shared();
    let dir = TestDir::new("jdbc-sink");
    type Exec = fn(&str) -> String;
    let dbs: [(&str, &str, &str, Exec); 2] = [
        ("pg", PG_URL, "127.0.0.1:5432", psql),
        ("maria", MARIADB_URL, "127.0.0.1:3306", mariadb),
    ];
    let mut files = Vec::new();
    let mut cases = Vec::new();
    for (label, url, allow, exec) in dbs {
        // auto.create / upsert / delete / auto.evolve, table named from the topic.
        let topic = unique_table(&format!("sink_{label}"));
        broker.create_topic(&topic, 1);
        let k1 = key(1);
        let (k2, k3) = (key(2), key(3));
        let (a, b, c, b2) = (
            value("a", 1250, None),
            value("b", 5, None),
            value("c", 0, None),
            value("b2", 7, None),
        );
        broker.produce_keyed(
            &topic,
            &[
                (Some(&k1), Some(&a)),
                (Some(&k2), Some(&b)),
                (Some(&k3), Some(&c)),
                (Some(&k2), Some(&b2)),
                (Some(&k3), Some(&c)), // a replay: no change
                (Some(&k1), None),     // tombstone
            ],
        );
        let name = unique("jdbc-sink");
        files.push((
            format!("{name}.properties"),
            sink(
                &name,
                url,
                allow,
                &topic,
                "t_${topic}",
                "delete.enabled=true\nauto.create=true\nauto.evolve=true\n",
            ),
        ));

        // A pre-created table with a CHECK constraint; the violating record goes to the DLQ.
        let checked = unique_table(&format!("sink_check_{label}"));
        exec(&format!(
            "CREATE TABLE {checked} (id int PRIMARY KEY, name varchar(20) NOT NULL, amount decimal(10,2), CONSTRAINT {checked}_pos CHECK (amount >= 0))"
        ));
        let dlq = unique("jdbc-dlq");
        broker.create_topic(&checked, 1);
        let (k6, k7, k8) = (key(6), key(7), key(8));
        let (ok1, bad, ok2) = (
            value("f", 1, None),
            value("bad", -100, None),
            value("h", 1, None),
        );
        broker.produce_keyed(
            &checked,
            &[
                (Some(&k6), Some(&ok1)),
                (Some(&k7), Some(&bad)),
                (Some(&k8), Some(&ok2)),
            ],
        );
        let name = unique("jdbc-sink-dlq");
        files.push((
            format!("{name}.properties"),
            sink(
                &name,
                url,
                allow,
                &checked,
                &checked,
                &format!(
                    "errors.tolerance=all\nerrors.deadletterqueue.topic.name={dlq}\nerrors.deadletterqueue.topic.replication.factor=1\n\
                     errors.deadletterqueue.context.headers.enable=true\n"
                ),
            ),
        ));
        cases.push((label, exec, topic, checked, dlq));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(f, c)| (f.as_str(), c.as_str()))
        .collect();
    let worker = Worker::start(&dir, &default_worker_props(Some(broker), dir.path()), &refs);

    for (label, exec, topic, checked, dlq) in &cases {
        let table = format!("t_{topic}");
        let null = if *label == "pg" { "" } else { "NULL" };
        // Table contents once they equal `want` (the table may not exist yet).
        let wait_rows = |columns: &str, want: &str| {
            wait_until(
                &format!("{label}: table {table} to hold {want:?}"),
                WAIT,
                || {
                    let got = std::panic::catch_unwind(|| {
                        exec(&format!("SELECT {columns} FROM {table} ORDER BY id"))
                    })
                    .ok()?
                    .replace('\t', "|");
                    (got == want).then_some(())
                },
                || worker.log_tail(20),
            )
        };
        // auto.create, upserts (the last value of key 2 wins, the replay changes nothing),
        // the tombstone deleted key 1.
        wait_rows("id, name, amount", "2|b2|0.07\n3|c|0.00");
        // A later record with a new optional field: auto.evolve adds the column.
        let (k4, d) = (key(4), value("d", 100, Some("x")));
        broker.produce_keyed(topic, &[(Some(&k4), Some(&d))]);
        wait_rows(
            "id, name, amount, extra",
            &format!("2|b2|0.07|{null}\n3|c|0.00|{null}\n4|d|1.00|x"),
        );
        wait_until(
            &format!("{label}: rows 6 and 8 in {checked}"),
            WAIT,
            || (exec(&format!("SELECT id FROM {checked} ORDER BY id")) == "6\n8").then_some(()),
            || exec(&format!("SELECT id FROM {checked} ORDER BY id")),
        );
        let dead = broker.consume_all(dlq, 1, WAIT);
        assert_eq!(dead.len(), 1, "{label}: one record in the DLQ");
        assert!(
            dead[0].value_str().contains("\"bad\""),
            "{label}: {}",
            dead[0].value_str()
        );
        assert_eq!(dead[0].key_str(), Some(key(7).as_str()));
        exec(&format!("DROP TABLE {table}"));
        exec(&format!("DROP TABLE {checked}"));
    }
}
