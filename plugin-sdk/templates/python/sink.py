"""{{name}}: a Sluice sink. Appends each string record value as a line to `file`."""

import os

from sluice import ConfigDef, PluginSpec, RecordFailure, Sink, TaskError, export_sink, log


class {{class_name}}(Sink):
    @classmethod
    def spec(cls):
        return (PluginSpec("{{plugin_name}}", "0.1.0")
                .describe("Appends each string value as a line to a file.")
                # Without file access the plugin can open no file at all.
                .option(ConfigDef.string("file").required().doc("File to append to.")
                        .with_file_access("write-file"))
                .option(ConfigDef.list("topics").doc("Topics to consume (handled by the host).")))

    def __init__(self, config):
        self.path = config.required_str("file")
        try:
            self.out = open(self.path, "a", encoding="utf-8")
        except OSError as e:
            raise TaskError.fatal(f"cannot open {self.path}: {e}")
        log.info(f"{{name}}: appending to {self.path}")

    def put(self, records):
        failures = []
        for i, r in enumerate(records):
            if not isinstance(r.value, str):
                failures.append(RecordFailure(i, f"expected a string value, got {type(r.value).__name__}"))
                continue
            self.out.write(r.value + "\n")
        return failures

    def flush(self, offsets):
        self.out.flush()
        os.fsync(self.out.fileno())

    def stop(self):
        self.out.close()


Plugin, SinkConnector = export_sink({{class_name}})
