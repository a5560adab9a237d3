"""greetings-source in Python: a source that writes `count` greetings to `topic`, one struct
{seq: int64, message: string} per record with key "greeting-<seq>", and resumes after the
last committed greeting when the task restarts.

The same source exists in JavaScript (examples/js-greetings-source): same config keys, same
records (tests/integration/polyglot.rs checks that both write identical messages). It needs
no capabilities (no files, clocks or network): the component imports nothing from the host
but the Sluice interface and what CPython itself needs.
"""

from sluice import (ConfigDef, PluginSpec, Record, Schema, Source, SourceRecord, Struct,
                    export_source, log)

PARTITION = {"source": "greetings"}


class Greetings(Source):
    @classmethod
    def spec(cls):
        return (PluginSpec("example.python.GreetingsSource", "0.1.0")
                .alias("python-greetings-source")
                .describe("Writes `count` numbered greetings to `topic`.")
                .option(ConfigDef.string("topic").required().importance("high")
                        .doc("Topic to write to."))
                .option(ConfigDef.int("count").default(10).doc("How many greetings to write in total."))
                .option(ConfigDef.string("message").default("hello").doc("The greeting text.")))

    def __init__(self, config, committed):
        self.topic = config.required_str("topic")
        self.count = config.int("count")
        self.message = config.str("message")
        last = next((p for p in committed if p.partition.get("source") == PARTITION["source"]), None)
        self.next = last.offset["seq"] + 1 if last else 0
        # One schema object for every record: a batch then carries it once.
        self.schema = (Schema.struct()
                       .name("example.Greeting")
                       .field("seq", Schema.int64())
                       .field("message", Schema.string())
                       .build())
        self.key_schema = Schema.string()
        log.info(f"greetings (python): writing to {self.topic} from seq {self.next}")

    def poll(self, max_records):
        records = []
        while self.next < self.count and len(records) < max_records:
            seq = self.next
            self.next += 1
            value = Struct(self.schema, [seq, f"{self.message} #{seq}"])
            records.append(SourceRecord(PARTITION, {"seq": seq}, Record(
                self.topic, key=f"greeting-{seq}", key_schema=self.key_schema,
                value=value, value_schema=self.schema)))
        return records


Plugin, SourceConnector = export_source(Greetings)
