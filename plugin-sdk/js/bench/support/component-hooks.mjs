// Module resolution hook for component.mjs: the transpiled component's host imports
// (`sluice:connect/host`, `sluice:connect/metrics`) become no-op stubs.
export async function resolve(specifier, context, next) {
  if (specifier.startsWith("sluice:connect/")) {
    return { url: new URL("./component-imports.mjs", import.meta.url).href, shortCircuit: true };
  }
  return next(specifier, context);
}
