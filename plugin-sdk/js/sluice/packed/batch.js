// Internal: packed batches as records that decode lazily, and the output they are written to.
//
// The design decision: a record of a packed batch is a Record whose fields are read from the
// batch's bytes when the plugin first touches them (PackedRecord), and a struct value is a
// Struct whose fields are decoded one by one (PackedStruct). What the plugin never changed
// goes back out as a copy of its input bytes: a transform that edits two fields of a struct
// decodes and encodes those two strings and copies everything else. A value that is an
// object (a Map, an array, bytes, a nested Struct) counts as changed once read, since the
// plugin may change it in place; strings, numbers and booleans cannot be.

import { DataError, Record, Struct, fieldNames } from "../data.js";
import { Reader, VERSION, Writer, timestampTypeCode, timestampTypeName, writeSchema, writeValue } from "./codec.js";

/** At most this many distinct schemas are kept between batches (per task or transformer). */
const SCHEMA_CACHE_LIMIT = 1024;

// The scanning functions below are plain functions over the byte array and a position, with
// the common cases first and no objects: in the interpreter a method call or an allocation
// costs as much as a handful of byte reads (see plugin-sdk/js/README.md, "Performance").
// Broken bytes make them return positions past the end or throw; the caller checks the end.

/** The position after the varint at `p`. */
function varintEnd(b, p) {
  while (b[p++] >= 0x80);
  return p;
}

/** The position after the length-prefixed string or bytes at `p`. */
function bytesEnd(b, p) {
  const n = b[p];
  if (n < 0x80) return p + 1 + n;
  const r = new Reader(b, p);
  const len = r.uvar();
  return r.p + len;
}

/** The position after the value at `p`. */
function valueEnd(b, p, depth) {
  switch (b[p]) {
    case 8: /* STRING */
    case 9: /* BYTES */ {
      const n = b[p + 1];
      return n < 0x80 ? p + 2 + n : bytesEnd(b, p + 1);
    }
    case 0: /* NULL */
      return p + 1;
    case 3: /* INT16 */
    case 4: /* INT32 */
    case 5: /* INT64 */
      p += 1;
      while (b[p++] >= 0x80);
      return p;
    case 12: /* STRUCT */
    case 10: /* ARRAY */ {
      const n = b[p + 1];
      if (n >= 0x80 || depth >= 511) break;
      p += 2;
      for (let i = 0; i < n; i++) p = valueEnd(b, p, depth + 1);
      return p;
    }
  }
  const r = new Reader(b, p);
  r.skipValue(depth);
  return r.p;
}

/** The input of a `put` or `apply`: the schema table, then the records, scanned on demand. */
export class PackedBatch {
  /**
   * `bytes`: the packed batch; `cache`: a Map from a schema's bytes to its Schema, kept by the
   * caller between batches so a plugin sees the same Schema object for the same schema.
   */
  constructor(bytes, cache) {
    this.bytes = bytes;
    const r = new Reader(bytes);
    this.reader = r;
    const version = r.u8();
    if (version !== VERSION) throw new DataError(`packed batch version ${version}; this SDK reads ${VERSION}`);
    this.count = r.uvar();
    const n = r.uvar();
    this.tableStart = r.p;
    this.schemas = new Array(n);
    // Per schema: its field indices by name, when it is a struct schema.
    this.names = new Array(n);
    for (let i = 0; i < n; i++) {
      const start = r.p;
      const schema = r.schema();
      const key = String.fromCharCode.apply(null, bytes.subarray(start, r.p));
      let known = cache.get(key);
      if (known === undefined) {
        if (cache.size >= SCHEMA_CACHE_LIMIT) cache.clear();
        cache.set(key, schema);
        known = schema;
      }
      this.schemas[i] = known;
      this.names[i] = known.type === "struct" ? fieldNames(known) : null;
    }
    this.tableEnd = r.p;
    this.next = r.p;
  }

  /** The schema a `data` refers to (0: none). */
  schemaAt(ref, at) {
    if (ref === 0) return null;
    const s = this.schemas[ref - 1];
    if (s === undefined) throw new DataError(`packed batch: schema ${ref - 1} out of range (${this.schemas.length} schemas) at byte ${at}`);
    return s;
  }

  /** The next record (scanned for its boundaries only). */
  record() {
    const b = this.bytes;
    const start = this.next;
    // The common cases (one-byte lengths and counts, short varints, string and struct
    // values) are inline: this runs once per record, and each call costs as much as a
    // handful of the byte reads here.
    let p = start;
    let n = b[p];
    p = n < 0x80 ? p + 1 + n : bytesEnd(b, p);
    for (let i = 0; i < 3; i++) {
      const flag = b[p++];
      if (flag === 1) while (b[p++] >= 0x80);
      else if (flag !== 0) throw new DataError(`packed batch: option flag ${flag} at byte ${p - 1}`);
    }
    p += 1;
    const keyAt = p;
    while (b[p++] >= 0x80);
    if (b[p] === 0 /* NULL */) p += 1;
    else p = valueEnd(b, p, 0);
    const valueAt = p;
    // The value: when it is a struct (the usual case), where each field starts, which a
    // transform reading it needs next and would otherwise have to scan again.
    let starts = null;
    let ref = b[p++];
    if (ref >= 0x80) {
      const r = new Reader(b, p - 1);
      ref = r.uvar();
      p = r.p;
    }
    if (b[p] === 12 /* STRUCT */ && b[p + 1] < 0x80 && this.names[ref - 1]) {
      n = b[p + 1];
      // n + 1 starts, then room for the n decoded values (one array instead of two).
      starts = new Array(2 * n + 1);
      p += 2;
      for (let i = 0; i < n; i++) {
        starts[i] = p;
        const tag = b[p];
        if (tag === 8 /* STRING */ && b[p + 1] < 0x80) {
          p += 2 + b[p + 1];
        } else if (tag === 5 /* INT64 */ || tag === 4 /* INT32 */) {
          p += 1;
          while (b[p++] >= 0x80);
        } else if (tag === 0 /* NULL */) {
          p += 1;
        } else {
          p = valueEnd(b, p, 1);
        }
      }
      starts[n] = p;
    } else {
      p = valueEnd(b, p, 0);
    }
    const headersAt = p;
    n = b[p];
    if (n === 0) {
      p += 1;
    } else {
      if (n < 0x80) {
        p += 1;
      } else {
        const r = new Reader(b, p);
        n = r.uvar();
        p = r.p;
      }
      for (let i = 0; i < n; i++) p = valueEnd(b, varintEnd(b, bytesEnd(b, p)), 0);
    }
    if (!(p <= b.length)) throw new DataError(`packed batch: record at byte ${start} is cut short`);
    this.next = p;
    return new PackedRecord(this, start, keyAt, valueAt, headersAt, p, starts);
  }

  /** After the last record: nothing may follow. */
  finish() {
    if (this.next !== this.bytes.length) {
      throw new DataError(`packed batch: ${this.bytes.length - this.next} bytes after the last record`);
    }
  }

  /**
   * The side (key or value) whose `data` is at `at`; a struct stays in its bytes. `known`:
   * where the struct's fields start, when the scan found them already.
   */
  side(at, known) {
    const b = this.bytes;
    let ref = b[at];
    let tagAt = at + 1;
    if (ref >= 0x80) {
      const r = new Reader(b, at);
      ref = r.uvar();
      tagAt = r.p;
    }
    const schema = this.schemaAt(ref, at);
    if (b[tagAt] === 12 /* STRUCT */ && schema !== null && schema.type === "struct") {
      let p = tagAt + 1;
      let n = b[p];
      if (n < 0x80) {
        p += 1;
      } else {
        const r = new Reader(b, p);
        n = r.uvar();
        p = r.p;
      }
      if (n !== schema.fields.length) {
        throw new DataError(`struct value has ${n} fields, its schema ${schema.fields.length}`);
      }
      let starts = known;
      if (!starts) {
        starts = new Array(2 * n + 1);
        for (let i = 0; i < n; i++) {
          starts[i] = p;
          p = valueEnd(b, p, 1);
        }
        starts[n] = p;
      }
      p = starts[n];
      if (!(p <= b.length)) throw new DataError(`packed batch: struct at byte ${tagAt} is cut short`);
      return new Side(READ, schema, tagAt, new PackedStruct(schema, this.names[ref - 1], b, tagAt, starts));
    }
    const r = this.reader;
    r.p = tagAt;
    const value = r.value(schema);
    // An object may be changed in place by the plugin: it is written back from what it holds.
    return new Side(value !== null && typeof value === "object" ? CHANGED : READ, schema, tagAt, value);
  }
}

// A side's state: not read (its bytes go out as they came), read and unchanged (the same),
// or changed (encoded from what the record holds).
const READ = 1;
const CHANGED = 2;

/** A key or value that was read: `state`, its schema, where its value starts, the value. */
function Side(state, schema, tagAt, value) {
  this.state = state;
  this.schema = schema;
  this.tagAt = tagAt;
  this.value = value;
}

/**
 * A record of a packed batch. A Record to the plugin (same fields, same `with`); constructed
 * with `new` through a plain function so Record's constructor does not give it own fields
 * that would hide the accessors.
 */
export function PackedRecord(batch, start, keyAt, valueAt, headersAt, end, starts) {
  this._batch = batch;
  this._start = start;
  this._keyAt = keyAt;
  this._valueAt = valueAt;
  this._headersAt = headersAt;
  this._end = end;
  // Each undefined until read: the head (topic … timestamp type), key, value and headers.
  this._head = undefined;
  this._key = undefined;
  this._value = undefined;
  this._headers = undefined;
  // Where the value's struct fields start, when the value is a struct (see record()).
  this._starts = starts;
}

/** The head, decoded on first use: `{ changed, topic, partition, offset, timestamp, timestampType }`. */
function head(rec) {
  if (rec._head === undefined) {
    const r = rec._batch.reader;
    r.p = rec._start;
    rec._head = {
      changed: false,
      topic: r.str(),
      partition: r.optSvar(),
      offset: r.optSvar(),
      timestamp: r.optSvar(),
      timestampType: timestampTypeName(r.u8(), r.p - 1),
    };
  }
  return rec._head;
}

function headField(name) {
  return {
    get() { return head(this)[name]; },
    set(v) {
      const h = head(this);
      h[name] = v;
      h.changed = true;
    },
  };
}

function keySide(rec) {
  return rec._key ?? (rec._key = rec._batch.side(rec._keyAt));
}

function valueSide(rec) {
  return rec._value ?? (rec._value = rec._batch.side(rec._valueAt, rec._starts));
}

/** The accessor of a side's `schema` or `value`; setting either marks the side changed. */
function sideField(side, name) {
  return {
    get() { return side(this)[name]; },
    set(v) {
      const s = side(this);
      s[name] = v;
      s.state = CHANGED;
    },
  };
}

PackedRecord.prototype = Object.create(Record.prototype, {
  constructor: { value: PackedRecord, writable: true, configurable: true },
  topic: headField("topic"),
  partition: headField("partition"),
  offset: headField("offset"),
  timestamp: headField("timestamp"),
  timestampType: headField("timestampType"),
  keySchema: sideField(keySide, "schema"),
  key: sideField(keySide, "value"),
  valueSchema: sideField(valueSide, "schema"),
  value: {
    // The one accessor of every transform's path: the read side without a call.
    get() {
      const side = this._value;
      return side !== undefined ? side.value : valueSide(this).value;
    },
    set: sideField(valueSide, "value").set,
  },
  headers: {
    get() {
      if (this._headers === undefined) {
        const batch = this._batch;
        const r = batch.reader;
        r.p = this._headersAt;
        const n = r.uvar();
        const headers = new Array(n);
        for (let i = 0; i < n; i++) {
          const key = r.str();
          const at = r.p;
          const schema = batch.schemaAt(r.uvar(), at);
          headers[i] = { key, schema, value: r.value(schema) };
        }
        this._headers = headers;
      }
      return this._headers;
    },
    set(v) { this._headers = v; },
  },
  with: {
    value(fields) {
      const copy = new Record(this.topic, {
        partition: this.partition,
        offset: this.offset,
        timestamp: this.timestamp,
        timestampType: this.timestampType,
        keySchema: this.keySchema,
        key: this.key,
        valueSchema: this.valueSchema,
        value: this.value,
        headers: this.headers,
      });
      return Object.assign(copy, fields);
    },
    writable: true,
    configurable: true,
  },
  toJSON: {
    value() {
      const { topic, partition, offset, timestamp, timestampType, keySchema, key, valueSchema, value, headers } = this;
      return { topic, partition, offset, timestamp, timestampType, keySchema, key, valueSchema, value, headers };
    },
    writable: true,
    configurable: true,
  },
});

/**
 * A struct value still in its batch's bytes: fields are decoded when read, and written back
 * as copies unless put (or read as objects, which the plugin may change in place).
 * `starts[i]` is where field i's value begins, `starts[n]` where the struct ends, and
 * `starts[n + 1 + i]` field i's value once decoded or put (undefined before).
 */
export function PackedStruct(schema, names, bytes, tagAt, starts) {
  this.schema = schema;
  this._names = names;
  this._bytes = bytes;
  this._tagAt = tagAt;
  this._starts = starts;
  this._n = schema.fields.length;
  // undefined while no field changed, then an array with true at each changed field.
  this._changed = undefined;
  // The last name looked up by has/get/put, and its index (undefined: no such field).
  this._lastName = undefined;
  this._lastIndex = undefined;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

function field(s, i) {
  let v = s._starts[s._n + 1 + i];
  if (v === undefined) {
    const b = s._bytes;
    const p = s._starts[i];
    const n = b[p + 1];
    if (b[p] === 8 /* STRING */ && n < 0x80) {
      // The common case without a Reader: a short string.
      v = decoder.decode(b.subarray(p + 2, p + 2 + n));
    } else {
      v = new Reader(b, p).value(s.schema.fields[i].schema, 1);
      if (v !== null && typeof v === "object") changed(s, i);
    }
    s._starts[s._n + 1 + i] = v;
  }
  return v;
}

function plain(s, values) {
  Object.setPrototypeOf(s, Struct.prototype);
  s.values = values;
}

function changed(s, i) {
  (s._changed ?? (s._changed = new Array(s._n)))[i] = true;
}

function noField(s, name) {
  const known = s.schema.fields.map((x) => x.name).join(", ");
  return new DataError(`struct has no field "${name}"; its fields are: ${known}`);
}

PackedStruct.prototype = Object.create(Struct.prototype, {
  constructor: { value: PackedStruct, writable: true, configurable: true },
  // `has`, `get` and `put` of one field usually follow each other: the last name looked up
  // and its index are kept, which saves a Map lookup (a native call) for each of the others.
  get: {
    value(name) {
      let i;
      if (name === this._lastName) {
        i = this._lastIndex;
      } else {
        i = this._names.get(name);
        if (i === undefined) throw noField(this, name);
        this._lastName = name;
        this._lastIndex = i;
      }
      const starts = this._starts;
      const v = starts[this._n + 1 + i];
      if (v !== undefined) return v;
      const b = this._bytes;
      const p = starts[i];
      const n = b[p + 1];
      if (b[p] === 8 /* STRING */ && n < 0x80) {
        // The common case, inline: a short string.
        return (starts[this._n + 1 + i] = decoder.decode(b.subarray(p + 2, p + 2 + n)));
      }
      return field(this, i);
    },
    writable: true,
    configurable: true,
  },
  has: {
    value(name) {
      const i = this._names.get(name);
      if (i === undefined) return false;
      this._lastName = name;
      this._lastIndex = i;
      return true;
    },
    writable: true,
    configurable: true,
  },
  put: {
    value(name, value) {
      let i;
      if (name === this._lastName) {
        i = this._lastIndex;
      } else {
        i = this._names.get(name);
        if (i === undefined) throw noField(this, name);
        this._lastName = name;
        this._lastIndex = i;
      }
      this._starts[this._n + 1 + i] = value;
      (this._changed ?? (this._changed = new Array(this._n)))[i] = true;
      return this;
    },
    writable: true,
    configurable: true,
  },
  entries: {
    value() { return this.schema.fields.map((f, i) => [f.name, field(this, i)]); },
    writable: true,
    configurable: true,
  },
  // The plain Struct's array of values, which the plugin may then change in place: the struct
  // becomes a plain Struct holding every value decoded (and is written from them).
  values: {
    get() {
      const values = new Array(this._n);
      for (let i = 0; i < this._n; i++) values[i] = field(this, i);
      plain(this, values);
      return values;
    },
    set(v) { plain(this, v); },
    configurable: true,
  },
  // Writes the struct: runs of unchanged fields (with the tag and count in front, or the
  // bytes after the struct at `end`) as one copy each, changed fields encoded.
  writeTo: {
    value(w, depth, from = this._tagAt, end = this._starts[this._n]) {
      const bytes = this._bytes;
      const starts = this._starts;
      const n = this._n;
      const changedAt = this._changed;
      if (changedAt === undefined) {
        w.copy(bytes, from, end);
        return;
      }
      const fields = this.schema.fields;
      let run = from;
      for (let i = 0; i < n; i++) {
        if (changedAt[i] === true) {
          if (run < starts[i]) w.copy(bytes, run, starts[i]);
          const v = this._starts[this._n + 1 + i];
          const fs = fields[i].schema;
          if (typeof v === "string" && fs.type === "string") w.taggedStr(v);
          else writeValue(w, v, fs, depth + 1);
          run = starts[i + 1];
        }
      }
      if (run < end) w.copy(bytes, run, end);
    },
    writable: true,
    configurable: true,
  },
  // As a plain Struct's own fields, without counting as a change.
  toJSON: {
    value() { return { schema: this.schema, values: this.schema.fields.map((_, i) => field(this, i)) }; },
    writable: true,
    configurable: true,
  },
});

/**
 * A packed payload being written: the items in `body`, schemas interned into a table that
 * starts with the input batch's (so copied records keep their schema references).
 */
export class PackedOutput {
  constructor(input = null) {
    this.input = input;
    this.body = new Writer(input ? input.bytes.length + 256 : 4096);
    this.table = new Writer(256);
    this.index = new Map();
    this.schemaCount = 0;
    if (input) {
      for (const s of input.schemas) this.index.set(s, this.index.size);
      this.schemaCount = input.schemas.length;
    }
    this.count = 0;
  }

  intern(schema) {
    let i = this.index.get(schema);
    if (i === undefined) {
      const w = new Writer(128);
      writeSchema(w, schema);
      this.table.copy(w.buf, 0, w.len);
      i = this.schemaCount++;
      this.index.set(schema, i);
    }
    return i;
  }

  /** A `data`: schema reference and value (a struct without a schema takes the struct's own). */
  data(schema, value) {
    const s = schema ?? (value instanceof Struct ? value.schema : null);
    this.body.uvar(s ? this.intern(s) + 1 : 0);
    writeValue(this.body, value, s);
  }

  /** Writes a record; the caller truncates `body` if this throws. */
  record(rec) {
    // Only the records this output's input made have that batch (no instanceof: it walks the
    // prototype chain, which costs as much as the check it saves).
    if (rec._batch === this.input && this.input !== null) {
      this.packedRecord(rec);
      return;
    }
    const w = this.body;
    writeHead(w, rec.topic, rec.partition, rec.offset, rec.timestamp, rec.timestampType);
    this.data(rec.keySchema, rec.key);
    this.data(rec.valueSchema, rec.value);
    this.headers(rec.headers);
  }

  /**
   * A record of the input batch: what the plugin did not change is copied, in as few copies
   * as possible (a record it did not touch is one copy; one whose struct value changed in
   * a few fields is the bytes up to the first changed field, the changed fields, the rest).
   */
  packedRecord(rec) {
    const w = this.body;
    const bytes = this.input.bytes;
    const h = rec._head;
    const key = rec._key;
    const value = rec._value;
    // From where the bytes still to copy start (up to the next part written anew).
    let from = rec._start;
    if (h !== undefined && h.changed) {
      writeHead(w, h.topic, h.partition, h.offset, h.timestamp, h.timestampType);
      from = rec._keyAt;
    }
    if (key !== undefined) from = this.side(key, from, rec._keyAt, rec._valueAt, rec._valueAt);
    if (value !== undefined) {
      const end = rec._headers === undefined ? rec._end : rec._headersAt;
      from = this.side(value, from, rec._valueAt, rec._headersAt, end);
    }
    if (rec._headers !== undefined) {
      if (from < rec._headersAt) w.copy(bytes, from, rec._headersAt);
      this.headers(rec._headers);
    } else if (from < rec._end) {
      w.copy(bytes, from, rec._end);
    }
  }

  /**
   * Writes a side that was read (its `data` spans `at..to`; `from` is where the bytes not yet
   * copied start, `end` how far a struct's unchanged tail may be copied); returns the new
   * `from`. An unchanged side writes nothing: its bytes go out with the next copy.
   */
  side(side, from, at, to, end) {
    const v = side.value;
    if (v instanceof PackedStruct) {
      if (side.state !== CHANGED && v._changed === undefined) return from;
      if (side.state !== CHANGED) {
        v.writeTo(this.body, 0, from, end);
        return end;
      }
    } else if (side.state !== CHANGED && !(v instanceof Struct)) {
      return from;
    }
    // Changed, or a struct turned plain by `values` (which the plugin may have changed).
    if (from < at) this.body.copy(this.input.bytes, from, at);
    this.data(side.schema, v);
    return to;
  }

  headers(headers) {
    this.body.uvar(headers.length);
    for (const h of headers) {
      this.body.str(h.key);
      this.data(h.schema ?? null, h.value);
    }
  }

  /** The payload: version, count, schema table (the input's, then new ones), items. */
  finish() {
    const head = new Writer(32 + this.table.len + this.body.len + (this.input ? this.input.tableEnd : 0));
    head.u8(VERSION);
    head.uvar(this.count);
    head.uvar(this.schemaCount);
    if (this.input) head.copy(this.input.bytes, this.input.tableStart, this.input.tableEnd);
    head.copy(this.table.buf, 0, this.table.len);
    head.copy(this.body.buf, 0, this.body.len);
    return head.finish();
  }
}

function writeHead(w, topic, partition, offset, timestamp, timestampType) {
  if (typeof topic !== "string") throw new DataError(`a record's topic must be a string, got ${typeof topic}`);
  w.str(topic);
  optInt(w, partition, "partition");
  optInt(w, offset, "offset");
  optInt(w, timestamp, "timestamp");
  w.u8(timestampTypeCode(timestampType ?? (timestamp === null || timestamp === undefined ? "no-timestamp-type" : "create-time")));
}

function optInt(w, v, what) {
  if (v !== null && v !== undefined && typeof v !== "bigint" && !Number.isInteger(v)) {
    throw new DataError(`a record's ${what} must be an integer, got ${String(v).slice(0, 40)}`);
  }
  w.optSvar(v);
}

/**
 * Writes source position maps (`{ key: primitive }`) as `offset-map`s. Sources usually give
 * every record of a poll the same partition object: an object already written in this poll is
 * copied from where it was written (what it held then is what it holds now, since nothing
 * runs between the writes of one poll's records).
 */
export class OffsetMapWriter {
  constructor(w) {
    this.w = w;
    this.last = undefined;
    this.from = 0;
    this.to = 0;
  }

  write(obj) {
    const w = this.w;
    if (obj === this.last && obj !== undefined) {
      const n = this.to - this.from;
      if (w.len + n > w.buf.length) w.reserve(n);
      w.buf.copyWithin(w.len, this.from, this.to);
      w.len += n;
      return;
    }
    const from = w.len;
    writeOffsetMap(w, obj);
    if (obj !== null && typeof obj === "object") {
      this.last = obj;
      this.from = from;
      this.to = w.len;
    }
  }
}

/** Writes a source position map (`{ key: primitive }`) as an `offset-map`. */
export function writeOffsetMap(w, obj) {
  const keys = obj === null || obj === undefined ? [] : Object.keys(obj);
  w.uvar(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const v = obj[k];
    w.str(k);
    if (v === null || v === undefined) {
      w.u8(0);
      continue;
    }
    switch (typeof v) {
      case "boolean": w.u8(1); w.u8(v ? 1 : 0); break;
      case "bigint": w.u8(2); w.svar(v); break;
      case "number":
        if (Number.isSafeInteger(v)) {
          w.u8(2);
          w.svar(v);
        } else if (Number.isInteger(v)) {
          w.u8(2);
          w.svar(BigInt(v));
        } else {
          w.u8(3);
          w.f64(v);
        }
        break;
      case "string": w.u8(4); w.str(v); break;
      default: throw new DataError(`source partition/offset "${k}" must be a primitive, got ${typeof v}`);
    }
  }
}
