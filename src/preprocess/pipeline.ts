/**
 * Preprocesses one patient, the eight steps in order: N4 (MRI) → head mask → MRI-guided CT
 * artifact removal → outlier clipping → normalisation to [0,1] → ROI crop → resize of each axial
 * slice to S×S → clamp to [0,1]. Returns the cache arrays [slices, S, S], the normalisation
 * mapping and the geometry needed to put a prediction back into the original volume, with
 * per-step timings. Reads the two NIfTI files; writes nothing (the cache builder does).
 */
import { readNifti } from '../io/nifti-read';
import type { Affine, Vec3 } from '../io/volume';
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
function checkVolume(img: { dims: Vec3; data: Float32Array }, file: string, what: string): void {
  if (img.dims[2] < 2 || img.dims[0] < 8 || img.dims[1] < 8) {
    throw new Mri2ctError(`${what} ${file} is ${img.dims.join('×')}: a 3D volume (at least 8×8×2) is needed, not a 2D image.`);
  }
  let bad = 0;
  for (let i = 0; i < img.data.length; i++) if (!Number.isFinite(img.data[i] ?? 0)) bad++;
  if (bad > 0) {
    throw new Mri2ctError(`${what} ${file} has ${bad} NaN/Inf voxel(s). Fix the export (or replace them, e.g. with 0 for MRI and −1000 HU for CT) and rerun.`);
  }
}

export async function preprocessPatient(pair: PatientPair, params: PreprocessParams, onProgress?: ProgressCallback): Promise<PreprocessedPatient> {
  const timings = Object.fromEntries(STEP_NAMES.map((s) => [s, 0])) as Record<StepName, number>;
  let t = performance.now();
  let k = 0;
  const lap = (step: StepName): void => {
    const now = performance.now();
    timings[step] = (now - t) / 1000;
    t = now;
    k += 1;
    onProgress?.({ stage: pair.id, done: k, total: STEP_NAMES.length, message: step });
  };
  const [mriImg, ctImg] = await Promise.all([readNifti(pair.mri), readNifti(pair.ct)]);
  checkVolume(mriImg, pair.mri, 'MRI');
  checkVolume(ctImg, pair.ct, 'CT');
  const mismatch = sameGrid(mriImg, ctImg);
  if (mismatch !== undefined) {
    throw new PairMismatchError(`patient ${pair.id}: MRI ${pair.mri} and CT ${pair.ct} are not on the same voxel grid: ${mismatch}. ` +
      'Resample the CT onto the MRI grid (paired data must be co-registered, as SynthRAD2023 is).');
  }
  lap('read');

  const what = `MRI of patient ${pair.id} (${pair.mri})`;
  const n4 = params.n4.enabled
    ? n4BiasFieldCorrection(mriImg, {
      shrinkFactor: params.n4.shrinkFactor, iterations: params.n4.iterations, convergenceThreshold: params.n4.convergenceThreshold,
      splineOrder: params.n4.splineOrder, controlPoints: params.n4.controlPoints,
    })
    : undefined;
  const mri = n4?.corrected ?? mriImg;
  lap('n4');

  const { mask, stats: maskStats } = headMaskWithStats(mri, { ...params.headMask, what });
  lap('mask');

  const cleaned = removeCtArtifacts(ctImg, mask, { ...params.ctArtifacts, what: `CT of patient ${pair.id} (${pair.ct})` });
  lap('ct_artifacts');

  const mriClip = clipMri(mri, mask, { lowPercentile: params.clip.mriLowPercentile, highPercentile: params.clip.mriHighPercentile, what });
  const ctClip = clipCt(cleaned.volume, { minHu: params.clip.ctMinHu, maxHu: params.clip.ctMaxHu });
  lap('clip');

  const mriNorm = normalizeMri(mriClip.volume, mriClip.low, mriClip.high);
  const ctNorm = normalizeCt(ctClip.volume, params.clip.ctMinHu, params.clip.ctMaxHu);
  lap('normalize');

  const box = cropBoxFromMask(mask, mriImg.dims, { marginMm: params.crop.marginMm, spacing: mriImg.spacing, what: `head mask of patient ${pair.id}` });
  const maskVol = { data: mask, dims: mriImg.dims, spacing: mriImg.spacing, affine: mriImg.affine };
  const [mriC, ctC, maskC] = [cropVolume(mriNorm.volume, box), cropVolume(ctNorm.volume, box), cropVolume(maskVol, box)];
  lap('crop');

  const size = params.resize.size;
  const air = normalizedHu(params.ctArtifacts.airHu, params.clip.ctMinHu, params.clip.ctMaxHu);
  const mriR = resizeSlices(mriC, { size, interpolation: 'bilinear', padValue: 0 });
  const ctR = resizeSlices(ctC, { size, interpolation: 'bilinear', padValue: air });
  const maskR = resizeSlices(maskC, { size, interpolation: 'nearest', padValue: 0 });
  lap('resize');

  const mriOut = clamp01(mriR.data, { inPlace: true });
  const ctOut = clamp01(ctR.data, { inPlace: true });
  const maskOut = new Uint8Array(maskR.data.length);
  for (let i = 0; i < maskOut.length; i++) maskOut[i] = (maskR.data[i] ?? 0) > 0.5 ? 1 : 0;
  lap('clamp');

  return {
    id: pair.id,
    mri: mriOut,
    ct: ctOut,
    mask: maskOut,
    shape: [maskC.dims[2], size, size],
    normalization: {
      mri: { min: mriClip.low, max: mriClip.high, method: `percentile-${params.clip.mriLowPercentile}-${params.clip.mriHighPercentile}-in-head${params.n4.enabled ? '-after-n4' : ''}` },
      ct: { min: params.clip.ctMinHu, max: params.clip.ctMaxHu, unit: 'HU', method: 'fixed-window' },
    },
    geometry: { dims: mriImg.dims, spacing: mriImg.spacing, affine: mriImg.affine, orientation: mriImg.orientation, crop: box, slices: mriR.geometry },
    stats: { headVolumeMl: maskStats.volumeMl, ctVoxelsCleared: cleaned.changedVoxels, n4Iterations: n4?.iterationsRun ?? [] },
    timings,
  };
}
