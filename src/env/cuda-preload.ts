/**
 * Loads the CUDA/cuDNN libraries that scripts/setup-tfjs.sh found for a GPU route (pip's
 * `nvidia-*` packages, listed one absolute path a line in `<package>/deps/mri2ct-cuda-preload.txt`)
 * before the TensorFlow binding is required. TensorFlow opens them by soname (dlopen
 * "libcudart.so.11.0"), and the dynamic loader answers that with an already loaded library of that
 * soname, so the libraries need not be on LD_LIBRARY_PATH (which only counts when set before Node
 * starts). Needs dist/native/os-helper.node; without it nothing is preloaded and the list says
 * which LD_LIBRARY_PATH to export instead.
 * This module must not load TensorFlow; it only preloads and reports.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { builtOsHelper, type OsHelper } from './quiet-tf';

export const PRELOAD_LIST = 'deps/mri2ct-cuda-preload.txt';

export interface PreloadResult {
  /** The list file, when the package has one. */
  list?: string;
  loaded: string[];
  /** "path: dlerror text" for each library that did not load. */
  failed: string[];
  /** Set when a list exists but the helper is missing (then LD_LIBRARY_PATH must carry them). */
  note?: string;
}

/** The library list of an installed package (e.g. '@tensorflow/tfjs-node'), [] when none. */
export function preloadList(pkg: string, resolve: (id: string) => string = require.resolve): { file?: string; paths: string[] } {
  let dir: string;
  try {
    dir = path.dirname(resolve(`${pkg}/package.json`));
  } catch {
    return { paths: [] };
  }
  const file = path.join(dir, PRELOAD_LIST);
  if (!fs.existsSync(file)) return { paths: [] };
  const paths = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  return { file, paths };
}

/**
 * Preloads the package's list (in order; a library that fails because of a dependency listed
 * later is retried once at the end). Never throws: failures are reported.
 */
export function preloadCudaLibraries(pkg: string, helper: OsHelper | null = builtOsHelper(), resolve?: (id: string) => string): PreloadResult {
  const { file, paths } = preloadList(pkg, resolve);
  const result: PreloadResult = { ...(file !== undefined ? { list: file } : {}), loaded: [], failed: [] };
  if (paths.length === 0) return result;
  if (helper === null) {
    const dirs = [...new Set(paths.map((p) => path.dirname(p)))].join(':');
    result.note = `dist/native/os-helper.node is missing (run bash scripts/build-native.sh), so ${file ?? ''} was not preloaded: export LD_LIBRARY_PATH=${dirs} before starting Node`;
    return result;
  }
  const errors = new Map<string, string>();
  for (const attempt of [0, 1]) {
    for (const p of attempt === 0 ? paths : [...errors.keys()]) {
      try {
        helper.dlopenGlobal(p);
        result.loaded.push(p);
        errors.delete(p);
      } catch (err) {
        errors.set(p, err instanceof Error ? err.message : String(err));
      }
    }
    if (errors.size === 0) break;
  }
  result.failed = [...errors].map(([p, e]) => `${p}: ${e}`);
  return result;
}
