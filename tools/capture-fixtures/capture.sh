#!/usr/bin/env bash
# Captures the JsonConverter fixtures in tests/fixtures/json-converter/ from the reference
# Apache Kafka Connect 3.9.0, installed (when missing) by tools/reference-connect/setup.sh.
# Usage: tools/capture-fixtures/capture.sh      (REF_HOME defaults to /tmp/reference-connect)
set -euo pipefail
REF_HOME=${REF_HOME:-/tmp/reference-connect}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT="$ROOT/tests/fixtures/json-converter"
REF_HOME="$REF_HOME" "$ROOT/tools/reference-connect/setup.sh" --jdk
CP=$(cat "$REF_HOME/classpath.txt")
BUILD=$(mktemp -d)
trap 'rm -rf "$BUILD"' EXIT
javac -nowarn -d "$BUILD" -cp "$CP" "$HERE/JsonConverterFixtures.java"
mkdir -p "$OUT"
java -cp "$BUILD:$CP" JsonConverterFixtures "$OUT"
