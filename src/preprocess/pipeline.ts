/**
 * Preprocesses one patient, the eight steps in order: N4 (MRI) → head mask → MRI-guided CT
 * artifact removal → outlier clipping → normalisation to [0,1] → ROI crop → resize of each axial
 * slice to S×S → clamp to [0,1]. Returns the cache arrays [slices, S, S], the normalisation
 * mapping and the geometry needed to put a prediction back into the original volume, with
 * per-step timings. Reads the two NIfTI files; writes nothing (the cache builder does).
 * The MRI half is {@link preprocessMri}, which inference runs alone on a new MRI: training and
 * prediction share the same step code.
 */
import { readNifti } from '../io/nifti-read';
import { axisCodes } from '../io/nifti-affine';
import type { Affine, Vec3, Volume } from '../io/volume';
import { Mri2ctError, PairMismatchError } from '../errors';
import type { PatientPair } from '../dataset/discover';
import type { ProgressCallback } from '../util/progress';
import { clamp01 } from './clamp';
import { clipCt, clipMri } from './clip';
import { type CropBox, cropBoxFromMask, cropVolume } from './crop';
import { removeCtArtifacts } from './ct-artifacts';
import { headMaskWithStats } from './head-mask';
import { n4BiasFieldCorrection } from './n4';
import { normalizeCt, normalizedHu, normalizeMri } from './normalize';
import type { PreprocessParams } from './params';
import { resizeSlices, type SliceGeometry } from './resize';

export const STEP_NAMES = ['read', 'n4', 'mask', 'ct_artifacts', 'clip', 'normalize', 'crop', 'resize', 'clamp'] as const;
export type StepName = (typeof STEP_NAMES)[number];

/** Everything needed to map cache slices back to the original volume (stored in metadata/). */
export interface PatientGeometry {
  /** Original volume size and voxel geometry. */
  dims: Vec3;
  spacing: Vec3;
  affine: Affine;
  orientation: string;
  /** ROI crop box in original voxels. */
  crop: CropBox;
  /** Pad-to-square and resize of each cropped axial slice. */
  slices: SliceGeometry;
}

export interface PreprocessedPatient {
  id: string;
  /** [slices, S, S] row-major, x fastest; mri and ct in [0,1], mask 0/1. */
  mri: Float32Array;
  ct: Float32Array;
  mask: Uint8Array;
  shape: [number, number, number];
  /** value = (raw − min) / (max − min); CT's is the fixed HU window. */
  normalization: { mri: { min: number; max: number; method: string }; ct: { min: number; max: number; unit: 'HU'; method: string } };
  geometry: PatientGeometry;
  stats: { headVolumeMl: number; ctVoxelsCleared: number; n4Iterations: number[] };
  timings: Record<StepName, number>;
}

function sameGrid(a: { dims: Vec3; affine: Affine }, b: { dims: Vec3; affine: Affine }): string | undefined {
  if (a.dims.join() !== b.dims.join()) return `sizes differ (MRI ${a.dims.join('×')}, CT ${b.dims.join('×')})`;
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 4; c++) {
      const d = Math.abs((a.affine[r]?.[c] ?? 0) - (b.affine[r]?.[c] ?? 0));
      if (d > 1e-2 * (c === 3 ? 10 : 1)) return `affines differ (row ${r}, column ${c}: ${a.affine[r]?.[c]} vs ${b.affine[r]?.[c]})`;
    }
  }
  return undefined;
}

/** Rejects volumes the pipeline cannot handle: 2D images and non-finite voxels. */
export function checkVolume(img: { dims: Vec3; data: Float32Array }, file: string, what: string): void {
  if (img.dims[2] < 2 || img.dims[0] < 8 || img.dims[1] < 8) {
    throw new Mri2ctError(`${what} ${file} is ${img.dims.join('×')}: a 3D volume (at least 8×8×2) is needed, not a 2D image.`);
  }
  let bad = 0;
  for (let i = 0; i < img.data.length; i++) if (!Number.isFinite(img.data[i] ?? 0)) bad++;
  if (bad > 0) {
    throw new Mri2ctError(`${what} ${file} has ${bad} NaN/Inf voxel(s). Fix the export (or replace them, e.g. with 0 for MRI and −1000 HU for CT) and rerun.`);
  }
}

/**
 * Step timings and progress: `lap(step)` adds the time since the previous lap to that step (a step
 * may be timed in parts, e.g. the MRI and the CT halves of clipping) and reports one progress unit.
 */
export class StepTimer {
  readonly timings = Object.fromEntries(STEP_NAMES.map((s) => [s, 0])) as Record<StepName, number>;
  private t = performance.now();
  private done = 0;

  constructor(private readonly stage: string, private readonly total: number, private readonly onProgress?: ProgressCallback) {}

  lap(step: StepName, label: string = step): void {
    const now = performance.now();
    this.timings[step] += (now - this.t) / 1000;
    this.t = now;
    this.done += 1;
    this.onProgress?.({ stage: this.stage, done: Math.min(this.done, this.total), total: this.total, message: label });
  }
}

/** The MRI half of the pipeline: everything an MRI-only input (inference) goes through. */
export interface PreprocessedMri {
  /** [slices, S, S] row-major, x fastest, in [0,1]. */
  mri: Float32Array;
  /** Head mask resized like the slices (nearest), 0/1, [slices, S, S]. */
  mask: Uint8Array;
  /** Head mask on the input's own voxel grid (0/1, dims of the input). */
  headMask: Uint8Array;
  shape: [number, number, number];
  normalization: PreprocessedPatient['normalization']['mri'];
  geometry: PatientGeometry;
  stats: { headVolumeMl: number; n4Iterations: number[] };
  /** Seconds per step (CT-only steps stay 0 here). */
  timings: Record<StepName, number>;
}

/** Steps of {@link preprocessMri} (for progress totals). */
export const MRI_STEP_NAMES = ['n4', 'mask', 'clip', 'normalize', 'crop', 'resize', 'clamp'] as const satisfies readonly StepName[];

export interface PreprocessMriOptions {
  /** Names the MRI in error messages, e.g. "MRI of patient 12 (file)". */
  what?: string;
  /** Names the head mask in the crop step's error message (default "head mask of <what>"). */
  maskWhat?: string;
  /** Timer to lap (shared with the CT half by preprocessPatient); a fresh one by default. */
  timer?: StepTimer;
  /** Progress per step when no timer is given. */
  onProgress?: ProgressCallback;
}

/**
 * Steps 1, 2 and the MRI parts of 4–8 on one MRI volume: N4 → head mask → percentile clipping in
 * the head → normalisation → ROI crop → pad/resize → clamp. preprocessPatient runs exactly this
 * for the MRI of a pair (then the CT half with the same mask and crop box), and inference runs it
 * on a new MRI, so a model sees the same input either way.
 */
export function preprocessMri(mriImg: Volume<ArrayLike<number>> & { orientation?: string }, params: PreprocessParams, options: PreprocessMriOptions = {}): PreprocessedMri {
  const what = options.what ?? 'the MRI';
  const timer = options.timer ?? new StepTimer(what, MRI_STEP_NAMES.length, options.onProgress);
  const n4 = params.n4.enabled
    ? n4BiasFieldCorrection(mriImg, {
      shrinkFactor: params.n4.shrinkFactor, iterations: params.n4.iterations, convergenceThreshold: params.n4.convergenceThreshold,
      splineOrder: params.n4.splineOrder, controlPoints: params.n4.controlPoints,
    })
    : undefined;
  const mri = n4?.corrected ?? mriImg;
  timer.lap('n4');

  const { mask, stats: maskStats } = headMaskWithStats(mri, { ...params.headMask, what });
  timer.lap('mask');

  const mriClip = clipMri(mri, mask, { lowPercentile: params.clip.mriLowPercentile, highPercentile: params.clip.mriHighPercentile, what });
  timer.lap('clip');

  const mriNorm = normalizeMri(mriClip.volume, mriClip.low, mriClip.high);
  timer.lap('normalize');

  const box = cropBoxFromMask(mask, mriImg.dims, { marginMm: params.crop.marginMm, spacing: mriImg.spacing, what: options.maskWhat ?? `head mask of ${what}` });
  const maskVol = { data: mask, dims: mriImg.dims, spacing: mriImg.spacing, affine: mriImg.affine };
  const [mriC, maskC] = [cropVolume(mriNorm.volume, box), cropVolume(maskVol, box)];
  timer.lap('crop');

  const size = params.resize.size;
  const mriR = resizeSlices(mriC, { size, interpolation: 'bilinear', padValue: 0 });
  const maskR = resizeSlices(maskC, { size, interpolation: 'nearest', padValue: 0 });
  timer.lap('resize');

  const mriOut = clamp01(mriR.data, { inPlace: true });
  const maskOut = new Uint8Array(maskR.data.length);
  for (let i = 0; i < maskOut.length; i++) maskOut[i] = (maskR.data[i] ?? 0) > 0.5 ? 1 : 0;
  timer.lap('clamp');

  return {
    mri: mriOut,
    mask: maskOut,
    headMask: mask,
    shape: [maskC.dims[2], size, size],
    normalization: { min: mriClip.low, max: mriClip.high, method: `percentile-${params.clip.mriLowPercentile}-${params.clip.mriHighPercentile}-in-head${params.n4.enabled ? '-after-n4' : ''}` },
    geometry: {
      dims: mriImg.dims, spacing: mriImg.spacing, affine: mriImg.affine, orientation: mriImg.orientation ?? axisCodes(mriImg.affine), crop: box, slices: mriR.geometry,
    },
    stats: { headVolumeMl: maskStats.volumeMl, n4Iterations: n4?.iterationsRun ?? [] },
    timings: timer.timings,
  };
}

export async function preprocessPatient(pair: PatientPair, params: PreprocessParams, onProgress?: ProgressCallback): Promise<PreprocessedPatient> {
  // read, the seven MRI steps, then the CT's artifacts, clip, normalize, crop, resize, clamp
  const timer = new StepTimer(pair.id, 1 + MRI_STEP_NAMES.length + 6, onProgress);
  const [mriImg, ctImg] = await Promise.all([readNifti(pair.mri), readNifti(pair.ct)]);
  checkVolume(mriImg, pair.mri, 'MRI');
  checkVolume(ctImg, pair.ct, 'CT');
  const mismatch = sameGrid(mriImg, ctImg);
  if (mismatch !== undefined) {
    throw new PairMismatchError(`patient ${pair.id}: MRI ${pair.mri} and CT ${pair.ct} are not on the same voxel grid: ${mismatch}. ` +
      'Resample the CT onto the MRI grid (paired data must be co-registered, as SynthRAD2023 is).');
  }
  timer.lap('read');

  const m = preprocessMri(mriImg, params, { what: `MRI of patient ${pair.id} (${pair.mri})`, maskWhat: `head mask of patient ${pair.id}`, timer });

  // The CT half: the same head mask, crop box and slice geometry as the MRI.
  const cleaned = removeCtArtifacts(ctImg, m.headMask, { ...params.ctArtifacts, what: `CT of patient ${pair.id} (${pair.ct})` });
  timer.lap('ct_artifacts');
  const ctClip = clipCt(cleaned.volume, { minHu: params.clip.ctMinHu, maxHu: params.clip.ctMaxHu });
  timer.lap('clip', 'clip (CT)');
  const ctNorm = normalizeCt(ctClip.volume, params.clip.ctMinHu, params.clip.ctMaxHu);
  timer.lap('normalize', 'normalize (CT)');
  const ctC = cropVolume(ctNorm.volume, m.geometry.crop);
  timer.lap('crop', 'crop (CT)');
  const air = normalizedHu(params.ctArtifacts.airHu, params.clip.ctMinHu, params.clip.ctMaxHu);
  const ctR = resizeSlices(ctC, { size: params.resize.size, interpolation: 'bilinear', padValue: air });
  timer.lap('resize', 'resize (CT)');
  const ctOut = clamp01(ctR.data, { inPlace: true });
  timer.lap('clamp', 'clamp (CT)');

  return {
    id: pair.id,
    mri: m.mri,
    ct: ctOut,
    mask: m.mask,
    shape: m.shape,
    normalization: {
      mri: m.normalization,
      ct: { min: params.clip.ctMinHu, max: params.clip.ctMaxHu, unit: 'HU', method: 'fixed-window' },
    },
    geometry: m.geometry,
    stats: { headVolumeMl: m.stats.headVolumeMl, ctVoxelsCleared: cleaned.changedVoxels, n4Iterations: m.stats.n4Iterations },
    timings: timer.timings,
  };
}
