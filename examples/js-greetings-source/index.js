// greetings-source in JavaScript: a source that writes `count` greetings to `topic`, one
// struct { seq: int64, message: string } per record with key "greeting-<seq>", and resumes
// after the last committed greeting when the task restarts.
//
// It needs no capabilities (no files, clocks or network): built with every componentize-js
// feature disabled, the component imports nothing but the Sluice host interface.
import {
  ConfigDef,
  PluginSpec,
  Record,
  Schema,
  SourceRecord,
  Struct,
  exportSource,
  log,
} from "./node_modules/sluice-plugin-sdk/sluice.js";

const PARTITION = { source: "greetings" };

export class Greetings {
  static spec() {
    return new PluginSpec("example.js.GreetingsSource", "0.1.0")
      .alias("js-greetings-source")
      .describe("Writes `count` numbered greetings to `topic`.")
      .option(ConfigDef.string("topic").required().importance("high").doc("Topic to write to."))
      .option(ConfigDef.int("count").default(10).doc("How many greetings to write in total."))
      .option(ConfigDef.string("message").default("hello").doc("The greeting text."));
  }

  constructor(config, committed) {
    this.topic = config.requiredString("topic");
    this.count = config.int("count");
    this.message = config.string("message");
    const last = committed.find((p) => p.partition.source === PARTITION.source);
    this.next = last ? last.offset.seq + 1 : 0;
    // One schema object for every record: a batch then carries it once.
    this.schema = Schema.struct()
      .name("example.Greeting")
      .field("seq", Schema.int64())
      .field("message", Schema.string())
      .build();
    this.keySchema = Schema.string();
    log.info(`greetings (js): writing to ${this.topic} from seq ${this.next}`);
  }

  poll(maxRecords) {
    const records = [];
    while (this.next < this.count && records.length < maxRecords) {
      const seq = this.next++;
      const value = new Struct(this.schema).put("seq", BigInt(seq)).put("message", `${this.message} #${seq}`);
      records.push(new SourceRecord(PARTITION, { seq }, new Record(this.topic, {
        keySchema: this.keySchema,
        key: `greeting-${seq}`,
        valueSchema: this.schema,
        value,
      })));
    }
    return records;
  }
}

export const { plugin, sourceConnector, packedSource } = exportSource(Greetings);
