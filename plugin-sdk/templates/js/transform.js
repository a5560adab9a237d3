// {{name}}: a Sluice transform. Upper-cases the string field `field` of each record value
// (a Struct, or a schemaless Map); fails a record whose field is not a string.
import { ConfigDef, Outcome, PluginSpec, Struct, exportTransform, log } from "./sluice.js";

export class Plugin {
  static spec() {
    return new PluginSpec("{{plugin_name}}", "0.1.0")
      .describe("Upper-cases one string field of the record value.")
      .option(ConfigDef.string("field").required().doc("The field to upper-case."));
  }

  constructor(_className, config) {
    this.field = config.requiredString("field");
    log.info(`{{name}}: upper-casing ${this.field}`);
  }

  apply(record) {
    const value = record.value;
    let current;
    if (value instanceof Struct) current = value.has(this.field) ? value.get(this.field) : null;
    else if (value instanceof Map) current = value.get(this.field) ?? null;
    else return Outcome.keep(record);
    if (current === null) return Outcome.keep(record);
    if (typeof current !== "string") return Outcome.fail(`field ${this.field} is not a string`);
    if (value instanceof Struct) value.put(this.field, current.toUpperCase());
    else value.set(this.field, current.toUpperCase());
    return Outcome.keep(record);
  }
}

export const { plugin, transforms, packedTransforms } = exportTransform(Plugin);
