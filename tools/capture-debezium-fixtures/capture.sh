#!/usr/bin/env bash
# Captures tests/fixtures/debezium/postgres-cdc.jsonl: what Debezium 3.0.7's PostgreSQL
# connector (the one the reference Kafka Connect ships) emits for the fixture table, serialised
# by Kafka Connect's JsonConverter with schemas.enable=true. The first line is a {"comment":…}
# saying how and when. tests/integration/postgres_cdc.rs runs Sluice on the same SQL and
# compares (docs/connectors/postgres-cdc.md lists the fields that may differ).
#
# Needs: the local PostgreSQL (127.0.0.1:5432, trust auth, database `test`, wal_level=logical:
# `cargo xtask test` prepares it) and the reference installed by tools/reference-connect/setup.sh
# (run here with --jdk for javac). Creates and drops the table cdc_fixture, the slot
# cdc_fixture_slot and the publication cdc_fixture_pub.
# Usage: tools/capture-debezium-fixtures/capture.sh      (REF_HOME defaults to /tmp/reference-connect)
set -euo pipefail
REF_HOME=${REF_HOME:-/tmp/reference-connect}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
REF_HOME="$REF_HOME" "$ROOT/tools/reference-connect/setup.sh" --jdk
CP=$(cat "$REF_HOME/classpath.txt")
BUILD=$(mktemp -d)
trap 'rm -rf "$BUILD"' EXIT
javac -nowarn -d "$BUILD" -cp "$CP" "$HERE/CaptureDebeziumFixtures.java"
java -Dlog4j2.configurationFile="$REF_HOME/log4j2.properties" -cp "$BUILD:$CP" \
  CaptureDebeziumFixtures "$ROOT/tests/fixtures/debezium" "$(date -u +%Y-%m-%d)"
