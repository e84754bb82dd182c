/**
 * Conversion between our Volume (NIfTI RAS+ affine, x fastest) and an itk-wasm Image (ITK LPS+
 * origin, spacing and row-major direction cosines, same voxel order), and between ITK's LPS
 * transforms and RAS world matrices. ITK's physical space is LPS: x and y rows of the affine flip.
 * Pure data conversion: must not load itk-wasm (the caller passes the Image to the pipeline) and
 * must not resample.
 */

import { Mri2ctError } from '../errors';
import { multiplyAffines, RAS_TO_LPS } from '../io/affine-math';
import { columnNorms } from '../io/nifti-affine';
import type { Affine, Volume } from '../io/volume';

/** The structure of an itk-wasm `Image` (itk-wasm's interface types), float32 scalar 3D only. */
export interface ItkImage {
  imageType: { dimension: 3; componentType: 'float32'; pixelType: 'Scalar'; components: 1 };
  name: string;
  /** Physical position of voxel 0, LPS mm. */
  origin: number[];
  spacing: number[];
  /** Direction cosines, row-major 3×3: direction[3r + c] = LPS axis r component of voxel axis c. */
  direction: Float64Array;
  size: number[];
  metadata: Map<string, unknown>;
  data: Float32Array;
}

/** An itk-wasm Image of a volume (the data are copied to float32; a Float32Array is shared). */
export function volumeToItkImage(volume: Volume<ArrayLike<number>>, name: string): ItkImage {
  const lps = multiplyAffines(RAS_TO_LPS, volume.affine);
  const spacing = columnNorms(volume.affine);
  if (!spacing.every((s) => s > 0 && Number.isFinite(s))) {
    throw new Mri2ctError(`${name}: the voxel-to-world matrix has a zero or non-finite column; check the image header`);
  }
  const direction = new Float64Array(9);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) direction[3 * r + c] = (lps[r]?.[c] ?? 0) / (spacing[c] as number);
  const data = volume.data instanceof Float32Array ? volume.data : Float32Array.from(volume.data);
  return {
    imageType: { dimension: 3, componentType: 'float32', pixelType: 'Scalar', components: 1 },
    name,
    origin: [lps[0]?.[3] ?? 0, lps[1]?.[3] ?? 0, lps[2]?.[3] ?? 0],
    spacing: [...spacing],
    direction,
    size: [...volume.dims],
    metadata: new Map(),
    data,
  };
}

/** The RAS+ voxel-to-world affine of an itk-wasm image's geometry. */
export function itkImageAffine(image: { origin: ArrayLike<number>; spacing: ArrayLike<number>; direction: ArrayLike<number> }): Affine {
  const lps: Affine = [0, 1, 2].map((r) => [
    ...[0, 1, 2].map((c) => (image.direction[3 * r + c] as number) * (image.spacing[c] as number)),
    image.origin[r] as number,
  ]);
  lps.push([0, 0, 0, 1]);
  return multiplyAffines(RAS_TO_LPS, lps);
}

/** Converts a world map between LPS and RAS (x ↦ F x F with F the RAS↔LPS flip; its own inverse). */
export function flipWorldTransform(m: Affine): Affine {
  return multiplyAffines(RAS_TO_LPS, m, RAS_TO_LPS);
}

/** A 3-vector from a list of strings (elastix parameter values); throws when one is not a number. */
export function parseNumbers(values: readonly string[] | undefined, count: number, what: string): number[] {
  const out = (values ?? []).map(Number);
  if (out.length !== count || !out.every(Number.isFinite)) {
    throw new Mri2ctError(`elastix returned ${what} = [${(values ?? []).join(', ')}], expected ${count} numbers; the registration output is unusable`);
  }
  return out;
}
