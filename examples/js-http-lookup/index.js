// http-lookup in JavaScript: replaces each string value with what a web service answers for
// it, using `fetch` (componentize-js implements it over wasi:http, so the worker's sandbox
// decides what the plugin may reach: the connector's wasm.network.allow).
//
// For a record whose value is the string `v`, the transform sends `GET <lookup.url><v>`
// (v percent-encoded) and keeps the record with the response text as its value. A 404 fails
// the record ("no entry"), any other non-2xx status or a refused/failed request fails it with
// the reason (dead letter queue with errors.tolerance=all); tombstones pass unchanged.
//
// `apply` is async: the SDK awaits each record's promise before calling apply for the next
// one, so at most one request is open at a time (wasm.http.max.concurrent is 8 by default).
import {
  ConfigDef,
  Outcome,
  PluginSpec,
  exportTransform,
  log,
} from "./node_modules/sluice-plugin-sdk/sluice.js";

export class HttpLookup {
  static spec() {
    return new PluginSpec("example.js.HttpLookup", "0.1.0")
      .alias("js-http-lookup")
      .describe("Replaces each string value with the text a web service answers for it (GET lookup.url + value).")
      .option(ConfigDef.string("lookup.url").required().doc("URL prefix; the value is appended, percent-encoded. Grant its host:port in wasm.network.allow."));
  }

  static validate(config) {
    const url = config.get("lookup.url") ?? "";
    if (!/^https?:\/\//i.test(url)) {
      return [{ key: "lookup.url", message: `'${url}' is not an http:// or https:// URL` }];
    }
    return [];
  }

  constructor(_className, config) {
    const problem = HttpLookup.validate(config)[0];
    if (problem) throw new Error(`config \`${problem.key}\`: ${problem.message}`);
    this.url = config.get("lookup.url");
    log.info(`http-lookup (js): looking values up at ${this.url}`);
  }

  async apply(record) {
    if (record.value === null) return Outcome.keep(record);
    if (typeof record.value !== "string") {
      return Outcome.fail(`http-lookup: the value is not a string (${typeof record.value})`);
    }
    const url = this.url + encodeURIComponent(record.value);
    let response;
    try {
      response = await fetch(url);
    } catch (e) {
      return Outcome.fail(`http-lookup: GET ${url} failed: ${e?.message ?? e}`);
    }
    const text = await response.text();
    if (response.status === 404) return Outcome.fail(`http-lookup: no entry for '${record.value}'`);
    if (!response.ok) return Outcome.fail(`http-lookup: GET ${url} answered HTTP ${response.status}: ${text.slice(0, 200)}`);
    return Outcome.keep(record.with({ value: text }));
  }
}

export const { plugin, transforms, packedTransforms } = exportTransform(HttpLookup);
