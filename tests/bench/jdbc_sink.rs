//! `cargo xtask bench --jdbc-sink`: Sluice's JDBC sink (`insert.mode=upsert`,
//! `pk.mode=record_key`, `auto.create`) writing `--records` JsonConverter records (schemas on,
//! key `{id}`, value `{name, email, score}`) from a topic into a PostgreSQL table: from the
//! connector and its task reporting RUNNING until `count(*)` reaches the record count.
//!
//! The reference Kafka Connect ships no JDBC sink (neither Confluent's nor Debezium's is among
//! its jars), so the comparison is a plain baseline instead: `psql` sending the same rows as
//! the same statements the sink sends (multi-row `INSERT … ON CONFLICT (id) DO UPDATE` of
//! `batch.size` = 3 000 rows) from a file, one transaction per statement — the database's own
//! rate for this work, with no Kafka, conversion or WASM in the way.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use sluice_tests::{try_psql, Broker};

use super::System;
use super::{
    check_alive, peak_rss_kib, rate, start, stop, wait_rest, wait_running, warm_plugin_cache, Args,
};

const TABLE: &str = "bench_jdbc_sink";
const BATCH: usize = 3000;

fn psql(args: &[&str]) -> Result<String> {
    try_psql(args).map_err(anyhow::Error::msg)
}

fn name(i: usize) -> String {
    format!("user_{i:07}")
}

fn score(i: usize) -> f64 {
    ((i * 7919) % 1000) as f64 / 1000.0
}

pub fn run(args: &Args, broker: &Broker, work: &std::path::Path) -> Result<String> {
    let records = args.records;
    let topic = "bench-jdbc-sink";
    broker.create_topic(topic, 1);
    let key_schema = r#"{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"}],"optional":false,"name":"Key"}"#;
    let value_schema = r#"{"type":"struct","fields":[{"type":"string","optional":false,"field":"name"},{"type":"string","optional":false,"field":"email"},{"type":"double","optional":false,"field":"score"}],"optional":false,"name":"Value"}"#;
    let chunk = 50_000;
    for start_id in (0..records).step_by(chunk) {
        let end = (start_id + chunk).min(records);
        let pairs: Vec<(String, String)> = (start_id..end)
            .map(|i| {
                (
                    format!(r#"{{"schema":{key_schema},"payload":{{"id":{i}}}}}"#),
                    format!(
                        r#"{{"schema":{value_schema},"payload":{{"name":"{}","email":"{}@example.com","score":{}}}}}"#,
                        name(i),
                        name(i),
                        score(i)
                    ),
                )
            })
            .collect();
        let refs: Vec<(Option<&str>, Option<&str>)> = pairs
            .iter()
            .map(|(k, v)| (Some(k.as_str()), Some(v.as_str())))
            .collect();
        broker.produce_keyed(topic, &refs);
    }
    eprintln!("bench: {records} records in {topic}");

    // Sluice.
    warm_plugin_cache(args, broker, work)?;
    let dir = work.join("jdbc-sink");
    std::fs::create_dir_all(&dir)?;
    psql(&["-c", &format!("DROP TABLE IF EXISTS {TABLE}")])?;
    let json = "org.apache.kafka.connect.json.JsonConverter";
    let connector = format!(
        "name=jdbc-sink\nconnector.class=io.confluent.connect.jdbc.JdbcSinkConnector\ntasks.max=1\n\
         topics={topic}\nconnection.url=jdbc:postgresql://127.0.0.1:5432/test\n\
         table.name.format={TABLE}\ninsert.mode=upsert\npk.mode=record_key\nauto.create=true\n\
         batch.size={BATCH}\n\
         key.converter={json}\nkey.converter.schemas.enable=true\n\
         value.converter={json}\nvalue.converter.schemas.enable=true\n\
         wasm.network.allow=127.0.0.1:5432\n"
    );
    let started = Instant::now();
    let (mut worker, rest) = start(System::Sluice, args, broker, &dir, "sink", &connector)?;
    wait_rest(&mut worker, rest, &dir, started)?;
    let ready = wait_running(&mut worker, rest, "jdbc-sink", &dir, started)?;
    loop {
        let count: usize = psql(&["-c", &format!("SELECT count(*) FROM {TABLE}")])
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        if count >= records {
            break;
        }
        check_alive(&mut worker, &dir, started)?;
        std::thread::sleep(Duration::from_millis(200));
    }
    let sluice = ready.elapsed();
    let peak = peak_rss_kib(worker.id());
    stop(worker);
    eprintln!(
        "bench: Sluice JDBC sink upserted {records} rows: {:.1} s",
        sluice.as_secs_f64()
    );

    // The baseline: the same statements from psql, into a table of the same shape (the one
    // the sink created), emptied first.
    psql(&["-c", &format!("TRUNCATE {TABLE}")])?;
    let sql = dir.join("baseline.sql");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&sql)?);
        for start_id in (0..records).step_by(BATCH) {
            let end = (start_id + BATCH).min(records);
            write!(w, "INSERT INTO {TABLE} (id, name, email, score) VALUES ")?;
            for i in start_id..end {
                let sep = if i + 1 < end { "," } else { "" };
                write!(
                    w,
                    "({i},'{}','{}@example.com',{}){sep}",
                    name(i),
                    name(i),
                    score(i)
                )?;
            }
            writeln!(w, " ON CONFLICT (id) DO UPDATE SET name=EXCLUDED.name, email=EXCLUDED.email, score=EXCLUDED.score;")?;
        }
    }
    let started = Instant::now();
    psql(&["-q", "-f", &sql.display().to_string()])?;
    let baseline = started.elapsed();
    let count = psql(&["-c", &format!("SELECT count(*) FROM {TABLE}")])?;
    if count != records.to_string() {
        bail!("the baseline wrote {count} rows, not {records}");
    }
    psql(&["-c", &format!("DROP TABLE {TABLE}")])?;
    eprintln!(
        "bench: psql baseline upserted {records} rows: {:.1} s",
        baseline.as_secs_f64()
    );

    let mut s = String::new();
    s.push_str("| writer | upsert (rows/s) | peak RSS (MiB) |\n|---|---:|---:|\n");
    s.push_str(&format!(
        "| Sluice JDBC sink (Kafka → JsonConverter → WASM plugin → PostgreSQL) | {:.0} | {:.0} |\n",
        rate(records, sluice),
        peak as f64 / 1024.0
    ));
    s.push_str(&format!(
        "| `psql` sending the same {BATCH}-row upserts from a file (baseline: the database alone) | {:.0} | |\n",
        rate(records, baseline)
    ));
    Ok(s)
}
