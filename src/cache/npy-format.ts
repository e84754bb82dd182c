/**
 * The fast-loading cache format: one directory per patient, `brain_001.npy.d/`, holding
 *   mri.npy, ct.npy   uint16 ('<u2') [slices, h, w], value = stored / 65535
 *   mask.npy          uint8  ('|u1') [slices, h, w], 0/1
 *   meta.json         the attributes (CacheAttrs + shape + scale); written last
 * Each .npy is a standard NumPy v1.0 file (numpy.load reads it), uncompressed, with the header
 * padded so the data starts at a multiple of 64 bytes. Loading is one fs.readFileSync per
 * array and a zero-copy typed-array view on the file buffer (`readRaw`).
 *
 * Atomicity: the directory is filled under a hidden temp name in the same parent and renamed
 * into place; an existing entry is first renamed aside and deleted after the swap (a reader
 * racing with `preprocess --force` may briefly see the entry missing, never half-written).
 *
 * Must not: compress (that is the h5 format's job), copy array data on read when alignment
 * allows a view, or accept a directory without meta.json as a cache entry.
 */

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CacheError } from '../errors';
import { checksumBytes } from './checksum';
import {
  ARRAY_NAMES,
  type ArrayName,
  type CacheAttrs,
  type CacheAttrsInput,
  type CacheFormat,
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
  entryPath,
  floatToU16Clamped,
  fsReadError,
  fsyncPath,
  tempPathFor,
  toStoredU16,
  u16ToFloat,
  validateForWrite,
  verifyChecksums,
  voxelCount,
} from './format-common';

const NPY_EXTENSION = '.npy.d';
const META_FILE = 'meta.json';
const NPY_WRITER = 'mri2ct cache/npy-format';
const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** Data offset alignment of the .npy files we write (numpy itself pads to 64). */
export const NPY_ALIGN = 64;

/** NumPy dtype descriptors this module reads and writes. */
export type NpyDescr = '<u2' | '|u1' | '|b1' | '<f4' | '<f8';

type NpyTyped = Uint16Array | Uint8Array | Float32Array | Float64Array;

/** meta.json contents. */
interface NpyMeta extends CacheAttrs {
  shape: number[];
  scale: number;
}

/**
 * The .npy v1.0 header for a C-ordered array: magic, version, length and the dict, padded
 * with spaces and ended by '\n' so that the data starts at a multiple of NPY_ALIGN bytes.
 */
export function encodeNpyHeader(descr: NpyDescr, shape: readonly number[]): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = 10 + dict.length + 1;
  const total = Math.ceil(unpadded / NPY_ALIGN) * NPY_ALIGN;
  const headerLen = total - 10;
  if (headerLen > 0xffff) throw new Error('npy header too long');
  const buf = Buffer.alloc(total, 0x20);
  Buffer.from(NPY_MAGIC).copy(buf, 0);
  buf[6] = 1;
  buf[7] = 0;
  buf.writeUInt16LE(headerLen, 8);
  buf.write(dict, 10, 'latin1');
  buf[total - 1] = 0x0a;
  return buf;
}

/** A parsed .npy file: the array (a view on `buf` when aligned) and its header. */
export interface NpyArray {
  descr: NpyDescr;
  shape: number[];
  data: NpyTyped;
  /** Byte offset of the data in the file. */
  dataOffset: number;
}

const ITEM_SIZE: Record<NpyDescr, number> = { '<u2': 2, '|u1': 1, '|b1': 1, '<f4': 4, '<f8': 8 };

/**
 * Parses a whole .npy file held in `buf` (versions 1.0-3.0, C order, the dtypes of NpyDescr).
 * Throws CacheError naming `file` for anything else, including truncated or oversized data.
 */
export function parseNpy(buf: Buffer, file: string): NpyArray {
  if (buf.length < 10 || !NPY_MAGIC.every((b, i) => buf[i] === b)) {
    throw cacheError(file, buf.length === 0 ? 'is empty (a writer was interrupted?)' : 'is not a .npy file (bad magic)');
  }
  const major = buf[6];
  let headerStart: number;
  let headerLen: number;
  if (major === 1) {
    headerStart = 10;
    headerLen = buf.readUInt16LE(8);
  } else if ((major === 2 || major === 3) && buf.length >= 12) {
    headerStart = 12;
    headerLen = buf.readUInt32LE(8);
  } else {
    throw cacheError(file, `has unsupported .npy version ${major}`);
  }
  const dataOffset = headerStart + headerLen;
  if (dataOffset > buf.length) throw cacheError(file, `is truncated (header needs ${dataOffset} bytes, file has ${buf.length})`);
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', headerStart, dataOffset);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw cacheError(file, `has an unreadable .npy header: ${JSON.stringify(header.trim())}`);
  }
  if (!(descr in ITEM_SIZE)) throw cacheError(file, `has unsupported dtype '${descr}' (expected '<u2', '|u1', '<f4')`);
  if (fortran !== 'False') throw cacheError(file, 'is stored in Fortran order (expected C order)');
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw cacheError(file, `has an invalid shape (${shapeText})`);
  const d = descr as NpyDescr;
  const count = shape.reduce((a, b) => a * b, 1);
  const nbytes = count * ITEM_SIZE[d];
  if (buf.length !== dataOffset + nbytes) {
    const what = buf.length < dataOffset + nbytes ? 'is truncated' : 'has trailing bytes';
    throw cacheError(file, `${what} (${buf.length} bytes; header + data need ${dataOffset + nbytes})`);
  }
  const start = buf.byteOffset + dataOffset;
  // Zero-copy view when aligned (always for files we write), else one copy.
  const ab = start % ITEM_SIZE[d] === 0 ? buf.buffer : buf.buffer.slice(start, start + nbytes);
  const off = ab === buf.buffer ? start : 0;
  const data: NpyTyped =
    d === '<u2' ? new Uint16Array(ab, off, count)
    : d === '<f4' ? new Float32Array(ab, off, count)
    : d === '<f8' ? new Float64Array(ab, off, count)
    : new Uint8Array(ab, off, count);
  return { descr: d, shape, data, dataOffset };
}

function readNpyFile(file: string): NpyArray {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw fsReadError(file, e);
  }
  return parseNpy(buf, file);
}

function writeFileDurably(file: string, parts: ArrayBufferView[], fsync: boolean): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (const p of parts) {
      const bytes = new Uint8Array(p.buffer, p.byteOffset, p.byteLength);
      let off = 0;
      while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
    }
    if (fsync) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

const DESCR_OF: Record<ArrayName, NpyDescr> = { mri: '<u2', ct: '<u2', mask: '|u1' };

async function writeNpy(dir: string, arrays: PatientArrays, input: CacheAttrsInput, options?: WriteOptions): Promise<CacheAttrs> {
  validateForWrite(dir, arrays, input);
  if (os.endianness() !== 'LE') throw new CacheError('the npy cache format needs a little-endian CPU. Fix: use --cache-format h5.');
  const fsync = options?.fsync !== false;
  const shape = arrays.shape;
  const stored = { mri: toStoredU16(arrays.mri, 'mri', dir), ct: toStoredU16(arrays.ct, 'ct', dir), mask: arrays.mask, shape };
  const attrs = buildAttrs(stored, input, NPY_WRITER);
  const meta: NpyMeta = { ...attrs, shape: [shape[0], shape[1], shape[2]], scale: U16_SCALE };
  const parent = path.dirname(dir);
  const tmp = tempPathFor(dir);
  const old = `${tmp}-old`;
  let movedAside = false;
  try {
    fs.mkdirSync(parent, { recursive: true });
    fs.mkdirSync(tmp);
    for (const name of ARRAY_NAMES) {
      writeFileDurably(path.join(tmp, `${name}.npy`), [encodeNpyHeader(DESCR_OF[name], shape), stored[name]], fsync);
    }
    // meta.json last: a directory without it is never a cache entry.
    writeFileDurably(path.join(tmp, META_FILE), [Buffer.from(JSON.stringify(meta, null, 2) + '\n')], fsync);
    if (fsync) fsyncPath(tmp);
    try {
      fs.renameSync(dir, old);
      movedAside = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    fs.renameSync(tmp, dir);
    if (fsync) fsyncPath(parent);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (movedAside && !fs.existsSync(dir)) {
      try {
        fs.renameSync(old, dir);
        movedAside = false;
      } catch {
        // leave `old` for removeStaleTemps; the entry is missing and will be rebuilt
      }
    }
    throw new CacheError(
      `cannot write cache entry ${dir}: ${(e as Error).message}. Fix: check free disk space and permissions of ${parent}.`,
      { cause: e },
    );
  }
  if (movedAside) fs.rmSync(old, { recursive: true, force: true });
  return attrs;
}

function readMeta(dir: string): NpyMeta {
  const metaPath = path.join(dir, META_FILE);
  let text: string;
  try {
    text = fs.readFileSync(metaPath, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw cacheError(dir, fs.existsSync(dir) ? `has no ${META_FILE} (incomplete entry)` : 'does not exist', e);
    }
    throw fsReadError(metaPath, e);
  }
  let meta: NpyMeta;
  try {
    meta = JSON.parse(text) as NpyMeta;
  } catch (e) {
    throw cacheError(dir, `${META_FILE} is not valid JSON`, e);
  }
  if (typeof meta !== 'object' || meta === null || !Array.isArray(meta.shape) || typeof meta.patientId !== 'string' ||
      typeof meta.checksums !== 'object' || meta.checksums === null || typeof meta.dtypes !== 'object' || meta.dtypes === null) {
    throw cacheError(dir, `${META_FILE} lacks shape/patientId/checksums/dtypes (not an mri2ct cache entry)`);
  }
  checkFormatVersion(dir, meta.formatVersion);
  voxelCount(meta.shape, dir);
  return meta;
}

function attrsOf(meta: NpyMeta): CacheAttrs {
  const { shape: _shape, scale: _scale, ...attrs } = meta;
  void _shape;
  void _scale;
  return attrs;
}

interface NpyRead {
  arrays: Record<ArrayName, NpyArray>;
  shape: Shape3;
  attrs: CacheAttrs;
}

function readAll(dir: string, options: ReadOptions | undefined): NpyRead {
  const meta = readMeta(dir);
  const shape = [meta.shape[0], meta.shape[1], meta.shape[2]] as unknown as Shape3;
  const arrays = {} as Record<ArrayName, NpyArray>;
  for (const name of ARRAY_NAMES) {
    const file = path.join(dir, `${name}.npy`);
    const a = readNpyFile(file);
    if (a.shape.join() !== meta.shape.join()) {
      throw cacheError(file, `has shape [${a.shape.join(', ')}] but ${META_FILE} says [${meta.shape.join(', ')}]`);
    }
    const ok = name === 'mask' ? a.descr === '|u1' || a.descr === '|b1' : a.descr === '<u2' || a.descr === '<f4' || a.descr === '<f8';
    if (!ok) throw cacheError(file, `has dtype '${a.descr}', not usable for ${name}`);
    arrays[name] = a;
  }
  const attrs = attrsOf(meta);
  attrs.dtypes = { mri: dtypeName(arrays.mri.descr), ct: dtypeName(arrays.ct.descr), mask: dtypeName(arrays.mask.descr) };
  if (options?.verify === true) {
    const actual = { mri: checksumBytes(arrays.mri.data), ct: checksumBytes(arrays.ct.data), mask: checksumBytes(arrays.mask.data) };
    verifyChecksums(dir, attrs, actual, shape);
  }
  return { arrays, shape, attrs };
}

function dtypeName(d: NpyDescr): string {
  return { '<u2': 'uint16', '|u1': 'uint8', '|b1': 'bool', '<f4': 'float32', '<f8': 'float64' }[d];
}

function toU16(a: NpyArray): Uint16Array {
  if (a.data instanceof Uint16Array) return a.data;
  if (a.data instanceof Float32Array || a.data instanceof Float64Array) return floatToU16Clamped(a.data);
  throw new Error('unreachable: uint8 data for mri/ct');
}

function toFloat(a: NpyArray): Float32Array {
  if (a.data instanceof Uint16Array) return u16ToFloat(a.data);
  if (a.data instanceof Float32Array) return a.data;
  return Float32Array.from(a.data);
}

/** The npy cache format: uncompressed, fastest to load, readable with numpy.load. */
export const npyFormat: CacheFormat = {
  name: 'npy',
  extension: NPY_EXTENSION,
  pathFor: (dir, patientId) => entryPath(dir, patientId, NPY_EXTENSION),
  write: writeNpy,
  async read(dir: string, options?: ReadOptions): Promise<ReadResult> {
    const r = readAll(dir, options);
    return { mri: toFloat(r.arrays.mri), ct: toFloat(r.arrays.ct), mask: r.arrays.mask.data as Uint8Array, shape: r.shape, attrs: r.attrs };
  },
  async readRaw(dir: string, options?: ReadOptions): Promise<RawReadResult> {
    const r = readAll(dir, options);
    return { mri: toU16(r.arrays.mri), ct: toU16(r.arrays.ct), mask: r.arrays.mask.data as Uint8Array, shape: r.shape, scale: U16_SCALE, attrs: r.attrs };
  },
  async readAttrs(dir: string): Promise<CacheAttrs> {
    return attrsOf(readMeta(dir));
  },
  exists(dir: string): boolean {
    try {
      return fs.statSync(path.join(dir, META_FILE)).isFile();
    } catch {
      return false;
    }
  },
};
