/**
 * Checks on the input volumes before any preprocessing, so a bad pair fails with a reason and a
 * fix instead of poisoning the cache: 2D images and 4D series (unless one volume is named),
 * NaN/Inf voxels, constant or empty images, an "MRI" with Hounsfield-like values (a CT, or the
 * MRI and CT folders swapped) and a "CT" whose air is not near −1000 HU (a missing rescale
 * intercept, Cormack or other non-HU units). Works on intensity statistics of a voxel sample;
 * the head-mask plausibility checks live with the mask (head-mask.ts).
 * Must not modify volumes or read files.
 */
import { Mri2ctError, PairMismatchError } from '../errors';
import type { Vec3 } from '../io/volume';
import { looksLikeHu } from '../io/hu-rule';

/** Intensity statistics of a volume (from an evenly strided sample of at most ~1M voxels). */
export interface IntensityProfile {
  min: number;
  max: number;
  /** 1st, 50th and 99th percentiles. */
  p1: number;
  p50: number;
  p99: number;
  /** Fraction of voxels below −500 (air in HU). */
  belowMinus500: number;
  /** Fraction of voxels equal to the most common value. */
  modeFraction: number;
}

const SAMPLE = 1 << 20;

/** Intensity statistics of `data` (finite values assumed: run after the NaN check). */
export function intensityProfile(data: ArrayLike<number>): IntensityProfile {
  const stride = Math.max(1, Math.floor(data.length / SAMPLE));
  const n = Math.floor((data.length - 1) / stride) + 1;
  const s = new Float32Array(n);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0, k = 0; k < n; i += stride, k++) s[k] = data[i] as number;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  s.sort();
  const q = (f: number): number => s[Math.min(n - 1, Math.floor(f * (n - 1)))] as number;
  let below = 0;
  let run = 1;
  let best = 1;
  for (let k = 0; k < n; k++) {
    if ((s[k] as number) < -500) below++;
    if (k > 0) {
      run = s[k] === s[k - 1] ? run + 1 : 1;
      if (run > best) best = run;
    }
  }
  return { min, max, p1: q(0.01), p50: q(0.5), p99: q(0.99), belowMinus500: below / n, modeFraction: best / n };
}

/** Rejects what no step can handle: 2D images, non-finite voxels, constant or empty images. */
export function checkVolume(img: { dims: Vec3; data: ArrayLike<number> }, file: string, what: string): IntensityProfile {
  if (img.dims[2] < 2 || img.dims[0] < 8 || img.dims[1] < 8) {
    throw new Mri2ctError(`${what} ${file} is ${img.dims.join('×')}: a 3D volume (at least 8×8×2) is needed, not a 2D image.`);
  }
  let bad = 0;
  for (let i = 0; i < img.data.length; i++) if (!Number.isFinite(img.data[i] ?? 0)) bad++;
  if (bad > 0) {
    throw new Mri2ctError(`${what} ${file} has ${bad} NaN/Inf voxel(s). Fix the export (or replace them, e.g. with 0 for MRI and −1000 HU for CT) and rerun.`);
  }
  const p = intensityProfile(img.data);
  if (p.max === p.min) {
    throw new Mri2ctError(`${what} ${file} is constant (every voxel is ${p.min}): an empty or failed export. Re-export the series.`);
  }
  if (p.modeFraction > 0.995) {
    throw new Mri2ctError(`${what} ${file} is almost empty: ${(100 * p.modeFraction).toFixed(2)}% of its voxels hold the same value. Re-export the series.`);
  }
  return p;
}

/** Rejects a 4D (or higher) file unless the caller named the volume to take. */
export function checkSingleVolume(info: { volumeCount: number; shape?: number[] }, file: string, what: string, volumeIndex: number | undefined): void {
  if (info.volumeCount > 1 && volumeIndex === undefined) {
    throw new Mri2ctError(
      `${what} ${file} holds ${info.volumeCount} volumes (shape ${(info.shape ?? []).join('×')}): a 4D series, not one 3D image. ` +
        'Pass --volume N (0-based) to take one of them, or export the 3D image you mean.',
    );
  }
}

const fmt = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3));

export { looksLikeHu };

/** Why a CT's values are not Hounsfield units, or undefined when they look like HU. */
function notHuReason(p: IntensityProfile): string | undefined {
  if (looksLikeHu(p)) return undefined;
  let hint = '';
  if (p.p1 >= -100 && p.p1 <= 100 && p.max > 1500) hint = ' Air at about 0 with bone far above 1000 suggests stored values without their rescale intercept (HU = value − 1024) or a template in other units (e.g. Cormack).';
  else if (p.p1 >= -100 && p.p1 <= 100) hint = ' Air at about 0 suggests values without their rescale intercept (HU = value − 1024).';
  return `its darkest voxels (1st percentile ${fmt(p.p1)}, minimum ${fmt(p.min)}) are not near −1000 HU, where air is in a CT in Hounsfield units.${hint}`;
}

/**
 * The MRI half of {@link checkModalities} for an MRI that comes without its CT (predict): rejects
 * an "MRI" with Hounsfield-like values (a CT passed by mistake).
 */
export function checkLoneMri(p: IntensityProfile, file: string): void {
  if (looksLikeHu(p)) {
    throw new Mri2ctError(
      `MRI ${file} looks like a CT, not an MRI: ${(100 * p.belowMinus500).toFixed(0)}% of its voxels are below −500 (values ${p.min.toFixed(0)}..${p.max.toFixed(0)}). ` +
        'Pass the MR image (e.g. mr.nii.gz), not the CT.',
    );
  }
}

/**
 * Checks that the MRI does not look like a CT and the CT looks like HU; names a swap of the two
 * folders when both are wrong the same way round.
 */
export function checkModalities(mri: IntensityProfile, ct: IntensityProfile, files: { id: string; mri: string; ct: string }): void {
  const mriIsCt = looksLikeHu(mri);
  const ctReason = notHuReason(ct);
  if (mriIsCt && ctReason !== undefined) {
    throw new PairMismatchError(
      `patient ${files.id}: the MRI ${files.mri} looks like a CT (1st percentile ${fmt(mri.p1)}, ${(100 * mri.belowMinus500).toFixed(0)}% of voxels below −500) and the CT ${files.ct} does not (${ctReason}) ` +
        '— the MRI and CT files are probably swapped. Put each file in the right folder (MRI dir / CT dir, or mr.* / ct.*) and rerun.',
    );
  }
  if (mriIsCt) {
    throw new PairMismatchError(
      `patient ${files.id}: the MRI ${files.mri} has Hounsfield-like values (1st percentile ${fmt(mri.p1)}, ${(100 * mri.belowMinus500).toFixed(0)}% of voxels below −500): it looks like a CT, not an MRI. Check which file is which.`,
    );
  }
  if (ctReason !== undefined) {
    throw new PairMismatchError(
      `patient ${files.id}: the CT ${files.ct} does not look like a CT in HU: ${ctReason} Convert it to HU (apply RescaleSlope/RescaleIntercept, or the template's own conversion) and rerun.`,
    );
  }
}
