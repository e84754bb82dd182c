/**
 * Reads NIfTI-1 / NIfTI-2 single-file images (.nii, .nii.gz) into a Volume: decompression
 * (node:zlib, off the main thread), header decoding (nifti-header.ts, via nifti-reader-js),
 * nibabel's affine rules (sform, else qform, else base affine), scl_slope/scl_inter scaling, and
 * one 3D volume of a 4D file. Every bad file becomes a NiftiFormatError naming the file.
 * Must not write files, resample, reorient or change voxel values beyond the header's scaling.
 */

import { open, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';

import { NiftiFormatError } from '../errors';
import { axisCodes, baseAffine, columnNorms, qformAffine } from './nifti-affine';
import {
  bytesPerVoxel,
  datatypeFromCode,
  decodeVoxels,
  describeDatatypeCode,
  type NiftiDatatype,
  type NiftiRawArray,
} from './nifti-datatypes';
import { decodeNiftiHeader, type RawNiftiHeader } from './nifti-header';
import type { Affine, Vec3, Volume } from './volume';

const gunzipAsync = promisify(zlib.gunzip);

/** Options of {@link readNifti}. */
export interface ReadNiftiOptions {
  /**
   * Read and check the header only, not the voxel data: fast (reads at most the first 64 KiB of
   * the file), for listing datasets. The result has no `data`/`raw`. For uncompressed files the
   * file size is checked against the header; a truncated .nii.gz is only detected by a full read.
   */
  informationOnly?: boolean;
  /**
   * Which 3D volume of a 4D (or higher) file to read, 0-based; default 0. For 3D files only 0
   * is valid. Volumes are counted over dim[4..7] in file order.
   */
  volumeIndex?: number;
}

/** Spatial units of the header's xyzt_units (values are never converted). */
export type NiftiSpatialUnits = 'unknown' | 'm' | 'mm' | 'um';

/** Everything the header says about an image, without its voxels. */
export interface NiftiInfo {
  /** The path the image was read from. */
  path: string;
  /** Voxels along x, y, z of one 3D volume (missing dimensions are 1, e.g. z = 1 for 2D). */
  dims: Vec3;
  /**
   * Voxel sizes along x, y, z: the column norms of `affine`, so spacing and affine always agree
   * (for consistent headers this equals pixdim, i.e. nibabel's zooms).
   */
  spacing: Vec3;
  /** Voxel-to-world affine: sform if sform_code > 0, else qform if qform_code > 0, else nibabel's base affine. */
  affine: Affine;
  /** Stored datatype, e.g. 'int16'. */
  datatype: NiftiDatatype;
  niftiVersion: 1 | 2;
  sformCode: number;
  qformCode: number;
  /** Axis codes of `affine` as nibabel.aff2axcodes joined, e.g. 'RAS', 'LPS'. */
  orientation: string;
  /** Slope applied to the stored values (1 when the header's scl_slope is 0 or not finite). */
  sclSlope: number;
  /** Intercept applied to the stored values (0 when scaling is off). */
  sclInter: number;
  /** The header's descrip field. */
  description: string;
  /** |pixdim[1..dim[0]]| as stored (nibabel's get_zooms), e.g. including the TR of a 4D file. */
  zooms: number[];
  /** Full shape from the header: dim[1..dim[0]], e.g. [256, 256, 160] or [64, 64, 30, 100]. */
  shape: number[];
  /** Number of 3D volumes in the file (product of dim[4..dim[0]]). */
  volumeCount: number;
  /** Spatial units declared by xyzt_units; spacing and affine are returned as stored. */
  spatialUnits: NiftiSpatialUnits;
  calMin: number;
  calMax: number;
  /** Byte order of the file. */
  littleEndian: boolean;
  /** True when the file is gzip-compressed. */
  compressed: boolean;
}

/** A 3D image read from a NIfTI file. */
export interface NiftiImage extends NiftiInfo, Volume<Float32Array> {
  /**
   * Scaled voxel values (raw * sclSlope + sclInter, computed in float64, stored as float32).
   * When the file is float32 without scaling, `data` and `raw` are the same array.
   */
  data: Float32Array;
  /** Unscaled stored values in the file's own datatype (host byte order). */
  raw: NiftiRawArray;
  /** Which 3D volume of the file `data` holds. */
  volumeIndex: number;
}

const PREFIX_BYTES = 64 * 1024;
const GZIP_MAGIC = [0x1f, 0x8b] as const;

function isGzip(bytes: Uint8Array): boolean {
  return bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
}

function readFailure(path: string, cause: unknown): NiftiFormatError {
  const code = (cause as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') {
    return new NiftiFormatError(`NIfTI file not found: ${path}. Check the path and the dataset folder.`, { cause });
  }
  const reason = code === 'EISDIR' ? 'it is a directory' : cause instanceof Error ? cause.message : String(cause);
  return new NiftiFormatError(`Cannot read NIfTI file ${path}: ${reason}. Check the path and its permissions.`, {
    cause,
  });
}

function gzipFailure(path: string, cause: unknown): NiftiFormatError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new NiftiFormatError(
    `Corrupt or truncated gzip data in ${path} (${reason}). ` +
      `The download or copy was probably incomplete: fetch or export the file again.`,
    { cause },
  );
}

async function readWholeFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (cause) {
    throw readFailure(path, cause);
  }
}

async function readFilePrefix(path: string, length: number): Promise<{ bytes: Buffer; fileSize: number }> {
  try {
    const handle = await open(path, 'r');
    try {
      const fileSize = (await handle.stat()).size;
      const bytes = Buffer.alloc(Math.min(length, fileSize));
      const { bytesRead } = await handle.read(bytes, 0, bytes.length, 0);
      return { bytes: bytes.subarray(0, bytesRead), fileSize };
    } finally {
      await handle.close();
    }
  } catch (cause) {
    throw readFailure(path, cause);
  }
}

/** Decompressed bytes of a whole file (as-is when it is not gzip). */
async function loadBytes(path: string): Promise<{ bytes: Uint8Array; compressed: boolean }> {
  const file = await readWholeFile(path);
  if (!isGzip(file)) return { bytes: file, compressed: false };
  try {
    return { bytes: await gunzipAsync(file), compressed: true };
  } catch (cause) {
    throw gzipFailure(path, cause);
  }
}

/**
 * Enough decompressed bytes for the header. Also returns the uncompressed file size when the
 * file is not compressed (so the data size can be checked without reading it).
 */
async function loadHeaderBytes(path: string): Promise<{ bytes: Uint8Array; compressed: boolean; size?: number }> {
  const { bytes, fileSize } = await readFilePrefix(path, PREFIX_BYTES);
  if (!isGzip(bytes)) return { bytes, compressed: false, size: fileSize };
  try {
    // Sync flush: decode what this prefix holds without requiring the end of the stream.
    const out = zlib.gunzipSync(bytes, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    if (out.length >= 540 || fileSize <= bytes.length) return { bytes: out, compressed: true };
  } catch (cause) {
    throw gzipFailure(path, cause);
  }
  return loadBytes(path);
}

function headerError(path: string, detail: string): NiftiFormatError {
  return new NiftiFormatError(`Invalid NIfTI header in ${path}: ${detail}. Re-export the image from its source.`);
}

function checkedShape(h: RawNiftiHeader, path: string): number[] {
  const ndim = h.dim[0] ?? 0;
  if (!Number.isInteger(ndim) || ndim < 1 || ndim > 7) throw headerError(path, `dim[0] is ${ndim}, expected 1..7`);
  const shape = h.dim.slice(1, ndim + 1);
  if (shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw headerError(path, `dimensions [${shape.join(', ')}] must all be positive integers`);
  }
  return shape;
}

function checkedDatatype(h: RawNiftiHeader, path: string): NiftiDatatype {
  const datatype = datatypeFromCode(h.datatypeCode);
  if (datatype === undefined) {
    throw new NiftiFormatError(
      `Unsupported datatype ${describeDatatypeCode(h.datatypeCode)} (code ${h.datatypeCode}) in ${path}. ` +
        `Only scalar images are supported (uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32, float64); ` +
        `convert RGB or complex images to a scalar image first.`,
    );
  }
  return datatype;
}

/** |pixdim[1..3]| with 0 / non-finite / missing (beyond dim[0]) values replaced by 1. */
function pixdimSpacing(pixdim: number[], ndim: number): Vec3 {
  const z = (i: number): number => {
    const v = Math.abs(pixdim[i] ?? 0);
    return i <= ndim && Number.isFinite(v) && v > 0 ? v : 1;
  };
  return [z(1), z(2), z(3)];
}

/** Voxel sizes encoded by the affine (its column norms), falling back to pixdim for a degenerate column. */
function spacingFrom(affine: Affine, fallback: Vec3): Vec3 {
  const n = columnNorms(affine);
  const pick = (i: 0 | 1 | 2): number => (Number.isFinite(n[i]) && n[i] > 0 ? n[i] : fallback[i]);
  return [pick(0), pick(1), pick(2)];
}

function affineFrom(h: RawNiftiHeader, dims: Vec3, spacing: Vec3): Affine {
  if (h.sformCode > 0) return [[...h.srow[0]], [...h.srow[1]], [...h.srow[2]], [0, 0, 0, 1]];
  if (h.qformCode > 0) return qformAffine(...h.quatern, h.qoffset, spacing, h.pixdim[0] ?? 1);
  return baseAffine(dims, spacing);
}

function scalingFrom(h: RawNiftiHeader): [number, number] {
  if (h.sclSlope === 0 || !Number.isFinite(h.sclSlope)) return [1, 0];
  return [h.sclSlope, Number.isFinite(h.sclInter) ? h.sclInter : 0];
}

function spatialUnits(xyztUnits: number): NiftiSpatialUnits {
  const units: Record<number, NiftiSpatialUnits> = { 1: 'm', 2: 'mm', 3: 'um' };
  return units[xyztUnits & 7] ?? 'unknown';
}

/** First byte of voxel data (nibabel and niftilib treat a too-small offset as "right after the header"). */
function dataOffset(h: RawNiftiHeader): number {
  const offset = Math.round(h.voxOffset);
  return offset < h.headerSize ? h.headerSize + 4 : offset;
}

function interpretHeader(h: RawNiftiHeader, path: string, compressed: boolean): NiftiInfo {
  const shape = checkedShape(h, path);
  const datatype = checkedDatatype(h, path);
  const dims: Vec3 = [shape[0] ?? 1, shape[1] ?? 1, shape[2] ?? 1];
  const pixdim = pixdimSpacing(h.pixdim, shape.length);
  const affine = affineFrom(h, dims, pixdim);
  const [sclSlope, sclInter] = scalingFrom(h);
  return {
    path,
    dims,
    spacing: spacingFrom(affine, pixdim),
    affine,
    zooms: h.pixdim.slice(1, shape.length + 1).map(Math.abs),
    datatype,
    niftiVersion: h.version,
    sformCode: h.sformCode,
    qformCode: h.qformCode,
    orientation: axisCodes(affine),
    sclSlope,
    sclInter,
    description: h.description,
    shape,
    volumeCount: shape.slice(3).reduce((a, b) => a * b, 1),
    spatialUnits: spatialUnits(h.xyztUnits),
    calMin: h.calMin,
    calMax: h.calMax,
    littleEndian: h.littleEndian,
    compressed,
  };
}

function voxelsPerVolume(info: NiftiInfo): number {
  return info.dims[0] * info.dims[1] * info.dims[2];
}

/** Throws when the file holds fewer bytes than the header's dimensions need. */
function checkDataSize(info: NiftiInfo, offset: number, available: number): void {
  const needed = offset + voxelsPerVolume(info) * info.volumeCount * bytesPerVoxel(info.datatype);
  if (available < needed) {
    const what = info.compressed ? 'decompressed data holds' : 'file holds';
    throw new NiftiFormatError(
      `NIfTI file is truncated: ${info.path} has shape [${info.shape.join(', ')}] of ${info.datatype}, ` +
        `which needs ${needed} bytes, but the ${what} only ${available}. ` +
        `The file is incomplete or its header is wrong: fetch or export it again.`,
    );
  }
}

function checkedVolumeIndex(info: NiftiInfo, index: number | undefined): number {
  const v = index ?? 0;
  if (!Number.isInteger(v) || v < 0 || v >= info.volumeCount) {
    throw new NiftiFormatError(
      `Volume index ${v} is out of range for ${info.path}, which has ${info.volumeCount} volume(s). ` +
        `Pass volumeIndex between 0 and ${info.volumeCount - 1}.`,
    );
  }
  return v;
}

/** raw * slope + inter in float64, rounded once to float32. */
function scaleToFloat32(raw: NiftiRawArray, slope: number, inter: number): Float32Array {
  if (raw instanceof BigInt64Array || raw instanceof BigUint64Array) {
    const out = new Float32Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = Number(raw[i]) * slope + inter;
    return out;
  }
  if (slope === 1 && inter === 0) return raw instanceof Float32Array ? raw : new Float32Array(raw);
  const out = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = (raw[i] as number) * slope + inter;
  return out;
}

async function readInfoOnly(path: string): Promise<NiftiInfo> {
  const { bytes, compressed, size } = await loadHeaderBytes(path);
  const header = await decodeNiftiHeader(bytes, path, compressed);
  const info = interpretHeader(header, path, compressed);
  if (size !== undefined) checkDataSize(info, dataOffset(header), size);
  return info;
}

async function readImage(path: string, volumeIndex: number | undefined): Promise<NiftiImage> {
  const { bytes, compressed } = await loadBytes(path);
  const header = await decodeNiftiHeader(bytes, path, compressed);
  const info = interpretHeader(header, path, compressed);
  const index = checkedVolumeIndex(info, volumeIndex);
  const offset = dataOffset(header);
  checkDataSize(info, offset, bytes.length);
  const count = voxelsPerVolume(info);
  const start = offset + index * count * bytesPerVoxel(info.datatype);
  const raw = decodeVoxels(bytes, start, count, info.datatype, header.littleEndian);
  const data = scaleToFloat32(raw, info.sclSlope, info.sclInter);
  return { ...info, data, raw, volumeIndex: index };
}

/**
 * Reads a NIfTI-1 or NIfTI-2 file (.nii or .nii.gz, detected from the content, either byte
 * order). Returns the first 3D volume (or `options.volumeIndex`) scaled to float32, the raw
 * stored values, and header information. With `informationOnly`, reads the header only.
 *
 * @throws NiftiFormatError when the file is missing, not NIfTI, corrupt, truncated, or of an
 *   unsupported datatype (RGB, complex, ...); the message names the file and what to do.
 */
export function readNifti(path: string, options: ReadNiftiOptions & { informationOnly: true }): Promise<NiftiInfo>;
export function readNifti(path: string, options?: ReadNiftiOptions & { informationOnly?: false }): Promise<NiftiImage>;
export function readNifti(path: string, options?: ReadNiftiOptions): Promise<NiftiImage | NiftiInfo>;
export async function readNifti(path: string, options: ReadNiftiOptions = {}): Promise<NiftiImage | NiftiInfo> {
  if (options.informationOnly === true) {
    const info = await readInfoOnly(path);
    checkedVolumeIndex(info, options.volumeIndex);
    return info;
  }
  return readImage(path, options.volumeIndex);
}

/** Header information of a NIfTI file (same as `readNifti(path, { informationOnly: true })`). */
export function readNiftiInfo(path: string): Promise<NiftiInfo> {
  return readNifti(path, { informationOnly: true });
}
