// Metrics of the plugin's own (like Kafka 4.1's plugin metrics, KIP-877): counters and gauges of
// the calling task, published on the worker's GET /metrics as
// `kafka_connect_plugins_<name>{connector,task}` (a counter with `_total` appended).

// Resolved by componentize-js to the world's `metrics` import. Plain Node cannot load it: unit
// tests register test/support/host-stub.mjs, which checks names and keeps the values.
import { counterAdd, gaugeSet } from "sluice:connect/metrics@0.1.0";

/**
 * Counters and gauges of this task. A name is 1 to 64 characters a-z, 0-9 and _, starting with
 * a letter; it is a counter or a gauge, never both; a task may define at most 64 names. A broken
 * rule throws an Error with the host's message and changes nothing.
 *
 *   metrics.counterAdd("rows_masked");          // + 1
 *   metrics.counterAdd("bytes_sent", 512);
 *   metrics.gaugeSet("lookup_cache_entries", 120);
 *
 * Counter increments are added up in the plugin and handed to the host once at the end of the
 * call that made them (`apply`, `put`, `poll`, …), not once per `counterAdd`: a call into the
 * host costs more than a JavaScript transform's work on a record. The first increment of a
 * name goes to the host at once, so a name the host refuses still throws where it is used.
 */
export const metrics = Object.freeze({
  counterAdd(name, delta = 1) {
    // The same name as the last call (a plugin counting one thing per record) skips the Map.
    const counter = name === lastName ? lastCounter : pending.get(name);
    // `>>> 0` keeps integers in [0, 2^32) as they are: then the sum stays exact, since it is
    // flushed long before it reaches 2^53.
    if (counter !== undefined && typeof delta === "number" && delta >>> 0 === delta) {
      lastName = name;
      lastCounter = counter;
      counter.sum += delta;
      if (counter.sum > 2 ** 52) flushMetrics();
      return;
    }
    const key = String(name);
    call(() => counterAdd(key, BigInt(delta)));
    if (!pending.has(key)) pending.set(key, { sum: 0 });
  },
  gaugeSet(name, value) {
    call(() => gaugeSet(String(name), Number(value)));
  },
});

// Counter increments not yet handed to the host, by name; a name is here once the host took
// it. Each entry is a `{ sum }` holder, so adding to it is a property update, not a Map set.
const pending = new Map();
// The name of the last counterAdd that found its counter in `pending`, and that counter.
let lastName;
let lastCounter;

/**
 * Hands the counter increments added up since the last flush to the host. Internal: the
 * export adapters call it at the end of every call into the plugin.
 */
export function flushMetrics() {
  for (const [name, counter] of pending) {
    if (counter.sum === 0) continue;
    const sum = counter.sum;
    counter.sum = 0;
    // The host took this name before, so only a host that changed its mind refuses it; a
    // metric must not fail the data call that counted it.
    try {
      counterAdd(name, BigInt(sum));
    } catch {
      pending.delete(name);
      if (name === lastName) lastName = undefined;
    }
  }
}

// A WIT `result` error arrives as a thrown value carrying the host's message in `payload`.
function call(f) {
  try {
    f();
  } catch (e) {
    const message = e && typeof e === "object" && "payload" in e ? String(e.payload) : String(e);
    throw new Error(message);
  }
}
