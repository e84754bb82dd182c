/**
 * The compact HDF5 cache format (`brain_001.h5`), written and read with h5wasm.
 *
 * Layout (readable by h5py / any HDF5 >= 1.10 reader; written with libver ['earliest','v110']):
 *   /mri, /ct   uint16 [slices, h, w], value = stored * attrs['scale'] (1/65535)
 *   /mask       uint8  [slices, h, w], 0/1
 *   every dataset: chunks [1, h, w] (one slice per chunk), gzip level 9, attr `checksum`
 *   root attrs: format_version (int32), patient_id, source_mri, source_ct, params_hash,
 *               normalization (JSON), extra (JSON, optional), checksum, checksum_algorithm,
 *               created_at, writer (all strings unless noted; UTF-8)
 * Reading also accepts files from other writers (e.g. h5py) with the same names and root
 * attributes but other dtypes: float32/float64 values in [0,1], bool/int mask; missing
 * checksums only matter with `verify`.
 *
 * Robustness: h5wasm ignores HDF5 read failures (a corrupt gzip chunk comes back as garbage)
 * and prints HDF5's error stack to stderr. So this module checks the superblock itself
 * (signature, truncation), calls the low-level read and checks its status, and points the
 * wasm module's stderr at a private file while it runs, turning any HDF5 diagnostic into a
 * CacheError that names the file and the fix (quoting HDF5's innermost message). A wasm abort
 * inside HDF5 (corrupt metadata) discards the h5wasm instance; the next call loads a fresh one.
 * Known limits (HDF5 itself, h5py behaves the same): a few specific metadata corruptions (e.g.
 * in the global heap holding the string attributes) make HDF5 loop forever; emscripten still
 * prints "Aborted(...)" / UTF-8 warnings to stderr on such files. Data corruption is caught.
 *
 * Must not: import h5wasm statically (it is ESM-only; loaded with importEsm('h5wasm/node'),
 * whose Node build uses the real filesystem), leave temp files behind, or return data HDF5
 * failed to decode.
 */

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { CacheError } from '../errors';
import { importEsm } from '../util/esm';
import { checksumBytes } from './checksum';
import {
  ARRAY_NAMES,
  type ArrayName,
  type CacheAttrs,
  type CacheAttrsInput,
  type CacheFormat,
  type NormalizationMapping,
  type PatientArrays,
  type RawReadResult,
  type ReadOptions,
  type ReadResult,
  type Shape3,
  type WriteOptions,
  U16_SCALE,
  buildAttrs,
  cacheError,
  checkFormatVersion,
  floatToU16Clamped,
  fsReadError,
  fsyncPath,
  parseJsonAttr,
  tempPathFor,
  toStoredU16,
  u16ToFloat,
  validateForWrite,
  verifyChecksums,
} from './format-common';

// The parts of h5wasm 0.10 used here, typed structurally: h5wasm's own .d.ts can only be
// imported with a `resolution-mode` attribute, which older TypeScript versions reject.
interface H5Metadata {
  type: number;
  size: number;
  signed: boolean;
  shape: number[] | null;
  total_size: number;
}
interface H5HasAttrs {
  readonly attrs: Record<string, { readonly value: unknown }>;
  create_attribute(name: string, data: string | number, shape?: number[] | null, dtype?: string | null): void;
}
interface H5Dataset extends H5HasAttrs {
  readonly path: string;
  readonly metadata: H5Metadata;
  readonly filters: Array<{ id: number; name: string }>;
}
interface H5File extends H5HasAttrs {
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
interface H5Module {
  _malloc(nbytes: number): number;
  _free(ptr: number): void;
  readonly HEAPU8: Uint8Array;
  get_dataset_data(fileId: bigint, path: string, count: null, offset: null, strides: null, ptr: bigint): number;
}
interface H5WasmModule {
  File: new (filename: string, mode: 'r' | 'w', options?: { libver?: [string, string] }) => H5File;
  Dataset: abstract new (...args: never[]) => H5Dataset;
  ready: Promise<H5Module>;
}

/** gzip level of every dataset (write speed only; decoding speed does not depend on it). */
export const H5_GZIP_LEVEL = 9;
const H5_EXTENSION = '.h5';
const H5_WRITER = 'mri2ct cache/h5-format (h5wasm)';
const H5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
const H5T_INTEGER = 0;
const H5T_FLOAT = 1;
const H5T_ENUM = 8;

interface H5Api {
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
function loadH5(): Promise<H5Api> {
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
function withHdf5Diagnostics<T>(api: H5Api, fn: (diag: () => string) => T): T {
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

function withReason(what: string, diag: string, e?: unknown): string {
  const reason = hdf5Reason(diag) || (e instanceof Error ? e.message : e === undefined ? '' : String(e));
  return reason ? `${what} (HDF5: ${reason})` : what;
}

// ---------------------------------------------------------------------------------------------
// Superblock check: catches "not HDF5" and truncated files before HDF5 sees them.

function readUint(view: DataView, offset: number, size: number): number | undefined {
  if (offset + size > view.byteLength) return undefined;
  if (size === 8) return Number(view.getBigUint64(offset, true));
  if (size === 4) return view.getUint32(offset, true);
  if (size === 2) return view.getUint16(offset, true);
  return undefined;
}

/** Throws CacheError when `file` is missing, not HDF5, or shorter than its superblock says. */
function checkHdf5File(file: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw fsReadError(file, e);
  }
  try {
    const size = fs.fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(size, 4096 + 64));
    fs.readSync(fd, head, 0, head.length, 0);
    let base = -1;
    for (const off of [0, 512, 1024, 2048, 4096]) {
      if (off + 8 <= head.length && H5_SIGNATURE.every((b, i) => head[off + i] === b)) {
        base = off;
        break;
      }
    }
    if (base < 0) {
      throw cacheError(file, size === 0 ? 'is empty (a writer was interrupted?)' : 'is not an HDF5 file (no HDF5 signature)');
    }
    const view = new DataView(head.buffer, head.byteOffset, head.length);
    const version = head[base + 8];
    let eofOffset: number | undefined;
    let sizeOfOffsets: number | undefined;
    if (version === 0 || version === 1) {
      sizeOfOffsets = head[base + 13];
      const addrStart = base + (version === 0 ? 24 : 28);
      if (sizeOfOffsets !== undefined) eofOffset = addrStart + 2 * sizeOfOffsets;
    } else if (version === 2 || version === 3) {
      sizeOfOffsets = head[base + 9];
      if (sizeOfOffsets !== undefined) eofOffset = base + 12 + 2 * sizeOfOffsets;
    }
    if (eofOffset !== undefined && sizeOfOffsets !== undefined) {
      const storedEof = readUint(view, eofOffset, sizeOfOffsets);
      if (storedEof === undefined) {
        throw cacheError(file, `is truncated (${size} bytes, superblock incomplete)`);
      }
      if (storedEof > 0 && size < base + storedEof) {
        throw cacheError(file, `is truncated (${size} of ${base + storedEof} bytes)`);
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

type StoredDtype = 'uint8' | 'uint16' | 'float32' | 'float64' | 'bool' | 'int8';
/** 'raw': uint16 (mri/ct) as stored; 'float': float32 in [0,1]. The mask is uint8 0/1 either way. */
type Want = 'raw' | 'float';

interface DatasetRead {
  data: Uint8Array | Uint16Array | Float32Array;
  dtype: StoredDtype;
  shape: number[];
  /** Checksum stored in the dataset's attribute ('' when absent). */
  checksum: string;
  /** Checksum of the stored bytes, computed when verifying. */
  actualChecksum: string | undefined;
}

/** `obj.attrs` lists the attribute names through HDF5 on every access: do it once per object. */
const attrsCache = new WeakMap<object, Record<string, { readonly value: unknown }>>();

function attrValue(obj: { readonly attrs: Record<string, { readonly value: unknown }> }, name: string): unknown {
  let attrs = attrsCache.get(obj);
  if (attrs === undefined) {
    attrs = obj.attrs;
    attrsCache.set(obj, attrs);
  }
  if (!Object.prototype.hasOwnProperty.call(attrs, name)) return undefined;
  let v = attrs[name]?.value;
  if ((Array.isArray(v) || ArrayBuffer.isView(v)) && (v as ArrayLike<unknown>).length === 1) v = (v as ArrayLike<unknown>)[0];
  if (v instanceof Uint8Array) v = Buffer.from(v).toString('utf8');
  return v;
}

function stringAttr(file: string, obj: { readonly attrs: Record<string, { readonly value: unknown }> }, name: string, required: boolean): string {
  const v = attrValue(obj, name);
  if (typeof v === 'string') return v;
  if (v === undefined && !required) return '';
  if (v === undefined) throw cacheError(file, `has no attribute '${name}' (not an mri2ct cache file, or written by an older version)`);
  throw cacheError(file, `attribute '${name}' is not a string`);
}

function numberAttr(obj: { readonly attrs: Record<string, { readonly value: unknown }> }, name: string): number | undefined {
  const v = attrValue(obj, name);
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

function describeDtype(meta: { type: number; size: number; signed: boolean }): StoredDtype | undefined {
  if (meta.type === H5T_INTEGER && meta.size === 1) return meta.signed ? 'int8' : 'uint8';
  if (meta.type === H5T_ENUM && meta.size === 1) return 'bool'; // h5py stores numpy bool as an int8 enum
  if (meta.type === H5T_INTEGER && meta.size === 2 && !meta.signed) return 'uint16';
  if (meta.type === H5T_FLOAT && meta.size === 4) return 'float32';
  if (meta.type === H5T_FLOAT && meta.size === 8) return 'float64';
  return undefined;
}

function openDataset(api: H5Api, f: H5File, file: string, name: ArrayName): H5Dataset {
  let ds: unknown;
  try {
    ds = f.get(name);
  } catch (e) {
    throw cacheError(file, `dataset '${name}' cannot be opened`, e);
  }
  if (!(ds instanceof api.mod.Dataset)) throw cacheError(file, `has no dataset '${name}'`);
  return ds;
}

function datasetInfo(api: H5Api, f: H5File, file: string, name: ArrayName) {
  const ds = openDataset(api, f, file, name);
  const meta = ds.metadata;
  const dtype = describeDtype(meta);
  const usable = name === 'mask' ? dtype !== undefined : dtype === 'uint16' || dtype === 'float32' || dtype === 'float64';
  if (dtype === undefined || !usable) {
    throw cacheError(file, `dataset '${name}' has unsupported type (HDF5 class ${meta.type}, ${meta.size} bytes)`);
  }
  const shape = meta.shape ?? [];
  return { ds, meta, dtype, shape };
}

/** HDF5's built-in filters (deflate, shuffle, fletcher32, nbit, scaleoffset); others need plugins. */
const BUILTIN_FILTERS = new Set([1, 2, 3, 5, 6]);

/** Names of the dataset's filters that are not built into HDF5 (e.g. "'lzf' (32000)"), or ''. */
function foreignFilters(ds: H5Dataset): string {
  try {
    return ds.filters
      .filter((f) => !BUILTIN_FILTERS.has(f.id))
      .map((f) => `'${f.name}' (${f.id})`)
      .join(', ');
  } catch {
    return '';
  }
}

/**
 * Converts the stored values, still in the wasm heap at `ptr`, straight into the JS array the
 * caller wants (one pass, no intermediate copy of the whole dataset).
 */
function convertFromHeap(heap: ArrayBuffer, ptr: number, count: number, name: ArrayName, dtype: StoredDtype, scale: number | undefined, want: Want): DatasetRead['data'] {
  if (name === 'mask') {
    const bytes = new Uint8Array(heap, ptr, count);
    return dtype === 'uint8' ? bytes.slice() : Uint8Array.from(bytes, (v) => (v ? 1 : 0));
  }
  if (dtype === 'uint16') {
    const u = new Uint16Array(heap, ptr, count);
    const s = scale ?? U16_SCALE;
    if (Math.abs(s - U16_SCALE) < 1e-12) return want === 'raw' ? u.slice() : u16ToFloat(u);
    const f = Float32Array.from(u, (v) => v * s); // another scale: go through float
    return want === 'raw' ? floatToU16Clamped(f) : f;
  }
  const a = dtype === 'float32' ? new Float32Array(heap, ptr, count) : new Float64Array(heap, ptr, count);
  if (want === 'raw') return floatToU16Clamped(a);
  return a instanceof Float32Array ? a.slice() : Float32Array.from(a);
}

function readDataset(api: H5Api, f: H5File, file: string, name: ArrayName, diag: () => string, want: Want, verify: boolean): DatasetRead {
  const { ds, meta, dtype, shape } = datasetInfo(api, f, file, name);
  const count = meta.total_size;
  const nbytes = meta.size * count;
  const scale = numberAttr(ds, 'scale');
  const checksum = stringAttr(file, ds, 'checksum', false);
  const M = api.Module;
  const ptr = M._malloc(Math.max(nbytes, 1));
  if (!ptr) throw cacheError(file, `dataset '${name}' (${nbytes} bytes) does not fit in the HDF5 wasm memory`);
  try {
    let status: number;
    try {
      status = M.get_dataset_data(f.file_id, ds.path, null, null, null, BigInt(ptr));
    } catch (e) {
      throw cacheError(file, withReason(`dataset '${name}' cannot be read`, diag(), e), e);
    }
    if (status < 0) {
      const missing = foreignFilters(ds);
      if (missing !== '') {
        throw cacheError(file, withReason(`dataset '${name}' uses HDF5 filter ${missing}, which h5wasm cannot decode (rewrite it with gzip)`, diag()));
      }
      throw cacheError(file, withReason(`dataset '${name}' cannot be decoded: the file is corrupt`, diag()));
    }
    const heap = M.HEAPU8.buffer as ArrayBuffer; // read after the call: the heap may have grown
    const actualChecksum = verify ? checksumBytes(new Uint8Array(heap, ptr, nbytes)) : undefined;
    const data = convertFromHeap(heap, ptr, count, name, dtype, scale, want);
    return { data, dtype, shape, checksum, actualChecksum };
  } finally {
    M._free(ptr);
  }
}

function readRootAttrs(file: string, f: H5File): Omit<CacheAttrs, 'checksums' | 'dtypes'> {
  const formatVersion = numberAttr(f, 'format_version');
  checkFormatVersion(file, formatVersion);
  const extraText = stringAttr(file, f, 'extra', false);
  return {
    patientId: stringAttr(file, f, 'patient_id', true),
    sourceFiles: { mri: stringAttr(file, f, 'source_mri', false), ct: stringAttr(file, f, 'source_ct', false) },
    paramsHash: stringAttr(file, f, 'params_hash', true),
    normalization: parseJsonAttr<NormalizationMapping>(file, 'normalization', stringAttr(file, f, 'normalization', true)),
    ...(extraText ? { extra: parseJsonAttr<Record<string, string | number | boolean>>(file, 'extra', extraText) } : {}),
    formatVersion: formatVersion as number,
    checksumAlgorithm: stringAttr(file, f, 'checksum_algorithm', false),
    checksum: stringAttr(file, f, 'checksum', false),
    createdAt: stringAttr(file, f, 'created_at', false),
    writer: stringAttr(file, f, 'writer', false),
  };
}

/** Opens `file` read-only, runs `fn`, closes; every HDF5 failure becomes a CacheError. */
async function withOpenFile<T>(file: string, fn: (api: H5Api, f: H5File, diag: () => string) => T): Promise<T> {
  checkHdf5File(file);
  const api = await loadH5();
  return withHdf5Diagnostics(api, (diag) => {
    let f: H5File;
    try {
      f = new api.mod.File(file, 'r');
    } catch (e) {
      throw cacheError(file, withReason('cannot be opened as HDF5', diag(), e), e);
    }
    if (f.file_id < 0n) throw cacheError(file, withReason('cannot be opened as HDF5', diag()));
    try {
      return fn(api, f, diag);
    } catch (e) {
      if (e instanceof CacheError) throw e;
      throw cacheError(file, withReason('is corrupt', diag(), e), e);
    } finally {
      f.close();
    }
  });
}

interface StoredRead {
  arrays: Record<ArrayName, DatasetRead>;
  shape: Shape3;
  attrs: CacheAttrs;
}

function readAll(file: string, want: Want, options: ReadOptions | undefined): Promise<StoredRead> {
  const verify = options?.verify === true;
  return withOpenFile(file, (api, f, diag) => {
    const root = readRootAttrs(file, f);
    const arrays = {} as Record<ArrayName, DatasetRead>;
    for (const name of ARRAY_NAMES) arrays[name] = readDataset(api, f, file, name, diag, want, verify);
    const shape = arrays.mri.shape;
    if (shape.length !== 3 || ARRAY_NAMES.some((n) => arrays[n].shape.join() !== shape.join())) {
      throw cacheError(file, `datasets must all have shape [slices, h, w]; got ${ARRAY_NAMES.map((n) => `${n} [${arrays[n].shape.join(', ')}]`).join(', ')}`);
    }
    const attrs: CacheAttrs = {
      ...root,
      checksums: { mri: arrays.mri.checksum, ct: arrays.ct.checksum, mask: arrays.mask.checksum },
      dtypes: { mri: arrays.mri.dtype, ct: arrays.ct.dtype, mask: arrays.mask.dtype },
    };
    const shape3 = [shape[0], shape[1], shape[2]] as unknown as Shape3;
    if (verify) {
      const actual = { mri: arrays.mri.actualChecksum ?? '', ct: arrays.ct.actualChecksum ?? '', mask: arrays.mask.actualChecksum ?? '' };
      verifyChecksums(file, attrs, actual, shape3);
    }
    return { arrays, shape: shape3, attrs };
  });
}

// ---------------------------------------------------------------------------------------------
// Writing

async function writeH5(file: string, arrays: PatientArrays, input: CacheAttrsInput, options?: WriteOptions): Promise<CacheAttrs> {
  validateForWrite(file, arrays, input);
  const shape = arrays.shape;
  const stored = { mri: toStoredU16(arrays.mri, 'mri', file), ct: toStoredU16(arrays.ct, 'ct', file), mask: arrays.mask, shape };
  const api = await loadH5();
  const attrs = buildAttrs(stored, input, H5_WRITER);
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = tempPathFor(file);
  try {
    withHdf5Diagnostics(api, (diag) => {
      const fail = (what: string, e?: unknown): CacheError =>
        new CacheError(`cannot write cache file ${file}: ${withReason(what, diag(), e)}. Fix: check free disk space and permissions of ${dir}.`, { cause: e });
      let f: H5File;
      try {
        f = new api.mod.File(tmp, 'w', { libver: ['earliest', 'v110'] });
      } catch (e) {
        throw fail('cannot create the HDF5 file', e);
      }
      if (f.file_id < 0n) throw fail('cannot create the HDF5 file');
      let closeStatus = -1;
      try {
        for (const name of ARRAY_NAMES) {
          const ds = f.create_dataset({
            name,
            data: stored[name],
            shape: [shape[0], shape[1], shape[2]],
            chunks: [1, shape[1], shape[2]],
            compression: 'gzip',
            compression_opts: H5_GZIP_LEVEL,
          });
          ds.create_attribute('checksum', attrs.checksums[name], null, 'S');
          if (name !== 'mask') ds.create_attribute('scale', U16_SCALE);
        }
        f.create_attribute('format_version', attrs.formatVersion, null, '<i4');
        const strings: Array<[string, string]> = [
          ['patient_id', attrs.patientId],
          ['source_mri', attrs.sourceFiles.mri],
          ['source_ct', attrs.sourceFiles.ct],
          ['params_hash', attrs.paramsHash],
          ['normalization', JSON.stringify(attrs.normalization)],
          ['checksum', attrs.checksum],
          ['checksum_algorithm', attrs.checksumAlgorithm],
          ['created_at', attrs.createdAt],
          ['writer', attrs.writer],
        ];
        if (attrs.extra !== undefined) strings.push(['extra', JSON.stringify(attrs.extra)]);
        for (const [k, v] of strings) f.create_attribute(k, v, null, 'S');
      } catch (e) {
        if (e instanceof CacheError) throw e;
        throw fail('HDF5 write failed', e);
      } finally {
        closeStatus = f.close();
      }
      // h5wasm's create_dataset does not report H5Dwrite failures: any HDF5 diagnostic counts.
      if (closeStatus < 0 || diag() !== '') throw fail('HDF5 reported an error');
    });
    if (options?.fsync !== false) fsyncPath(tmp);
    fs.renameSync(tmp, file);
    if (options?.fsync !== false) fsyncPath(dir);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    if (e instanceof CacheError) throw e;
    throw new CacheError(
      `cannot write cache file ${file}: ${(e as Error).message}. Fix: check free disk space and permissions of ${dir}.`,
      { cause: e },
    );
  }
  return attrs;
}

/** The HDF5 cache format: compact (uint16 + gzip 9, one slice per chunk), readable by h5py. */
export const h5Format: CacheFormat = {
  name: 'h5',
  extension: H5_EXTENSION,
  pathFor(dir: string, patientId: string): string {
    return path.join(dir, patientId + H5_EXTENSION);
  },
  write: writeH5,
  async read(file: string, options?: ReadOptions): Promise<ReadResult> {
    const r = await readAll(file, 'float', options);
    const { mri, ct, mask } = r.arrays;
    return { mri: mri.data as Float32Array, ct: ct.data as Float32Array, mask: mask.data as Uint8Array, shape: r.shape, attrs: r.attrs };
  },
  async readRaw(file: string, options?: ReadOptions): Promise<RawReadResult> {
    const r = await readAll(file, 'raw', options);
    const { mri, ct, mask } = r.arrays;
    return { mri: mri.data as Uint16Array, ct: ct.data as Uint16Array, mask: mask.data as Uint8Array, shape: r.shape, scale: U16_SCALE, attrs: r.attrs };
  },
  readAttrs(file: string): Promise<CacheAttrs> {
    return withOpenFile(file, (api, f) => {
      const root = readRootAttrs(file, f);
      const checksums = {} as Record<ArrayName, string>;
      const dtypes = {} as Record<ArrayName, string>;
      for (const name of ARRAY_NAMES) {
        const { ds, dtype } = datasetInfo(api, f, file, name);
        checksums[name] = stringAttr(file, ds, 'checksum', false);
        dtypes[name] = dtype;
      }
      return { ...root, checksums, dtypes };
    });
  },
  exists(file: string): boolean {
    try {
      const st = fs.statSync(file);
      return st.isFile() && st.size > 0;
    } catch {
      return false;
    }
  },
};
