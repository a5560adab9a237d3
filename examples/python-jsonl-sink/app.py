"""jsonl-sink in Python: appends one JSON object per record to `file`:
{"topic", "partition", "offset", "key", "value"}, Connect values rendered as JSON (structs
and maps as objects, bytes as base64).

Writes are buffered by Python's file object and reach the disk in flush(), which also
fsyncs: the host commits consumer offsets only after flush returns, so every committed
record is on disk. The `file` key declares write access to its directory; without it the
plugin could open no file at all.
"""

import base64
import json
import os

from sluice import ConfigDef, RecordFailure, Sink, Struct, TaskError, Typed, export_sink, log


def to_json(value):
    if isinstance(value, Struct):
        return {name: to_json(v) for name, v in value.items()}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Typed):
        return value.value
    return value


class JsonlSink(Sink):
    @classmethod
    def spec(cls):
        from sluice import PluginSpec
        return (PluginSpec("example.python.JsonlSink", "0.1.0")
                .alias("python-jsonl-sink")
                .describe("Appends each record as one JSON line to a file.")
                .option(ConfigDef.string("file").required().importance("high")
                        .doc("File to append to.").with_file_access("write-file"))
                .option(ConfigDef.list("topics").doc("Topics to consume (handled by the host).")))

    def __init__(self, config):
        self.path = config.required_str("file")
        try:
            self.out = open(self.path, "a", encoding="utf-8")
        except OSError as e:
            raise TaskError.fatal(f"cannot open {self.path} for appending: {e}")
        log.info(f"jsonl-sink (python): appending to {self.path}")

    def put(self, records):
        failures = []
        for i, r in enumerate(records):
            try:
                line = json.dumps({"topic": r.topic, "partition": r.partition, "offset": r.offset,
                                   "key": to_json(r.key), "value": to_json(r.value)},
                                  ensure_ascii=False, allow_nan=False)
            except ValueError as e:
                # NaN/Infinity have no JSON form: this record fails alone (DLQ-able).
                failures.append(RecordFailure(i, f"cannot render as JSON: {e}"))
                continue
            try:
                self.out.write(line + "\n")
            except OSError as e:
                raise TaskError.retriable(f"writing to {self.path}: {e}")
        return failures

    def flush(self, offsets):
        try:
            self.out.flush()
            os.fsync(self.out.fileno())
        except OSError as e:
            raise TaskError.retriable(f"flushing {self.path}: {e}")

    def stop(self):
        self.out.close()


Plugin, SinkConnector = export_sink(JsonlSink)
