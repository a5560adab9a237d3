// Internal: the packed batch encoding (docs/packed-batches.md) in JavaScript: a reader and a
// writer of its primitives, and full decoding and encoding of values and schemas.
//
// Why it is written the way it is: plugins run in SpiderMonkey's interpreter inside the
// component, where every JavaScript operation costs tens of nanoseconds and native calls
// (TextDecoder, TextEncoder, Uint8Array.set) cost about as much as one. So strings are decoded
// and encoded natively, unchanged bytes are copied with `set`, and the hot paths (varints,
// skipping a value) are plain loops over the byte array without helper objects.

import { DataError, Schema, Struct, Typed, describeSchema } from "../data.js";

export const VERSION = 1;
const MAX_DEPTH = 512;

// Value tags (the WIT `value-node` case order). The code below writes them as numeric
// literals with the name in a comment: SpiderMonkey's interpreter turns a switch over literal
// cases into a jump table, while `case TAG.STRUCT:` loads a property for every case it tries
// (a few microseconds per struct value on the packed path).
export const TAG = Object.freeze({
  NULL: 0, BOOLEAN: 1, INT8: 2, INT16: 3, INT32: 4, INT64: 5, FLOAT32: 6, FLOAT64: 7,
  STRING: 8, BYTES: 9, ARRAY: 10, MAP: 11, STRUCT: 12,
});

/** Schema type codes, in the order of the WIT `schema-type` enum. */
const SCHEMA_TYPES = [
  "int8", "int16", "int32", "int64", "float32",
  "float64", "boolean", "string", "bytes", "array",
  "map", "struct",
];
const SCHEMA_CODE = new Map(SCHEMA_TYPES.map((t, i) => [t, i]));
const TIMESTAMP_TYPES = ["no-timestamp-type", "create-time", "log-append-time"];
const TIMESTAMP_CODE = new Map(TIMESTAMP_TYPES.map((t, i) => [t, i]));

const decoder = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

function broken(what, pos) {
  return new DataError(`packed batch: ${what} at byte ${pos}`);
}

/** Reads a payload; `p` is the position, moved past what each method reads. */
export class Reader {
  constructor(bytes, p = 0) {
    this.b = bytes;
    this.p = p;
  }

  u8() {
    if (this.p >= this.b.length) throw broken("cut short", this.p);
    return this.b[this.p++];
  }

  /** An unsigned LEB128 varint as a number (exact up to 2^53; larger ones are refused). */
  uvar() {
    const b = this.b;
    let p = this.p;
    let x = b[p++];
    if (x < 0x80) {
      this.p = p;
      return x;
    }
    let v = 0;
    let mul = 1;
    for (;;) {
      if (x === undefined) throw broken("cut short", p - 1);
      v += (x & 0x7f) * mul;
      if (x < 0x80) break;
      mul *= 128;
      if (mul > 2 ** 49) throw broken("varint past 2^53", this.p);
      x = b[p++];
    }
    this.p = p;
    return v;
  }

  /** An unsigned varint as a bigint (any 64-bit value). */
  uvarBig() {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const x = this.u8();
      v |= BigInt(x & 0x7f) << shift;
      if (x < 0x80) return v;
      shift += 7n;
      if (shift > 63n) throw broken("varint longer than 64 bits", this.p);
    }
  }

  /** A zigzag varint as a number (timestamps, offsets, int8–int32). */
  svar() {
    const start = this.p;
    let u;
    try {
      u = this.uvar();
    } catch (e) {
      // Past 2^53: exact as a bigint, then as the nearest number (what Record holds).
      this.p = start;
      return Number(this.svarBig());
    }
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  svarBig() {
    const u = this.uvarBig();
    return BigInt.asIntN(64, (u >> 1n) ^ -(u & 1n));
  }

  optSvar() {
    const flag = this.u8();
    if (flag === 0) return null;
    if (flag !== 1) throw broken(`option flag ${flag}`, this.p - 1);
    return this.svar();
  }

  /** The end of the string or byte string at `p`, moving past it. */
  skipBytes() {
    const n = this.uvar();
    const end = this.p + n;
    if (end > this.b.length) throw broken("length past the end", this.p);
    this.p = end;
    return end;
  }

  str() {
    const n = this.uvar();
    const start = this.p;
    const end = start + n;
    if (end > this.b.length) throw broken("length past the end", start);
    this.p = end;
    return decoder.decode(this.b.subarray(start, end));
  }

  optStr() {
    const flag = this.u8();
    return flag === 0 ? undefined : this.str();
  }

  f32() {
    const v = new DataView(this.b.buffer, this.b.byteOffset + this.p, 4).getFloat32(0, true);
    this.p += 4;
    return v;
  }

  f64() {
    if (this.p + 8 > this.b.length) throw broken("cut short", this.p);
    const v = new DataView(this.b.buffer, this.b.byteOffset + this.p, 8).getFloat64(0, true);
    this.p += 8;
    return v;
  }

  /** Moves past one value without decoding it. */
  skipValue(depth = 0) {
    const b = this.b;
    const tag = b[this.p++];
    switch (tag) {
      case 0 /* NULL */: return;
      case 8 /* STRING */: case 9 /* BYTES */: this.skipBytes(); return;
      case 3 /* INT16 */: case 4 /* INT32 */: case 5 /* INT64 */:
        while (b[this.p++] >= 0x80);
        if (this.p > b.length) throw broken("cut short", b.length);
        return;
      case 1 /* BOOLEAN */: case 2 /* INT8 */: this.p += 1; break;
      case 6 /* FLOAT32 */: this.p += 4; break;
      case 7 /* FLOAT64 */: this.p += 8; break;
      case 10 /* ARRAY */: case 12 /* STRUCT */: case 11 /* MAP */: {
        if (depth >= MAX_DEPTH) throw broken(`value nested deeper than ${MAX_DEPTH} levels`, this.p);
        const n = this.uvar() * (tag === 11 /* MAP */ ? 2 : 1);
        for (let i = 0; i < n; i++) this.skipValue(depth + 1);
        return;
      }
      default: throw broken(`unknown value tag ${tag}`, this.p - 1);
    }
    if (this.p > b.length) throw broken("cut short", b.length);
  }

  /** Moves past `data` (schema reference and value). */
  skipData() {
    this.uvar();
    this.skipValue();
  }

  /** Decodes the value at `p`, typed by `schema` (a Schema or null), as liftValue does. */
  value(schema, depth = 0) {
    if (depth > MAX_DEPTH) throw new DataError(`value nested deeper than ${MAX_DEPTH} levels`);
    const at = this.p;
    const tag = this.u8();
    switch (tag) {
      case 0 /* NULL */: return null;
      case 1 /* BOOLEAN */: return this.u8() !== 0;
      case 2 /* INT8 */: {
        const v = (this.u8() << 24) >> 24;
        return schema ? v : new Typed("int8", v);
      }
      case 3 /* INT16 */: case 4 /* INT32 */: {
        const v = this.svar();
        return schema ? v : new Typed(tag === 3 /* INT16 */ ? "int16" : "int32", v);
      }
      case 5 /* INT64 */: return this.svarBig();
      case 6 /* FLOAT32 */: {
        const v = this.f32();
        return schema ? v : new Typed("float32", v);
      }
      case 7 /* FLOAT64 */: return this.f64();
      case 8 /* STRING */: return this.str();
      case 9 /* BYTES */: {
        const n = this.uvar();
        const start = this.p;
        if (start + n > this.b.length) throw broken("length past the end", start);
        this.p = start + n;
        return this.b.slice(start, start + n);
      }
      case 10 /* ARRAY */: {
        const n = this.uvar();
        const items = schema?.items ?? null;
        const out = new Array(n);
        for (let i = 0; i < n; i++) out[i] = this.value(items, depth + 1);
        return out;
      }
      case 11 /* MAP */: {
        const n = this.uvar();
        const m = new Map();
        for (let i = 0; i < n; i++) {
          const k = this.value(schema?.keys ?? null, depth + 1);
          m.set(k, this.value(schema?.values ?? null, depth + 1));
        }
        return m;
      }
      case 12 /* STRUCT */: {
        const n = this.uvar();
        if (!schema || schema.type !== "struct") {
          throw new DataError(`a struct value needs a struct schema, got ${schema ? describeSchema(schema) : "none"}`);
        }
        if (n !== schema.fields.length) {
          throw new DataError(`struct value has ${n} fields, its schema ${schema.fields.length}`);
        }
        const values = new Array(n);
        for (let i = 0; i < n; i++) values[i] = this.value(schema.fields[i].schema, depth + 1);
        return new Struct(schema, values);
      }
      default: throw broken(`unknown value tag ${tag}`, at);
    }
  }

  /** Decodes one schema tree into a Schema. */
  schema(depth = 0) {
    if (depth > MAX_DEPTH) throw new DataError(`schema nested deeper than ${MAX_DEPTH} levels`);
    const code = this.u8();
    const type = SCHEMA_TYPES[code];
    if (type === undefined) throw broken(`unknown schema type ${code}`, this.p - 1);
    const s = new Schema(type);
    s.optional = this.u8() !== 0;
    s.name = this.optStr();
    s.version = this.u8() === 0 ? undefined : this.svar();
    s.doc = this.optStr();
    const nparams = this.uvar();
    for (let i = 0; i < nparams; i++) s.parameters.push([this.str(), this.str()]);
    const defaultAt = this.u8() === 0 ? -1 : this.p;
    if (defaultAt >= 0) this.skipValue();
    if (this.u8() !== 0) s.items = this.schema(depth + 1);
    if (this.u8() !== 0) s.keys = this.schema(depth + 1);
    if (this.u8() !== 0) s.values = this.schema(depth + 1);
    const nfields = this.uvar();
    for (let i = 0; i < nfields; i++) s.fields.push({ name: this.str(), schema: this.schema(depth + 1) });
    if (defaultAt >= 0) {
      // The default is typed by the whole schema, so it is read once the fields are known.
      const end = this.p;
      this.p = defaultAt;
      s.defaultValue = this.value(s);
      this.p = end;
    }
    return s;
  }
}

/** A growable byte buffer with the encoding's primitives. */
export class Writer {
  constructor(capacity = 4096) {
    this.buf = new Uint8Array(capacity);
    this.len = 0;
  }

  reserve(n) {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  u8(x) {
    if (this.len === this.buf.length) this.reserve(1);
    this.buf[this.len++] = x;
  }

  uvar(v) {
    this.reserve(10);
    const buf = this.buf;
    while (v >= 0x80) {
      buf[this.len++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[this.len++] = v;
  }

  uvarBig(v) {
    this.reserve(10);
    while (v >= 0x80n) {
      this.buf[this.len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.len++] = Number(v);
  }

  /** A zigzag varint of an integer number (|v| < 2^53) or bigint (64 bits). */
  svar(v) {
    if (typeof v === "bigint") {
      this.uvarBig(BigInt.asUintN(64, (v << 1n) ^ (v >> 63n)));
    } else if (v < 2 ** 52 && v > -(2 ** 52)) {
      // Exact: the zigzag value stays below 2^53.
      this.uvar(v >= 0 ? v * 2 : -v * 2 - 1);
    } else {
      this.svar(BigInt(v));
    }
  }

  optSvar(v) {
    if (v === null || v === undefined) {
      this.u8(0);
    } else {
      this.u8(1);
      this.svar(v);
    }
  }

  /** Copies `bytes[from..to]`. */
  copy(bytes, from, to) {
    const n = to - from;
    if (this.len + n > this.buf.length) this.reserve(n);
    if (n <= 8) {
      // A few bytes (the end of a record, a short field between changed ones) cost less as a
      // loop than as a subarray plus `set`.
      const buf = this.buf;
      let at = this.len;
      for (let i = from; i < to; i++) buf[at++] = bytes[i];
      this.len = at;
      return;
    }
    this.buf.set(bytes.subarray(from, to), this.len);
    this.len += n;
  }

  /** A string value: the tag, then the string (one call for the most common value). */
  taggedStr(s) {
    if (s.length < 42) {
      const max = s.length * 3;
      if (this.len + max + 2 > this.buf.length) this.reserve(max + 2);
      const at = this.len;
      const { written } = encoder.encodeInto(s, this.buf.subarray(at + 2, at + 2 + max));
      this.buf[at] = 8 /* STRING */;
      this.buf[at + 1] = written;
      this.len = at + 2 + written;
    } else {
      this.u8(8 /* STRING */);
      this.str(s);
    }
  }

  bytes(b) {
    this.uvar(b.length);
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  str(s) {
    // At most 3 bytes per UTF-16 unit; the length prefix goes in front once it is known.
    if (s.length < 42) {
      const max = s.length * 3;
      this.reserve(max + 1);
      const { written } = encoder.encodeInto(s, this.buf.subarray(this.len + 1, this.len + 1 + max));
      this.buf[this.len] = written;
      this.len += 1 + written;
    } else {
      this.bytes(encoder.encode(s));
    }
  }

  optStr(s) {
    if (s === null || s === undefined) {
      this.u8(0);
    } else {
      this.u8(1);
      this.str(s);
    }
  }

  f32(v) {
    this.reserve(4);
    new DataView(this.buf.buffer, this.len, 4).setFloat32(0, v, true);
    this.len += 4;
  }

  f64(v) {
    this.reserve(8);
    new DataView(this.buf.buffer, this.len, 8).setFloat64(0, v, true);
    this.len += 8;
  }

  finish() {
    return this.buf.subarray(0, this.len);
  }
}

export function timestampTypeCode(t) {
  const code = TIMESTAMP_CODE.get(t ?? "no-timestamp-type");
  if (code === undefined) {
    throw new DataError(`unknown timestamp type "${t}"; use one of: ${TIMESTAMP_TYPES.join(", ")}`);
  }
  return code;
}

export function timestampTypeName(code, at) {
  const t = TIMESTAMP_TYPES[code];
  if (t === undefined) throw broken(`timestamp type ${code}`, at);
  return t;
}

const INT_RANGES = {
  int8: [-128, 127, 2 /* INT8 */],
  int16: [-32768, 32767, 3 /* INT16 */],
  int32: [-2147483648, 2147483647, 4 /* INT32 */],
};
// int64 values in this range take the number path of Writer.svar (no BigInt arithmetic).
const MIN_SAFE = -(2n ** 52n) + 1n;
const MAX_SAFE = 2n ** 52n - 1n;
const INT64_MIN = -9223372036854775808n;
const INT64_MAX = 9223372036854775807n;

function mismatch(value, type) {
  const got = value instanceof Uint8Array ? "Uint8Array" : Array.isArray(value) ? "array"
    : value instanceof Map ? "Map" : typeof value;
  return new DataError(`a ${type} schema needs a ${type} value, got ${got}: ${String(value).slice(0, 60)}`);
}

function inferType(value) {
  switch (typeof value) {
    case "boolean": return "boolean";
    case "string": return "string";
    case "bigint": return "int64";
    case "number": return "float64";
    default:
      if (value instanceof Uint8Array) return "bytes";
      if (Array.isArray(value)) return "array";
      if (typeof value === "object") return "map";
      throw new DataError(`cannot send a ${typeof value} as Connect data`);
  }
}

function writeNumber(w, type, value) {
  if (type === "float32" || type === "float64") {
    if (typeof value !== "number") throw mismatch(value, type);
    if (type === "float32") {
      w.u8(6 /* FLOAT32 */);
      w.f32(value);
    } else {
      w.u8(7 /* FLOAT64 */);
      w.f64(value);
    }
    return;
  }
  if (type === "int64") {
    let big;
    if (typeof value === "bigint") big = value;
    else if (typeof value === "number" && Number.isInteger(value)) big = BigInt(value);
    else throw mismatch(value, type);
    if (big < INT64_MIN || big > INT64_MAX) throw new DataError(`${value} does not fit in ${type}`);
    w.u8(5 /* INT64 */);
    w.svar(big);
    return;
  }
  const range = INT_RANGES[type];
  if (!range) throw new DataError(`${type} is not a number type`);
  let n;
  if (typeof value === "number" && Number.isInteger(value)) n = value;
  else if (typeof value === "bigint") n = Number(value);
  else throw mismatch(value, type);
  if (n < range[0] || n > range[1]) throw new DataError(`${value} does not fit in ${type}`);
  w.u8(range[2]);
  if (range[2] === 2 /* INT8 */) w.u8(n & 0xff);
  else w.svar(n);
}

/**
 * Writes `value` typed by `schema` (or null: inferred) with the checks of the structured
 * path's lowerValue. A value that still holds its input bytes (PackedStruct) copies them.
 */
export function writeValue(w, value, schema, depth = 0) {
  if (depth > MAX_DEPTH) throw new DataError(`value nested deeper than ${MAX_DEPTH} levels`);
  if (value === null || value === undefined) {
    w.u8(0 /* NULL */);
    return;
  }
  // The most common values first, before the instanceof checks (each walks a prototype chain).
  if (schema !== null) {
    const type = schema.type;
    if (type === "string" && typeof value === "string") {
      w.taggedStr(value);
      return;
    }
    if (type === "int64" && typeof value === "bigint" && value >= MIN_SAFE && value <= MAX_SAFE) {
      w.u8(5 /* INT64 */);
      w.svar(Number(value));
      return;
    }
  }
  if (value instanceof Typed) {
    writeNumber(w, value.type, value.value);
    return;
  }
  if (value instanceof Struct) {
    if (typeof value.writeTo === "function") {
      value.writeTo(w, depth);
      return;
    }
    const fields = value.schema.fields;
    const values = value.values;
    if (values.length !== fields.length) {
      throw new DataError(`struct has ${values.length} values for the ${fields.length} fields of its schema`);
    }
    w.u8(12 /* STRUCT */);
    w.uvar(values.length);
    for (let i = 0; i < values.length; i++) writeValue(w, values[i], fields[i].schema, depth + 1);
    return;
  }
  const type = schema ? schema.type : inferType(value);
  switch (type) {
    case "boolean":
      if (typeof value !== "boolean") throw mismatch(value, type);
      w.u8(1 /* BOOLEAN */);
      w.u8(value ? 1 : 0);
      return;
    case "string":
      if (typeof value !== "string") throw mismatch(value, type);
      w.u8(8 /* STRING */);
      w.str(value);
      return;
    case "bytes":
      if (!(value instanceof Uint8Array)) throw mismatch(value, type);
      w.u8(9 /* BYTES */);
      w.bytes(value);
      return;
    case "array": {
      if (!Array.isArray(value)) throw mismatch(value, type);
      w.u8(10 /* ARRAY */);
      w.uvar(value.length);
      const items = schema?.items ?? null;
      for (const v of value) writeValue(w, v, items, depth + 1);
      return;
    }
    case "map": {
      const entries = value instanceof Map ? [...value.entries()]
        : typeof value === "object" && !Array.isArray(value) ? Object.entries(value) : null;
      if (entries === null) throw mismatch(value, type);
      w.u8(11 /* MAP */);
      w.uvar(entries.length);
      for (const [k, v] of entries) {
        writeValue(w, k, schema?.keys ?? null, depth + 1);
        writeValue(w, v, schema?.values ?? null, depth + 1);
      }
      return;
    }
    case "struct":
      throw mismatch(value, type);
    default:
      writeNumber(w, type, value);
  }
}

/** Writes one schema tree. */
export function writeSchema(w, schema, depth = 0) {
  if (depth > MAX_DEPTH) throw new DataError(`schema nested deeper than ${MAX_DEPTH} levels`);
  w.u8(SCHEMA_CODE.get(schema.type));
  w.u8(schema.optional ? 1 : 0);
  w.optStr(schema.name);
  w.optSvar(schema.version);
  w.optStr(schema.doc);
  w.uvar(schema.parameters.length);
  for (const [k, v] of schema.parameters) {
    w.str(String(k));
    w.str(String(v));
  }
  if (schema.defaultValue === undefined) {
    w.u8(0);
  } else {
    w.u8(1);
    writeValue(w, schema.defaultValue, schema);
  }
  for (const child of [schema.items, schema.keys, schema.values]) {
    if (child) {
      w.u8(1);
      writeSchema(w, child, depth + 1);
    } else {
      w.u8(0);
    }
  }
  w.uvar(schema.fields.length);
  for (const f of schema.fields) {
    w.str(f.name);
    writeSchema(w, f.schema, depth + 1);
  }
}
