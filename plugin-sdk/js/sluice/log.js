// Logging to the host: lines tagged with the connector and task that wrote them.

// Resolved by componentize-js to the world's `host` import. Plain Node cannot load it: unit
// tests register test/support/host-stub.mjs (`node --import ./test/support/register.mjs --test`), which
// prints the lines to stderr instead.
import { log as hostLog } from "sluice:connect/host@0.1.0";

function emit(level, message) {
  hostLog(level, String(message));
}

/** Lines in the host log, tagged with the connector and task that wrote them. */
export const log = Object.freeze({
  trace: (m) => emit("trace", m),
  debug: (m) => emit("debug", m),
  info: (m) => emit("info", m),
  warn: (m) => emit("warn", m),
  error: (m) => emit("error", m),
});
