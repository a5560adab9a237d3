//! `cargo xtask bench --cdc`: PostgreSQL → Kafka change data capture, Sluice's postgres-cdc
//! plugin against Debezium 3.0.7's `PostgresConnector` on the reference Kafka Connect, in the
//! same run, on the same broker, the same table and rows, and the same converters (JsonConverter
//! with schemas for keys and values, set on the connector).
//!
//! For each system, one worker process with one connector on a table of `--records` rows:
//! - snapshot: from the connector and its task reporting RUNNING on the worker's REST API to
//!   the last snapshot event in the topic;
//! - streaming: `--records` more rows are inserted (transactions of 10 000 rows, by one `psql`
//!   running a `DO` block); from the first insert to the last change event in the topic.
//!
//! Records are counted by a bare librdkafka reader (`fetch.wait.max.ms=10`, large prefetch), not
//! by anything the systems report. Peak RSS is the worker's VmHWM after both phases. Debezium's
//! `max.batch.size`/`max.queue.size` are raised (20 480 / 81 920) so its defaults (2 048 /
//! 8 192) do not throttle it. The ceiling is PostgreSQL's own WAL sender: `pg_recvlogical` on a
//! `pgoutput` slot decoding the same number of inserts, already in the WAL, to `/dev/null`.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use sluice_tests::{try_psql, Broker};

use super::{
    check_alive, peak_rss_kib, rate, start, stop, wait_rest, wait_running, warm_plugin_cache, Args,
    System,
};

const TABLE: &str = "bench_cdc";
/// Rows per transaction in the streaming phase.
const TX_ROWS: usize = 10_000;

pub struct CdcResult {
    system: System,
    snapshot: Duration,
    streaming: Duration,
    /// How long the inserts themselves took (the streaming phase cannot be shorter).
    inserting: Duration,
    peak_rss_kib: u64,
}

/// SQL on the local PostgreSQL through the test harness's client (the same server setup as the
/// tests: `cargo xtask bench` prepares it with `cargo xtask test`'s database preparation).
fn psql(sql: &str) -> Result<String> {
    try_psql(&["-c", sql]).map_err(anyhow::Error::msg)
}

/// `INSERT` of rows `from..from+count` (~80-byte rows, like the file benchmark's lines).
fn insert_rows(from: usize, count: usize) -> String {
    format!(
        "INSERT INTO {TABLE} SELECT g, 'user_' || lpad(g::text, 7, '0'), \
         'user_' || lpad(g::text, 7, '0') || '@example.com', (g * 7919 % 1000) / 1000.0 \
         FROM generate_series({from}, {}) g",
        from + count - 1
    )
}

/// Drops `slot` (once no walsender holds it) and `publication`.
fn drop_slot(slot: &str, publication: &str) -> Result<()> {
    for _ in 0..100 {
        let active = psql(&format!(
            "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{slot}' AND active"
        ))?;
        if active == "0" {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    psql(&format!(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '{slot}'"
    ))?;
    psql(&format!("DROP PUBLICATION IF EXISTS {publication}"))?;
    Ok(())
}

/// The table with `records` rows, as each system finds it.
fn fresh_table(records: usize) -> Result<()> {
    psql(&format!("DROP TABLE IF EXISTS {TABLE}"))?;
    psql(&format!(
        "CREATE TABLE {TABLE} (id bigint PRIMARY KEY, name text NOT NULL, email text NOT NULL, score double precision NOT NULL)"
    ))?;
    if records > 0 {
        psql(&insert_rows(0, records))?;
    }
    psql(&format!("VACUUM ANALYZE {TABLE}"))?;
    Ok(())
}

pub fn run(args: &Args, broker: &Broker, work: &std::path::Path) -> Result<String> {
    let mut results = Vec::new();
    let mut systems = vec![System::Sluice];
    if args.reference.is_some() {
        systems.push(System::Reference);
    }
    for system in systems {
        if system == System::Sluice {
            warm_plugin_cache(args, broker, work)?;
        }
        results.push(run_system(system, args, broker, work)?);
    }
    let ceiling = wal_sender_ceiling(args.records)?;
    psql(&format!("DROP TABLE IF EXISTS {TABLE}"))?;
    Ok(render(&results, args.records, ceiling))
}

fn run_system(
    system: System,
    args: &Args,
    broker: &Broker,
    work: &std::path::Path,
) -> Result<CdcResult> {
    let tag = match system {
        System::Sluice => "sluice",
        System::Reference => "debezium",
    };
    let dir = work.join(format!("cdc-{tag}"));
    std::fs::create_dir_all(&dir)?;
    let slot = format!("bench_{tag}");
    let publication = format!("bench_{tag}_pub");
    drop_slot(&slot, &publication)?;
    fresh_table(args.records)?;
    let prefix = format!("bench{tag}");
    let topic = format!("{prefix}.public.{TABLE}");
    broker.create_topic(&topic, 1);
    let json = "org.apache.kafka.connect.json.JsonConverter";
    let connector = format!(
        "name=cdc-{tag}\nconnector.class=io.debezium.connector.postgresql.PostgresConnector\n\
         tasks.max=1\ndatabase.hostname=127.0.0.1\ndatabase.port=5432\ndatabase.user=postgres\n\
         database.password=\ndatabase.dbname=test\ntopic.prefix={prefix}\nplugin.name=pgoutput\n\
         slot.name={slot}\npublication.name={publication}\npublication.autocreate.mode=filtered\n\
         table.include.list=public.{TABLE}\nsnapshot.mode=initial\n\
         max.batch.size=20480\nmax.queue.size=81920\n\
         key.converter={json}\nkey.converter.schemas.enable=true\n\
         value.converter={json}\nvalue.converter.schemas.enable=true\n\
         wasm.network.allow=127.0.0.1:5432\n"
    );
    let started = Instant::now();
    let (mut worker, rest) = start(system, args, broker, &dir, "cdc", &connector)?;
    let mut reader = broker.reader(&topic);
    wait_rest(&mut worker, rest, &dir, started)?;
    let ready = wait_running(&mut worker, rest, &format!("cdc-{tag}"), &dir, started)?;
    let mut seen = 0usize;
    while seen < args.records {
        seen += reader.count_for(Duration::from_millis(50));
        check_alive(&mut worker, &dir, started)?;
    }
    let snapshot = ready.elapsed();
    eprintln!(
        "bench: {} CDC snapshot of {} rows: {:.1} s",
        system.label(),
        args.records,
        snapshot.as_secs_f64()
    );

    // Streaming: the inserts run in their own thread while the reader counts.
    let records = args.records;
    let stream_started = Instant::now();
    let inserter = std::thread::spawn(move || -> Result<Duration> {
        let batches = records.div_ceil(TX_ROWS);
        psql(&format!(
            "DO $$ BEGIN FOR b IN 0..{} LOOP {}; COMMIT; END LOOP; END $$",
            batches - 1,
            insert_rows_in_loop(records)
        ))?;
        Ok(stream_started.elapsed())
    });
    let mut streamed = 0usize;
    while streamed < records {
        streamed += reader.count_for(Duration::from_millis(50));
        check_alive(&mut worker, &dir, started)?;
    }
    let streaming = stream_started.elapsed();
    let inserting = inserter
        .join()
        .map_err(|_| anyhow::anyhow!("the insert thread panicked"))??;
    let peak = peak_rss_kib(worker.id());
    stop(worker);
    eprintln!(
        "bench: {} CDC streaming of {records} inserts: {:.1} s (inserts took {:.1} s)",
        system.label(),
        streaming.as_secs_f64(),
        inserting.as_secs_f64()
    );
    drop_slot(&slot, &publication)?;
    Ok(CdcResult {
        system,
        snapshot,
        streaming,
        inserting,
        peak_rss_kib: peak,
    })
}

/// The body of the streaming `DO` loop: batch `b` inserts rows `records + b*TX_ROWS ..`, at
/// most `records` in all.
fn insert_rows_in_loop(records: usize) -> String {
    format!(
        "INSERT INTO {TABLE} SELECT g, 'user_' || lpad(g::text, 7, '0'), \
         'user_' || lpad(g::text, 7, '0') || '@example.com', (g * 7919 % 1000) / 1000.0 \
         FROM generate_series({records} + b * {TX_ROWS}, least({records} + (b + 1) * {TX_ROWS}, {}) - 1) g",
        2 * records
    )
}

/// PostgreSQL's WAL sender alone: a `pgoutput` slot, `records` inserts in transactions of
/// `TX_ROWS`, then `pg_recvlogical` streams them (already in the WAL) to /dev/null.
fn wal_sender_ceiling(records: usize) -> Result<Duration> {
    let (slot, publication) = ("bench_recvlogical", "bench_recvlogical_pub");
    drop_slot(slot, publication)?;
    fresh_table(0)?;
    psql(&format!(
        "CREATE PUBLICATION {publication} FOR TABLE {TABLE}"
    ))?;
    psql(&format!(
        "SELECT pg_create_logical_replication_slot('{slot}', 'pgoutput')"
    ))?;
    let batches = records.div_ceil(TX_ROWS);
    psql(&format!(
        "DO $$ BEGIN FOR b IN 0..{} LOOP {}; COMMIT; END LOOP; END $$",
        batches - 1,
        insert_rows_in_loop(records)
    ))?;
    let end = psql("SELECT pg_current_wal_lsn()")?;
    let publications = format!("publication_names={publication}");
    let started = Instant::now();
    let status = Command::new("pg_recvlogical")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "--slot",
            slot,
            "--start",
            "--endpos",
            end.as_str(),
            "-o",
            "proto_version=1",
            "-o",
            publications.as_str(),
            "-f",
            "/dev/null",
        ])
        .status()
        .context("running pg_recvlogical")?;
    let took = started.elapsed();
    if !status.success() {
        bail!("pg_recvlogical failed ({status})");
    }
    drop_slot(slot, publication)?;
    eprintln!(
        "bench: pg_recvlogical (pgoutput) streamed {records} inserts: {:.1} s",
        took.as_secs_f64()
    );
    Ok(took)
}

fn render(results: &[CdcResult], records: usize, ceiling: Duration) -> String {
    let mut s = String::new();
    s.push_str("| system | snapshot (records/s) | streaming (records/s) | inserts alone (rows/s) | peak RSS (MiB) |\n");
    s.push_str("|---|---:|---:|---:|---:|\n");
    for r in results {
        let label = match r.system {
            System::Sluice => "Sluice postgres-cdc",
            System::Reference => "Debezium 3.0.7 on Kafka Connect 3.9",
        };
        s.push_str(&format!(
            "| {label} | {:.0} | {:.0} | {:.0} | {:.0} |\n",
            rate(records, r.snapshot),
            rate(records, r.streaming),
            rate(records, r.inserting),
            r.peak_rss_kib as f64 / 1024.0,
        ));
    }
    if let [sluice, debezium] = results {
        s.push_str(&format!(
            "| ratio Sluice / Debezium | {:.2}× | {:.2}× | | {:.2}× |\n",
            rate(records, sluice.snapshot) / rate(records, debezium.snapshot),
            rate(records, sluice.streaming) / rate(records, debezium.streaming),
            sluice.peak_rss_kib as f64 / debezium.peak_rss_kib.max(1) as f64,
        ));
    }
    s.push_str(&format!(
        "| `pg_recvlogical` (pgoutput, WAL sender alone: the ceiling) | | {:.0} | | |\n",
        rate(records, ceiling)
    ));
    s
}
