// mask-upper in JavaScript: masks some fields of a record value and upper-cases others.
// The same transform exists in Rust (examples/rust-mask-upper) and Python
// (examples/python-mask-upper); the integration test and the benchmark run all three.
//
// Works on struct values (data with a schema, e.g. datagen's users) and on schemaless maps
// (JsonConverter with schemas.enable=false). A record whose value is neither, or whose named
// field is not a string, fails on its own (dead letter queue with errors.tolerance=all);
// tombstones (null values) pass unchanged.
//
// It counts the records it let through in its own metric, `records_kept` (published by the
// worker as `kafka_connect_plugins_records_kept_total{connector,task}`).
import {
  ConfigDef,
  Outcome,
  PluginSpec,
  Struct,
  exportTransform,
  log,
  metrics,
} from "./node_modules/sluice-plugin-sdk/sluice.js";

const MASK = "****";

export class MaskUpper {
  static spec() {
    return new PluginSpec("example.js.MaskUpper", "0.1.0")
      .alias("js-mask-upper")
      .describe("Replaces the values of mask.fields with **** and upper-cases upper.fields.")
      .option(ConfigDef.list("mask.fields").default("").doc("Fields whose string value is replaced by ****."))
      .option(ConfigDef.list("upper.fields").default("").doc("Fields whose string value is upper-cased."));
  }

  static validate(config) {
    if (config.list("mask.fields").length === 0 && config.list("upper.fields").length === 0) {
      return [{ key: "mask.fields", message: "name at least one field in mask.fields or upper.fields" }];
    }
    return [];
  }

  constructor(_className, config) {
    const problem = MaskUpper.validate(config)[0];
    if (problem) throw new Error(`config \`${problem.key}\`: ${problem.message}`);
    this.edits = [
      ...config.list("mask.fields").map((f) => [f, () => MASK]),
      ...config.list("upper.fields").map((f) => [f, (s) => s.toUpperCase()]),
    ];
    log.info(`mask-upper (js): ${this.edits.length} field edits`);
  }

  apply(record) {
    const outcome = this.edit(record);
    if (outcome.kind === "keep") metrics.counterAdd("records_kept");
    return outcome;
  }

  edit(record) {
    const value = record.value;
    if (value === null) return Outcome.keep(record);
    let get;
    let put;
    if (value instanceof Struct) {
      get = (f) => (value.has(f) ? value.get(f) : undefined);
      put = (f, v) => value.put(f, v);
    } else if (value instanceof Map) {
      get = (f) => value.get(f);
      put = (f, v) => value.set(f, v);
    } else {
      return Outcome.fail(`mask-upper needs a struct or map value, got ${typeof value}`);
    }
    for (const [field, edit] of this.edits) {
      const current = get(field);
      if (current === undefined || current === null) continue;
      if (typeof current !== "string") {
        return Outcome.fail(`field "${field}" is not a string`);
      }
      put(field, edit(current));
    }
    return Outcome.keep(record);
  }
}

export const { plugin, transforms, packedTransforms } = exportTransform(MaskUpper);
