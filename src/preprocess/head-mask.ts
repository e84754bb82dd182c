/**
 * Step 2 of preprocessing: the head mask (everything anatomical: brain, skull, scalp, sinuses)
 * of an (N4-corrected) MRI. Otsu threshold on the positive voxels (times a fraction), fill holes
 * per axial slice, keep the largest 3D connected component, morphological closing (ball, radius
 * in mm), then fill holes in 3D and per axial slice again: dark skull, CSF and air sinuses of a
 * T1 image end up inside the mask.
 * Must not modify the MRI and must not use the CT (the CT is cleaned with this mask later).
 */

import { ConfigError, Mri2ctError } from '../errors';
import type { Vec3, Volume } from '../io/volume';
import { checkLength, checkNumber, checkSpacing } from './arrays';
import { cropArray, growBox, maskBoundingBox, uncropArray } from './crop';
import { close, fillHoles3d, fillHolesAxial, largestComponent, type Connectivity } from './morphology';
import { otsuThreshold, type OtsuResult } from './otsu';

/** Options of {@link headMask}. */
export interface HeadMaskOptions {
  /** Threshold = otsuFraction × Otsu's threshold. Below 1 also catches dim tissue at the edge,
   * but too low a value adds the blurred halo of air around the skin. Default 0.85. */
  otsuFraction?: number;
  /** Histogram bins of Otsu's method. Default 256. */
  bins?: number;
  /** Radius in mm of the ball used to close the mask (bridges gaps such as nostrils or ear
   * canals narrower than twice this). 0 disables closing. Default 4. */
  closingMm?: number;
  /** Connectivity of the largest-component step. Default 6 (noise bridges connect less). */
  connectivity?: Connectivity;
  /** Fill holes in each axial slice after the closing too (cavities open across slices, e.g.
   * sinuses). The per-slice fill before choosing the largest component always runs. Default true. */
  fillAxialSlices?: boolean;
  /** Smallest accepted mask, as a fraction of all voxels; smaller means no head was found.
   * Default 0.005. */
  minFraction?: number;
  /** Largest accepted mask, as a fraction of all voxels: a head never fills its whole field of
   * view (air in the corners), a mask grown out of noise does. Default 0.95. */
  maxFraction?: number;
  /** Smallest accepted contrast: mean intensity inside the mask over mean intensity outside.
   * A head on air is far above it; a mask grown out of pure noise (wrong or empty series) is
   * not. Default 3. */
  minContrast?: number;
  /** Names the image in error messages (e.g. "MRI of patient 12"). Default "the MRI". */
  what?: string;
}

/** Measurements of a head mask, for logs and metadata. */
export interface HeadMaskStats {
  /** Otsu's threshold of the positive voxels. */
  otsuThreshold: number;
  /** Threshold actually used (otsuFraction × otsuThreshold). */
  threshold: number;
  /** Connected components after thresholding and per-slice hole filling. */
  components: number;
  /** Voxels of the largest component before closing and filling. */
  largestComponentVoxels: number;
  /** Voxels of the final mask. */
  voxels: number;
  /** Final mask as a fraction of all voxels. */
  fraction: number;
  /** Final mask volume in millilitres. */
  volumeMl: number;
  /** Mean intensity inside the mask over mean intensity outside (Infinity if outside is 0). */
  contrast: number;
}

/** Mask plus measurements, see {@link headMaskWithStats}. */
export interface HeadMaskResult {
  /** 0/1 per voxel, same order and dims as the MRI. */
  mask: Uint8Array;
  stats: HeadMaskStats;
}

/** Default head-mask options (record them with the cache metadata). */
export const HEAD_MASK_DEFAULTS = {
  otsuFraction: 0.85,
  bins: 256,
  closingMm: 4,
  connectivity: 6,
  fillAxialSlices: true,
  minFraction: 0.005,
  maxFraction: 0.95,
  minContrast: 3,
} as const satisfies Required<Omit<HeadMaskOptions, 'what'>>;

interface ResolvedOptions {
  otsuFraction: number;
  bins: number;
  closingMm: number;
  connectivity: Connectivity;
  fillAxialSlices: boolean;
  minFraction: number;
  maxFraction: number;
  minContrast: number;
  what: string;
}

/** The options that are not undefined (so they do not override defaults when spread). */
function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function resolveOptions(options: HeadMaskOptions): ResolvedOptions {
  const r: ResolvedOptions = {
    ...HEAD_MASK_DEFAULTS,
    ...definedOnly(options),
    what: options.what ?? 'the MRI',
  };
  if (checkNumber(r.otsuFraction, 'otsuFraction', 0) === 0) throw new ConfigError('option otsuFraction must be > 0');
  checkNumber(r.closingMm, 'closingMm', 0);
  checkNumber(r.minFraction, 'minFraction', 0);
  checkNumber(r.maxFraction, 'maxFraction', 0);
  checkNumber(r.minContrast, 'minContrast', 0);
  if (r.connectivity !== 6 && r.connectivity !== 26) {
    throw new ConfigError(`option connectivity must be 6 or 26, got ${String(r.connectivity)}`);
  }
  return r;
}

/** The head mask of an MRI (0/1 per voxel); throws Mri2ctError when no head is found. */
export function headMask(mri: Volume<ArrayLike<number>>, options: HeadMaskOptions = {}): Uint8Array {
  return headMaskWithStats(mri, options).mask;
}

/** {@link headMask} plus measurements (thresholds, component count, volume). */
export function headMaskWithStats(mri: Volume<ArrayLike<number>>, options: HeadMaskOptions = {}): HeadMaskResult {
  const o = resolveOptions(options);
  const n = checkLength(mri.data, mri.dims, o.what);
  checkSpacing(mri.spacing, o.what);
  const otsu = otsuOrNoHead(mri.data, o);
  const threshold = o.otsuFraction * otsu.threshold;
  const binary = new Uint8Array(n);
  for (let i = 0; i < n; i++) binary[i] = (mri.data[i] as number) > threshold ? 1 : 0;
  // Fill each axial slice first: the bright scalp ring then encloses the skull and brain, so the
  // head is one component (otherwise dark skull/CSF can split scalp and brain into two, and the
  // brain alone may be the largest).
  const largest = largestComponent(fillHolesAxial(binary, mri.dims), mri.dims, o.connectivity);
  if (largest.size === 0) throw noHead(o.what, `nothing is brighter than the threshold ${threshold.toPrecision(4)}`);
  const mask = closeAndFill(largest.mask, mri.dims, mri.spacing, o);
  let voxels = 0;
  for (let i = 0; i < n; i++) voxels += mask[i] as number;
  const fraction = voxels / n;
  if (fraction < o.minFraction) {
    throw noHead(
      o.what,
      `the largest bright region is only ${(fraction * 100).toFixed(2)}% of the volume ` +
        `(minimum ${(o.minFraction * 100).toFixed(2)}%)`,
    );
  }
  if (fraction > o.maxFraction) {
    throw noHead(
      o.what,
      `the region found covers ${(fraction * 100).toFixed(1)}% of the volume (maximum ` +
        `${(o.maxFraction * 100).toFixed(1)}%): the image looks like noise, or the head fills the whole field of view`,
    );
  }
  const contrast = maskContrast(mri.data, mask);
  if (contrast < o.minContrast) {
    throw noHead(
      o.what,
      `the region found is barely brighter than its surroundings (contrast ${contrast.toFixed(2)}, ` +
        `minimum ${o.minContrast}): the image looks like noise`,
    );
  }
  const voxelMl = (mri.spacing[0] * mri.spacing[1] * mri.spacing[2]) / 1000;
  return {
    mask,
    stats: {
      otsuThreshold: otsu.threshold,
      threshold,
      components: largest.components,
      largestComponentVoxels: largest.size,
      voxels,
      fraction,
      volumeMl: voxels * voxelMl,
      contrast,
    },
  };
}

/** Mean of the finite values inside the mask over the mean outside (Infinity when that is ≤ 0). */
function maskContrast(data: ArrayLike<number>, mask: Uint8Array): number {
  let sumIn = 0;
  let nIn = 0;
  let sumOut = 0;
  let nOut = 0;
  for (let i = 0; i < mask.length; i++) {
    const v = data[i] as number;
    if (!Number.isFinite(v)) continue;
    if (mask[i] !== 0) {
      sumIn += v;
      nIn++;
    } else {
      sumOut += v;
      nOut++;
    }
  }
  const outside = nOut > 0 ? sumOut / nOut : 0;
  return outside > 0 ? sumIn / nIn / outside : Infinity;
}

/** Otsu's threshold of the positive voxels; a blank image means no head. */
function otsuOrNoHead(data: ArrayLike<number>, o: ResolvedOptions): OtsuResult {
  try {
    return otsuThreshold(data, { bins: o.bins, positiveOnly: true, what: o.what });
  } catch (e) {
    if (e instanceof ConfigError || !(e instanceof Mri2ctError)) throw e;
    throw noHead(o.what, 'the image has no positive voxel (blank)');
  }
}

function noHead(what: string, why: string): Mri2ctError {
  return new Mri2ctError(
    `no head found in ${what}: ${why}; check that the file is a head MRI and not blank, ` +
      'or adjust the headMask options (otsuFraction, minFraction, maxFraction, minContrast)',
  );
}

/**
 * Closing and hole filling, computed only on the component's bounding box grown by more than the
 * closing radius (identical result to working on the whole volume, several times faster).
 */
function closeAndFill(component: Uint8Array, dims: Vec3, spacing: Vec3, o: ResolvedOptions): Uint8Array {
  const margin: Vec3 = [0, 0, 0];
  for (let a = 0; a < 3; a++) margin[a] = Math.ceil(o.closingMm / (spacing[a] as number)) + 2;
  const box = growBox(maskBoundingBox(component, dims, o.what), margin, dims);
  let roi = cropArray(component, dims, box);
  if (o.closingMm > 0) roi = close(roi, box.size, { radiusMm: o.closingMm, spacing, shape: 'ball' });
  roi = fillHoles3d(roi, box.size);
  if (o.fillAxialSlices) roi = fillHolesAxial(roi, box.size);
  return uncropArray(roi, box, dims, 0);
}
