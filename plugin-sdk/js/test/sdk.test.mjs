// Unit tests of the SDK's data model, wire format and export adapters (no component needed).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Config, ConfigDef, DataError, Outcome, PluginSpec, Record, Schema, Struct, Typed,
  decimalBytes, exportPredicate, exportSink, exportTransform,
} from "../sluice.js";
import * as sdk from "../sluice.js";
import { flushMetrics } from "../sluice/metrics.js";
import { Lowerer, liftBatch } from "../sluice/wire.js";

const user = Schema.struct().name("User").field("id", Schema.int64()).field("name", Schema.string().asOptional()).build();

test("structs are addressed by name and name their fields on a typo", () => {
  const s = new Struct(user).put("id", 7n).put("name", "ada");
  assert.equal(s.get("name"), "ada");
  assert.throws(() => s.get("nope"), /no field "nope"; its fields are: id, name/);
});

test("a batch lowers and lifts back unchanged, sharing one schema", () => {
  const lowerer = new Lowerer();
  const records = [1n, 2n].map((id) => new Record("t", { valueSchema: user, value: new Struct(user).put("id", id) }));
  const wire = records.map((r) => lowerer.record(r));
  assert.equal(lowerer.schemas.length, 1);
  const lifted = liftBatch({ schemas: lowerer.schemas, records: wire });
  assert.equal(lifted[1].value.get("id"), 2n);
  assert.equal(lifted[1].value.get("name"), null);
  assert.equal(lifted[0].valueSchema, lifted[1].valueSchema);
});

test("schemaless numbers keep their type", () => {
  const lowerer = new Lowerer();
  const value = new Map([["a", 1n], ["b", 1.5], ["c", Typed.int32(3)]]);
  const wire = lowerer.record(new Record("t", { value }));
  assert.deepEqual(wire.value.value.slice(1).map((n) => n.tag), ["string", "int64", "string", "float64", "string", "int32"]);
  const back = liftBatch({ schemas: [], records: [wire] })[0].value;
  assert.equal(back.get("a"), 1n);
  assert.deepEqual(back.get("c"), Typed.int32(3));
});

test("a value that does not match its schema is a DataError naming both", () => {
  assert.throws(() => new Lowerer().data(Schema.int32(), "x"), (e) => e instanceof DataError && /int32 schema needs a int32 value, got string/.test(e.message));
  assert.throws(() => new Lowerer().data(Schema.int8(), 300), /300 does not fit in int8/);
});

test("bad indices become a failed record, not a crash", () => {
  const lifted = liftBatch({ schemas: [], records: [{ topic: "t", timestampType: "no-timestamp-type", key: { value: [{ tag: "null" }] }, value: { value: [{ tag: "array", val: [5] }] }, headers: [] }] });
  assert.ok(lifted[0] instanceof DataError);
  assert.match(lifted[0].message, /value node 5 out of range/);
});

test("config getters fall back to defaults and hide secrets", () => {
  const defs = [ConfigDef.int("batch").default(10), ConfigDef.password("token")];
  const c = new Config([["token", "s3cret"], ["fields", "a, b,,c"]], defs);
  assert.equal(c.int("batch"), 10);
  assert.deepEqual(c.list("fields"), ["a", "b", "c"]);
  assert.throws(() => new Config([["token", "x"]], defs).oneOf("token", ["y"]), (e) => !e.message.includes("\"x\""));
  assert.throws(() => new Config([["batch", "ten"]], defs).int("batch"), /config `batch`: "ten" is not valid; expected an integer/);
});

test("decimal bytes match Java's BigInteger.toByteArray", () => {
  assert.deepEqual([...decimalBytes(1234n)], [0x04, 0xd2]);
  assert.deepEqual([...decimalBytes(-1n)], [0xff]);
  assert.deepEqual([...decimalBytes(128n)], [0x00, 0x80]);
});

test("the transform export maps outcomes and thrown errors per record", () => {
  class Up {
    static spec() { return new PluginSpec("up", "0.1.0"); }
    apply(r) {
      if (r.value === "boom") throw new Error("boom!");
      return r.value === null ? Outcome.drop() : Outcome.keep(r.with({ value: r.value.toUpperCase() }));
    }
  }
  const { plugin, transforms } = exportTransform(Up);
  assert.equal(plugin.spec().kind, "transform");
  const t = transforms.Transformer.create("up", []);
  const lowerer = new Lowerer();
  const batch = { schemas: [], records: ["a", null, "boom"].map((v) => lowerer.record(new Record("t", { value: v }))) };
  const out = t.apply(batch);
  assert.deepEqual(out.outcomes.map((o) => o.tag), ["keep", "drop", "fail"]);
  assert.equal(out.outcomes[0].val.value.value[0].val, "A");
  assert.equal(out.outcomes[2].val, "boom!");
});

test("an async apply is awaited record by record, in order, with rejections failing one record", async () => {
  const started = [];
  class Slow {
    static spec() { return new PluginSpec("slow", "0.1.0"); }
    async apply(r) {
      started.push(r.value);
      // Not started before the previous record's promise settled.
      assert.equal(started.length, finished.length + 1);
      await new Promise((resolve) => setTimeout(resolve, 5));
      finished.push(r.value);
      if (r.value === "bad") throw new Error("lookup failed");
      return Outcome.keep(r.with({ value: `${r.value}!` }));
    }
  }
  const finished = [];
  const { transforms } = exportTransform(Slow);
  const t = transforms.Transformer.create("slow", []);
  const lowerer = new Lowerer();
  const batch = { schemas: [], records: ["a", "bad", "c"].map((v) => lowerer.record(new Record("t", { value: v }))) };
  const pending = t.apply(batch);
  assert.equal(typeof pending.then, "function", "the batch result is a promise");
  const out = await pending;
  assert.deepEqual(out.outcomes.map((o) => o.tag), ["keep", "fail", "keep"]);
  assert.equal(out.outcomes[0].val.value.value[0].val, "a!");
  assert.equal(out.outcomes[1].val, "lookup failed");
  assert.deepEqual(finished, ["a", "bad", "c"]);
});

test("an async put resolves to the failures at their batch positions", async () => {
  class Remote {
    static spec() { return new PluginSpec("remote", "0.1.0"); }
    constructor() {}
    async put(records) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return records.flatMap((r, i) => (r.value === "bad" ? [{ index: i, message: "HTTP 400" }] : []));
    }
  }
  const { sinkConnector } = exportSink(Remote);
  const task = sinkConnector.SinkTask.open([]);
  const lowerer = new Lowerer();
  const batch = { schemas: [], records: ["a", "bad"].map((v) => lowerer.record(new Record("t", { value: v }))) };
  const out = await task.put(batch);
  assert.deepEqual(out, [{ index: 1, message: "HTTP 400" }]);
});

test("struct and array children given as a Uint32Array (as jco lifts list<u32>) keep their types", () => {
  const wire = new Lowerer().record(new Record("t", { valueSchema: user, value: new Struct(user).put("id", 5n).put("name", "ada") }));
  wire.value.value[0].val = Uint32Array.from(wire.value.value[0].val);
  const schemas = [new Lowerer().intern(user)] && (() => { const l = new Lowerer(); l.intern(user); return l.schemas; })();
  const lifted = liftBatch({ schemas, records: [wire] })[0];
  assert.equal(lifted.value.get("id"), 5n);
  assert.equal(lifted.value.get("name"), "ada");
});

test("the predicate export answers per record, failing only the records it cannot test", () => {
  class HasName {
    static spec() { return new PluginSpec("has-name", "0.1.0"); }
    constructor(className, config) {
      if (config.get("field") === "") throw new Error("field must not be empty");
      this.field = config.get("field") ?? "name";
    }
    test(r) {
      if (r.value === "boom") throw new Error("cannot test boom");
      if (r.value === "odd") return "yes";
      return r.value instanceof Map && r.value.has(this.field);
    }
  }
  const { plugin, predicates } = exportPredicate(HasName);
  assert.equal(plugin.spec().kind, "predicate");
  assert.throws(() => predicates.Tester.create("has-name", [["field", ""]]), (e) => e.payload === "field must not be empty");
  const tester = predicates.Tester.create("has-name", []);
  const lowerer = new Lowerer();
  const values = [new Map([["name", "ada"]]), new Map([["id", 1n]]), "boom", "odd"];
  const batch = { schemas: [], records: values.map((v) => lowerer.record(new Record("t", { value: v }))) };
  assert.deepEqual(tester.test(batch), [
    { tag: "ok", val: true },
    { tag: "ok", val: false },
    { tag: "err", val: "cannot test boom" },
    { tag: "err", val: 'plugin bug: test() returned "yes"; return true or false' },
  ]);
});

test("the SDK module exports only the author's API", () => {
  assert.deepEqual(Object.keys(sdk).sort(), [
    "Config", "ConfigDef", "ConfigError", "ConfigType", "DataError", "Logical", "Outcome",
    "PluginSpec", "Record", "Schema", "SchemaType", "SourceRecord", "Struct",
    "StructSchemaBuilder", "TaskError", "Typed", "decimalBytes", "exportPredicate", "exportSink",
    "exportSource", "exportTransform", "log", "metrics",
  ]);
});

test("metrics add to counters, set gauges and throw the host's message on a bad name", async () => {
  const { metricValues } = await import("sluice:connect/metrics@0.1.0");
  sdk.metrics.counterAdd("rows_masked");
  sdk.metrics.counterAdd("rows_masked", 4);
  sdk.metrics.gaugeSet("cache_entries", 2.5);
  // The first increment of a name reaches the host at once; later ones at the end of the call.
  assert.deepEqual(metricValues.get("rows_masked"), { kind: "counter", value: 1n });
  flushMetrics();
  assert.deepEqual(metricValues.get("rows_masked"), { kind: "counter", value: 5n });
  assert.deepEqual(metricValues.get("cache_entries"), { kind: "gauge", value: 2.5 });
  assert.throws(() => sdk.metrics.counterAdd("Rows"), /^Error: invalid metric name "Rows"/);
  assert.throws(() => sdk.metrics.gaugeSet("rows_masked", 1), /is a counter, not a gauge/);
});
