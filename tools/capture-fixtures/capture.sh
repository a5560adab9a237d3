#!/usr/bin/env bash
# Captures the JsonConverter fixtures in tests/fixtures/json-converter/ from the reference
# Apache Kafka Connect 3.9.0 (installed by /work/shared/tools/reference-connect/setup.sh).
# Usage: REF_HOME=/tmp/reference-connect tools/capture-fixtures/capture.sh
set -euo pipefail
REF_HOME=${REF_HOME:-/tmp/reference-connect}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT="$ROOT/tests/fixtures/json-converter"
[ -f "$REF_HOME/classpath.txt" ] || { echo "missing $REF_HOME/classpath.txt: run the reference setup.sh first" >&2; exit 1; }
CP=$(cat "$REF_HOME/classpath.txt")
BUILD=$(mktemp -d)
trap 'rm -rf "$BUILD"' EXIT
javac -nowarn -d "$BUILD" -cp "$CP" "$HERE/JsonConverterFixtures.java"
mkdir -p "$OUT"
java -cp "$BUILD:$CP" JsonConverterFixtures "$OUT"
