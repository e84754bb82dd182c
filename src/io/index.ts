/**
 * Public surface of src/io: the Volume type and NIfTI reading/writing.
 * Re-exports only: no logic here.
 */

export * from './volume';
export { readNifti, readNiftiInfo } from './nifti-read';
export type { NiftiImage, NiftiInfo, NiftiSpatialUnits, ReadNiftiOptions } from './nifti-read';
export { writeNifti } from './nifti-write';
export type { WriteNiftiOptions } from './nifti-write';
export { NIFTI_DATATYPES, inferDatatype } from './nifti-datatypes';
export type { NiftiDatatype, NiftiRawArray, NiftiWritableDatatype } from './nifti-datatypes';
export { axisCodes } from './nifti-affine';
