/**
 * Writes a Volume as a single-file NIfTI-1 image: .nii plain or .nii.gz gzip-compressed
 * (node:zlib, off the main thread). The 348-byte header (+4 extension bytes, vox_offset 352) is
 * encoded here, little-endian, with sform and qform set from the affine the way nibabel does.
 * Writes atomically (temporary file in the same directory, then rename).
 * Must not read NIfTI files, resample or reorient: the volume is written as given.
 */

import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';

import { NiftiFormatError } from '../errors';
import { affineToQuatern, columnNorms, isFiniteAffine, type Quatern } from './nifti-affine';
import {
  allocate,
  bytesPerVoxel,
  datatypeCode,
  HOST_IS_LITTLE_ENDIAN,
  inferDatatype,
  integerRange,
  isWritableDatatype,
  swapBytesInPlace,
  type NiftiNumberArray,
  type NiftiRawArray,
  type NiftiWritableDatatype,
} from './nifti-datatypes';
import type { Affine, Volume } from './volume';

const gzipAsync = promisify(zlib.gzip);

/** Options of {@link writeNifti}. */
export interface WriteNiftiOptions {
  /**
   * Stored datatype. Default: from the array class (Float32Array → float32, Int16Array → int16,
   * Uint8Array → uint8, ...; plain arrays → float32). Values written to integer types are rounded
   * to the nearest integer (halves away from zero) and clamped to the type's range; NaN becomes 0.
   */
  datatype?: NiftiWritableDatatype;
  /** gzip level 0-9 for .nii.gz files; default 6. Ignored for .nii. */
  compressionLevel?: number;
  /**
   * scl_slope / scl_inter to store. `volume.data` holds real-world values; the file stores
   * (value - inter) / slope (then rounded/clamped for integer types). Default slope 1, inter 0.
   */
  sclSlope?: number;
  sclInter?: number;
  /** cal_min / cal_max display range; default 0 (unset). */
  calMin?: number;
  calMax?: number;
  /** descrip field, at most 79 ASCII characters (longer text is cut; other characters become '?'). */
  description?: string;
  /** sform_code; default 2 (aligned), as nibabel writes. Must be 0..4. */
  sformCode?: number;
  /** qform_code; default 0 (unknown), as nibabel writes; the quaternion fields are filled anyway. */
  qformCode?: number;
}

const HEADER_SIZE = 348;
const VOX_OFFSET = 352;
const UNITS_MM = 2;
/** Relative tolerance between volume.spacing and the affine's column norms. */
const SPACING_TOLERANCE = 1e-4;

interface HeaderFields {
  dims: [number, number, number];
  datatype: NiftiWritableDatatype;
  quatern: Quatern;
  affine: Affine;
  sclSlope: number;
  sclInter: number;
  calMin: number;
  calMax: number;
  description: string;
  sformCode: number;
  qformCode: number;
}

function invalid(path: string, detail: string, todo: string): NiftiFormatError {
  return new NiftiFormatError(`Cannot write NIfTI file ${path}: ${detail}. ${todo}`);
}

function compressionOf(path: string): boolean {
  if (path.endsWith('.nii.gz')) return true;
  if (path.endsWith('.nii')) return false;
  throw invalid(path, 'the file name must end in .nii or .nii.gz', 'Rename the output path.');
}

function checkDims(volume: Volume<ArrayLike<number>>, path: string): void {
  const { dims, data } = volume;
  if (!Array.isArray(dims) || dims.length !== 3 || dims.some((d) => !Number.isInteger(d) || d < 1 || d > 32767)) {
    throw invalid(path, `dims ${JSON.stringify(dims)} must be 3 integers in 1..32767`, 'Fix the volume dimensions.');
  }
  const count = dims[0] * dims[1] * dims[2];
  if (data.length !== count) {
    throw invalid(
      path,
      `data has ${data.length} values but dims [${dims.join(', ')}] need ${count}`,
      'Fix the volume: data.length must equal dims[0] * dims[1] * dims[2].',
    );
  }
}

/** Checks the affine and that volume.spacing agrees with it; returns its quaternion form. */
function checkGeometry(volume: Volume<ArrayLike<number>>, path: string): Quatern {
  const { affine, spacing } = volume;
  if (!isFiniteAffine(affine) || affine[3]?.join(',') !== '0,0,0,1') {
    throw invalid(path, 'the affine must be a finite 4×4 matrix with last row [0, 0, 0, 1]', 'Fix volume.affine.');
  }
  const quatern = affineToQuatern(affine);
  if (quatern === undefined) throw invalid(path, 'the affine is singular', 'Fix volume.affine.');
  const norms = columnNorms(affine);
  const mismatch = norms.some((n, i) => !(Math.abs(n - (spacing[i] ?? NaN)) <= SPACING_TOLERANCE * n));
  if (mismatch) {
    throw invalid(
      path,
      `volume.spacing [${spacing.join(', ')}] disagrees with the voxel sizes of volume.affine ` +
        `[${norms.map((n) => n.toPrecision(6)).join(', ')}]`,
      'Update spacing and affine together (the header stores the affine column norms as pixdim).',
    );
  }
  return quatern;
}

function checkedDatatype(
  volume: Volume<ArrayLike<number>>,
  options: WriteNiftiOptions,
  path: string,
): NiftiWritableDatatype {
  const datatype = options.datatype ?? inferDatatype(volume.data);
  if (!isWritableDatatype(datatype)) {
    throw invalid(
      path,
      `unsupported datatype "${String(datatype)}"`,
      'Use one of uint8, int8, int16, uint16, int32, uint32, float32, float64.',
    );
  }
  return datatype;
}

function checkedScaling(options: WriteNiftiOptions, path: string): [number, number] {
  const slope = options.sclSlope ?? 1;
  const inter = options.sclInter ?? 0;
  if (!Number.isFinite(slope) || slope === 0 || !Number.isFinite(inter)) {
    throw invalid(path, `scaling slope ${slope} / intercept ${inter}`, 'Use a finite non-zero slope and finite intercept.');
  }
  return [slope, inter];
}

function checkedFinite(value: number | undefined, name: string, path: string): number {
  const v = value ?? 0;
  if (!Number.isFinite(v)) throw invalid(path, `${name} ${v} is not a finite number`, `Pass a finite ${name} or omit it.`);
  return v;
}

function checkedCode(code: number | undefined, fallback: number, name: string, path: string): number {
  const value = code ?? fallback;
  if (!Number.isInteger(value) || value < 0 || value > 4) {
    throw invalid(path, `${name} ${value} is not a NIfTI xform code`, `Use 0 (unknown) to 4 (MNI).`);
  }
  return value;
}

function checkedLevel(level: number | undefined, path: string): number {
  const value = level ?? 6;
  if (!Number.isInteger(value) || value < 0 || value > 9) {
    throw invalid(path, `compressionLevel ${value}`, 'Use an integer from 0 (none) to 9 (smallest).');
  }
  return value;
}

const ARRAY_CLASSES: Record<NiftiWritableDatatype, abstract new (...args: never[]) => NiftiNumberArray> = {
  uint8: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  float32: Float32Array,
  float64: Float64Array,
};

/** True when `data` already is the typed array class of `datatype` (its bytes can be written as-is). */
function sameClass(data: ArrayLike<number>, datatype: NiftiWritableDatatype): data is NiftiNumberArray {
  return data instanceof ARRAY_CLASSES[datatype];
}

/** Rounds half away from zero and clamps into [lo, hi]; NaN becomes 0. */
function toInteger(v: number, lo: number, hi: number): number {
  if (Number.isNaN(v)) return 0;
  const r = v < 0 ? -Math.round(-v) : Math.round(v);
  return r < lo ? lo : r > hi ? hi : r;
}

/** The values to store, in the target datatype, after undoing scaling. */
function storedValues(
  data: ArrayLike<number>,
  datatype: NiftiWritableDatatype,
  slope: number,
  inter: number,
): NiftiNumberArray {
  const unscaled = slope === 1 && inter === 0;
  if (unscaled && sameClass(data, datatype)) return data;
  const out = allocate(datatype, data.length) as NiftiNumberArray;
  const range = integerRange(datatype);
  const n = data.length;
  if (range === undefined) {
    for (let i = 0; i < n; i++) out[i] = ((data[i] as number) - inter) / slope;
  } else {
    const [lo, hi] = range;
    for (let i = 0; i < n; i++) out[i] = toInteger(((data[i] as number) - inter) / slope, lo, hi);
  }
  return out;
}

/** Little-endian bytes of the voxel array (a view when the host is little-endian). */
function voxelBytes(values: NiftiRawArray, datatype: NiftiWritableDatatype): Uint8Array {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (HOST_IS_LITTLE_ENDIAN) return bytes;
  const copy = new Uint8Array(bytes);
  swapBytesInPlace(copy, bytesPerVoxel(datatype));
  return copy;
}

function writeAscii(view: DataView, offset: number, maxLength: number, text: string): void {
  for (let i = 0; i < Math.min(text.length, maxLength); i++) {
    const c = text.charCodeAt(i);
    view.setUint8(offset + i, c >= 32 && c < 127 ? c : 63);
  }
}

/** The 352 bytes before the voxel data: NIfTI-1 header plus an empty extension flag. */
function encodeNifti1Header(f: HeaderFields): Uint8Array {
  const buffer = new ArrayBuffer(VOX_OFFSET);
  const v = new DataView(buffer);
  const le = true;
  v.setInt32(0, HEADER_SIZE, le);
  v.setUint8(38, 'r'.charCodeAt(0));
  [3, ...f.dims, 1, 1, 1, 1].forEach((d, i) => v.setInt16(40 + 2 * i, d, le));
  v.setInt16(70, datatypeCode(f.datatype), le);
  v.setInt16(72, bytesPerVoxel(f.datatype) * 8, le);
  [f.quatern.qfac, ...f.quatern.zooms, 1, 1, 1, 1].forEach((p, i) => v.setFloat32(76 + 4 * i, p, le));
  v.setFloat32(108, VOX_OFFSET, le);
  v.setFloat32(112, f.sclSlope, le);
  v.setFloat32(116, f.sclInter, le);
  v.setUint8(123, UNITS_MM);
  v.setFloat32(124, f.calMax, le);
  v.setFloat32(128, f.calMin, le);
  writeAscii(v, 148, 79, f.description);
  v.setInt16(252, f.qformCode, le);
  v.setInt16(254, f.sformCode, le);
  [f.quatern.b, f.quatern.c, f.quatern.d, ...f.quatern.offset].forEach((q, i) => v.setFloat32(256 + 4 * i, q, le));
  f.affine.slice(0, 3).forEach((row, r) => row.forEach((x, c) => v.setFloat32(280 + 16 * r + 4 * c, x, le)));
  writeAscii(v, 344, 4, 'n+1');
  return new Uint8Array(buffer);
}

async function writeAtomically(path: string, chunks: Uint8Array[]): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(tmp, chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks));
    await rename(tmp, path);
  } catch (cause) {
    await rm(tmp, { force: true }).catch(() => undefined);
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new NiftiFormatError(
      `Cannot write NIfTI file ${path}: ${reason}. Check that the folder is writable and the disk is not full.`,
      { cause },
    );
  }
}

/**
 * Writes `volume` as a NIfTI-1 file at `path` (.nii.gz compressed, .nii plain), creating parent
 * folders, atomically. The header gets dims, pixdim (the affine's voxel sizes, which must match
 * `volume.spacing`), sform (code 2) and qform (code 0, quaternion filled) from the affine,
 * xyzt_units = mm, and the scaling, display range and description from `options`.
 *
 * @throws NiftiFormatError for an inconsistent volume, a bad option, or a failed write.
 */
export async function writeNifti(
  path: string,
  volume: Volume<ArrayLike<number>>,
  options: WriteNiftiOptions = {},
): Promise<void> {
  const compressed = compressionOf(path);
  checkDims(volume, path);
  const quatern = checkGeometry(volume, path);
  const datatype = checkedDatatype(volume, options, path);
  const [sclSlope, sclInter] = checkedScaling(options, path);
  const level = checkedLevel(options.compressionLevel, path);
  const header = encodeNifti1Header({
    dims: volume.dims,
    datatype,
    quatern,
    affine: volume.affine,
    sclSlope,
    sclInter,
    calMin: checkedFinite(options.calMin, 'calMin', path),
    calMax: checkedFinite(options.calMax, 'calMax', path),
    description: options.description ?? '',
    sformCode: checkedCode(options.sformCode, 2, 'sformCode', path),
    qformCode: checkedCode(options.qformCode, 0, 'qformCode', path),
  });
  const body = voxelBytes(storedValues(volume.data, datatype, sclSlope, sclInter), datatype);
  if (!compressed) return writeAtomically(path, [header, body]);
  const file = await gzipAsync(Buffer.concat([header, body]), { level });
  return writeAtomically(path, [file]);
}
