// {{name}}: a Sluice source. Writes `count` numbered messages to `topic` and resumes after
// the last committed one.
import { ConfigDef, PluginSpec, Record, Schema, SourceRecord, exportSource, log } from "./sluice.js";

export class Plugin {
  static spec() {
    return new PluginSpec("{{plugin_name}}", "0.1.0")
      .describe("Writes `count` numbered messages to `topic`.")
      .option(ConfigDef.string("topic").required().doc("Topic to write to."))
      .option(ConfigDef.long("count").default(10).doc("How many messages in total."));
  }

  constructor(config, committed) {
    this.topic = config.requiredString("topic");
    this.count = config.int("count");
    const last = committed.find((p) => p.partition.source === "{{name}}");
    this.next = last ? last.offset.n + 1 : 0;
    this.schema = Schema.string();
    log.info(`{{name}}: starting at ${this.next}`);
  }

  poll(maxRecords) {
    const out = [];
    while (this.next < this.count && out.length < maxRecords) {
      const n = this.next++;
      out.push(new SourceRecord({ source: "{{name}}" }, { n },
        new Record(this.topic, { valueSchema: this.schema, value: `message ${n}` })));
    }
    return out;
  }
}

export const { plugin, sourceConnector, packedSource } = exportSource(Plugin);
