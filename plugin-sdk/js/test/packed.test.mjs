// Unit tests of the packed path (sluice/packed/): lazy records, byte copies of what a plugin
// left unchanged, and the packed exports (no component needed).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Outcome, PluginSpec, Record, Schema, SourceRecord, Struct, Typed, exportSink, exportSource,
  exportTransform, metrics,
} from "../sluice.js";
import { PackedBatch, PackedOutput } from "../sluice/packed/batch.js";
import { Reader } from "../sluice/packed/codec.js";

const user = Schema.struct().name("User")
  .field("id", Schema.int64())
  .field("name", Schema.string())
  .field("email", Schema.string().asOptional())
  .field("tags", Schema.array(Schema.string()))
  .build();
const idSchema = Schema.int64();

function userRecord(id, name, email = `${name}@example.com`) {
  return new Record("users", {
    partition: 2,
    offset: 1000 + id,
    timestamp: 1_700_000_000_000 + id,
    keySchema: idSchema,
    key: BigInt(id),
    valueSchema: user,
    value: new Struct(user, [BigInt(id), name, email, ["a", "ü"]]),
    headers: [{ key: "h", schema: null, value: "x" }],
  });
}

/** A packed batch of `records` (the payload `put` and `apply` get). */
function pack(records) {
  const out = new PackedOutput();
  for (const r of records) {
    out.record(r);
    out.count += 1;
  }
  return out.finish();
}

/** Reads back a transform output: one `{ keep: Record } | "drop" | { fail }` per record. */
function unpackOutcomes(bytes) {
  const batch = new PackedBatch(bytes, new Map());
  const r = batch.reader;
  const out = [];
  for (let i = 0; i < batch.count; i++) {
    r.p = batch.next;
    const tag = r.u8();
    batch.next = r.p;
    if (tag === 0) out.push({ keep: batch.record() });
    else if (tag === 1) out.push("drop");
    else {
      out.push({ fail: r.str() });
      batch.next = r.p;
    }
  }
  return out;
}

/** What a record holds, as plain data (schemas by type and name). */
function plain(r) {
  const data = (schema, value) => [schema?.type ?? null, schema?.name ?? null, value instanceof Struct ? value.entries() : value];
  return {
    head: [r.topic, r.partition, r.offset, r.timestamp, r.timestampType],
    key: data(r.keySchema, r.key),
    value: data(r.valueSchema, r.value),
    headers: r.headers.map((h) => [h.key, data(h.schema, h.value)]),
  };
}

test("a packed batch reads back as the records it was written from", () => {
  const records = [userRecord(1, "ada"), userRecord(2, "bob"), new Record("t", { value: new Map([["k", Typed.int32(5)]]) })];
  const batch = new PackedBatch(pack(records), new Map());
  assert.equal(batch.count, 3);
  const back = [batch.record(), batch.record(), batch.record()];
  batch.finish();
  assert.ok(back[0] instanceof Record);
  assert.ok(back[0].value instanceof Struct);
  assert.equal(back[0].value.get("name"), "ada");
  assert.deepEqual(back[1].value.get("tags"), ["a", "ü"]);
  assert.equal(back[1].key, 2n);
  assert.equal(back[1].offset, 1002);
  assert.equal(back[1].timestampType, "create-time");
  assert.deepEqual(back[0].headers, [{ key: "h", schema: null, value: "x" }]);
  assert.equal(back[0].valueSchema, back[1].valueSchema, "one Schema object per schema");
  assert.deepEqual(back[2].value.get("k"), Typed.int32(5));
  assert.deepEqual(plain(back[0]), plain(records[0]));
  assert.throws(() => back[0].value.get("nope"), /no field "nope"; its fields are: id, name, email, tags/);
});

test("a packed struct's has, get and put agree field by field, whatever came before", () => {
  const batch = new PackedBatch(pack([userRecord(1, "ada")]), new Map());
  const s = batch.record().value;
  // has() of a missing field, then get/put of it: still the error, not the last field's value.
  assert.equal(s.has("name"), true);
  assert.equal(s.has("nope"), false);
  assert.throws(() => s.get("nope"), /no field "nope"/);
  assert.throws(() => s.put("nope", "x"), /no field "nope"/);
  assert.equal(s.get("name"), "ada");
  assert.equal(s.has("email"), true);
  assert.equal(s.get("name"), "ada");
  s.put("email", "****");
  assert.equal(s.get("email"), "****");
  assert.equal(s.get("name"), "ada");
  assert.equal(s.get("id"), 1n);
  assert.deepEqual(s.get("tags"), ["a", "ü"]);
});

class MaskName {
  static spec() { return new PluginSpec("mask", "0.1.0"); }
  apply(r) {
    if (r.value === null) return Outcome.drop();
    if (r.value.get("name") === "boom") throw new Error("boom!");
    r.value.put("name", r.value.get("name").toUpperCase());
    metrics.counterAdd("packed_kept");
    return Outcome.keep(r);
  }
}

test("the packed transform copies what apply left alone and writes what it changed", async () => {
  const { packedTransforms, transforms } = exportTransform(MaskName);
  const t = packedTransforms.PackedTransformer.create("mask", []);
  const input = [userRecord(1, "ada"), new Record("t", { value: null }), userRecord(3, "boom"), userRecord(4, "ünï")];
  const out = unpackOutcomes(t.apply(pack(input)));
  assert.equal(out[1], "drop");
  assert.deepEqual(out[2], { fail: "boom!" });
  const expected = [userRecord(1, "ADA", "ada@example.com"), null, null, userRecord(4, "ÜNÏ", "ünï@example.com")];
  for (const i of [0, 3]) assert.deepEqual(plain(out[i].keep), plain(expected[i]));
  // The same as the structured path's output, and the counter reached the host once per call.
  const { metricValues } = await import("sluice:connect/metrics@0.1.0");
  assert.equal(metricValues.get("packed_kept").value, 2n);
  const structured = transforms.Transformer.create("mask", []);
  const again = pack([userRecord(1, "ada")]);
  const viaPacked = unpackOutcomes(t.apply(again))[0].keep;
  assert.equal(metricValues.get("packed_kept").value, 3n);
  assert.equal(viaPacked.value.get("name"), "ADA");
  assert.ok(structured);
});

test("an untouched record goes out byte for byte, a replaced value is encoded with its schema", () => {
  class Swap {
    static spec() { return new PluginSpec("swap", "0.1.0"); }
    apply(r) {
      if (r.key === 2n) return Outcome.keep(r.with({ valueSchema: Schema.string(), value: "swapped", topic: "other" }));
      return Outcome.keep(r);
    }
  }
  const t = exportTransform(Swap).packedTransforms.PackedTransformer.create("swap", []);
  const bytes = pack([userRecord(1, "ada")]);
  const out = t.apply(bytes);
  // The outcome is the keep tag (0) in front of the input record's bytes.
  const recordAt = new PackedBatch(bytes, new Map()).tableEnd;
  assert.equal(out.length, bytes.length + 1);
  assert.deepEqual([...out.subarray(0, recordAt)], [...bytes.subarray(0, recordAt)]);
  assert.equal(out[recordAt], 0);
  assert.deepEqual([...out.subarray(recordAt + 1)], [...bytes.subarray(recordAt)]);
  const swapped = unpackOutcomes(t.apply(pack([userRecord(2, "bob")])))[0].keep;
  assert.equal(swapped.topic, "other");
  assert.equal(swapped.value, "swapped");
  assert.equal(swapped.valueSchema.type, "string");
  assert.equal(swapped.key, 2n);
  assert.deepEqual(swapped.headers, [{ key: "h", schema: null, value: "x" }]);
});

test("a value that does not fit its schema fails that record only", () => {
  class Bad {
    static spec() { return new PluginSpec("bad", "0.1.0"); }
    apply(r) {
      if (r.key === 1n) r.value.put("name", 5);
      return Outcome.keep(r);
    }
  }
  const t = exportTransform(Bad).packedTransforms.PackedTransformer.create("bad", []);
  const out = unpackOutcomes(t.apply(pack([userRecord(1, "ada"), userRecord(2, "bob")])));
  assert.match(out[0].fail, /a string schema needs a string value, got number/);
  assert.equal(out[1].keep.value.get("name"), "bob");
});

test("the packed sink gets lazy records and reports failures at batch positions", () => {
  const seen = [];
  class Sink {
    static spec() { return new PluginSpec("sink", "0.1.0"); }
    constructor() {}
    put(records) {
      for (const r of records) seen.push(`${r.topic}:${r.value.get("name")}:${r.offset}`);
      return [{ index: 1, message: "no" }];
    }
  }
  const task = exportSink(Sink).packedSink.PackedSinkTask.open([]);
  const failures = task.put(pack([userRecord(1, "ada"), userRecord(2, "bob")]));
  assert.deepEqual(seen, ["users:ada:1001", "users:bob:1002"]);
  assert.deepEqual(failures, [{ index: 1, message: "no" }]);
});

test("the packed source writes positions and records a packed batch carries", () => {
  class Source {
    static spec() { return new PluginSpec("source", "0.1.0"); }
    constructor() {}
    poll() {
      return [1, 2].map((i) => new SourceRecord({ file: "f" }, { line: i, pos: 1.5 }, userRecord(i, `n${i}`)));
    }
  }
  const task = exportSource(Source).packedSource.PackedSourceTask.open([], []);
  const bytes = task.poll(10);
  const r = new Reader(bytes);
  assert.equal(r.u8(), 1);
  assert.equal(r.uvar(), 2);
  const nschemas = r.uvar();
  assert.equal(nschemas, 2, "the key's and the value's schema, once each");
  for (let i = 0; i < nschemas; i++) r.schema();
  // partition map: { file: "f" }
  assert.equal(r.uvar(), 1);
  assert.equal(r.str(), "file");
  assert.equal(r.u8(), 4);
  assert.equal(r.str(), "f");
  // offset map: { line: 1, pos: 1.5 }
  assert.equal(r.uvar(), 2);
  assert.equal(r.str(), "line");
  assert.equal(r.u8(), 2);
  assert.equal(r.svar(), 1);
  assert.equal(r.str(), "pos");
  assert.equal(r.u8(), 3);
  assert.equal(r.f64(), 1.5);
  assert.equal(r.str(), "users");
});

test("a struct's values array, changed in place, is what goes out", () => {
  class Values {
    static spec() { return new PluginSpec("values", "0.1.0"); }
    apply(r) {
      const values = r.value.values;
      values[1] = values[1].toUpperCase();
      values[3].push("z");
      return Outcome.keep(r);
    }
  }
  const t = exportTransform(Values).packedTransforms.PackedTransformer.create("values", []);
  const out = unpackOutcomes(t.apply(pack([userRecord(1, "ada")])))[0].keep;
  assert.deepEqual(plain(out), plain(new Record("users", {
    partition: 2, offset: 1001, timestamp: 1_700_000_000_001, keySchema: idSchema, key: 1n, valueSchema: user,
    value: new Struct(user, [1n, "ADA", "ada@example.com", ["a", "ü", "z"]]),
    headers: [{ key: "h", schema: null, value: "x" }],
  })));
});

test("counter increments reach the host once per call, adding up exactly", async () => {
  const { metricValues } = await import("sluice:connect/metrics@0.1.0");
  class Count {
    static spec() { return new PluginSpec("count", "0.1.0"); }
    apply(r) {
      metrics.counterAdd("counted");
      metrics.counterAdd("counted", 2);
      metrics.counterAdd("counted", 2n);
      return Outcome.keep(r);
    }
  }
  const t = exportTransform(Count).packedTransforms.PackedTransformer.create("count", []);
  t.apply(pack([userRecord(1, "a"), userRecord(2, "b")]));
  assert.equal(metricValues.get("counted").value, 10n);
  assert.throws(() => metrics.counterAdd("Bad"), /invalid metric name "Bad"/);
});

test("a partition object shared by a poll's records is written as often as it is given", () => {
  const shared = { file: "f" };
  const source = (partition) => class {
    static spec() { return new PluginSpec("source", "0.1.0"); }
    constructor() {}
    poll() {
      return [1, 2, 3].map((i) => new SourceRecord(partition(), { line: i }, userRecord(i, `n${i}`)));
    }
  };
  const bytes = (cls) => exportSource(cls).packedSource.PackedSourceTask.open([], []).poll(10);
  assert.deepEqual([...bytes(source(() => shared))], [...bytes(source(() => ({ file: "f" })))]);
});
