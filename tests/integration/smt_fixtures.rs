//! SMT and predicate compatibility with Apache Kafka Connect: every case in
//! `tests/fixtures/smt/cases/<case>.json` (a connector config's `transforms=…`/`predicates=…`
//! keys plus a corpus of records) is run through `sluice transform` with the built plugins, and
//! the output is compared, record by record, with `tests/fixtures/smt/expected/<case>.jsonl`,
//! which `tools/capture-smt-fixtures/capture.sh` captured from Kafka Connect 3.9's own SMT chain.
//!
//! Comparison is structural (JSON parsed on both sides, so map order and number spelling do not
//! matter). For a per-record failure only the fact that both sides failed is compared; both
//! messages are printed. A case without an expected file fails the test: capture it.
//! Every mismatching case is reported at once.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;
use sluice_tests::{plugins, sluice_bin, workspace_root, TestDir};

fn fixtures() -> PathBuf {
    workspace_root().join("tests/fixtures/smt")
}

/// The case files, sorted by name.
fn cases() -> Vec<PathBuf> {
    let dir = fixtures().join("cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no case files in {}", dir.display());
    files
}

/// The expected lines of a case, without the leading `{"comment":…}` provenance line(s).
fn expected(name: &str) -> Result<Vec<Json>, String> {
    let path = fixtures().join("expected").join(format!("{name}.jsonl"));
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "no expected output {} ({e}): capture it with tools/capture-smt-fixtures/capture.sh {name}",
            path.display()
        )
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Json = serde_json::from_str(line)
            .map_err(|e| format!("{}:{}: not JSON: {e}", path.display(), i + 1))?;
        if v.get("comment").is_some() {
            continue;
        }
        out.push(v);
    }
    Ok(out)
}

/// Runs `sluice transform CONFIG` over `records` (one JSONL line each) with the built plugins;
/// returns the output lines, parsed. `Err`: the command failed (with its stderr).
pub fn sluice_transform(
    config: &Path,
    records: &[Json],
    dir: &TestDir,
) -> Result<Vec<Json>, String> {
    let stem = config
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("records");
    let mut input = String::new();
    for r in records {
        input.push_str(&r.to_string());
        input.push('\n');
    }
    let input_file = dir.write(&format!("{stem}.input.jsonl"), input);
    let p = plugins();
    let output = Command::new(sluice_bin())
        .arg("transform")
        .arg("--plugin-path")
        .arg(&p.plugin_path)
        .arg("--plugin-cache-dir")
        .arg(&p.cache_dir)
        .arg(config)
        .arg(&input_file)
        .env("RUST_LOG", "warn")
        .output()
        .map_err(|e| format!("cannot run sluice: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`sluice transform {}` failed ({}):\n{}",
            config.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        ));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str(l).map_err(|e| format!("sluice wrote a non-JSON line {l:?}: {e}"))
        })
        .collect()
}

/// Runs `sluice transform` on a case; returns its output lines.
fn run_sluice(case: &Path, dir: &TestDir) -> Result<Vec<Json>, String> {
    let name = case.file_stem().and_then(|s| s.to_str()).unwrap_or("case");
    let doc: Json = serde_json::from_str(
        &std::fs::read_to_string(case).map_err(|e| format!("read {}: {e}", case.display()))?,
    )
    .map_err(|e| format!("{}: not JSON: {e}", case.display()))?;
    let config = doc
        .get("config")
        .filter(|c| c.is_object())
        .ok_or_else(|| format!("{}: no \"config\" object", case.display()))?;
    let records = doc
        .get("records")
        .and_then(Json::as_array)
        .ok_or_else(|| format!("{}: no \"records\" array", case.display()))?;
    let config_file = dir.write(
        &format!("{name}.json"),
        serde_json::json!({ "config": config }).to_string(),
    );
    sluice_transform(&config_file, records, dir)
}

/// Where two JSON values differ, as `path: kafka … / sluice …` lines (at most `limit`).
fn differences(path: &str, kafka: &Json, sluice: &Json, out: &mut Vec<String>, limit: usize) {
    if out.len() >= limit || kafka == sluice {
        return;
    }
    match (kafka, sluice) {
        (Json::Object(a), Json::Object(b)) => {
            for (k, va) in a {
                match b.get(k) {
                    Some(vb) => differences(&format!("{path}.{k}"), va, vb, out, limit),
                    None => out.push(format!("{path}.{k}: kafka {va}, sluice has no such key")),
                }
            }
            for (k, vb) in b {
                if !a.contains_key(k) {
                    out.push(format!("{path}.{k}: sluice {vb}, kafka has no such key"));
                }
            }
        }
        (Json::Array(a), Json::Array(b)) if a.len() == b.len() => {
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                differences(&format!("{path}[{i}]"), va, vb, out, limit);
            }
        }
        _ => out.push(format!("{path}: kafka {kafka}, sluice {sluice}")),
    }
    if out.len() > limit {
        out.truncate(limit);
    }
}

/// What an output line says happened to its record.
fn kind(line: &Json) -> &'static str {
    if line.get("error").is_some() {
        "failed the record"
    } else if line.get("dropped").is_some() {
        "dropped the record"
    } else {
        "kept the record"
    }
}

/// Compares one case; `Err` is the report of what differs.
fn compare(name: &str, kafka: &[Json], sluice: &[Json], notes: &mut String) -> Result<(), String> {
    let mut report = String::new();
    if kafka.len() != sluice.len() {
        let _ = writeln!(
            report,
            "  kafka has {} output lines, sluice {} (one per input record expected)",
            kafka.len(),
            sluice.len()
        );
    }
    for (i, (k, s)) in kafka.iter().zip(sluice).enumerate() {
        let (ke, se) = (k.get("error"), s.get("error"));
        match (ke, se) {
            (Some(ke), Some(se)) => {
                let _ = writeln!(
                    notes,
                    "{name} record {i}: both failed\n    kafka:  {ke}\n    sluice: {se}"
                );
                continue;
            }
            _ if k == s => continue,
            _ => {}
        }
        if kind(k) != kind(s) {
            let _ = writeln!(
                report,
                "  record {i}: kafka {}, sluice {}\n    kafka:  {k}\n    sluice: {s}",
                kind(k),
                kind(s)
            );
            continue;
        }
        let mut diffs = Vec::new();
        differences("", k, s, &mut diffs, 8);
        let _ = writeln!(
            report,
            "  record {i}:\n    kafka:  {k}\n    sluice: {s}\n    differs at:\n      {}",
            diffs.join("\n      ")
        );
    }
    if report.is_empty() {
        Ok(())
    } else {
        Err(report)
    }
}

#[test]
fn every_smt_case_matches_kafka_connect() {
    let dir = TestDir::new("smt-fixtures");
    let mut failures = Vec::new();
    let mut notes = String::new();
    let all = cases();
    for case in &all {
        let name = case
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("?")
            .to_string();
        let result = expected(&name).and_then(|kafka| {
            let sluice = run_sluice(case, &dir)?;
            compare(&name, &kafka, &sluice, &mut notes)
        });
        if let Err(report) = result {
            failures.push(format!(
                "case {name} ({}):\n{}",
                case.display(),
                report.trim_end()
            ));
        }
    }
    // Both-failed records: the messages are informative, not compared.
    eprintln!("per-record failures on both sides:\n{notes}");
    assert!(
        failures.is_empty(),
        "{} of {} SMT cases differ from Kafka Connect 3.9:\n\n{}",
        failures.len(),
        all.len(),
        failures.join("\n\n")
    );
}
