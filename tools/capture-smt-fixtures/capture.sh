#!/usr/bin/env bash
# Captures the SMT fixtures: for every tests/fixtures/smt/cases/<case>.json (or only the named
# cases), runs the records through the reference Apache Kafka Connect 3.9.0 SMT chain and writes
# tests/fixtures/smt/expected/<case>.jsonl (first line: a {"comment":…} saying how and when).
# The reference and javac 17 are installed (when missing) by tools/reference-connect/setup.sh.
# Usage: tools/capture-smt-fixtures/capture.sh [case…]      (REF_HOME defaults to /tmp/reference-connect)
set -euo pipefail
REF_HOME=${REF_HOME:-/tmp/reference-connect}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CASES="$ROOT/tests/fixtures/smt/cases"
OUT="$ROOT/tests/fixtures/smt/expected"
REF_HOME="$REF_HOME" "$ROOT/tools/reference-connect/setup.sh" --jdk
CP=$(cat "$REF_HOME/classpath.txt")
BUILD=$(mktemp -d)
trap 'rm -rf "$BUILD"' EXIT
javac -nowarn -d "$BUILD" -cp "$CP" "$HERE/CaptureSmtFixtures.java"
java -cp "$BUILD:$CP" CaptureSmtFixtures "$CASES" "$OUT" "$(date -u +%Y-%m-%d)" "$@"
