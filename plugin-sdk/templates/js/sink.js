// {{name}}: a Sluice sink. Writes each record to the host log (a JavaScript component has no
// filesystem access: a sink that writes somewhere needs a host interface for it).
import { ConfigDef, PluginSpec, exportSink, log } from "./sluice.js";

export class Plugin {
  static spec() {
    return new PluginSpec("{{plugin_name}}", "0.1.0")
      .describe("Logs every record it receives.")
      .option(ConfigDef.string("prefix").default("record").doc("Text before each logged record."))
      .option(ConfigDef.list("topics").doc("Topics to consume (handled by the host)."));
  }

  constructor(config) {
    this.prefix = config.string("prefix");
    this.count = 0;
  }

  put(records) {
    const failures = [];
    records.forEach((r, index) => {
      if (typeof r.value !== "string") {
        failures.push({ index, message: `expected a string value, got ${typeof r.value}` });
        return;
      }
      this.count++;
      log.info(`${this.prefix} ${r.topic}/${r.partition}@${r.offset}: ${r.value}`);
    });
    return failures;
  }

  flush(_offsets) {}

  stop() {
    log.info(`{{name}}: ${this.count} records logged`);
  }
}

export const { plugin, sinkConnector, packedSink } = exportSink(Plugin);
