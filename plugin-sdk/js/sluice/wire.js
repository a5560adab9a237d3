// Internal: conversions between the flattened WIT trees the host exchanges and the data model
// of data.js. Not part of the author's API (sluice.js does not export it).

import { DataError, Record, Schema, SchemaType, Struct, Typed, describeSchema } from "./data.js";

const MAX_DEPTH = 512;

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

export function lowerOffsetMap(obj) {
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

export function liftOffsetMap(entries) {
  const out = {};
  for (const [k, v] of entries) {
    out[k] = v.tag === "null" ? null : v.tag === "int" ? Number(v.val) : v.val;
  }
  return out;
}
