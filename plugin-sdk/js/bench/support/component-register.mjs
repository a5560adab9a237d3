import { register } from "node:module";

register("./component-hooks.mjs", import.meta.url);
