/**
 * SynthRAD2023 image-similarity metrics of a synthetic CT against the real CT inside a mask: MAE
 * in HU, PSNR in dB and SSIM, and the bulk-density baseline (water inside the head, air outside)
 * to compare a model against.
 *
 * Definitions follow the challenge's evaluation code, github.com/SynthRAD2023/metrics,
 * functions/image_metrics.py (class ImageMetrics: `dynamic_range = [-1024., 3000.]`, score_patient
 * calls psnr(..., use_population_range=True)):
 *  - both volumes clipped to the population range [−1024, 3000] HU, data range L = 3000 − (−1024)
 *    = 4024 HU;
 *  - MAE = Σ_mask |CT − sCT| / |mask|  (their `np.sum(np.abs(gt*mask - pred*mask))/mask.sum()`).
 *    SynthRAD2023's `mae` itself does not clip; we clip as for PSNR/SSIM (our issue asks for it;
 *    it only matters for CT voxels outside the window, e.g. metal above 3000 HU);
 *  - PSNR = 10·log10(L² / MSE), MSE = mean over mask voxels of (CT − sCT)² (they select
 *    `gt[mask==1]` and call skimage's peak_signal_noise_ratio with data_range = L); identical
 *    images give MSE 0 and PSNR +∞ (as skimage, which divides by zero);
 *  - SSIM: outside the mask both set to −1024, then shifted by +1024 (values in [0, 4024]),
 *    skimage's structural_similarity(gt, pred, data_range=L, full=True) on the whole 3D volume
 *    (7×7×7 uniform window, K1 0.01, K2 0.03, sample covariance), and the SSIM map averaged over
 *    the mask voxels after cropping 3 voxels from every side (`crop(ssim_map, pad)[crop(mask,
 *    pad).astype(bool)].mean()`): see ./ssim.ts. (Their score_patient passes the SimpleITK image
 *    instead of the mask array to ssim; the mask array is what is meant and what we use.)
 * A mask voxel counts when its value is > 0 (they binarise with `mask > 0`).
 * Must not: read or write files (src/infer/evaluate.ts does), or resample anything.
 */
import { Mri2ctError } from '../errors';
import type { Vec3 } from '../io/volume';
import { ssim3d } from './ssim';

/** SynthRAD2023's population HU range [−1024, 3000] (ImageMetrics.dynamic_range). */
export const SYNTHRAD_HU_RANGE = { min: -1024, max: 3000 } as const;

/** Its data range L = 3000 − (−1024) = 4024 HU, for PSNR and SSIM. */
export const SYNTHRAD_DATA_RANGE = SYNTHRAD_HU_RANGE.max - SYNTHRAD_HU_RANGE.min;

/** The bulk-density baseline's values: water inside the head, air outside. */
export const BULK_DENSITY = { waterHu: 0, airHu: -1000 } as const;

/** The three SynthRAD2023 image metrics of one patient. */
export interface ImageMetrics {
  /** Mean absolute error in HU inside the mask. */
  maeHu: number;
  /** Peak signal-to-noise ratio in dB inside the mask (+∞ for identical images). */
  psnrDb: number;
  /** Mean SSIM over the (cropped) mask. */
  ssim: number;
  /** Voxels in the mask. */
  maskVoxels: number;
}

/** Options of {@link imageMetrics}. */
export interface ImageMetricsOptions {
  /** HU range both images are clipped to; default SynthRAD's [−1024, 3000]. */
  range?: { min: number; max: number };
  /** Clip before MAE too (default true; SynthRAD2023's own mae does not clip, see the header). */
  clipMae?: boolean;
}

function clipValue(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

function checkInputs(ct: ArrayLike<number>, sct: ArrayLike<number>, mask: ArrayLike<number>): number {
  if (ct.length !== sct.length || ct.length !== mask.length) {
    throw new Mri2ctError(`CT, sCT and mask must have the same number of voxels (got ${ct.length}, ${sct.length}, ${mask.length}).`);
  }
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (Number(mask[i]) > 0) n++;
  if (n === 0) throw new Mri2ctError('the evaluation mask is empty: no voxel to compare (check the mask file or the head mask).');
  return n;
}

/** Σ_mask |CT − sCT| / |mask|, both clipped to `range` (null: no clipping). */
export function maskedMae(ct: ArrayLike<number>, sct: ArrayLike<number>, mask: ArrayLike<number>, range: { min: number; max: number } | null = SYNTHRAD_HU_RANGE): number {
  const n = checkInputs(ct, sct, mask);
  const lo = range?.min ?? -Infinity;
  const hi = range?.max ?? Infinity;
  let s = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!(Number(mask[i]) > 0)) continue;
    s += Math.abs(clipValue(Number(ct[i]), lo, hi) - clipValue(Number(sct[i]), lo, hi));
  }
  return s / n;
}

/** Mean squared error inside the mask after clipping to `range`. */
export function maskedMse(ct: ArrayLike<number>, sct: ArrayLike<number>, mask: ArrayLike<number>, range: { min: number; max: number } = SYNTHRAD_HU_RANGE): number {
  const n = checkInputs(ct, sct, mask);
  let s = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!(Number(mask[i]) > 0)) continue;
    const d = clipValue(Number(ct[i]), range.min, range.max) - clipValue(Number(sct[i]), range.min, range.max);
    s += d * d;
  }
  return s / n;
}

/** 10·log10(L² / MSE) inside the mask, L = range.max − range.min; +∞ when MSE is 0. */
export function maskedPsnr(ct: ArrayLike<number>, sct: ArrayLike<number>, mask: ArrayLike<number>, range: { min: number; max: number } = SYNTHRAD_HU_RANGE): number {
  const mse = maskedMse(ct, sct, mask, range);
  const L = range.max - range.min;
  return mse === 0 ? Infinity : 10 * Math.log10((L * L) / mse);
}

/**
 * SynthRAD2023's SSIM: clip to `range`, outside the mask → range.min, shift by −range.min (to
 * [0, L]), skimage-style 3D SSIM with data range L, mean of the map over the cropped mask.
 */
export function synthradSsim(ct: ArrayLike<number>, sct: ArrayLike<number>, mask: ArrayLike<number>, dims: Vec3, range: { min: number; max: number } = SYNTHRAD_HU_RANGE): number {
  checkInputs(ct, sct, mask);
  const n = ct.length;
  const a = new Float32Array(n);
  const b = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (!(Number(mask[i]) > 0)) continue; // stays 0 = range.min shifted
    a[i] = clipValue(Number(ct[i]), range.min, range.max) - range.min;
    b[i] = clipValue(Number(sct[i]), range.min, range.max) - range.min;
  }
  const r = ssim3d(a, b, dims, { dataRange: range.max - range.min, mask });
  if (r.maskedVoxels === 0) {
    throw new Mri2ctError(`SSIM: no mask voxel lies at least 3 voxels inside the ${dims.join('×')} volume (SynthRAD crops the SSIM map by the window radius).`);
  }
  return r.maskedMean;
}

/** MAE, PSNR and SSIM of sCT against CT inside the mask (all three as SynthRAD2023 defines them). */
export function imageMetrics(ct: ArrayLike<number>, sct: ArrayLike<number>, mask: ArrayLike<number>, dims: Vec3, options: ImageMetricsOptions = {}): ImageMetrics {
  const range = options.range ?? SYNTHRAD_HU_RANGE;
  const maskVoxels = checkInputs(ct, sct, mask);
  return {
    maeHu: maskedMae(ct, sct, mask, options.clipMae === false ? null : range),
    psnrDb: maskedPsnr(ct, sct, mask, range),
    ssim: synthradSsim(ct, sct, mask, dims, range),
    maskVoxels,
  };
}

/** The bulk-density "sCT": water (0 HU) inside the mask, air (−1000 HU) outside. */
export function bulkDensityCt(mask: ArrayLike<number>, values: { waterHu: number; airHu: number } = BULK_DENSITY): Float32Array {
  const out = new Float32Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = Number(mask[i]) > 0 ? values.waterHu : values.airHu;
  return out;
}

/** Mean and sample standard deviation (n − 1; 0 for a single value) of the finite values. */
export function meanSd(values: readonly number[]): { mean: number; sd: number; n: number; nonFinite: number } {
  const finite = values.filter((v) => Number.isFinite(v));
  const n = finite.length;
  if (n === 0) return { mean: NaN, sd: NaN, n: 0, nonFinite: values.length };
  const mean = finite.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(finite.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, n, nonFinite: values.length - n };
}
