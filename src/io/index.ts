/**
 * Public surface of src/io: the Volume type, NIfTI reading/writing, and readImage/writeImage for
 * every format (MetaImage, NRRD, DICOM series).
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
export { readImage, writeImage, imageFileId, formatSpacing } from './read-image';
export type { ImageFormat, MedicalImage, ReadImageOptions, WriteImageOptions } from './read-image';
export { inspectDicomSeries, readDicomSeries } from './dicom-series';
export type { DicomSeriesInfo, DicomSeriesOptions } from './dicom-series';
export { describeImage, formatImageDescription, guessUnits, obliquityDegrees, reorientationSteps, summarizeValues } from './describe';
export type { DescribeImageOptions, ImageDescription, UnitsGuess, ValueSummary } from './describe';
