#!/usr/bin/env bash
# Runs the reference Apache Kafka Connect that setup.sh installed in $REF_HOME
# (default /tmp/reference-connect):
#   run.sh standalone WORKER.properties [CONNECTOR.properties...]
#   run.sh distributed WORKER.properties
# The worker properties must set plugin.discovery=service_load and a non-empty plugin.path: the
# connectors and converters come from the class path. REF_HEAP replaces the heap option
# (-Xmx512m). The script execs java, so its process is the JVM and killing it stops the worker.
set -euo pipefail
REF_HOME=${REF_HOME:-/tmp/reference-connect}
[ -f "$REF_HOME/classpath.txt" ] || {
  echo "run.sh: no reference Kafka Connect in $REF_HOME: run $(dirname "$0")/setup.sh" >&2
  exit 1
}
case ${1:-} in
  standalone) main=org.apache.kafka.connect.cli.ConnectStandalone ;;
  distributed) main=org.apache.kafka.connect.cli.ConnectDistributed ;;
  *) echo "usage: $0 standalone|distributed WORKER.properties [CONNECTOR.properties...]" >&2; exit 2 ;;
esac
shift
# REF_HEAP may hold several JVM options, so it is split on spaces.
# shellcheck disable=SC2086
exec java ${REF_HEAP:--Xmx512m} -Dlog4j2.configurationFile="$REF_HOME/log4j2.properties" \
  -cp "$(cat "$REF_HOME/classpath.txt")" "$main" "$@"
