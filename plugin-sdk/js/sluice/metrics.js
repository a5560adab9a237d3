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
 */
export const metrics = Object.freeze({
  counterAdd(name, delta = 1) {
    call(() => counterAdd(String(name), BigInt(delta)));
  },
  gaugeSet(name, value) {
    call(() => gaugeSet(String(name), Number(value)));
  },
});

// A WIT `result` error arrives as a thrown value carrying the host's message in `payload`.
function call(f) {
  try {
    f();
  } catch (e) {
    const message = e && typeof e === "object" && "payload" in e ? String(e.payload) : String(e);
    throw new Error(message);
  }
}
