// Sluice plugin SDK for JavaScript: write source, sink, transform and predicate plugins as
// ES modules and build them into WebAssembly components with componentize-js.
//
// This file is the whole author's API; the modules under sluice/ implement it (data.js the
// data model, config.js the config, log.js the host log, metrics.js the plugin's own metrics,
// exports.js the export adapters, and
// wire.js, internal, the WIT conversions).
//
// It mirrors the Rust SDK (plugin-sdk/): the WIT world `sluice:connect@0.1.0` hands plugins
// batches of *flattened* trees (lists of nodes pointing at each other by index); this module
// turns them into ordinary trees (Schema, Struct, Record) and back, so plugin code sees one
// record at a time while every call across the boundary stays batched.
//
// Data model (Connect type -> JavaScript):
//   int8/int16/int32/float32/float64 -> number      int64 -> bigint (exact; 2^53 is not enough)
//   boolean -> boolean   string -> string   bytes -> Uint8Array   array -> Array
//   map -> Map (keys of any type)                   struct -> Struct (fields by name)
//   null -> null
// Schemaless data (no schema, e.g. JsonConverter with schemas.enable=false) has no schema to say
// which number type a value is, so there: bigint <-> int64, number <-> float64, and the rarer
// int8/int16/int32/float32 arrive as Typed values (`Typed.int32(5)`) that go back unchanged.
//
// Works in plain Node too, so plugin logic is unit-testable with `node --test`: the WIT imports
// (the host log, metrics) are resolved by test/support/register.mjs to stubs that write to
// stderr and keep the metric values.

export {
  DataError, Logical, Outcome, Record, Schema, SchemaType, SourceRecord, Struct,
  StructSchemaBuilder, TaskError, Typed, decimalBytes,
} from "./sluice/data.js";
export { Config, ConfigDef, ConfigError, ConfigType, PluginSpec } from "./sluice/config.js";
export { log } from "./sluice/log.js";
export { metrics } from "./sluice/metrics.js";
export { exportPredicate, exportSink, exportSource, exportTransform } from "./sluice/exports.js";
