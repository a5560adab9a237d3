// Module resolution hook for register.mjs: the WIT imports become host-stub.mjs.
export async function resolve(specifier, context, next) {
  if (specifier === "sluice:connect/host@0.1.0" || specifier === "sluice:connect/metrics@0.1.0") {
    return { url: new URL("./host-stub.mjs", import.meta.url).href, shortCircuit: true };
  }
  return next(specifier, context);
}
