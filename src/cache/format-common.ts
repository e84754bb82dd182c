/**
 * What the per-patient cache formats (`h5`, `npy`) share: their common interface and types, the
 * uint16 quantisation of [0,1] floats, input validation, checksum bookkeeping, temp-file naming
 * for atomic writes and error wording. format.ts re-exports all of it and adds getCacheFormat.
 *
 * Storage decision: mri and ct are stored as uint16 `q = round(v * 65535)` (value = q / 65535),
 * mask as uint8 0/1. Half the bytes of float32, so half the disk, page cache and HDF5 inflate
 * work (measured: HDF5 load 120 ms instead of 250 ms per 160-slice patient). Round-trip error:
 * |read(write(v)) - v| <= 0.5/65535 + 2^-25 ~= 7.66e-6 (quantisation half-step plus the float32
 * rounding of q/65535), i.e. <= 0.031 HU for a 4024 HU wide CT window (step 0.061 HU). Values
 * that already are k/65535 in float32 round-trip exactly, so re-writing a read cache is lossless.
 *
 * Must not import the format implementations (they import this: no cycle), load h5wasm, or touch
 * the filesystem at import time.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CacheError } from '../errors';
import { CHECKSUM_ALGORITHM, checksumBytes, combineChecksums } from './checksum';


/** Version of the on-disk layout written by this code (attribute `format_version`). */
export const CACHE_FORMAT_VERSION = 1;

/** Largest stored uint16 value; stored q means q / U16_MAX. */
export const U16_MAX = 65535;

/** Scale of the stored uint16 values: value = stored * U16_SCALE. */
export const U16_SCALE = 1 / U16_MAX;

/**
 * Worst-case absolute error of a float32 value in [0,1] after write + read (uint16 storage):
 * half a quantisation step plus the float32 rounding of the decoded value.
 */
export const U16_ROUNDTRIP_MAX_ERROR = 0.5 / U16_MAX + 2 ** -25;

/** The three arrays of one patient; names are also the dataset / file names. */
export const ARRAY_NAMES = ['mri', 'ct', 'mask'] as const;
export type ArrayName = (typeof ARRAY_NAMES)[number];

/** [slices, height, width], row-major (slice, row, column). */
export type Shape3 = readonly [slices: number, height: number, width: number];

/**
 * Arrays of one patient as given to `write`: mri/ct either float32 in [0,1] (quantised on
 * write) or uint16 already quantised (value = q / 65535); mask 0/1 as uint8.
 */
export interface PatientArrays {
  mri: Float32Array | Uint16Array;
  ct: Float32Array | Uint16Array;
  mask: Uint8Array;
  shape: Shape3;
}

/** Arrays as returned by `read`: float32 in [0,1]. */
export interface FloatPatientArrays extends PatientArrays {
  mri: Float32Array;
  ct: Float32Array;
}

/**
 * Arrays as returned by `readRaw`: the compact stored uint16 values (value = q * scale) and
 * the uint8 mask. For npy files these are zero-copy views of the file buffers.
 */
export interface RawPatientArrays extends PatientArrays {
  mri: Uint16Array;
  ct: Uint16Array;
  /** Multiply a stored value by this to get the [0,1] value (1/65535). */
  scale: number;
}

/** How one modality's raw values were mapped to [0,1] (value = (raw - min) / (max - min)). */
export interface ValueMapping {
  /** Raw value (MRI intensity, CT HU) mapped to 0. */
  min: number;
  /** Raw value mapped to 1. */
  max: number;
  /** Unit of min/max, e.g. 'HU' for CT. */
  unit?: string;
  /** How min/max were chosen, e.g. 'fixed-window' or 'percentile-0.5-99.5'. */
  method?: string;
  /** Whether raw values outside [min, max] were clipped. */
  clip?: boolean;
}

/** Normalisation of both modalities; needed to turn a synthetic CT back into HU. */
export interface NormalizationMapping {
  mri: ValueMapping;
  ct: ValueMapping;
}

/** Metadata the caller (preprocessing) provides when writing a cache file. */
export interface CacheAttrsInput {
  /** Patient id, e.g. 'brain_001'. */
  patientId: string;
  /** Source NIfTI files the arrays came from. */
  sourceFiles: { mri: string; ct: string };
  /** Hash of the preprocessing parameters; a different value means the cache is stale. */
  paramsHash: string;
  /** How raw intensities were mapped to [0,1]. */
  normalization: NormalizationMapping;
  /** Free-form extra metadata (stored as JSON). */
  extra?: Record<string, string | number | boolean>;
}

/** Metadata stored in a cache file: the caller's input plus what the writer adds. */
export interface CacheAttrs extends CacheAttrsInput {
  /** On-disk layout version (CACHE_FORMAT_VERSION when written by this code). */
  formatVersion: number;
  /** Algorithm of the checksums (CHECKSUM_ALGORITHM). */
  checksumAlgorithm: string;
  /** Checksum of the whole patient (shape, dtypes and per-array checksums). */
  checksum: string;
  /** Checksum of each array's stored bytes. */
  checksums: Record<ArrayName, string>;
  /** Stored element type of each array: 'uint16' | 'uint8' | 'float32' | ... */
  dtypes: Record<ArrayName, string>;
  /** ISO time of writing. */
  createdAt: string;
  /** Software that wrote the file. */
  writer: string;
}

/** Options of `read` and `readRaw`. */
export interface ReadOptions {
  /**
   * Recompute the checksums of the stored bytes and throw a CacheError naming the file when
   * they differ from the stored ones (~10-15 ms per 52 MB patient). Default false.
   */
  verify?: boolean;
}

/** Options of `write`. */
export interface WriteOptions {
  /**
   * fsync the data and the directory before/after the atomic rename, so a power loss cannot
   * leave an empty file under the final name. Default true.
   */
  fsync?: boolean;
}

/** A result of `read`: float arrays plus the stored attributes. */
export type ReadResult = FloatPatientArrays & { attrs: CacheAttrs };
/** A result of `readRaw`: stored uint16/uint8 arrays plus the stored attributes. */
export type RawReadResult = RawPatientArrays & { attrs: CacheAttrs };

/** A per-patient cache file format. */
export interface CacheFormat {
  readonly name: 'h5' | 'npy';
  /** Suffix of a patient's cache entry, e.g. '.h5' (a file) or '.npy.d' (a directory). */
  readonly extension: string;
  /** Path of the cache entry of `patientId` in `dir`. */
  pathFor(dir: string, patientId: string): string;
  /**
   * Writes one patient atomically: into a temp entry in the same directory, then renamed.
   * Resolves with the attributes stored (including checksums).
   */
  write(path: string, arrays: PatientArrays, attrs: CacheAttrsInput, options?: WriteOptions): Promise<CacheAttrs>;
  /** Reads one patient as float32 in [0,1]. Throws CacheError for missing/corrupt files. */
  read(path: string, options?: ReadOptions): Promise<ReadResult>;
  /** Reads one patient in its compact stored form (uint16 + scale). */
  readRaw(path: string, options?: ReadOptions): Promise<RawReadResult>;
  /** Reads only the attributes (cheap; for staleness checks). */
  readAttrs(path: string): Promise<CacheAttrs>;
  /** True when a committed entry exists at `path` (leftover temp entries never count). */
  exists(path: string): boolean;
}

// ---------------------------------------------------------------------------------------------
// Shared helpers (used by the h5 modules and npy-format.ts; not part of the public API surface).

/** `<dir>/<patientId><extension>`: where a format keeps a patient's entry (its `pathFor`). */
export function entryPath(dir: string, patientId: string, extension: string): string {
  return path.join(dir, patientId + extension);
}

/** The fix every corrupt-cache message ends with (names the patient when the path shows it). */
export function rebuildHint(file: string): string {
  const patient = /([^/\\]+?)(?:\.h5|\.npy\.d)(?:[/\\]|$)/.exec(file)?.[1];
  const whose = patient === undefined ? '' : ` of patient ${patient}`;
  return `run \`mri2ct preprocess --force\` to rebuild the cache${whose} (or delete ${JSON.stringify(file)})`;
}

/** CacheError "cache file <file>: <what>. Fix: <hint>". */
export function cacheError(file: string, what: string, cause?: unknown): CacheError {
  return new CacheError(`cache file ${file}: ${what}. Fix: ${rebuildHint(file)}.`, cause === undefined ? undefined : { cause });
}

/** Number of voxels of a shape, after checking it is three positive integers. */
export function voxelCount(shape: readonly number[], file: string): number {
  if (shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw cacheError(file, `shape must be [slices, height, width] of positive integers, got [${shape.join(', ')}]`);
  }
  return shape.reduce((a, b) => a * b, 1);
}

/** Throws CacheError unless `v` is a format version this code can read (1..CACHE_FORMAT_VERSION). */
export function checkFormatVersion(file: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw cacheError(file, `has no valid format version (${String(v)}): not an mri2ct cache entry`);
  }
  if (v > CACHE_FORMAT_VERSION) {
    throw cacheError(file, `has format version ${v}, newer than this mri2ct (${CACHE_FORMAT_VERSION}); update mri2ct or rebuild`);
  }
}

/** Tolerance for float inputs just outside [0,1] (interpolation round-off); clamped silently. */
const RANGE_TOLERANCE = 1e-3;

/**
 * Quantises float32 [0,1] to uint16 (q = round(v * 65535)); uint16 input is taken as already
 * quantised. Throws CacheError (naming the array) for NaN or values outside [0,1] beyond a
 * 1e-3 tolerance, which indicates a preprocessing bug.
 */
export function toStoredU16(values: Float32Array | Uint16Array, name: string, file: string): Uint16Array {
  if (values instanceof Uint16Array) return values;
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v >= 0 && v <= 1) {
      out[i] = Math.round(v * U16_MAX);
    } else if (v < 0 && v >= -RANGE_TOLERANCE) {
      out[i] = 0;
    } else if (v > 1 && v <= 1 + RANGE_TOLERANCE) {
      out[i] = U16_MAX;
    } else {
      throw new CacheError(
        `cannot write cache file ${file}: ${name} has value ${v} at voxel ${i}, outside [0, 1]. ` +
          'Fix: the preprocessing must normalise mri/ct to [0, 1] before caching.',
      );
    }
  }
  return out;
}

/**
 * Stored uint16 -> float32 in [0,1]: q * (1/65535), which rounds to the same float32 as the
 * correctly rounded q / 65535 for all 65536 values (checked exhaustively in the tests) and is
 * faster than dividing or a lookup table. Writes into `out` when given (no 40 MB allocation).
 */
export function u16ToFloat(stored: Uint16Array, out: Float32Array = new Float32Array(stored.length)): Float32Array {
  if (out.length !== stored.length) throw new RangeError(`u16ToFloat: out has ${out.length} values, stored ${stored.length}`);
  for (let i = 0; i < stored.length; i++) out[i] = stored[i]! * U16_SCALE;
  return out;
}

/** Float data in [0,1] from a foreign file (e.g. float32 written by h5py) -> stored uint16. */
export function floatToU16Clamped(values: Float32Array | Float64Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    out[i] = v > 0 ? (v < 1 ? Math.round(v * U16_MAX) : U16_MAX) : 0; // NaN -> 0
  }
  return out;
}

/** Checks a write request; returns the voxel count. Throws CacheError. */
export function validateForWrite(file: string, arrays: PatientArrays, attrs: CacheAttrsInput): number {
  const n = voxelCount(arrays.shape, file);
  for (const name of ARRAY_NAMES) {
    const a = arrays[name] as ArrayBufferView & { length: number };
    if (a.length !== n) {
      throw new CacheError(
        `cannot write cache file ${file}: ${name} has ${a.length} values but shape [${arrays.shape.join(', ')}] needs ${n}. ` +
          'Fix: pass arrays matching the shape.',
      );
    }
  }
  const mask = arrays.mask;
  for (let i = 0; i < n; i++) {
    if (mask[i]! > 1) {
      throw new CacheError(`cannot write cache file ${file}: mask has value ${mask[i]} at voxel ${i}; it must be 0 or 1. Fix: binarise the mask.`);
    }
  }
  if (typeof attrs.patientId !== 'string' || attrs.patientId === '') {
    throw new CacheError(`cannot write cache file ${file}: attrs.patientId is empty. Fix: pass the patient id.`);
  }
  return n;
}

/** Stored arrays + their checksums, shared by both writers. */
export interface StoredArrays {
  mri: Uint16Array;
  ct: Uint16Array;
  mask: Uint8Array;
  shape: Shape3;
}

/** The complete attributes of a file about to be written. */
export function buildAttrs(stored: StoredArrays, input: CacheAttrsInput, writer: string): CacheAttrs {
  const checksums = {
    mri: checksumBytes(stored.mri),
    ct: checksumBytes(stored.ct),
    mask: checksumBytes(stored.mask),
  };
  const dtypes = { mri: 'uint16', ct: 'uint16', mask: 'uint8' };
  return {
    patientId: input.patientId,
    sourceFiles: { mri: input.sourceFiles.mri, ct: input.sourceFiles.ct },
    paramsHash: input.paramsHash,
    normalization: input.normalization,
    ...(input.extra === undefined ? {} : { extra: input.extra }),
    formatVersion: CACHE_FORMAT_VERSION,
    checksumAlgorithm: CHECKSUM_ALGORITHM,
    checksum: patientChecksum(stored.shape, dtypes, checksums),
    checksums,
    dtypes,
    createdAt: new Date().toISOString(),
    writer,
  };
}

/** Whole-patient checksum from the per-array ones. */
export function patientChecksum(shape: Shape3, dtypes: Record<ArrayName, string>, checksums: Record<ArrayName, string>): string {
  return combineChecksums(
    shape,
    ARRAY_NAMES.map((n) => [n, dtypes[n], checksums[n]] as const),
  );
}

/**
 * Compares the checksums computed from the stored bytes (`actual`, from checksumBytes) with the
 * stored ones and throws a CacheError naming the file and the first array that differs; then
 * checks the whole-patient checksum against the per-array ones and the shape. Files without
 * stored checksums cannot be verified (also a CacheError).
 */
export function verifyChecksums(file: string, attrs: CacheAttrs, actual: Record<ArrayName, string>, shape: Shape3): void {
  if (attrs.checksumAlgorithm !== CHECKSUM_ALGORITHM) {
    throw cacheError(
      file,
      `cannot verify: checksum algorithm '${attrs.checksumAlgorithm || '(none)'}' is not '${CHECKSUM_ALGORITHM}' (file written by another tool or version)`,
    );
  }
  for (const name of ARRAY_NAMES) {
    const expected = attrs.checksums[name];
    if (expected !== actual[name]) {
      throw cacheError(file, `checksum mismatch in '${name}' (stored ${expected || '(none)'}, computed ${actual[name]}): the data is corrupt`);
    }
  }
  const whole = patientChecksum(shape, attrs.dtypes, attrs.checksums);
  if (whole !== attrs.checksum) {
    throw cacheError(file, `patient checksum mismatch (stored ${attrs.checksum || '(none)'}, computed ${whole}): the metadata is corrupt`);
  }
}

// ---------------------------------------------------------------------------------------------
// Atomic writes: temp entries are named `.<final name>.tmp-<pid>-<random>` in the same
// directory, so they never match `*.h5` / `*.npy.d`, and a killed writer leaves only a hidden
// leftover that readers ignore and removeStaleTemps() cleans up.

/** Names kept for the cache modules: the one implementation lives in util/atomic-write. */
export { isTempArtifact as isTempName, removeStaleTemps, tempPathFor } from '../util/atomic-write';

/** fsyncs a file or directory; ignores platforms that cannot fsync directories. */
export function fsyncPath(p: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(p, 'r');
    fs.fsyncSync(fd);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') throw e;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** A message for a filesystem error while reading `file`. */
export function fsReadError(file: string, e: unknown): CacheError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return cacheError(file, 'does not exist', e);
  return cacheError(file, `cannot be read (${code ?? String(e)})`, e);
}

/** Parses a JSON attribute, with a CacheError naming the file on failure. */
export function parseJsonAttr<T>(file: string, name: string, text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw cacheError(file, `attribute '${name}' is not valid JSON`, e);
  }
}
