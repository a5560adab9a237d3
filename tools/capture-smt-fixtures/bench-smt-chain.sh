#!/usr/bin/env bash
# Benchmark (not a test): per-record cost of a 3-SMT chain (InsertField$Value timestamp,
# MaskField$Value ssn/credit_card, ReplaceField$Value renames+exclude) in Sluice and in the
# reference Apache Kafka Connect 3.9.0, over the same records, in one run.
#
# Sluice: `sluice transform` (release build, built plugins) over N JSONL records in batches of
#   500; it reports the wall time spent inside TransformChain::apply (the WASM boundary both
#   ways plus the plugins' work), excluding reading, JSON conversion and printing.
# Kafka:  CaptureSmtFixtures --bench builds the same chain with Kafka's classes as Kafka Connect
#   does, converts the same records to SinkRecords first, then times the chain alone over all
#   of them (two warm-up passes for the JIT, the third reported).
# Usage: tools/capture-smt-fixtures/bench-smt-chain.sh [N]     (default 1000000)
set -euo pipefail
N=${1:-1000000}
REF_HOME=${REF_HOME:-/tmp/reference-connect}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# Cargo's target dir: CARGO_TARGET_DIR (relative to the repository root) or target/, as for xtask.
TARGET=${CARGO_TARGET_DIR:-target}
case $TARGET in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac
WORK="$TARGET/smt-bench"
mkdir -p "$WORK"
REF_HOME="$REF_HOME" "$ROOT/tools/reference-connect/setup.sh" --jdk
CP=$(cat "$REF_HOME/classpath.txt")

cat > "$WORK/chain.json" <<'JSON'
{"description":"3-SMT chain benchmark","config":{
 "transforms":"insertTs,mask,rename",
 "transforms.insertTs.type":"org.apache.kafka.connect.transforms.InsertField$Value",
 "transforms.insertTs.timestamp.field":"ingested_at",
 "transforms.mask.type":"org.apache.kafka.connect.transforms.MaskField$Value",
 "transforms.mask.fields":"ssn,credit_card",
 "transforms.rename.type":"org.apache.kafka.connect.transforms.ReplaceField$Value",
 "transforms.rename.renames":"cust_id:customer_id,amt:amount",
 "transforms.rename.exclude":"internal_note"},
 "records":[]}
JSON
python3 - "$N" "$WORK/records.jsonl" <<'PY'
import json, sys
n, path = int(sys.argv[1]), sys.argv[2]
f = lambda name, ty, opt=False: {"type": ty, "optional": opt, "field": name}
schema = {"type": "struct", "name": "com.example.Payment", "optional": False, "fields": [
    f("id", "int64"), f("name", "string"), f("ssn", "string", True), f("credit_card", "string", True),
    f("cust_id", "int64"), f("amt", "double"), f("internal_note", "string", True), f("currency", "string")]}
with open(path, "w") as out:
    for i in range(n):
        payload = {"id": i, "name": "user %d" % i, "ssn": "123-45-%04d" % (i % 10000),
                   "credit_card": "4111 1111 1111 %04d" % (i % 10000), "cust_id": i % 977,
                   "amt": i * 0.25, "internal_note": "note %d" % i, "currency": "EUR"}
        out.write(json.dumps({"topic": "payments", "partition": 0, "timestamp": 1700000000000 + i,
                              "key": None, "value": {"schema": schema, "payload": payload}},
                             separators=(",", ":")) + "\n")
PY

# SLUICE_BIN / PLUGIN_PATH: use an already built binary and plugin directory instead.
if [ -z "${SLUICE_BIN:-}" ]; then
  echo "== building (release)" >&2
  (cd "$ROOT" && cargo xtask plugins >&2 && cargo build --release -p sluice --bin sluice >&2)
  SLUICE_BIN="$TARGET/release/sluice"
fi
PLUGIN_PATH=${PLUGIN_PATH:-$TARGET/plugin-path}
BUILD=$(mktemp -d)
trap 'rm -rf "$BUILD"' EXIT
javac -nowarn -d "$BUILD" -cp "$CP" "$HERE/CaptureSmtFixtures.java"

echo "== Sluice: sluice transform over $N records" >&2
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); json.dump({"config":d["config"]},open(sys.argv[2],"w"))' \
  "$WORK/chain.json" "$WORK/connector.json"
# Once to fill the plugin cache (compilation is not what is measured), then the measured run.
"$SLUICE_BIN" transform --plugin-path "$PLUGIN_PATH" --plugin-cache-dir "$WORK/plugin-cache" \
  "$WORK/connector.json" <(head -1 "$WORK/records.jsonl") > /dev/null
START=$(date +%s.%N)
"$SLUICE_BIN" transform --plugin-path "$PLUGIN_PATH" \
  --plugin-cache-dir "$WORK/plugin-cache" "$WORK/connector.json" "$WORK/records.jsonl" \
  > "$WORK/sluice-out.jsonl" 2> "$WORK/sluice-err.txt"
END=$(date +%s.%N)
SLUICE_NS=$(grep -o 'chain_ns_per_record=[0-9]*' "$WORK/sluice-err.txt" | tail -1 | cut -d= -f2)
cat "$WORK/sluice-err.txt" >&2
echo "sluice: chain ${SLUICE_NS} ns/record; whole command $(python3 -c "print(round(($END-$START)*1e9/$N))") ns/record (read + convert + chain + encode + write)"

echo "== Kafka Connect 3.9.0: the same chain over the same $N records" >&2
java -Xmx8g -cp "$BUILD:$CP" CaptureSmtFixtures --bench "$WORK/chain.json" "$WORK/records.jsonl" | tee "$WORK/kafka.txt"
KAFKA_NS=$(grep '^pass 2' "$WORK/kafka.txt" | grep -o '[0-9.]* ns/record' | cut -d' ' -f1)
echo "ratio sluice/kafka (chain only): $(python3 -c "print(round($SLUICE_NS/$KAFKA_NS, 2))")"
