"""{{name}}: a Sluice source. Writes `count` numbered messages to `topic` and resumes after
the last committed one."""

from sluice import (ConfigDef, PluginSpec, Record, Schema, Source, SourceRecord, export_source,
                    log)


class {{class_name}}(Source):
    @classmethod
    def spec(cls):
        return (PluginSpec("{{plugin_name}}", "0.1.0")
                .describe("Writes `count` numbered messages to `topic`.")
                .option(ConfigDef.string("topic").required().doc("Topic to write to."))
                .option(ConfigDef.long("count").default(10).doc("How many messages in total.")))

    def __init__(self, config, committed):
        self.topic = config.required_str("topic")
        self.count = config.int("count")
        last = next((p for p in committed if p.partition.get("source") == "{{name}}"), None)
        self.next = last.offset["n"] + 1 if last else 0
        self.schema = Schema.string()
        log.info(f"{{name}}: starting at {self.next}")

    def poll(self, max_records):
        out = []
        while self.next < self.count and len(out) < max_records:
            n = self.next
            self.next += 1
            out.append(SourceRecord({"source": "{{name}}"}, {"n": n},
                                    Record(self.topic, value=f"message {n}", value_schema=self.schema)))
        return out


Plugin, SourceConnector = export_source({{class_name}})
