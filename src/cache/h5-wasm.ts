/**
 * The h5wasm runtime behind the HDF5 cache format: loads h5wasm lazily (one instance per
 * process or worker thread, a fresh one after a wasm abort), and runs synchronous h5wasm calls
 * with HDF5's stderr captured so that its diagnostics can be quoted in a CacheError.
 * Also the structural types of the parts of h5wasm that h5-read.ts and h5-write.ts use.
 *
 * Must not: import h5wasm statically (it is ESM-only; loaded with importEsm('h5wasm/node'),
 * whose Node build uses the real filesystem), leave its diagnostics file on disk, or know
 * anything about the cache layout (that is h5-format.ts, h5-read.ts and h5-write.ts).
 */

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { CacheError } from '../errors';
import { importEsm } from '../util/esm';

// The parts of h5wasm 0.10 used here, typed structurally: h5wasm's own .d.ts can only be
// imported with a `resolution-mode` attribute, which older TypeScript versions reject.
export interface H5Metadata {
  type: number;
  size: number;
  signed: boolean;
  shape: number[] | null;
  total_size: number;
}
export interface H5HasAttrs {
  readonly attrs: Record<string, { readonly value: unknown }>;
  create_attribute(name: string, data: string | number, shape?: number[] | null, dtype?: string | null): void;
}
export interface H5Dataset extends H5HasAttrs {
  readonly path: string;
  readonly metadata: H5Metadata;
  readonly filters: Array<{ id: number; name: string }>;
}
export interface H5File extends H5HasAttrs {
  readonly file_id: bigint;
  get(name: string): unknown;
  create_dataset(args: {
    name: string;
    data: Uint8Array | Uint16Array;
    shape: number[];
    chunks: number[];
    compression: 'gzip';
    compression_opts: number;
  }): H5Dataset;
  close(): number;
}
export interface H5Module {
  _malloc(nbytes: number): number;
  _free(ptr: number): void;
  readonly HEAPU8: Uint8Array;
  get_dataset_data(fileId: bigint, path: string, count: null, offset: null, strides: null, ptr: bigint): number;
}
export interface H5WasmModule {
  File: new (filename: string, mode: 'r' | 'w', options?: { libver?: [string, string] }) => H5File;
  Dataset: abstract new (...args: never[]) => H5Dataset;
  ready: Promise<H5Module>;
}

/** A loaded h5wasm: the JS module and its ready wasm module. */
export interface H5Api {
  mod: H5WasmModule;
  Module: H5Module;
}

let apiPromise: Promise<H5Api> | undefined;
/** Number of h5wasm instances discarded after a wasm abort (see discardIfAborted). */
let generation = 0;

/** file: URL of h5wasm's Node entry, to load an independent second instance. */
function h5wasmEntryUrl(): string {
  for (const dir of require.resolve.paths('h5wasm') ?? []) {
    const p = path.join(dir, 'h5wasm', 'dist', 'node', 'hdf5_hl.js');
    if (fs.existsSync(p)) return pathToFileURL(p).href;
  }
  throw new Error('h5wasm/dist/node/hdf5_hl.js not found');
}

/**
 * Loads h5wasm once per process (ESM-only package, so through importEsm). After an instance
 * was discarded, loads a fresh one from the same file under another URL (a new wasm memory).
 */
export function loadH5(): Promise<H5Api> {
  apiPromise ??= (async () => {
    let mod: H5WasmModule;
    try {
      const spec = generation === 0 ? 'h5wasm/node' : `${h5wasmEntryUrl()}?instance=${generation}`;
      mod = await importEsm<H5WasmModule>(spec);
    } catch (e) {
      apiPromise = undefined;
      throw new CacheError(
        `cannot load h5wasm for the HDF5 cache (${(e as Error).message}). ` +
          'Fix: reinstall dependencies (`npm ci`), or use the npy cache format (`--cache-format npy`).',
        { cause: e },
      );
    }
    const Module = await mod.ready;
    return { mod, Module };
  })();
  return apiPromise;
}

/**
 * A wasm abort or trap inside HDF5 (seen with corrupt metadata: "Aborted(native code called
 * abort())") unwinds the C code without cleanup, leaving the library in an undefined state in
 * which later calls can hang. So the instance is dropped and the next call loads a fresh one.
 */
function discardIfAborted(e: unknown): void {
  const isAbort = (x: unknown): boolean =>
    x instanceof Error && (x.name === 'RuntimeError' || x.message.startsWith('Aborted('));
  if (isAbort(e) || (e instanceof Error && isAbort(e.cause))) {
    apiPromise = undefined;
    generation++;
  }
}

// ---------------------------------------------------------------------------------------------
// HDF5 diagnostics capture. HDF5 prints its error stack to the wasm module's stderr, which the
// Node build maps to the real fd 2. While our synchronous h5wasm calls run, we point that
// stream at a private append-only file, so nothing reaches the terminal and we can quote the
// innermost HDF5 message in our CacheError.

interface EmscriptenStream {
  nfd?: number;
}
interface StreamFs {
  getStream?: (fd: number) => EmscriptenStream | null | undefined;
}

let diagFd: number | null | undefined;

function diagnosticsFd(): number | null {
  if (diagFd !== undefined) return diagFd;
  try {
    // Unique per process and worker thread: each thread has its own h5wasm instance.
    const p = path.join(os.tmpdir(), `mri2ct-hdf5-diag-${process.pid}-${threadId}-${randomBytes(6).toString('hex')}.log`);
    diagFd = fs.openSync(p, 'a+');
    try {
      fs.unlinkSync(p); // POSIX: the open fd stays valid, nothing is left on disk
    } catch {
      process.once('exit', () => fs.rmSync(p, { force: true }));
    }
  } catch {
    diagFd = null; // no capture: HDF5 messages go to stderr, our errors are still thrown
  }
  return diagFd;
}

/** Runs `fn` with HDF5's stderr captured; `diag()` returns what HDF5 printed so far. */
export function withHdf5Diagnostics<T>(api: H5Api, fn: (diag: () => string) => T): T {
  const fd = diagnosticsFd();
  const stream = (api.Module as unknown as { FS?: StreamFs }).FS?.getStream?.(2);
  if (fd === null || stream === null || stream === undefined || typeof stream.nfd !== 'number') {
    try {
      return fn(() => '');
    } catch (e) {
      discardIfAborted(e);
      throw e;
    }
  }
  fs.ftruncateSync(fd, 0);
  const saved = stream.nfd;
  stream.nfd = fd;
  const diag = (): string => {
    const size = fs.fstatSync(fd).size;
    if (size === 0) return '';
    const buf = Buffer.alloc(Math.min(size, 1 << 20));
    fs.readSync(fd, buf, 0, buf.length, 0);
    return buf.toString('utf8');
  };
  try {
    return fn(diag);
  } catch (e) {
    discardIfAborted(e);
    throw e;
  } finally {
    stream.nfd = saved;
  }
}

/** The innermost HDF5 message of a captured error stack, e.g. "filter returned failure during read". */
function hdf5Reason(diag: string): string {
  const lines = diag.split('\n').filter((l) => /^\s*#\d+:/.test(l));
  const last = lines[lines.length - 1];
  if (last === undefined) return diag.trim().split('\n')[0] ?? '';
  const m = /\(\):\s*(.*)$/.exec(last);
  return (m?.[1] ?? last).trim();
}

/** `what`, followed by HDF5's innermost message (or the error's) in parentheses when there is one. */
export function withReason(what: string, diag: string, e?: unknown): string {
  const reason = hdf5Reason(diag) || (e instanceof Error ? e.message : e === undefined ? '' : String(e));
  return reason ? `${what} (HDF5: ${reason})` : what;
}
