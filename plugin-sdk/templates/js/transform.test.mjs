import { test } from "node:test";
import assert from "node:assert/strict";
import { Config, Record } from "../src/sluice.js";
import { Plugin } from "../src/index.js";

test("upper-cases the field and fails non-strings", () => {
  const t = new Plugin("{{plugin_name}}", new Config([["field", "name"]]));
  const kept = t.apply(new Record("t", { value: new Map([["name", "ada"]]) }));
  assert.equal(kept.kind, "keep");
  assert.equal(kept.record.value.get("name"), "ADA");
  assert.equal(t.apply(new Record("t", { value: new Map([["name", 1n]]) })).kind, "fail");
});
