// Sluice plugin SDK for JavaScript: write source, sink, transform and predicate plugins as
// ES modules and build them into WebAssembly components with componentize-js.
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
// Works in plain Node too (no WIT imports at module load), so plugin logic is unit-testable
// with `node --test`; logging then goes to stderr.

// ---------------------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------------------

/** Connect's Schema.Type names, as the WIT `schema-type` enum spells them. */
export const SchemaType = Object.freeze({
  INT8: "int8",
  INT16: "int16",
  INT32: "int32",
  INT64: "int64",
  FLOAT32: "float32",
  FLOAT64: "float64",
  BOOLEAN: "boolean",
  STRING: "string",
  BYTES: "bytes",
  ARRAY: "array",
  MAP: "map",
  STRUCT: "struct",
});

/** Names of Connect's logical types (a base type plus one of these schema names). */
export const Logical = Object.freeze({
  DECIMAL: "org.apache.kafka.connect.data.Decimal",
  DATE: "org.apache.kafka.connect.data.Date",
  TIME: "org.apache.kafka.connect.data.Time",
  TIMESTAMP: "org.apache.kafka.connect.data.Timestamp",
  DECIMAL_SCALE: "scale",
});

/**
 * A Connect schema. Immutable by convention: build one once (e.g. in the constructor of your
 * plugin) and share it between records; a batch then carries it once.
 */
export class Schema {
  constructor(type) {
    if (!Object.values(SchemaType).includes(type)) {
      throw new DataError(
        `unknown schema type "${type}"; use one of: ${Object.values(SchemaType).join(", ")}`,
      );
    }
    this.type = type;
    this.optional = false;
    /** Default value (a JS value as described at the top of this file), or undefined. */
    this.defaultValue = undefined;
    this.name = undefined;
    this.version = undefined;
    this.doc = undefined;
    /** [key, value] string pairs in insertion order (e.g. Decimal's scale). */
    this.parameters = [];
    this.items = undefined;
    this.keys = undefined;
    this.values = undefined;
    /** Struct fields: [{ name, schema }] in order. */
    this.fields = [];
  }

  static int8() { return new Schema(SchemaType.INT8); }
  static int16() { return new Schema(SchemaType.INT16); }
  static int32() { return new Schema(SchemaType.INT32); }
  static int64() { return new Schema(SchemaType.INT64); }
  static float32() { return new Schema(SchemaType.FLOAT32); }
  static float64() { return new Schema(SchemaType.FLOAT64); }
  static boolean() { return new Schema(SchemaType.BOOLEAN); }
  static string() { return new Schema(SchemaType.STRING); }
  static bytes() { return new Schema(SchemaType.BYTES); }
  static array(items) { const s = new Schema(SchemaType.ARRAY); s.items = items; return s; }
  static map(keys, values) {
    const s = new Schema(SchemaType.MAP);
    s.keys = keys;
    s.values = values;
    return s;
  }
  /** Starts a struct schema: `Schema.struct().name("x").field("id", Schema.int64()).build()`. */
  static struct() { return new StructSchemaBuilder(); }
  static decimal(scale) {
    return Schema.bytes().withName(Logical.DECIMAL).withVersion(1)
      .withParameter(Logical.DECIMAL_SCALE, String(scale));
  }
  static date() { return Schema.int32().withName(Logical.DATE).withVersion(1); }
  static time() { return Schema.int32().withName(Logical.TIME).withVersion(1); }
  static timestamp() { return Schema.int64().withName(Logical.TIMESTAMP).withVersion(1); }

  asOptional() { this.optional = true; return this; }
  withName(name) { this.name = name; return this; }
  withVersion(version) { this.version = version; return this; }
  withDoc(doc) { this.doc = doc; return this; }
  withDefault(value) { this.defaultValue = value; return this; }
  withParameter(key, value) {
    this.parameters = this.parameters.filter(([k]) => k !== key);
    this.parameters.push([key, String(value)]);
    return this;
  }
  parameter(key) {
    const p = this.parameters.find(([k]) => k === key);
    return p ? p[1] : undefined;
  }
  /** A struct field by name: `{ index, name, schema }`, or undefined. */
  field(name) {
    const index = this.fields.findIndex((f) => f.name === name);
    return index < 0 ? undefined : { index, ...this.fields[index] };
  }
}

export class StructSchemaBuilder {
  constructor() { this.schema = new Schema(SchemaType.STRUCT); }
  name(name) { this.schema.name = name; return this; }
  version(version) { this.schema.version = version; return this; }
  doc(doc) { this.schema.doc = doc; return this; }
  optional() { this.schema.optional = true; return this; }
  field(name, schema) {
    if (this.schema.fields.some((f) => f.name === name)) {
      throw new DataError(`struct schema already has a field "${name}"`);
    }
    this.schema.fields.push({ name, schema });
    return this;
  }
  build() { return this.schema; }
}

// ---------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------

/** A problem building or decoding Connect data. */
export class DataError extends Error {
  constructor(message) {
    super(message);
    this.name = "DataError";
  }
}

/**
 * A number with an explicit Connect type, for schemaless data where the type cannot come
 * from a schema: `Typed.int32(5)`, `Typed.float32(1.5)`.
 */
export class Typed {
  constructor(type, value) {
    this.type = type;
    this.value = value;
  }
  static int8(v) { return new Typed(SchemaType.INT8, v); }
  static int16(v) { return new Typed(SchemaType.INT16, v); }
  static int32(v) { return new Typed(SchemaType.INT32, v); }
  static int64(v) { return new Typed(SchemaType.INT64, BigInt(v)); }
  static float32(v) { return new Typed(SchemaType.FLOAT32, v); }
  static float64(v) { return new Typed(SchemaType.FLOAT64, v); }
}

/** A struct value: a struct schema plus one value per field, addressed by name. */
export class Struct {
  constructor(schema, values) {
    if (!(schema instanceof Schema) || schema.type !== SchemaType.STRUCT) {
      throw new DataError(`a Struct needs a struct schema, got ${describeSchema(schema)}`);
    }
    this.schema = schema;
    if (values === undefined) {
      this.values = schema.fields.map((f) => (f.schema.defaultValue === undefined ? null : f.schema.defaultValue));
    } else {
      if (values.length !== schema.fields.length) {
        throw new DataError(
          `struct schema ${schema.name ?? "(unnamed)"} has ${schema.fields.length} fields but ${values.length} values were given`,
        );
      }
      this.values = values;
    }
  }
  /** A field's value; throws a DataError naming the known fields if there is no such field. */
  get(name) { return this.values[this.#index(name)]; }
  /** Whether the schema has this field. */
  has(name) { return this.schema.field(name) !== undefined; }
  /** Sets a field; chains: `s.put("a", 1).put("b", "x")`. */
  put(name, value) { this.values[this.#index(name)] = value; return this; }
  /** [name, value] pairs in schema order. */
  entries() { return this.schema.fields.map((f, i) => [f.name, this.values[i]]); }
  #index(name) {
    const f = this.schema.field(name);
    if (f === undefined) {
      const known = this.schema.fields.map((x) => x.name).join(", ");
      throw new DataError(`struct has no field "${name}"; its fields are: ${known}`);
    }
    return f.index;
  }
}

/**
 * Connect's Decimal representation of `unscaled` (a bigint): the minimal two's-complement
 * big-endian bytes, as Java's BigInteger.toByteArray().
 */
export function decimalBytes(unscaled) {
  let v = BigInt(unscaled);
  const out = [];
  for (;;) {
    const byte = Number(v & 0xffn);
    out.unshift(byte);
    v >>= 8n;
    // Done once the rest is only sign extension of the byte just written.
    if ((v === 0n && (byte & 0x80) === 0) || (v === -1n && (byte & 0x80) !== 0)) break;
  }
  return Uint8Array.from(out);
}

// ---------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------

/**
 * A Connect record: what transforms see, what sinks receive, the payload of a source record.
 * `keySchema`/`valueSchema` are Schema or null (schemaless). `partition`, `offset` and
 * `timestamp` are numbers or null (`offset` is set on sink records only).
 */
export class Record {
  constructor(topic, fields = {}) {
    this.topic = topic;
    this.partition = fields.partition ?? null;
    this.offset = fields.offset ?? null;
    this.timestamp = fields.timestamp ?? null;
    /** "no-timestamp-type", "create-time" or "log-append-time". */
    this.timestampType = fields.timestampType ?? (this.timestamp === null ? "no-timestamp-type" : "create-time");
    this.keySchema = fields.keySchema ?? null;
    this.key = fields.key ?? null;
    this.valueSchema = fields.valueSchema ?? null;
    this.value = fields.value ?? null;
    /** [{ key, schema, value }] */
    this.headers = fields.headers ?? [];
  }
  /** A shallow copy with some fields replaced: `record.with({ topic: "other" })`. */
  with(fields) {
    return Object.assign(new Record(this.topic), this, fields);
  }
}

/** A record produced by a source with its position (`partition`/`offset`: plain objects of primitives). */
export class SourceRecord {
  constructor(sourcePartition, sourceOffset, record) {
    this.sourcePartition = sourcePartition;
    this.sourceOffset = sourceOffset;
    this.record = record;
  }
}

/** A failure of a whole call: `TaskError.fatal(msg)` fails the task, `retriable` is retried. */
export class TaskError extends Error {
  constructor(kind, message) {
    super(message);
    this.name = "TaskError";
    this.kind = kind;
  }
  static fatal(message) { return new TaskError("fatal", message); }
  static retriable(message) { return new TaskError("retriable", message); }
}

/** What a transform does with one record. */
export const Outcome = Object.freeze({
  keep: (record) => ({ kind: "keep", record }),
  drop: () => ({ kind: "drop" }),
  fail: (message) => ({ kind: "fail", message: String(message) }),
});

// ---------------------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------------------

/** Kafka ConfigDef types. */
export const ConfigType = Object.freeze({
  BOOLEAN: "boolean", STRING: "string", INT: "int", SHORT: "short", LONG: "long",
  DOUBLE: "double", LIST: "list", CLASS: "class", PASSWORD: "password",
});

/** One accepted config key: `ConfigDef.string("file").required().doc("...")`. */
export class ConfigDef {
  constructor(name, type) {
    this.name = name;
    this.type = type;
    this.defaultValue = undefined;
    // Underscored: `required` and `importance` are also the builder methods' names.
    this._required = false;
    this.secret = type === ConfigType.PASSWORD;
    this._importance = "medium";
    this.documentation = "";
    this.group = undefined;
    this.recommendedValues = [];
    /** "read-file", "write-file", "read-dir", "write-dir" or undefined. */
    this.fileAccess = undefined;
  }
  static string(name) { return new ConfigDef(name, ConfigType.STRING); }
  static int(name) { return new ConfigDef(name, ConfigType.INT); }
  static short(name) { return new ConfigDef(name, ConfigType.SHORT); }
  static long(name) { return new ConfigDef(name, ConfigType.LONG); }
  static double(name) { return new ConfigDef(name, ConfigType.DOUBLE); }
  static boolean(name) { return new ConfigDef(name, ConfigType.BOOLEAN); }
  static list(name) { return new ConfigDef(name, ConfigType.LIST); }
  static class(name) { return new ConfigDef(name, ConfigType.CLASS); }
  static password(name) { return new ConfigDef(name, ConfigType.PASSWORD); }
  required() { this._required = true; this.defaultValue = undefined; return this; }
  default(value) { this.defaultValue = String(value); this._required = false; return this; }
  doc(text) { this.documentation = text; return this; }
  /** "high", "medium" or "low". */
  importance(level) { this._importance = level; return this; }
  markSecret() { this.secret = true; return this; }
  inGroup(group) { this.group = group; return this; }
  recommended(values) { this.recommendedValues = values.map(String); return this; }
  withFileAccess(access) { this.fileAccess = access; return this; }
}

/** What a plugin says about itself. */
export class PluginSpec {
  constructor(name, version) {
    this.name = name;
    this.version = version;
    this.aliases = [];
    this.description = "";
    this.config = [];
  }
  alias(name) { this.aliases.push(name); return this; }
  describe(text) { this.description = text; return this; }
  option(def) { this.config.push(def); return this; }
}

/** A bad or missing config value; the message names the key (and never a secret's value). */
export class ConfigError extends Error {
  constructor(key, message) {
    super(`config \`${key}\`: ${message}`);
    this.name = "ConfigError";
    this.key = key;
    this.problem = message;
  }
}

/** A connector's or transform's config with typed getters that fall back to declared defaults. */
export class Config {
  constructor(entries = [], defs = []) {
    this.entries = entries;
    this.defs = defs;
  }
  /** The value as given, else the declared default, else undefined. */
  get(key) {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      if (this.entries[i][0] === key) return this.entries[i][1];
    }
    return this.#def(key)?.defaultValue;
  }
  /** Whether the key was given explicitly (defaults do not count). */
  contains(key) { return this.entries.some(([k]) => k === key); }
  requiredString(key) {
    const v = this.get(key);
    if (v === undefined) throw new ConfigError(key, "missing required key");
    return v;
  }
  string(key) { return this.get(key); }
  /** An integer (int, short or long) as a number, or undefined if neither given nor defaulted. */
  int(key) {
    return this.#parse(key, "an integer such as 100", (v) => (/^\s*[-+]?\d+\s*$/.test(v) ? Number.parseInt(v, 10) : undefined));
  }
  double(key) {
    return this.#parse(key, "a number such as 1.5", (v) => {
      const n = Number(v.trim());
      return v.trim() !== "" && Number.isFinite(n) ? n : undefined;
    });
  }
  /** true/false in any case, as Kafka. */
  bool(key) {
    return this.#parse(key, "`true` or `false`", (v) => {
      const s = v.trim().toLowerCase();
      return s === "true" ? true : s === "false" ? false : undefined;
    });
  }
  /** A comma-separated list, items trimmed, empty items dropped; [] if missing. */
  list(key) {
    const v = this.get(key);
    return v === undefined ? [] : v.split(",").map((s) => s.trim()).filter((s) => s !== "");
  }
  /** A value that must be one of `allowed`. */
  oneOf(key, allowed) {
    const v = this.get(key);
    if (v === undefined || allowed.includes(v)) return v;
    throw new ConfigError(key, `${this.#shown(key, v)} is not accepted; use one of: ${allowed.join(", ")}`);
  }
  #def(key) { return this.defs.find((d) => d.name === key); }
  #shown(key, value) {
    const d = this.#def(key);
    return d && (d.secret || d.type === ConfigType.PASSWORD) ? "the value [hidden]" : `"${value}"`;
  }
  #parse(key, expected, parse) {
    const v = this.get(key);
    if (v === undefined) return undefined;
    const parsed = parse(v);
    if (parsed === undefined) {
      throw new ConfigError(key, `${this.#shown(key, v)} is not valid; expected ${expected}`);
    }
    return parsed;
  }
}

// ---------------------------------------------------------------------------------------
// Logging
// ---------------------------------------------------------------------------------------

// Resolved by componentize-js to the world's `host` import. Plain Node cannot load it: unit
// tests register test/support/host-stub.mjs (`node --import ./test/support/register.mjs --test`), which
// prints the lines to stderr instead.
import { log as hostLog } from "sluice:connect/host@0.1.0";

function emit(level, message) {
  hostLog(level, String(message));
}

/** Lines in the host log, tagged with the connector and task that wrote them. */
export const log = Object.freeze({
  trace: (m) => emit("trace", m),
  debug: (m) => emit("debug", m),
  info: (m) => emit("info", m),
  warn: (m) => emit("warn", m),
  error: (m) => emit("error", m),
});

// ---------------------------------------------------------------------------------------
// Wire format: flattened WIT trees <-> the types above
// ---------------------------------------------------------------------------------------

const MAX_DEPTH = 512;

function describeSchema(s) {
  return s instanceof Schema ? `a ${s.type} schema` : `${s === null ? "null" : typeof s}`;
}

/** Lifts one WIT schema (node list) into a Schema tree. Never trusts indices. */
export function liftSchema(wire) {
  const build = (index, depth) => {
    if (depth > MAX_DEPTH) throw new DataError(`schema nested deeper than ${MAX_DEPTH} levels`);
    const node = wire.nodes[index];
    if (node === undefined) throw new DataError(`schema node ${index} out of range (${wire.nodes.length} nodes)`);
    const s = new Schema(node.type);
    s.optional = node.optional;
    s.name = node.name;
    s.version = node.version;
    s.doc = node.doc;
    s.parameters = node.parameters.map(([k, v]) => [k, v]);
    if (node.items !== undefined) s.items = build(node.items, depth + 1);
    if (node.keys !== undefined) s.keys = build(node.keys, depth + 1);
    if (node.values !== undefined) s.values = build(node.values, depth + 1);
    s.fields = node.fields.map((f) => ({ name: f.name, schema: build(f.schema, depth + 1) }));
    if (node.defaultValue !== undefined) {
      s.defaultValue = liftValue(wire.defaults, node.defaultValue, s, 0);
    }
    return s;
  };
  return build(0, 0);
}

/** Lifts the value subtree rooted at `index` of `nodes`, typed by `schema` (or null). */
export function liftValue(nodes, index, schema, depth = 0) {
  if (depth > MAX_DEPTH) throw new DataError(`value nested deeper than ${MAX_DEPTH} levels`);
  const node = nodes[index];
  if (node === undefined) throw new DataError(`value node ${index} out of range (${nodes.length} nodes)`);
  const child = (i, s) => liftValue(nodes, i, s, depth + 1);
  switch (node.tag) {
    case "null": return null;
    case "boolean": case "string": case "float64": return node.val;
    case "int64": return node.val;
    case "int8": case "int16": case "int32": case "float32":
      return schema ? node.val : new Typed(node.tag, node.val);
    case "bytes": return node.val instanceof Uint8Array ? node.val : Uint8Array.from(node.val);
    // jco hands `list<u32>` over as a Uint32Array, whose map() would coerce the results to numbers.
    case "array": return Array.from(node.val, (i) => child(i, schema?.items ?? null));
    case "map": {
      const m = new Map();
      for (const [k, v] of node.val) m.set(child(k, schema?.keys ?? null), child(v, schema?.values ?? null));
      return m;
    }
    case "struct": {
      if (!schema || schema.type !== SchemaType.STRUCT) {
        throw new DataError(`a struct value needs a struct schema, got ${schema ? describeSchema(schema) : "none"}`);
      }
      if (node.val.length !== schema.fields.length) {
        throw new DataError(`struct value has ${node.val.length} fields, its schema ${schema.fields.length}`);
      }
      return new Struct(schema, Array.from(node.val, (i, n) => child(i, schema.fields[n].schema)));
    }
    default: throw new DataError(`unknown value node "${node.tag}"`);
  }
}

/** Appends `value` (typed by `schema`, or null) to `nodes`, root first; returns its index. */
export function lowerValue(value, schema, nodes, depth = 0) {
  if (depth > MAX_DEPTH) throw new DataError(`value nested deeper than ${MAX_DEPTH} levels`);
  const index = nodes.length;
  if (value === null || value === undefined) {
    nodes.push({ tag: "null" });
    return index;
  }
  if (value instanceof Typed) {
    nodes.push(lowerNumber(value.type, value.value));
    return index;
  }
  if (value instanceof Struct) {
    nodes.push(null);
    const fields = value.schema.fields;
    nodes[index] = { tag: "struct", val: value.values.map((v, i) => lowerValue(v, fields[i].schema, nodes, depth + 1)) };
    return index;
  }
  const type = schema ? schema.type : inferType(value);
  switch (type) {
    case SchemaType.BOOLEAN:
      if (typeof value !== "boolean") throw mismatch(value, type);
      nodes.push({ tag: "boolean", val: value });
      return index;
    case SchemaType.STRING:
      if (typeof value !== "string") throw mismatch(value, type);
      nodes.push({ tag: "string", val: value });
      return index;
    case SchemaType.BYTES:
      if (!(value instanceof Uint8Array)) throw mismatch(value, type);
      nodes.push({ tag: "bytes", val: value });
      return index;
    case SchemaType.ARRAY: {
      if (!Array.isArray(value)) throw mismatch(value, type);
      nodes.push(null);
      nodes[index] = { tag: "array", val: value.map((v) => lowerValue(v, schema?.items ?? null, nodes, depth + 1)) };
      return index;
    }
    case SchemaType.MAP: {
      const entries = value instanceof Map ? [...value.entries()]
        : typeof value === "object" && !Array.isArray(value) ? Object.entries(value) : null;
      if (entries === null) throw mismatch(value, type);
      nodes.push(null);
      nodes[index] = {
        tag: "map",
        val: entries.map(([k, v]) => [
          lowerValue(k, schema?.keys ?? null, nodes, depth + 1),
          lowerValue(v, schema?.values ?? null, nodes, depth + 1),
        ]),
      };
      return index;
    }
    case SchemaType.STRUCT:
      throw mismatch(value, type);
    default:
      nodes.push(lowerNumber(type, value));
      return index;
  }
}

function inferType(value) {
  switch (typeof value) {
    case "boolean": return SchemaType.BOOLEAN;
    case "string": return SchemaType.STRING;
    case "bigint": return SchemaType.INT64;
    case "number": return SchemaType.FLOAT64;
    default:
      if (value instanceof Uint8Array) return SchemaType.BYTES;
      if (Array.isArray(value)) return SchemaType.ARRAY;
      if (typeof value === "object") return SchemaType.MAP;
      throw new DataError(`cannot send a ${typeof value} as Connect data`);
  }
}

const INT_RANGES = {
  int8: [-128n, 127n],
  int16: [-32768n, 32767n],
  int32: [-2147483648n, 2147483647n],
  int64: [-9223372036854775808n, 9223372036854775807n],
};

function lowerNumber(type, value) {
  if (type === SchemaType.FLOAT32 || type === SchemaType.FLOAT64) {
    if (typeof value !== "number") throw mismatch(value, type);
    return { tag: type, val: value };
  }
  const range = INT_RANGES[type];
  if (!range) throw new DataError(`${type} is not a number type`);
  let big;
  if (typeof value === "bigint") big = value;
  else if (typeof value === "number" && Number.isInteger(value)) big = BigInt(value);
  else throw mismatch(value, type);
  if (big < range[0] || big > range[1]) throw new DataError(`${value} does not fit in ${type}`);
  return { tag: type, val: type === SchemaType.INT64 ? big : Number(big) };
}

function mismatch(value, type) {
  const got = value instanceof Uint8Array ? "Uint8Array" : Array.isArray(value) ? "array"
    : value instanceof Map ? "Map" : typeof value;
  return new DataError(`a ${type} schema needs a ${type} value, got ${got}: ${String(value).slice(0, 60)}`);
}

/** Appends `schema` as a subtree of `nodes` (defaults into `defaults`); returns its root index. */
function lowerSchema(schema, nodes, defaults, depth = 0) {
  if (depth > MAX_DEPTH) throw new DataError(`schema nested deeper than ${MAX_DEPTH} levels`);
  const index = nodes.length;
  nodes.push(null);
  const node = {
    type: schema.type,
    optional: schema.optional,
    name: schema.name ?? undefined,
    version: schema.version ?? undefined,
    doc: schema.doc ?? undefined,
    parameters: schema.parameters,
    defaultValue: schema.defaultValue === undefined ? undefined : lowerValue(schema.defaultValue, schema, defaults),
    items: schema.items ? lowerSchema(schema.items, nodes, defaults, depth + 1) : undefined,
    keys: schema.keys ? lowerSchema(schema.keys, nodes, defaults, depth + 1) : undefined,
    values: schema.values ? lowerSchema(schema.values, nodes, defaults, depth + 1) : undefined,
    fields: schema.fields.map((f) => ({ name: f.name, schema: lowerSchema(f.schema, nodes, defaults, depth + 1) })),
  };
  nodes[index] = node;
  return index;
}

/** Lowers records of one batch, sharing one schema table (interned by object identity). */
export class Lowerer {
  constructor() {
    this.index = new Map();
    this.schemas = [];
  }
  intern(schema) {
    let i = this.index.get(schema);
    if (i === undefined) {
      const nodes = [];
      const defaults = [];
      lowerSchema(schema, nodes, defaults);
      this.schemas.push({ nodes, defaults });
      i = this.schemas.length - 1;
      this.index.set(schema, i);
    }
    return i;
  }
  data(schema, value) {
    // A struct always travels with a struct schema; a plugin that left it out gets the struct's own.
    const s = schema ?? (value instanceof Struct ? value.schema : null);
    const nodes = [];
    lowerValue(value, s, nodes);
    return { schema: s ? this.intern(s) : undefined, value: nodes };
  }
  record(r) {
    return {
      topic: r.topic,
      kafkaPartition: r.partition ?? undefined,
      kafkaOffset: r.offset === null || r.offset === undefined ? undefined : BigInt(r.offset),
      timestamp: r.timestamp === null || r.timestamp === undefined ? undefined : BigInt(r.timestamp),
      timestampType: r.timestampType,
      key: this.data(r.keySchema, r.key),
      value: this.data(r.valueSchema, r.value),
      headers: r.headers.map((h) => ({ key: h.key, value: this.data(h.schema ?? null, h.value) })),
    };
  }
}

/** Lifts a WIT batch: one entry per record, a Record or a DataError. */
export function liftBatch(batch) {
  const schemas = new Array(batch.schemas.length);
  const schemaAt = (i) => {
    if (i === undefined) return null;
    if (i >= batch.schemas.length) throw new DataError(`schema ${i} out of range (${batch.schemas.length} schemas)`);
    if (schemas[i] === undefined) schemas[i] = liftSchema(batch.schemas[i]);
    return schemas[i];
  };
  const data = (d) => {
    const s = schemaAt(d.schema);
    return [s, liftValue(d.value, 0, s)];
  };
  return batch.records.map((w) => {
    try {
      const [keySchema, key] = data(w.key);
      const [valueSchema, value] = data(w.value);
      return new Record(w.topic, {
        partition: w.kafkaPartition ?? null,
        offset: w.kafkaOffset === undefined ? null : Number(w.kafkaOffset),
        timestamp: w.timestamp === undefined ? null : Number(w.timestamp),
        timestampType: w.timestampType,
        keySchema,
        key,
        valueSchema,
        value,
        headers: w.headers.map((h) => {
          const [schema, value] = data(h.value);
          return { key: h.key, schema, value };
        }),
      });
    } catch (e) {
      return e instanceof DataError ? e : new DataError(String(e?.message ?? e));
    }
  });
}

function lowerOffsetMap(obj) {
  return Object.entries(obj ?? {}).map(([k, v]) => {
    if (v === null || v === undefined) return [k, { tag: "null" }];
    switch (typeof v) {
      case "boolean": return [k, { tag: "boolean", val: v }];
      case "string": return [k, { tag: "string", val: v }];
      case "bigint": return [k, { tag: "int", val: v }];
      case "number": return [k, Number.isInteger(v) ? { tag: "int", val: BigInt(v) } : { tag: "float", val: v }];
      default: throw new DataError(`source partition/offset "${k}" must be a primitive, got ${typeof v}`);
    }
  });
}

function liftOffsetMap(entries) {
  const out = {};
  for (const [k, v] of entries) {
    out[k] = v.tag === "null" ? null : v.tag === "int" ? Number(v.val) : v.val;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Exports: adapters from plugin classes to the WIT world's exports
// ---------------------------------------------------------------------------------------

function lowerSpec(spec, kind) {
  return {
    name: spec.name,
    aliases: spec.aliases,
    version: spec.version,
    kind,
    description: spec.description,
    config: spec.config.map((d) => ({
      name: d.name,
      type: d.type,
      defaultValue: d.defaultValue,
      required: d._required,
      secret: d.secret,
      importance: d._importance,
      documentation: d.documentation,
      group: d.group,
      recommendedValues: d.recommendedValues,
      fileAccess: d.fileAccess,
    })),
  };
}

function pluginExport(cls, kind) {
  let defs = null;
  const config = (entries) => {
    defs ??= cls.spec().config;
    return new Config(entries, defs);
  };
  const plugin = {
    spec: () => lowerSpec(cls.spec(), kind),
    validate: (entries) => (cls.validate ? cls.validate(config(entries)) : [])
      .map((p) => ({ key: p.key, message: p.message })),
  };
  return { plugin, config };
}

/** The message of anything thrown, for a WIT error string. */
function messageOf(e) {
  return e instanceof Error ? e.message : String(e);
}

// jco maps a thrown value to the `err` case of a WIT result; it unwraps `payload` when set.
function taskError(e) {
  const kind = e instanceof TaskError ? e.kind : e instanceof ConfigError ? "fatal" : "fatal";
  const err = new Error(messageOf(e));
  err.payload = { tag: kind, val: messageOf(e) };
  return err;
}

function stringError(e) {
  const err = new Error(messageOf(e));
  err.payload = messageOf(e);
  return err;
}

/**
 * Exports a transform class. The class has `static spec()`, optional `static validate(config)`,
 * a constructor `(className, config)` that throws to refuse the config, and `apply(record)`
 * returning an Outcome. Use: `export const { plugin, transforms } = exportTransform(MyTransform);`
 */
export function exportTransform(cls) {
  const { plugin, config } = pluginExport(cls, "transform");
  class Transformer {
    constructor(instance) { this.instance = instance; }
    static create(className, entries) {
      try {
        return new Transformer(new cls(className, config(entries)));
      } catch (e) {
        throw stringError(e);
      }
    }
    apply(batch) {
      const lowerer = new Lowerer();
      const outcomes = liftBatch(batch).map((lifted) => {
        if (lifted instanceof DataError) return { tag: "fail", val: lifted.message };
        let out;
        try {
          out = this.instance.apply(lifted);
        } catch (e) {
          // A throw fails this record only (Connect's DataException), not the task.
          return { tag: "fail", val: messageOf(e) };
        }
        switch (out?.kind) {
          case "keep":
            try {
              return { tag: "keep", val: lowerer.record(out.record) };
            } catch (e) {
              return { tag: "fail", val: messageOf(e) };
            }
          case "drop": return { tag: "drop" };
          case "fail": return { tag: "fail", val: out.message };
          default:
            return { tag: "fail", val: `plugin bug: apply() returned ${JSON.stringify(out)}; return Outcome.keep/drop/fail` };
        }
      });
      return { schemas: lowerer.schemas, outcomes };
    }
  }
  return { plugin, transforms: { Transformer } };
}

/**
 * Exports a sink class: `static spec()`, optional `static validate(config)` and
 * `static taskConfigs(config, maxTasks)`, a constructor `(config)`, `put(records)` returning
 * `[{ index, message }]` for records it could not write, optional `flush(offsets)` and `stop()`.
 * Throw `TaskError.retriable/fatal` from any of them to fail the call.
 * Use: `export const { plugin, sinkConnector } = exportSink(MySink);`
 */
export function exportSink(cls) {
  const { plugin, config } = pluginExport(cls, "sink");
  class SinkTask {
    constructor(instance) { this.instance = instance; }
    static open(entries) {
      try {
        return new SinkTask(new cls(config(entries)));
      } catch (e) {
        throw taskError(e);
      }
    }
    put(batch) {
      const failures = [];
      const records = [];
      const positions = [];
      liftBatch(batch).forEach((lifted, i) => {
        if (lifted instanceof DataError) failures.push({ index: i, message: lifted.message });
        else {
          records.push(lifted);
          positions.push(i);
        }
      });
      if (records.length > 0) {
        let reported;
        try {
          reported = this.instance.put(records) ?? [];
        } catch (e) {
          throw taskError(e);
        }
        for (const f of reported) {
          const index = positions[f.index];
          if (index === undefined) {
            throw taskError(TaskError.fatal(`plugin bug: put() reported a failure at index ${f.index} of a ${records.length}-record batch`));
          }
          failures.push({ index, message: String(f.message) });
        }
      }
      return failures.sort((a, b) => a.index - b.index);
    }
    flush(offsets) {
      try {
        this.instance.flush?.(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: Number(o.offset) })));
      } catch (e) {
        throw taskError(e);
      }
    }
    stop() { this.instance.stop?.(); }
  }
  const taskConfigs = (entries, maxTasks) => {
    try {
      const c = config(entries);
      const out = cls.taskConfigs ? cls.taskConfigs(c, maxTasks) : Array.from({ length: maxTasks }, () => c);
      return out.map((x) => (x instanceof Config ? x.entries : x));
    } catch (e) {
      throw stringError(e);
    }
  };
  return { plugin, sinkConnector: { taskConfigs, SinkTask } };
}

/**
 * Exports a source class: `static spec()`, optional `static validate` / `static taskConfigs`,
 * a constructor `(config, committed)` where `committed` is `[{ partition, offset }]` (plain
 * objects), `poll(maxRecords)` returning SourceRecords (an empty array: nothing right now),
 * optional `stop()`. Use: `export const { plugin, sourceConnector } = exportSource(MySource);`
 */
export function exportSource(cls) {
  const { plugin, config } = pluginExport(cls, "source");
  class SourceTask {
    constructor(instance) { this.instance = instance; }
    static open(entries, committed) {
      try {
        const positions = committed.map((p) => ({ partition: liftOffsetMap(p.partition), offset: liftOffsetMap(p.offset) }));
        return new SourceTask(new cls(config(entries), positions));
      } catch (e) {
        throw taskError(e);
      }
    }
    poll(maxRecords) {
      let records;
      try {
        records = this.instance.poll(maxRecords) ?? [];
      } catch (e) {
        throw taskError(e);
      }
      const lowerer = new Lowerer();
      try {
        const lowered = records.map((r) => ({
          sourcePartition: lowerOffsetMap(r.sourcePartition),
          sourceOffset: lowerOffsetMap(r.sourceOffset),
          record: lowerer.record(r.record),
        }));
        return { schemas: lowerer.schemas, records: lowered };
      } catch (e) {
        throw taskError(TaskError.fatal(`poll() returned a record that cannot be sent: ${messageOf(e)}`));
      }
    }
    stop() { this.instance.stop?.(); }
  }
  const taskConfigs = (entries, maxTasks) => {
    try {
      const c = config(entries);
      const out = cls.taskConfigs ? cls.taskConfigs(c, maxTasks) : [c];
      return out.map((x) => (x instanceof Config ? x.entries : x));
    } catch (e) {
      throw stringError(e);
    }
  };
  return { plugin, sourceConnector: { taskConfigs, SourceTask } };
}
