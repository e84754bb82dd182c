/**
 * Preprocesses one patient, the eight steps in order, after the pair is read, checked, brought to
 * canonical RAS+ order and put on one grid (load-pair.ts): N4 (MRI) → head mask → MRI-guided CT
 * artifact removal → outlier clipping → normalisation to [0,1] → ROI crop → resize of each axial
 * slice to S×S (square in mm) → clamp to [0,1]. Returns the cache arrays [slices, S, S], the
 * normalisation mapping and the geometry needed to put a prediction back into the original
 * volume (its storage order included), with per-step timings and notes on what was done to the
 * inputs. Reads the two image files; writes nothing (the cache builder does).
 * The MRI half is {@link preprocessMri}, which inference runs alone on a new MRI: training and
 * prediction share the same step code.
 */
import { axisCodes } from '../io/nifti-affine';
import type { Affine, Vec3, Volume } from '../io/volume';
import { Mri2ctError } from '../errors';
import type { PatientPair } from '../dataset/discover';
import type { ProgressCallback } from '../util/progress';
import { clamp01 } from './clamp';
import { clipCt, clipMri } from './clip';
import { type CropBox, cropBoxFromMask, cropVolume } from './crop';
import { removeCtArtifacts } from './ct-artifacts';
import { headMaskWithStats } from './head-mask';
import { loadPair, type LoadOptions, type PairSource } from './load-pair';
import { checkNotSkullStripped } from './skull-stripped';
import { PoorRegistrationError, registerCtToMri, type RegistrationResult } from '../register/register';
import { n4BiasFieldCorrection } from './n4';
import { normalizeCt, normalizedHu, normalizeMri } from './normalize';
import type { PreprocessParams } from './params';
import type { OrientationRecord } from './reorient';
import { resizeSlices, type SliceGeometry } from './resize';

export const STEP_NAMES = ['read', 'n4', 'mask', 'ct_artifacts', 'clip', 'normalize', 'crop', 'resize', 'clamp'] as const;
export type StepName = (typeof STEP_NAMES)[number];

/** Everything needed to map cache slices back to the original volume (stored in metadata/). */
export interface PatientGeometry {
  /** The volume's grid in canonical (RAS+) storage order, where crop and slices are defined. */
  dims: Vec3;
  spacing: Vec3;
  affine: Affine;
  /** Canonical orientation ('RAS'). */
  orientation: string;
  /** How the stored volume maps onto the canonical grid (original orientation, dims, affine). */
  reorientation?: OrientationRecord;
  /** ROI crop box in canonical voxels. */
  crop: CropBox;
  /** Pad-to-square (in mm) and resize of each cropped axial slice; pixelMm = mm per cache pixel. */
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
  /** Where the inputs came from and how they were aligned (storage orders, CT resampling). */
  source: PairSource;
  /** What was done to the inputs, and warnings (reoriented, resampled, oblique, registered). */
  notes: string[];
  /** The rigid registration of the CT to the MRI, when params.register asked for it. */
  registration?: Omit<RegistrationResult, 'ctOnMri'>;
}

export { checkVolume } from './input-checks';

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

  /** Restarts the clock without giving the time to a step (registration is timed on its own). */
  restart(): void {
    this.t = performance.now();
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
  /** Smallest plausible head mask in ml (default {@link MIN_HEAD_ML}); smaller is refused. */
  minHeadMl?: number;
}

/**
 * Smallest head mask accepted, in ml. A whole adult head above the skull base is about
 * 2,500–5,000 ml (the real T1s in ../shared/scans: 2,700–4,000 ml; the built-in phantom's
 * smallest heads about 1,740 ml); a brain alone 1,100–1,500 ml (the skull-stripped scans there:
 * MR_Gd 1,470 ml, stroke/T1 950 ml; the brain-only atlas spm152, 1,750 ml, passes this and is caught against its CT by
 * ./skull-stripped.ts). A brain-only
 * mask would let CT clean-up erase the skull, so such an MRI is refused.
 */
export const MIN_HEAD_ML = 1600;

/**
 * Steps 1, 2 and the MRI parts of 4–8 on one MRI volume: N4 → head mask → percentile clipping in
 * the head → normalisation → ROI crop → pad/resize → clamp. preprocessPatient runs exactly this
 * for the MRI of a pair (then the CT half with the same mask and crop box), and inference runs it
 * on a new MRI, so a model sees the same input either way.
 */
export function preprocessMri(mriImg: Volume<ArrayLike<number>> & { orientation?: string; reorientation?: OrientationRecord }, params: PreprocessParams, options: PreprocessMriOptions = {}): PreprocessedMri {
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
  const minMl = options.minHeadMl ?? MIN_HEAD_ML;
  if (maskStats.volumeMl < minMl) {
    throw new Mri2ctError(
      `the head mask of ${what} is only ${maskStats.volumeMl.toFixed(0)} ml (a whole head is 2,500–5,000 ml, a brain alone 1,100–1,500 ml): ` +
        'the MRI looks skull-stripped (brain only) or cut to a small field of view. The pipeline needs the whole head (skull and scalp) to pair it with the CT: ' +
        'use the MRI before brain extraction.',
    );
  }
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
  const pixelSpacing: [number, number] = [mriImg.spacing[0], mriImg.spacing[1]];
  const mriR = resizeSlices(mriC, { size, interpolation: 'bilinear', padValue: 0, pixelSpacing });
  const maskR = resizeSlices(maskC, { size, interpolation: 'nearest', padValue: 0, pixelSpacing });
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
      dims: mriImg.dims, spacing: mriImg.spacing, affine: mriImg.affine, orientation: mriImg.orientation ?? axisCodes(mriImg.affine),
      ...(mriImg.reorientation !== undefined ? { reorientation: mriImg.reorientation } : {}), crop: box, slices: mriR.geometry,
    },
    stats: { headVolumeMl: maskStats.volumeMl, n4Iterations: n4?.iterationsRun ?? [] },
    timings: timer.timings,
  };
}

export async function preprocessPatient(pair: PatientPair, params: PreprocessParams, onProgress?: ProgressCallback, options: LoadOptions = {}): Promise<PreprocessedPatient> {
  // read, the seven MRI steps, then the CT's artifacts, clip, normalize, crop, resize, clamp
  const timer = new StepTimer(pair.id, 1 + MRI_STEP_NAMES.length + 6, onProgress);
  const loaded = await loadPair(pair, { ...options, align: params.register !== undefined ? 'none' : 'header' });
  const mriImg = loaded.mri;
  let ctImg = loaded.ct;
  timer.lap('read');

  const m = preprocessMri(mriImg, params, { what: `MRI of patient ${pair.id} (${pair.mri})`, maskWhat: `head mask of patient ${pair.id}`, timer });

  // Optional rigid registration (elastix) of the CT to the MRI, inside the MRI's head mask.
  let registration: PreprocessedPatient['registration'];
  if (params.register === undefined) checkNotSkullStripped(m.headMask, ctImg.data, { id: pair.id, mri: pair.mri });
  else {
    const { ctOnMri, ...reg } = await registerCtToMri(mriImg, ctImg, m.headMask, { what: `patient ${pair.id}` });
    if (!reg.quality.ok) {
      throw new PoorRegistrationError(
        `patient ${pair.id}: the rigid registration of CT ${pair.ct} to MRI ${pair.mri} is poor (${reg.quality.reasons.join('; ')}). ` +
          (reg.quality.skullStripped === true
            ? `${pair.mri} has no skull or scalp to register the CT by.`
            : 'Check that both files are of the same patient and cover the head; try `mri2ct register --init centroids` on this pair to inspect it.'),
        reg,
      );
    }
    registration = reg;
    timer.restart(); // the registration's time is reg.seconds, not part of ct_artifacts
    ctImg = { data: ctOnMri, dims: [...mriImg.dims], spacing: [...mriImg.spacing], affine: mriImg.affine.map((r) => [...r]) };
    const t = reg.transform;
    loaded.notes.push(`CT registered to the MRI (rigid, ${reg.seconds.toFixed(1)} s): rotation ${[t.rotationDegrees.x, t.rotationDegrees.y, t.rotationDegrees.z].map((v) => v.toFixed(1)).join('/')}°, translation ${[t.translationMm.x, t.translationMm.y, t.translationMm.z].map((v) => v.toFixed(1)).join('/')} mm, head/body Dice ${reg.quality.dice.toFixed(3)}`);
  }

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
  const ctR = resizeSlices(ctC, { size: params.resize.size, interpolation: 'bilinear', padValue: air, pixelSpacing: [mriImg.spacing[0], mriImg.spacing[1]] });
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
    source: loaded.source,
    notes: loaded.notes,
    ...(registration !== undefined ? { registration } : {}),
  };
}
