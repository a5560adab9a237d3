// The same benchmark as mask-upper.mjs, but inside the component: for each SDK directory
// given, examples/js-mask-upper is built with that SDK by componentize-js (the toolchain
// `cargo xtask examples` installs in target/js-toolchain), transpiled by jco, and its
// `packedTransforms` export is called with the benchmark's batches in Node, host imports
// stubbed. The guest code then runs in SpiderMonkey's interpreter, as in the host; Node's
// `--no-liftoff` compiles the core module with its optimising compiler only. Not a test.
//
//   node --no-liftoff --import ./bench/support/component-register.mjs bench/component.mjs \
//     [--rounds 5] [SDK_DIR…]
//
// Rounds alternate between the SDKs, and every output must be byte-identical to the
// first's. Figures are CPU time per record, comparable within one run only.
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { usersBatches } from "./support/users-batches.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = resolve(here, "../../..");
const toolchain = join(process.env.CARGO_TARGET_DIR ?? join(root, "target"), "js-toolchain", "node_modules");

const args = process.argv.slice(2);
let rounds = 5;
const records = 20000;
const sdks = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--rounds") rounds = Number(args[++i]);
  else sdks.push(resolve(args[i]));
}
if (sdks.length === 0) sdks.push(resolve(here, ".."));
const BATCH = 500;

function run(cmd, argv, cwd) {
  const r = spawnSync(cmd, argv, { cwd, stdio: ["ignore", "ignore", "inherit"] });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(" ")} failed in ${cwd}`);
}

const tmp = mkdtempSync(join(tmpdir(), "sluice-js-component-bench-"));
async function build(sdk, i) {
  const dir = join(tmp, String(i));
  mkdirSync(join(dir, "node_modules", "sluice-plugin-sdk"), { recursive: true });
  cpSync(join(root, "examples", "js-mask-upper", "index.js"), join(dir, "index.js"));
  cpSync(join(sdk, "sluice.js"), join(dir, "node_modules", "sluice-plugin-sdk", "sluice.js"));
  cpSync(join(sdk, "sluice"), join(dir, "node_modules", "sluice-plugin-sdk", "sluice"), { recursive: true });
  run("node", [join(toolchain, "@bytecodealliance", "componentize-js", "src", "cli.js"), "index.js",
    "--wit", join(root, "wit"), "--world-name", "transform-packed",
    "--disable", "stdio", "random", "clocks", "http", "fetch-event", "--out", "m.wasm"], dir);
  run(join(toolchain, ".bin", "jco"), ["transpile", "m.wasm", "-o", "out", "--name", "m"], dir);
  return { sdk, component: await import(pathToFileURL(join(dir, "out", "m.js")).href) };
}

// The batches, packed by this directory's SDK (plain Node).
const input = await usersBatches(resolve(here, ".."), records, BATCH);

const variants = [];
for (let i = 0; i < sdks.length; i++) variants.push(await build(sdks[i], i));
const entries = [["mask.fields", "email"], ["upper.fields", "name,region"]];
const results = variants.map(() => []);
let reference;
for (let r = 0; r < rounds; r++) {
  for (let k = 0; k < variants.length; k++) {
    const i = (k + r) % variants.length;
    const t = variants[i].component.packedTransforms.PackedTransformer.create("example.js.MaskUpper", entries);
    const outputs = [];
    const start = process.cpuUsage();
    for (const b of input) outputs.push(t.apply(b));
    const used = process.cpuUsage(start);
    const joined = Buffer.concat(outputs.map((o) => Buffer.from(o)));
    if (reference === undefined) reference = joined;
    else if (!reference.equals(joined)) throw new Error(`${variants[i].sdk}: output differs from the first SDK's`);
    results[i].push((used.user + used.system) / records);
  }
}
console.log(`node ${process.version} ${process.execArgv.join(" ")}; inside the component; CPU µs per record; ${records} records, batches of ${BATCH}, ${rounds} rounds (the first warms up)`);
for (let i = 0; i < variants.length; i++) {
  const sorted = results[i].slice(1).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  console.log(`${variants[i].sdk}: median ${median.toFixed(1)} µs/record (all ${results[i].map((x) => x.toFixed(1)).join(" ")})`);
}
