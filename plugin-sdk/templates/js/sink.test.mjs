import { test } from "node:test";
import assert from "node:assert/strict";
import { Config, Record } from "../src/sluice.js";
import { Plugin } from "../src/index.js";

test("accepts strings and fails other values", () => {
  const sink = new Plugin(new Config([], Plugin.spec().config));
  const failures = sink.put([new Record("t", { value: "hello" }), new Record("t", { value: 1n })]);
  assert.deepEqual(failures.map((f) => f.index), [1]);
  assert.equal(sink.count, 1);
});
