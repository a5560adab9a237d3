import { test } from "node:test";
import assert from "node:assert/strict";
import { Config } from "../src/sluice.js";
import { Plugin } from "../src/index.js";

test("writes count messages, then nothing, and resumes after a committed one", () => {
  const config = new Config([["topic", "t"]], Plugin.spec().config);
  const source = new Plugin(config, []);
  assert.equal(source.poll(100).length, 10);
  assert.equal(source.poll(100).length, 0);
  const resumed = new Plugin(config, [{ partition: { source: "{{name}}" }, offset: { n: 7 } }]);
  assert.equal(resumed.poll(100)[0].record.value, "message 8");
});
