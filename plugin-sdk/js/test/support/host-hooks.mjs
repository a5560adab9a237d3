// Module resolution hook for register.mjs: the WIT import becomes host-stub.mjs.
export async function resolve(specifier, context, next) {
  if (specifier === "sluice:connect/host@0.1.0") {
    return { url: new URL("./host-stub.mjs", import.meta.url).href, shortCircuit: true };
  }
  return next(specifier, context);
}
