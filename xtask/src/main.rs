//! Project automation: `cargo xtask <command>`.
//!
//! - `plugins`    build every plugin in `plugins/` to wasm32-wasip2 (release) and collect the
//!   components into `target/plugin-path/`.
//! - `test`       install what the tests need (wasm target, tansu broker, the reference Kafka
//!   Connect), build the plugins, run the whole test suite. This is what CI runs.
//! - `examples`   build the example plugins in `examples/` (Rust, JavaScript, Python) into
//!   `target/example-plugins/`, installing the JS and Python toolchains under `target/` first.
//! - `quickstart` build and run the quickstart (datagen -> Kafka -> file) on the embedded broker.
//! - `postgres-cdc [--to jdbc|s3|http]` build and run a Postgres CDC example on the embedded
//!   broker, from a fresh slot and tables: `examples/postgres-cdc` (-> Kafka -> JDBC sink into
//!   MariaDB), `examples/postgres-cdc-s3` (-> S3 sink into a local moto) or
//!   `examples/postgres-cdc-http` (-> HTTP sink to the example's receiver).
//! - `databases`  prepare the local PostgreSQL and MariaDB as the tests need them (password
//!   logins, `wal_level=logical`, TLS with a test certificate); `test`, `bench` and
//!   `postgres-cdc` do it too.
//! - `bench`      the benchmarks (release builds), Sluice against the reference Kafka Connect.
//! - `fuzz [SECONDS] [TARGET…]` the fuzz targets of every untrusted-input parser (nightly
//!   toolchain, default 300 s each; see fuzz.rs).
//!
//! `target/` here is `CARGO_TARGET_DIR` when set (relative to the repository root), as for the
//! test harness.

mod bench;
mod cmd;
mod databases;
mod examples;
mod fuzz;
mod plugins;
mod postgres_cdc;
mod quickstart;
mod test;

use anyhow::{bail, Result};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("plugins") => plugins::build_all().map(|_| ()),
        Some("examples") => examples::build_all().map(|_| ()),
        Some("test") => test::run_all(),
        Some("quickstart") => quickstart::run_quickstart(),
        Some("postgres-cdc") => postgres_cdc::run_example(&args[1..]),
        Some("databases") => databases::prepare(),
        Some("bench") => bench::run_bench(&args[1..]),
        Some("fuzz") => fuzz::run_fuzz(&args[1..]),
        Some(other) => {
            bail!(
                "unknown xtask command `{other}`; try: plugins, examples, test, databases, quickstart, postgres-cdc, bench, fuzz"
            )
        }
        None => {
            bail!("usage: cargo xtask <plugins|examples|test|databases|quickstart|postgres-cdc|bench|fuzz>")
        }
    }
}
