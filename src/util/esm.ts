/**
 * Loads ESM-only packages (h5wasm, nifti-reader-js) from our CommonJS build.
 * tslab compiles notebook cells to CommonJS and turns `import()` into `require()`, which cannot
 * load these packages; our compiled library keeps a real dynamic `import()` (TypeScript's Node16
 * module mode preserves it in CommonJS output), so notebooks import this library instead.
 * Must not be used for CommonJS packages: plain `import` is simpler there.
 */

const loaded = new Map<string, Promise<unknown>>();

/** Imports an ESM-only module once per process and caches the promise. */
export function importEsm<T>(specifier: string): Promise<T> {
  let p = loaded.get(specifier);
  if (p === undefined) {
    p = import(specifier);
    loaded.set(specifier, p);
  }
  return p as Promise<T>;
}
