// Stands in for the host's `log` import in unit tests; lines are kept for assertions too.
export const lines = [];
export function log(level, message) {
  lines.push([level, message]);
  console.error(`[${level}] ${message}`);
}

// Stands in for the host's `metrics` import: the host's name rule, values kept for assertions.
// Errors are thrown the way componentize-js throws a WIT `result` error (`payload`).
export const metricValues = new Map();
function checked(name, kind) {
  if (!/^[a-z][a-z0-9_]{0,63}$/.test(name)) {
    throw { payload: `invalid metric name ${JSON.stringify(name)}: use 1 to 64 characters a-z, 0-9 and _, starting with a letter` };
  }
  const existing = metricValues.get(name);
  if (existing && existing.kind !== kind) {
    throw { payload: `metric ${JSON.stringify(name)} is a ${existing.kind}, not a ${kind}` };
  }
}
export function counterAdd(name, delta) {
  checked(name, "counter");
  const value = (metricValues.get(name)?.value ?? 0n) + delta;
  metricValues.set(name, { kind: "counter", value });
}
export function gaugeSet(name, value) {
  checked(name, "gauge");
  metricValues.set(name, { kind: "gauge", value });
}
