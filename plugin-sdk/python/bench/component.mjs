// The Python SDK's packed transform path inside the component (not a test): for each SDK
// directory given, examples/python-mask-upper is built with that SDK by componentize-py (the
// toolchain `cargo xtask examples` installs in target/py-toolchain), transpiled by jco
// (target/js-toolchain), and its `packedTransforms` export is called with the polyglot
// benchmark's batches in Node, host imports stubbed. The plugin then runs in the component's
// own CPython (compiled to WebAssembly), as in the host; Node's `--no-liftoff` compiles the
// core module with its optimising compiler only. The JavaScript SDK's bench/component.mjs
// does the same for JavaScript, with the same input (its bench/support/users-batches.mjs).
//
//   node --no-liftoff --experimental-wasm-extended-const \
//     --import ../js/bench/support/component-register.mjs bench/component.mjs [--rounds 5] [SDK_DIR…]
//
// (from plugin-sdk/python; Node 20 needs the flag for the CPython core module's constant
// expressions). Rounds alternate between the SDKs, and every output must be
// byte-identical to the first's. Figures are CPU time per record, comparable within one run.
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { usersBatches } from "../../js/bench/support/users-batches.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = resolve(here, "../../..");
const target = process.env.CARGO_TARGET_DIR ?? join(root, "target");
const componentizePy = join(target, "py-toolchain", "bin", "componentize-py");
const toolchain = join(target, "js-toolchain", "node_modules");
const jco = join(toolchain, ".bin", "jco");

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

const tmp = mkdtempSync(join(tmpdir(), "sluice-py-component-bench-"));
async function build(sdk, i) {
  const dir = join(tmp, String(i));
  mkdirSync(dir, { recursive: true });
  cpSync(join(root, "examples", "python-mask-upper", "app.py"), join(dir, "app.py"));
  // The transpiled component imports WASI from jco's preview2-shim.
  symlinkSync(toolchain, join(dir, "node_modules"));
  run(componentizePy, ["--wit-path", join(root, "wit"), "--world", "transform-packed", "componentize",
    "--python-path", ".", "--python-path", sdk, "app", "--output", "m.wasm"], dir);
  run(jco, ["transpile", "m.wasm", "-o", "out", "--name", "m"], dir);
  return { sdk, component: await import(pathToFileURL(join(dir, "out", "m.js")).href) };
}

// The batches, packed by the JavaScript SDK (the same bytes as its benches use).
const input = await usersBatches(resolve(root, "plugin-sdk", "js"), records, BATCH);

const variants = [];
for (let i = 0; i < sdks.length; i++) variants.push(await build(sdks[i], i));
const entries = [["mask.fields", "email"], ["upper.fields", "name,region"]];
const results = variants.map(() => []);
let reference;
for (let r = 0; r < rounds; r++) {
  for (let k = 0; k < variants.length; k++) {
    const i = (k + r) % variants.length;
    const t = variants[i].component.packedTransforms.PackedTransformer.create("example.python.MaskUpper", entries);
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
