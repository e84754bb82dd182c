/**
 * Public entry of the per-patient cache: the formats (`h5` compact, `npy` fast), the shared
 * types, getCacheFormat (with the 'pt' alias), checksums and temp-entry housekeeping.
 * This module only re-exports; it must not do work at import time (h5wasm loads lazily).
 */

export {
  ARRAY_NAMES,
  CACHE_FORMAT_NAMES,
  CACHE_FORMAT_VERSION,
  U16_MAX,
  U16_ROUNDTRIP_MAX_ERROR,
  U16_SCALE,
  getCacheFormat,
  isTempName,
  removeStaleTemps,
  u16ToFloat,
} from './format';
export type {
  ArrayName,
  CacheAttrs,
  CacheAttrsInput,
  CacheFormat,
  CacheFormatName,
  FloatPatientArrays,
  NormalizationMapping,
  PatientArrays,
  RawPatientArrays,
  RawReadResult,
  ReadOptions,
  ReadResult,
  Shape3,
  ValueMapping,
  WriteOptions,
} from './format';
export { h5Format, H5_GZIP_LEVEL } from './h5-format';
export { npyFormat, NPY_ALIGN, encodeNpyHeader, parseNpy } from './npy-format';
export type { NpyArray, NpyDescr } from './npy-format';
export { CHECKSUM_ALGORITHM, checksumBytes, combineChecksums } from './checksum';
