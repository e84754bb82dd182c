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
import { itkGeometry } from '../io/itk-image';
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
  const spacing = columnNorms(volume.affine);
  if (!spacing.every((s) => s > 0 && Number.isFinite(s))) {
    throw new Mri2ctError(`${name}: the voxel-to-world matrix has a zero or non-finite column; check the image header`);
  }
  const data = volume.data instanceof Float32Array ? volume.data : Float32Array.from(volume.data);
  return {
    imageType: { dimension: 3, componentType: 'float32', pixelType: 'Scalar', components: 1 },
    name,
    ...itkGeometry(volume.affine, name),
    size: [...volume.dims],
    metadata: new Map(),
    data,
  };
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
