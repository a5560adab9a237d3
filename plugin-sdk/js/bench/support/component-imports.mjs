// The host imports of a transpiled component, as no-ops (component.mjs).
export function log(_level, _message) {}
export function counterAdd(_name, _delta) {}
export function gaugeSet(_name, _value) {}
