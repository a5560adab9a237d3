// Micro-benchmark of the SDK's packed transform path, outside any host (not a test).
//
// Runs examples/js-mask-upper's `apply` through `packedTransforms` over the records of the
// polyglot benchmark (tests/bench/polyglot.rs: 20 000 users, a 4-field struct, null key,
// batches of 500), built as packed batches by the SDK itself. Each SDK directory given
// (default: this one) gets its own copy of the example; rounds alternate between them, and
// every SDK's output must be byte-identical to the first's.
//
//   node --jitless --import ./test/support/register.mjs bench/mask-upper.mjs [--rounds 5] [SDK_DIR…]
//
// `--jitless` comes closest to the component's situation (SpiderMonkey's interpreter inside
// WebAssembly, no JIT); the figures are only comparable with each other, within one run.
// An SDK_DIR is a directory holding `sluice.js` and `sluice/` (e.g. an older SDK from
// `git archive`).
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { usersBatches } from "./support/users-batches.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const example = resolve(here, "../../../examples/js-mask-upper/index.js");

const args = process.argv.slice(2);
let rounds = 5;
let records = 20000;
const sdks = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--rounds") rounds = Number(args[++i]);
  else if (args[i] === "--records") records = Number(args[++i]);
  else sdks.push(resolve(args[i]));
}
if (sdks.length === 0) sdks.push(resolve(here, ".."));
const BATCH = 500;

const tmp = mkdtempSync(join(tmpdir(), "sluice-js-bench-"));
const source = readFileSync(example, "utf8");

async function load(sdk, i) {
  const sdkUrl = pathToFileURL(join(sdk, "sluice.js")).href;
  const sdkModule = await import(sdkUrl);
  const file = join(tmp, `mask-upper-${i}.mjs`);
  writeFileSync(file, source.replace("./node_modules/sluice-plugin-sdk/sluice.js", sdkUrl));
  const plugin = await import(pathToFileURL(file).href);
  return { sdk, sdkModule, plugin };
}

// The benchmark's batches, packed by the first SDK's own writer.
const input = await usersBatches(sdks[0], records, BATCH);
const variants = [];
for (let i = 0; i < sdks.length; i++) variants.push(await load(sdks[i], i));
const entries = [
  ["mask.fields", "email"],
  ["upper.fields", "name,region"],
];

function run(v) {
  const { PackedTransformer } = v.plugin.packedTransforms;
  const t = PackedTransformer.create("example.js.MaskUpper", entries);
  const outputs = [];
  // CPU time, not wall time: the machine is usually shared.
  const start = process.cpuUsage();
  for (const b of input) outputs.push(t.apply(b));
  const used = process.cpuUsage(start);
  return { us: (used.user + used.system) / records, outputs };
}

const results = variants.map(() => []);
let reference;
for (let r = 0; r < rounds; r++) {
  for (let k = 0; k < variants.length; k++) {
    // Rotate which SDK goes first.
    const i = (k + r) % variants.length;
    const { us, outputs } = run(variants[i]);
    const joined = Buffer.concat(outputs.map((o) => Buffer.from(o.buffer, o.byteOffset, o.length)));
    if (reference === undefined) reference = joined;
    else if (!reference.equals(joined)) throw new Error(`${variants[i].sdk}: output differs from the first SDK's`);
    results[i].push(us);
  }
}
console.log(`node ${process.version} ${process.execArgv.join(" ")}; CPU µs per record; ${records} records, batches of ${BATCH}, ${rounds} rounds`);
for (let i = 0; i < variants.length; i++) {
  const sorted = [...results[i]].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  console.log(`${variants[i].sdk}: median ${median.toFixed(2)} µs/record (min ${sorted[0].toFixed(2)}, all ${results[i].map((x) => x.toFixed(2)).join(" ")})`);
}
