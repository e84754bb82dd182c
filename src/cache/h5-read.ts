/**
 * Reading the HDF5 cache format (layout in h5-format.ts): checks the superblock itself
 * (signature, truncation) before HDF5 sees the file, reads each dataset with h5wasm's
 * low-level call and checks its status, converts the stored values straight out of the wasm
 * heap, and turns every HDF5 failure into a CacheError that names the file and the fix.
 * Accepts files from other writers (e.g. h5py) with the same names: float32/float64 values in
 * [0,1], bool/int mask; missing checksums only matter with `verify`.
 *
 * Must not: write or modify files, return data HDF5 failed to decode, or load h5wasm other
 * than through h5-wasm.ts.
 */

import * as fs from 'node:fs';
import { CacheError } from '../errors';
import { checksumBytes } from './checksum';
import {
  ARRAY_NAMES,
  type ArrayName,
  type CacheAttrs,
  type NormalizationMapping,
  type RawReadResult,
  type ReadOptions,
  type ReadResult,
  type Shape3,
  U16_SCALE,
  cacheError,
  checkFormatVersion,
  floatToU16Clamped,
  fsReadError,
  parseJsonAttr,
  u16ToFloat,
  verifyChecksums,
} from './format-common';
import { type H5Api, type H5Dataset, type H5File, loadH5, withHdf5Diagnostics, withReason } from './h5-wasm';

const H5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
const H5T_INTEGER = 0;
const H5T_FLOAT = 1;
const H5T_ENUM = 8;

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
// Datasets and attributes

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

/** Reads the three datasets as float32 in [0,1] (mask uint8 0/1). */
export async function readH5(file: string, options?: ReadOptions): Promise<ReadResult> {
  const r = await readAll(file, 'float', options);
  const { mri, ct, mask } = r.arrays;
  return { mri: mri.data as Float32Array, ct: ct.data as Float32Array, mask: mask.data as Uint8Array, shape: r.shape, attrs: r.attrs };
}

/** Reads the three datasets as stored: uint16 mri/ct (value = stored * scale), uint8 mask. */
export async function readH5Raw(file: string, options?: ReadOptions): Promise<RawReadResult> {
  const r = await readAll(file, 'raw', options);
  const { mri, ct, mask } = r.arrays;
  return { mri: mri.data as Uint16Array, ct: ct.data as Uint16Array, mask: mask.data as Uint8Array, shape: r.shape, scale: U16_SCALE, attrs: r.attrs };
}

/** Reads the root and dataset attributes only (no dataset data). */
export function readH5Attrs(file: string): Promise<CacheAttrs> {
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
}
