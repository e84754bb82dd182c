/**
 * Step 4 of preprocessing: outlier clipping. MRI: robust percentiles measured inside the head
 * mask (default 0.5 % and 99.5 %), then every voxel clipped to that range (bright vessels/fat
 * spikes and dark noise stop dominating the normalisation). CT: a fixed HU window
 * (default −1024…3000: air to dense bone; metal and padding values are clipped).
 * Must not normalise (that is step 5) and must not modify its inputs.
 */

import { ConfigError } from '../errors';
import type { Volume } from '../io/volume';
import { checkLength, checkNumber } from './arrays';
import { percentiles } from './percentile';

/** Options of {@link clipMri}. Percentiles are in percent (0–100). */
export interface MriClipOptions {
  /** Lower percentile inside the mask. Default 0.5. */
  lowPercentile?: number;
  /** Upper percentile inside the mask. Default 99.5. */
  highPercentile?: number;
  /** Names the MRI in error messages (e.g. "MRI of patient 12"). */
  what?: string;
}

/** Options of {@link clipCt}. */
export interface CtClipOptions {
  /** Lowest HU kept. Default −1024. */
  minHu?: number;
  /** Highest HU kept. Default 3000. */
  maxHu?: number;
}

/** Default MRI clip percentiles (record them with the cache metadata). */
export const MRI_CLIP_DEFAULTS = { lowPercentile: 0.5, highPercentile: 99.5 } as const;

/** Default CT HU window, also the CT normalisation range. */
export const CT_CLIP_DEFAULTS = { minHu: -1024, maxHu: 3000 } as const;

/** A clipped volume and the range it was clipped to. */
export interface ClipResult {
  /** New Float32Array volume, every value in [low, high] (NaN stays NaN). */
  volume: Volume<Float32Array>;
  /** Clip range used. */
  low: number;
  high: number;
  /** Voxels raised to low / lowered to high. */
  clippedLow: number;
  clippedHigh: number;
}

/** Clips the MRI to robust percentiles measured inside the head mask. */
export function clipMri(
  mri: Volume<ArrayLike<number>>,
  mask: ArrayLike<number>,
  options: MriClipOptions = {},
): ClipResult {
  const lowP = checkNumber(options.lowPercentile ?? MRI_CLIP_DEFAULTS.lowPercentile, 'lowPercentile', 0);
  const highP = checkNumber(options.highPercentile ?? MRI_CLIP_DEFAULTS.highPercentile, 'highPercentile', 0);
  if (highP > 100 || lowP >= highP) {
    throw new ConfigError(`need 0 ≤ lowPercentile < highPercentile ≤ 100, got ${lowP} and ${highP}`);
  }
  const what = options.what ?? 'the MRI';
  checkLength(mri.data, mri.dims, what);
  const [low, high] = percentiles(mri.data, [lowP, highP], { mask, what: `the head mask of ${what}` }) as [
    number,
    number,
  ];
  return clipVolume(mri, low, high);
}

/** Clips the CT to a fixed HU window. */
export function clipCt(ct: Volume<ArrayLike<number>>, options: CtClipOptions = {}): ClipResult {
  const minHu = checkNumber(options.minHu ?? CT_CLIP_DEFAULTS.minHu, 'minHu');
  const maxHu = checkNumber(options.maxHu ?? CT_CLIP_DEFAULTS.maxHu, 'maxHu');
  if (minHu >= maxHu) throw new ConfigError(`need minHu < maxHu, got ${minHu} and ${maxHu}`);
  checkLength(ct.data, ct.dims, 'the CT');
  return clipVolume(ct, minHu, maxHu);
}

/** Copies a volume into Float32Array data with every value clipped to [low, high]. */
export function clipVolume(vol: Volume<ArrayLike<number>>, low: number, high: number): ClipResult {
  const n = vol.data.length;
  const out = new Float32Array(n);
  let clippedLow = 0;
  let clippedHigh = 0;
  for (let i = 0; i < n; i++) {
    const v = vol.data[i] as number;
    if (v < low) {
      out[i] = low;
      clippedLow++;
    } else if (v > high) {
      out[i] = high;
      clippedHigh++;
    } else out[i] = v;
  }
  return {
    volume: { data: out, dims: [...vol.dims], spacing: [...vol.spacing], affine: vol.affine.map((r) => r.slice()) },
    low,
    high,
    clippedLow,
    clippedHigh,
  };
}
