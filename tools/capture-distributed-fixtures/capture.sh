#!/usr/bin/env bash
# Captures tests/fixtures/distributed/*.jsonl: the records the reference Apache Kafka Connect
# 3.9.0 writes to its config, offsets and status topics in distributed mode, on a real broker.
# The script starts a tansu broker (tansu on PATH; BOOTSTRAP=host:port uses a running broker
# instead), one reference worker in distributed mode, and drives it through REST: a
# FileStreamSource `fs-src` reading 3 lines, then pause, resume, stop and resume (target
# states), a restart, and a FileStreamSink `fs-sink-1` created and deleted (tombstones). It then
# dumps the three topics with tools/capture-distributed-fixtures/DumpTopics.java.
# Usage: tools/capture-distributed-fixtures/capture.sh     (REF_HOME defaults to /tmp/reference-connect)
set -euo pipefail
REF_HOME=${REF_HOME:-/tmp/reference-connect}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT="$ROOT/tests/fixtures/distributed"
REF_HOME="$REF_HOME" "$ROOT/tools/reference-connect/setup.sh" --jdk
CP=$(cat "$REF_HOME/classpath.txt")
WORK=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

if [ -z "${BOOTSTRAP:-}" ]; then
  port=$(free_port)
  tansu broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
    --storage-engine memory://tansu/ >"$WORK/tansu.log" 2>&1 &
  pids+=($!)
  BOOTSTRAP=127.0.0.1:$port
  sleep 2
fi

rest=$(free_port)
mkdir -p "$WORK/plugins"
cat >"$WORK/worker.properties" <<PROPS
bootstrap.servers=$BOOTSTRAP
group.id=capture-cluster
config.storage.topic=capture-configs
offset.storage.topic=capture-offsets
status.storage.topic=capture-status
config.storage.replication.factor=1
offset.storage.replication.factor=1
offset.storage.partitions=3
status.storage.replication.factor=1
status.storage.partitions=2
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.storage.StringConverter
offset.flush.interval.ms=500
plugin.discovery=service_load
plugin.path=$WORK/plugins
listeners=http://127.0.0.1:$rest
rest.advertised.host.name=127.0.0.1
PROPS
REF_HOME="$REF_HOME" "$ROOT/tools/reference-connect/run.sh" distributed "$WORK/worker.properties" >"$WORK/connect.log" 2>&1 &
pids+=($!)
url=http://127.0.0.1:$rest
for _ in $(seq 1 240); do curl -fs "$url/" >/dev/null 2>&1 && break; sleep 0.5; done
curl -fs "$url/" >/dev/null || { tail -50 "$WORK/connect.log"; echo "capture: the reference worker did not start" >&2; exit 1; }

call() { curl -fsS -X "$1" -H 'Content-Type: application/json' "$url$2" ${3:+-d "$3"} >/dev/null; }
wait_state() { # connector state
  for _ in $(seq 1 120); do
    curl -fs "$url/connectors/$1/status" 2>/dev/null | grep -q "\"connector\":{\"state\":\"$2\"" && return 0
    sleep 0.5
  done
  echo "capture: $1 never reached $2" >&2; tail -40 "$WORK/connect.log"; exit 1
}
printf 'one\ntwo\nthree\n' >"$WORK/in.txt"
call POST /connectors "{\"name\":\"fs-src\",\"config\":{\"connector.class\":\"org.apache.kafka.connect.file.FileStreamSourceConnector\",\"tasks.max\":\"1\",\"file\":\"$WORK/in.txt\",\"topic\":\"capture-lines\",\"topic.creation.default.replication.factor\":\"1\",\"topic.creation.default.partitions\":\"1\"}}"
wait_state fs-src RUNNING
# The offset is stored once REST reports it (3 lines: position 14).
for _ in $(seq 1 120); do curl -fs "$url/connectors/fs-src/offsets" | grep -q '"position":14' && break; sleep 0.5; done
curl -fs "$url/connectors/fs-src/offsets" | grep -q '"position":14' || { echo "capture: no stored offset" >&2; tail -40 "$WORK/connect.log"; exit 1; }
call PUT /connectors/fs-src/pause;  wait_state fs-src PAUSED
call PUT /connectors/fs-src/resume; wait_state fs-src RUNNING
call PUT /connectors/fs-src/stop;   wait_state fs-src STOPPED
call PUT /connectors/fs-src/resume; wait_state fs-src RUNNING
call POST '/connectors/fs-src/restart?includeTasks=true'
call POST /connectors "{\"name\":\"fs-sink-1\",\"config\":{\"connector.class\":\"org.apache.kafka.connect.file.FileStreamSinkConnector\",\"tasks.max\":\"2\",\"file\":\"$WORK/out.txt\",\"topics\":\"capture-lines\"}}"
wait_state fs-sink-1 RUNNING
call DELETE /connectors/fs-sink-1
sleep 2
curl -fsS "$url/connectors/fs-src/offsets" >"$WORK/offsets.json"

javac -nowarn -d "$WORK" -cp "$CP" "$HERE/DumpTopics.java"
mkdir -p "$OUT"
for t in configs offsets status; do
  java -cp "$WORK:$CP" DumpTopics "$BOOTSTRAP" "capture-$t" >"$OUT/$t.jsonl"
done
cat >"$OUT/README.md" <<NOTE
# Kafka Connect 3.9 distributed-mode internal topic records

Captured $(date -u +%Y-%m-%d) by \`tools/capture-distributed-fixtures/capture.sh\`: the reference
Apache Kafka Connect 3.9.0 (\`tools/reference-connect/\`) in distributed mode on a tansu broker,
driven through REST (FileStreamSource \`fs-src\` reading 3 lines; pause, resume, stop, resume;
restart with includeTasks; FileStreamSink \`fs-sink-1\` with tasks.max=2 created and deleted),
then every record of the three topics dumped with \`DumpTopics.java\` (kafka-clients 3.9):

- \`configs.jsonl\` — \`config.storage.topic\` (1 partition)
- \`offsets.jsonl\` — \`offset.storage.topic\` (3 partitions)
- \`status.jsonl\` — \`status.storage.topic\` (2 partitions)

One JSON object per record: \`topic\`, \`partition\`, \`offset\`, \`key\` and \`value\` as UTF-8
text, \`null\` for a null key or a tombstone. The input file's path (\`$WORK/in.txt\`) appears in
the source partition. The worker's offsets REST answer was \`$(cat "$WORK/offsets.json")\`.
NOTE
echo "capture: wrote $(wc -l <"$OUT/configs.jsonl") config, $(wc -l <"$OUT/offsets.jsonl") offset and $(wc -l <"$OUT/status.jsonl") status records to $OUT"
