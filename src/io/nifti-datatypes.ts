/**
 * NIfTI datatype table: codes, names, byte sizes, typed-array classes, and the byte-level helpers
 * shared by the reader and writer (byte swapping, typed views over decoded bytes).
 * Pure and synchronous: must not do file I/O, compression or header parsing.
 */

/** Voxel datatypes this project can read (and, except int64/uint64, write). */
export type NiftiDatatype =
  | 'uint8'
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'float32'
  | 'float64'
  | 'int64'
  | 'uint64';

/** Datatypes `writeNifti` accepts. */
export type NiftiWritableDatatype = Exclude<NiftiDatatype, 'int64' | 'uint64'>;

/** Unscaled voxel array in the file's own datatype. */
export type NiftiRawArray =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** The raw arrays whose elements are plain numbers (everything but int64/uint64). */
export type NiftiNumberArray = Exclude<NiftiRawArray, BigInt64Array | BigUint64Array>;

interface DatatypeInfo {
  code: number;
  bytes: 1 | 2 | 4 | 8;
  /** Creates a typed array over `length` elements of `buffer` starting at byte 0. */
  view: (buffer: ArrayBuffer, length: number) => NiftiRawArray;
  /** Integer range; undefined for float types. */
  range?: [number, number];
}

const DATATYPES: Record<NiftiDatatype, DatatypeInfo> = {
  uint8: { code: 2, bytes: 1, view: (b, n) => new Uint8Array(b, 0, n), range: [0, 255] },
  int8: { code: 256, bytes: 1, view: (b, n) => new Int8Array(b, 0, n), range: [-128, 127] },
  int16: { code: 4, bytes: 2, view: (b, n) => new Int16Array(b, 0, n), range: [-32768, 32767] },
  uint16: { code: 512, bytes: 2, view: (b, n) => new Uint16Array(b, 0, n), range: [0, 65535] },
  int32: { code: 8, bytes: 4, view: (b, n) => new Int32Array(b, 0, n), range: [-2147483648, 2147483647] },
  uint32: { code: 768, bytes: 4, view: (b, n) => new Uint32Array(b, 0, n), range: [0, 4294967295] },
  float32: { code: 16, bytes: 4, view: (b, n) => new Float32Array(b, 0, n) },
  float64: { code: 64, bytes: 8, view: (b, n) => new Float64Array(b, 0, n) },
  int64: { code: 1024, bytes: 8, view: (b, n) => new BigInt64Array(b, 0, n) },
  uint64: { code: 1280, bytes: 8, view: (b, n) => new BigUint64Array(b, 0, n) },
};

/** NIfTI datatype codes we recognise but cannot turn into a scalar volume. */
const UNSUPPORTED_CODES: Record<number, string> = {
  1: 'binary (1 bit)',
  32: 'complex64',
  128: 'rgb24',
  1536: 'float128',
  1792: 'complex128',
  2048: 'complex256',
  2304: 'rgba32',
};

const BY_CODE = new Map<number, NiftiDatatype>(
  (Object.keys(DATATYPES) as NiftiDatatype[]).map((name) => [DATATYPES[name].code, name]),
);

/** All datatype names, in table order. */
export const NIFTI_DATATYPES = Object.keys(DATATYPES) as readonly NiftiDatatype[];

/** Datatype for a header code, or undefined when the code is not a supported scalar type. */
export function datatypeFromCode(code: number): NiftiDatatype | undefined {
  return BY_CODE.get(code);
}

/** Human-readable name of any datatype code, e.g. 'complex64' or 'code 9999'. */
export function describeDatatypeCode(code: number): string {
  return BY_CODE.get(code) ?? UNSUPPORTED_CODES[code] ?? `unknown code ${code}`;
}

/** The header code of a datatype. */
export function datatypeCode(datatype: NiftiDatatype): number {
  return DATATYPES[datatype].code;
}

/** Bytes per voxel of a datatype. */
export function bytesPerVoxel(datatype: NiftiDatatype): 1 | 2 | 4 | 8 {
  return DATATYPES[datatype].bytes;
}

/** Integer [min, max] of a datatype, or undefined for float types. */
export function integerRange(datatype: NiftiDatatype): [number, number] | undefined {
  return DATATYPES[datatype].range;
}

/** True when `name` is a datatype name writeNifti accepts. */
export function isWritableDatatype(name: string): name is NiftiWritableDatatype {
  return name in DATATYPES && name !== 'int64' && name !== 'uint64';
}

/** Typed array of `length` voxels viewing `buffer` from byte 0 (the buffer must be aligned). */
export function typedView(datatype: NiftiDatatype, buffer: ArrayBuffer, length: number): NiftiRawArray {
  return DATATYPES[datatype].view(buffer, length);
}

/** Allocates a zeroed typed array of a datatype. */
export function allocate(datatype: NiftiDatatype, length: number): NiftiRawArray {
  return typedView(datatype, new ArrayBuffer(length * bytesPerVoxel(datatype)), length);
}

/**
 * The datatype writeNifti uses by default for an array: its typed-array class, or float32 for
 * plain arrays and unknown classes.
 */
export function inferDatatype(data: ArrayLike<number>): NiftiWritableDatatype {
  if (data instanceof Uint8Array || data instanceof Uint8ClampedArray) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof Float64Array) return 'float64';
  return 'float32';
}

/** True when this process stores multi-byte numbers little-endian (typed arrays use host order). */
export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverses the byte order of every `elementBytes`-sized element of `bytes`, in place. */
export function swapBytesInPlace(bytes: Uint8Array, elementBytes: 1 | 2 | 4 | 8): void {
  if (elementBytes === 1) return;
  const n = bytes.length - (bytes.length % elementBytes);
  const half = elementBytes >> 1;
  for (let i = 0; i < n; i += elementBytes) {
    for (let k = 0; k < half; k++) {
      const a = i + k;
      const b = i + elementBytes - 1 - k;
      const t = bytes[a] as number;
      bytes[a] = bytes[b] as number;
      bytes[b] = t;
    }
  }
}

/**
 * Copies `count` voxels starting at `byteOffset` of `source` into a fresh, aligned typed array in
 * host byte order. `sourceLittleEndian` is the byte order of the file.
 */
export function decodeVoxels(
  source: Uint8Array,
  byteOffset: number,
  count: number,
  datatype: NiftiDatatype,
  sourceLittleEndian: boolean,
): NiftiRawArray {
  const size = bytesPerVoxel(datatype);
  const buffer = new ArrayBuffer(count * size);
  const bytes = new Uint8Array(buffer);
  bytes.set(source.subarray(byteOffset, byteOffset + count * size));
  if (sourceLittleEndian !== HOST_IS_LITTLE_ENDIAN) swapBytesInPlace(bytes, size);
  return typedView(datatype, buffer, count);
}
