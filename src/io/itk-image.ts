/**
 * Bridge to itk-wasm: loads @itk-wasm/image-io and @itk-wasm/dicom (ESM-only, via importEsm) and
 * converts between itk-wasm's Image (LPS origin, spacing, direction matrix whose columns are the
 * voxel axes; data x fastest) and our Volume (RAS+ voxel-to-world affine; data x fastest).
 * The conversion is exact: RAS = LPS with the x and y rows negated. Must not pick formats,
 * check DICOM geometry or write files other than through itk-wasm (read-image.ts does that).
 */

import { ImageFormatError } from '../errors';
import { importEsm } from '../util/esm';
import { columnNorms, linearPart } from './nifti-affine';
import type { Affine, Vec3 } from './volume';

/** The part of itk-wasm's Image we use (declared here: the package is ESM-only). */
export interface ItkImage {
  imageType: { dimension: number; componentType: string; pixelType: string; components: number };
  name?: string;
  origin: number[] | Float64Array;
  spacing: number[] | Float64Array;
  /** Row-major dimension×dimension matrix; column c is the direction of voxel axis c (LPS). */
  direction: number[] | Float64Array;
  size: number[];
  data: ArrayLike<number> | null;
  metadata: Map<string, unknown>;
}

interface ImageIoModule {
  readImageNode(path: string, options?: { informationOnly?: boolean }): Promise<ItkImage>;
  writeImageNode(image: ItkImage, path: string, options?: { useCompression?: boolean }): Promise<void>;
}

interface DicomModule {
  readImageDicomFileSeriesNode(options: { inputImages: string[]; singleSortedSeries?: boolean }): Promise<{
    outputImage: ItkImage;
    sortedFilenames: unknown;
  }>;
}

/** @itk-wasm/image-io, loaded once. */
export function imageIo(): Promise<ImageIoModule> {
  return importEsm<ImageIoModule>('@itk-wasm/image-io');
}

/** @itk-wasm/dicom, loaded once. */
export function dicomIo(): Promise<DicomModule> {
  return importEsm<DicomModule>('@itk-wasm/dicom');
}

/** Component types itk-wasm uses, mapped to our datatype names (they coincide). */
export const ITK_COMPONENT_TYPES = ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'uint64', 'int64', 'float32', 'float64'] as const;

/**
 * RAS+ voxel-to-world affine of the first three axes of an itk-wasm image. A 2D image gets
 * z spacing 1 along the normal of its plane; a 4D image keeps its first three axes.
 */
export function itkAffine(image: ItkImage): Affine {
  const d = image.imageType.dimension;
  const at = (r: number, c: number): number => (r < d && c < d ? Number(image.direction[r * d + c] ?? 0) : r === c ? 1 : 0);
  const sp = (c: number): number => (c < d ? Number(image.spacing[c] ?? 1) : 1);
  const o = (r: number): number => (r < d ? Number(image.origin[r] ?? 0) : 0);
  const sign = [-1, -1, 1];
  const affine: Affine = [0, 1, 2].map((r) => [
    (sign[r] ?? 1) * at(r, 0) * sp(0),
    (sign[r] ?? 1) * at(r, 1) * sp(1),
    (sign[r] ?? 1) * at(r, 2) * sp(2),
    (sign[r] ?? 1) * o(r),
  ].map((v) => v + 0)); // + 0 turns -0 into 0
  affine.push([0, 0, 0, 1]);
  return affine;
}

/** Spatial dims (x, y, z) of an itk-wasm image; missing ones are 1. */
export function itkDims(image: ItkImage): Vec3 {
  return [image.size[0] ?? 1, image.size[1] ?? 1, image.size[2] ?? 1];
}

/**
 * LPS origin, spacing and row-major direction for itk-wasm from a RAS affine.
 * @throws ImageFormatError when the affine's axes are not orthogonal (ITK cannot store a shear).
 */
export function itkGeometry(affine: Affine, path: string): { origin: number[]; spacing: number[]; direction: Float64Array } {
  const spacing = columnNorms(affine);
  const m = linearPart(affine);
  const sign = [-1, -1, 1];
  const direction: number[] = [];
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) direction.push(((sign[r] ?? 1) * (m[r]?.[c] ?? 0)) / (spacing[c] ?? 1));
  const col = (c: number): number[] => [0, 1, 2].map((r) => direction[r * 3 + c] ?? 0);
  const dot = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + v * (b[i] ?? 0), 0);
  const shear = Math.max(Math.abs(dot(col(0), col(1))), Math.abs(dot(col(0), col(2))), Math.abs(dot(col(1), col(2))));
  if (shear > 1e-4) {
    throw new ImageFormatError(
      `cannot write ${path}: the affine's voxel axes are not orthogonal (sheared, |cos| up to ${shear.toFixed(4)}), ` +
        'which MetaImage/NRRD direction matrices cannot store. Write NIfTI (.nii.gz) instead, or resample first.',
    );
  }
  const origin = [0, 1, 2].map((r) => (sign[r] ?? 1) * (affine[r]?.[3] ?? 0));
  // itk-wasm passes the direction to wasm as a typed array (it reads .buffer).
  return { origin, spacing: [...spacing], direction: Float64Array.from(direction) };
}
