// The Connect data model plugins see: schemas, values, records and outcomes (see sluice.js
// for how Connect types map to JavaScript).

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

// Per struct schema: its field names' indices, built on the first lookup rather than searching
// the fields on every get/put (plugins run interpreted: a search per access adds up). Rebuilt
// when the schema's field list was replaced or grew since.
const fieldIndexes = new WeakMap();

/** A struct schema's field indices by name (a Map). Internal (not in sluice.js). */
export function fieldNames(schema) {
  let cached = fieldIndexes.get(schema);
  if (cached === undefined || cached.fields !== schema.fields || cached.size !== schema.fields.length) {
    const names = new Map();
    schema.fields.forEach((f, i) => names.set(f.name, i));
    cached = { fields: schema.fields, size: schema.fields.length, names };
    fieldIndexes.set(schema, cached);
  }
  return cached.names;
}

/** The index of a struct schema's field `name`, or undefined. Internal (not in sluice.js). */
export function fieldIndex(schema, name) {
  return fieldNames(schema).get(name);
}

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
    if (!(schema instanceof Schema) || schema.type !== "struct") {
      throw new DataError(`a Struct needs a struct schema, got ${describeSchema(schema)}`);
    }
    this.schema = schema;
    if (values === undefined) {
      // A loop, not fields.map(…): sources build a Struct per record, and in the component's
      // interpreter a callback per field costs more than the rest of the constructor.
      const fields = schema.fields;
      const defaults = new Array(fields.length);
      for (let i = 0; i < fields.length; i++) {
        const d = fields[i].schema.defaultValue;
        defaults[i] = d === undefined ? null : d;
      }
      this.values = defaults;
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
  has(name) { return fieldIndex(this.schema, name) !== undefined; }
  /** Sets a field; chains: `s.put("a", 1).put("b", "x")`. */
  put(name, value) { this.values[this.#index(name)] = value; return this; }
  /** [name, value] pairs in schema order. */
  entries() { return this.schema.fields.map((f, i) => [f.name, this.values[i]]); }
  #index(name) {
    const i = fieldIndex(this.schema, name);
    if (i === undefined) {
      const known = this.schema.fields.map((x) => x.name).join(", ");
      throw new DataError(`struct has no field "${name}"; its fields are: ${known}`);
    }
    return i;
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

/** "a struct schema", "null", … for error messages. */
export function describeSchema(s) {
  return s instanceof Schema ? `a ${s.type} schema` : `${s === null ? "null" : typeof s}`;
}
