// Stands in for the host's `log` import in unit tests; lines are kept for assertions too.
export const lines = [];
export function log(level, message) {
  lines.push([level, message]);
  console.error(`[${level}] ${message}`);
}
