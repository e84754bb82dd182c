/**
 * Rigid registration of a patient's CT to its MRI, the whole step: initial alignment (headers,
 * or body centroids when the headers disagree), elastix (Euler, Mattes MI, multi-resolution) on
 * the MRI cropped to its head mask, the transform as a RAS record (MRI world → CT world), the CT
 * resampled onto the MRI grid by resample-grid.ts (trilinear, −1000 HU outside the CT), and the
 * quality figures with a verdict. Refuses (RegistrationError) pairs it cannot register at all;
 * reports, never hides, a poor result (quality.ok false with reasons).
 * Must not read or write files and must not change its inputs.
 */

import { RegistrationError } from '../errors';
import { applyAffine, multiplyAffines } from '../io/affine-math';
import type { Affine, Vec3, Volume } from '../io/volume';
import { checkLength } from '../preprocess/arrays';
import { cropArray, findBoundingBox, growBox, croppedAffine } from '../preprocess/crop';
import { percentile } from '../preprocess/percentile';
import { fovOverlap, resampleToGrid } from '../preprocess/resample-grid';
import { blockFactors, blockMean } from './block-mean';
import { elastixRigid, type ElastixRigidOptions } from './elastix';
import { ctBodyMask, judgeRegistration, maskOverlap, normalizedMutualInformation, QUALITY_DEFAULTS, type QualityThresholds, type RegistrationQuality } from './quality';
import { matrixRotationDegrees, recordFromElastix, shiftRecord, type RigidTransformRecord } from './transform-record';

/** Options of {@link registerCtToMri}. */
export interface RegisterOptions extends ElastixRigidOptions, QualityThresholds {
  /**
   * Initial alignment: 'header' trusts both files' world coordinates; 'centroids' first moves the
   * CT body's centroid onto the MRI head mask's; 'auto' (default) uses the headers when the head
   * mask's centroid falls inside the CT's body, else the centroids.
   */
  initialize?: 'auto' | 'header' | 'centroids';
  /** CT values are clamped to this window (HU) before the metric. Default [−1000, 2000]. */
  ctWindowHu?: readonly [number, number];
  /** Margin in mm around the head mask's bounding box kept of the MRI for the metric. Default 10. */
  maskMarginMm?: number;
  /**
   * Voxel size (mm) elastix works at: finer images are block-averaged to about this size first
   * (block-mean.ts; the transform is rigid, the CT is resampled at full resolution afterwards).
   * 0 = the images' own resolution. Default {@link REGISTER_DEFAULTS}.elastixSpacingMm.
   */
  elastixSpacingMm?: number;
  /** Names the pair in messages (e.g. "patient 12"). Default "the MRI/CT pair". */
  what?: string;
}

/** Defaults of {@link RegisterOptions} that are not elastix's or quality's. */
export const REGISTER_DEFAULTS = { ctWindowHu: [-1000, 2000], maskMarginMm: 10, elastixSpacingMm: 1 } as const;

/** Result of {@link registerCtToMri}. */
export interface RegistrationResult {
  /** The CT resampled onto the MRI grid (HU, −1000 outside the CT's field of view). */
  ctOnMri: Float32Array;
  /** Maps MRI-world points to CT-world points. */
  transform: RigidTransformRecord;
  quality: RegistrationQuality;
  /** Which initial alignment was used. */
  initialization: 'header' | 'centroids';
  /** Wall time of the whole step, and of the elastix call alone, seconds. */
  seconds: number;
  elastixSeconds: number;
}

/**
 * A registration that ran but missed the quality thresholds: the pipeline refuses the patient
 * with this error, and the figures travel with it (the preprocessing summary shows them).
 */
export class PoorRegistrationError extends RegistrationError {
  override name = 'PoorRegistrationError';
  constructor(message: string, readonly registration: Omit<RegistrationResult, 'ctOnMri'>) {
    super(message);
  }
}

/** The figures of a registration that the preprocessing summary shows. */
export interface RegistrationFigures {
  /** Largest |rotation| about x, y or z, degrees. */
  maxAbsRotationDegrees: number;
  /** Length of the translation vector, mm. */
  translationMm: number;
  /** Dice of the MRI head mask and the registered CT body mask. */
  dice: number;
  /** Normalised mutual information inside the head mask (the final similarity figure). */
  nmi: number;
  /** Wall time of the registration step, seconds. */
  seconds: number;
  /** The verdict: false when a quality threshold was missed. */
  ok: boolean;
}

/** The summary figures of a registration (as stored in patient metadata). */
export function registrationFigures(r: Pick<RegistrationResult, 'transform' | 'quality' | 'seconds'>): RegistrationFigures {
  const { rotationDegrees: a, translationMm: t } = r.transform;
  return {
    maxAbsRotationDegrees: Math.max(Math.abs(a.x), Math.abs(a.y), Math.abs(a.z)),
    translationMm: Math.hypot(t.x, t.y, t.z),
    dice: r.quality.dice,
    nmi: r.quality.nmi,
    seconds: r.seconds,
    ok: r.quality.ok,
  };
}

/** World (RAS) centroid of a mask's voxels. */
function maskCentroid(mask: ArrayLike<number>, dims: Vec3, affine: Affine): Vec3 | undefined {
  const [nx, ny, nz] = dims;
  let [sx, sy, sz, n] = [0, 0, 0, 0];
  let o = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, o++) {
        if ((mask[o] as number) === 0) continue;
        sx += x;
        sy += y;
        sz += z;
        n++;
      }
    }
  }
  return n === 0 ? undefined : applyAffine(affine, [sx / n, sy / n, sz / n]);
}

/** Whether the CT body mask contains the world point p. */
function bodyContains(body: Uint8Array, ct: Volume<ArrayLike<number>>, p: Vec3): boolean {
  const probe = resampleToGrid({ ...ct, data: body }, { dims: [1, 1, 1], affine: [[1, 0, 0, p[0]], [0, 1, 0, p[1]], [0, 0, 1, p[2]], [0, 0, 0, 1]] }, { interpolation: 'nearest', fill: 0 });
  return probe[0] === 1;
}

/** Copy of values clamped to [lo, hi]. */
function clamped(data: ArrayLike<number>, lo: number, hi: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Math.min(hi, Math.max(lo, data[i] as number));
  return out;
}

/**
 * Registers the CT to the MRI (rigid) and resamples it onto the MRI grid. `mriHeadMask` is the
 * MRI's head mask (src/preprocess/head-mask.ts), on the MRI grid.
 * @throws RegistrationError when the CT has no body, the head does not overlap the CT's field of
 * view after the initial alignment, or elastix fails.
 */
export async function registerCtToMri(
  mri: Volume<ArrayLike<number>>,
  ct: Volume<ArrayLike<number>>,
  mriHeadMask: ArrayLike<number>,
  options: RegisterOptions = {},
): Promise<RegistrationResult> {
  const t0 = performance.now();
  const what = options.what ?? 'the MRI/CT pair';
  checkLength(mri.data, mri.dims, `MRI of ${what}`);
  checkLength(ct.data, ct.dims, `CT of ${what}`);
  checkLength(mriHeadMask, mri.dims, `head mask of ${what}`);
  const bodyThreshold = options.bodyThresholdHu ?? QUALITY_DEFAULTS.bodyThresholdHu;
  const minOverlap = options.minOverlap ?? QUALITY_DEFAULTS.minOverlap;

  const headCentroid = maskCentroid(mriHeadMask, mri.dims, mri.affine);
  if (headCentroid === undefined) throw new RegistrationError(`cannot register ${what}: the MRI head mask is empty; check the MRI`);
  const body = ctBodyMask(ct.data, ct.dims, bodyThreshold);
  const bodyCentroid = maskCentroid(body, ct.dims, ct.affine);
  if (bodyCentroid === undefined) {
    throw new RegistrationError(
      `cannot register ${what}: the CT has no voxel above ${bodyThreshold} HU (no body); check that the CT is in HU and not blank`,
    );
  }
  const mode = options.initialize ?? 'auto';
  const initialization = mode === 'auto' ? (bodyContains(body, ct, headCentroid) ? 'header' : 'centroids') : mode;
  // Initial world shift s: the CT is registered as if its world were moved by s.
  const s: Vec3 = initialization === 'centroids' ? [0, 1, 2].map((i) => headCentroid[i as 0]! - bodyCentroid[i as 0]!) as Vec3 : [0, 0, 0];
  const shiftM: Affine = [[1, 0, 0, s[0]], [0, 1, 0, s[1]], [0, 0, 1, s[2]], [0, 0, 0, 1]];
  const unshiftM: Affine = [[1, 0, 0, -s[0]], [0, 1, 0, -s[1]], [0, 0, 1, -s[2]], [0, 0, 0, 1]];
  const initialOverlap = fovOverlap(mri, ct, mriHeadMask, unshiftM);
  if (initialOverlap < minOverlap) {
    throw new RegistrationError(
      `cannot register ${what}: after the initial alignment (${initialization}) only ${(initialOverlap * 100).toFixed(1)}% of the MRI head ` +
        `lies inside the CT's field of view (minimum ${(minOverlap * 100).toFixed(0)}%): the images do not overlap; ` +
        (initialization === 'header' ? "use initialize 'centroids' (or --init centroids) when the two scanners' coordinates differ, or check the pairing" : 'check that MRI and CT show the same head'),
    );
  }

  // Fixed image: the MRI cropped to its head mask (plus a margin), bright outliers clamped.
  const marginMm = options.maskMarginMm ?? REGISTER_DEFAULTS.maskMarginMm;
  const box0 = findBoundingBox(mriHeadMask, mri.dims);
  if (box0 === undefined) throw new RegistrationError(`cannot register ${what}: the MRI head mask is empty`);
  const margin = mri.spacing.map((sp) => Math.ceil(marginMm / sp)) as Vec3;
  const box = growBox(box0, margin, mri.dims);
  const mriHi = percentile(mri.data, 99.5, { mask: mriHeadMask, what: `MRI of ${what}` });
  const fixedFull = {
    data: cropArray(clamped(mri.data, 0, mriHi), mri.dims, box),
    dims: box.size,
    spacing: mri.spacing,
    affine: croppedAffine(mri.affine, box.start),
  };
  const [ctLo, ctHi] = options.ctWindowHu ?? REGISTER_DEFAULTS.ctWindowHu;
  if (!(ctLo < ctHi)) throw new RegistrationError(`ctWindowHu must be [low, high] with low < high, got [${ctLo}, ${ctHi}]`);
  const movingFull = { data: clamped(ct.data, ctLo, ctHi), dims: ct.dims, spacing: ct.spacing, affine: multiplyAffines(shiftM, ct.affine) };
  // Both images block-averaged to about elastixSpacingMm (unchanged where already that coarse).
  const spacingMm = options.elastixSpacingMm ?? REGISTER_DEFAULTS.elastixSpacingMm;
  if (!(spacingMm >= 0)) throw new RegistrationError(`elastixSpacingMm must be 0 or a positive number of mm, got ${String(spacingMm)}`);
  const fixed = blockMean(fixedFull, blockFactors(mri.spacing, spacingMm));
  const moving = blockMean(movingFull, blockFactors(ct.spacing, spacingMm));
  let elastix;
  try {
    elastix = await elastixRigid(fixed, moving, { ...options, what });
  } catch (e) {
    throw new RegistrationError((e as Error).message, { cause: e });
  }
  const transform = shiftRecord(recordFromElastix(elastix), [-s[0], -s[1], -s[2]]);

  const ctOnMri = resampleToGrid(ct, mri, { interpolation: 'linear', fill: -1000, worldTransform: transform.matrix, what: `CT of ${what}` });
  const rot = matrixRotationDegrees(transform.matrix);
  const bodyOnMri = ctBodyMask(ctOnMri, mri.dims, bodyThreshold);
  const quality = judgeRegistration(
    {
      ...maskOverlap(mriHeadMask, bodyOnMri),
      nmi: normalizedMutualInformation(mri.data, ctOnMri, mriHeadMask),
      overlap: fovOverlap(mri, ct, mriHeadMask, transform.matrix),
      maxAbsRotationDegrees: Math.max(Math.abs(rot.x), Math.abs(rot.y), Math.abs(rot.z)),
    },
    options,
  );
  return { ctOnMri, transform, quality, initialization, seconds: (performance.now() - t0) / 1000, elastixSeconds: elastix.seconds };
}
