// jsonl-sink in JavaScript: appends one JSON object per record to `file`:
// {"topic", "partition", "offset", "key", "value"}, Connect values rendered as JSON (structs
// and maps as objects, bytes as base64, int64 as a number). The same sink exists in Python
// (examples/python-jsonl-sink); `cargo xtask bench --polyglot` runs both.
//
// Each `put` renders its records and appends them with one write; `flush` syncs the file to
// disk, and the host commits consumer offsets only after `flush` returns, so every committed
// record is on disk. The `file` key declares write access to its directory: without it the
// sandbox would let the plugin open no file at all. The component targets the
// `sink-packed-files` world, which adds the WASI filesystem to `sink-packed`.
import {
  ConfigDef,
  PluginSpec,
  Struct,
  TaskError,
  Typed,
  exportSink,
  log,
} from "./node_modules/sluice-plugin-sdk/sluice.js";
import { getDirectories } from "wasi:filesystem/preopens@0.2.12";

/** A Connect value as JSON-ready data; throws for a number JSON cannot hold (NaN, Infinity). */
export function toJson(value) {
  if (value === null || value === undefined) return null;
  if (value instanceof Struct) {
    const out = {};
    for (const [name, v] of value.entries()) out[name] = toJson(v);
    return out;
  }
  if (value instanceof Map) {
    const out = {};
    for (const [k, v] of value) out[String(toJson(k))] = toJson(v);
    return out;
  }
  if (Array.isArray(value)) return value.map(toJson);
  if (value instanceof Uint8Array) return btoa(String.fromCharCode(...value));
  if (value instanceof Typed) return toJson(value.value);
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "number" && !Number.isFinite(value)) throw new RangeError(`cannot render ${value} as JSON`);
  return value;
}

/** One JSON line of a record. */
export function line(r) {
  const key = toJson(r.key);
  const value = toJson(r.value);
  return `${JSON.stringify({ topic: r.topic, partition: r.partition, offset: r.offset, key, value })}\n`;
}

const encoder = new TextEncoder();

export class JsonlSink {
  static spec() {
    return new PluginSpec("example.js.JsonlSink", "0.1.0")
      .alias("js-jsonl-sink")
      .describe("Appends each record as one JSON line to a file.")
      .option(ConfigDef.string("file").required().importance("high").doc("File to append to.")
        .withFileAccess("write-file"))
      .option(ConfigDef.list("topics").doc("Topics to consume (handled by the host)."));
  }

  constructor(config) {
    this.path = config.requiredString("file");
    const slash = this.path.lastIndexOf("/");
    const dir = slash <= 0 ? "/" : this.path.slice(0, slash);
    const name = this.path.slice(slash + 1);
    const preopen = getDirectories().find(([, path]) => path === dir);
    if (!preopen) throw TaskError.fatal(`cannot open ${this.path}: its directory ${dir} was not granted`);
    try {
      this.file = preopen[0].openAt({}, name, { create: true }, { write: true });
      this.position = this.file.stat().size;
    } catch (e) {
      throw TaskError.fatal(`cannot open ${this.path} for appending: ${e.payload ?? e}`);
    }
    log.info(`jsonl-sink (js): appending to ${this.path}`);
  }

  put(records) {
    const failures = [];
    let text = "";
    for (let i = 0; i < records.length; i++) {
      try {
        text += line(records[i]);
      } catch (e) {
        // NaN/Infinity have no JSON form: this record fails alone (DLQ-able).
        failures.push({ index: i, message: e.message });
      }
    }
    this.append(encoder.encode(text));
    return failures;
  }

  append(bytes) {
    let done = 0;
    try {
      while (done < bytes.length) {
        const n = this.file.write(bytes.subarray(done), this.position);
        done += Number(n);
        this.position += n;
      }
    } catch (e) {
      throw TaskError.retriable(`writing to ${this.path}: ${e.payload ?? e}`);
    }
  }

  flush() {
    try {
      this.file.syncData();
    } catch (e) {
      throw TaskError.retriable(`flushing ${this.path}: ${e.payload ?? e}`);
    }
  }
}

export const { plugin, sinkConnector, packedSink } = exportSink(JsonlSink);
