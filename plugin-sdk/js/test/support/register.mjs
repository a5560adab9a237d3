// Lets plain Node load modules that import the Sluice host interface: resolves
// `sluice:connect/host@0.1.0` (provided by componentize-js inside a component) to a stub
// that prints log lines to stderr. Use: `node --import ./test/support/register.mjs --test`.
import { register } from "node:module";

register("./host-hooks.mjs", import.meta.url);
