#!/usr/bin/env bash
# Captures Kafka Connect 3.9.0's metrics documentation into
# tests/fixtures/kafka-connect-metrics/connect_metrics.html. The page is the table Kafka's own
# build generates for its documentation (`genConnectMetricsDocs` in Kafka's build.gradle runs
# `org.apache.kafka.connect.runtime.ConnectMetrics`, which prints every metric of
# ConnectMetricsRegistry as HTML: attribute, description, MBean); this runs that same class from
# the reference Kafka Connect installed by tools/reference-connect/setup.sh.
# host/src/rest/metrics/tests.rs checks every name and label of GET /metrics against it.
# Usage: tools/capture-metrics-docs/capture.sh      (REF_HOME defaults to /tmp/reference-connect)
set -euo pipefail
REF_HOME=${REF_HOME:-/tmp/reference-connect}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT="$ROOT/tests/fixtures/kafka-connect-metrics/connect_metrics.html"
REF_HOME="$REF_HOME" "$ROOT/tools/reference-connect/setup.sh"
mkdir -p "$(dirname "$OUT")"
# The class logs its metrics' set-up on stderr; the table is stdout.
java -cp "$(cat "$REF_HOME/classpath.txt")" org.apache.kafka.connect.runtime.ConnectMetrics \
  >"$OUT" 2>/dev/null
echo "wrote $OUT ($(grep -c '<td>kafka.connect' "$OUT") metrics)"
