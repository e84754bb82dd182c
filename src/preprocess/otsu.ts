/**
 * Otsu's threshold: the intensity that best separates a histogram into two classes (maximum
 * between-class variance). Built on a fixed-bin histogram (default 256 bins) of the positive,
 * finite values, so the zero background of a scanner image does not dominate it. The histogram
 * spans [min, upper], upper = the 99.9th percentile by default (read off a fine 4096-bin
 * histogram), so a few extreme voxels cannot squeeze all tissue into a handful of bins; values
 * above upper fall into the last bin.
 * Must not threshold or modify the data: it only measures.
 */

import { ConfigError, Mri2ctError } from '../errors';

/** Options of {@link otsuThreshold}. */
export interface OtsuOptions {
  /** Number of histogram bins between the smallest and largest counted value. Default 256. */
  bins?: number;
  /** Count only values > 0 (ignores the zero/negative background). Default true. */
  positiveOnly?: boolean;
  /** Percentile (0–100] of the counted values that ends the histogram range. Default 99.9;
   * 100 uses the maximum. */
  upperPercentile?: number;
  /** Count only voxels where mask[i] !== 0. Default: every voxel. */
  mask?: ArrayLike<number>;
  /** Names the image, for error messages (e.g. "MRI of patient 12"). */
  what?: string;
}

/** Result of {@link otsuThreshold}. Foreground is `value > threshold`. */
export interface OtsuResult {
  /** The threshold: upper edge of the last histogram bin of the dark class. */
  threshold: number;
  /** Smallest and largest counted value. */
  min: number;
  max: number;
  /** End of the histogram range (≈ upperPercentile of the counted values, ≤ max). */
  upper: number;
  /** Number of values counted. */
  count: number;
}

/** Otsu's threshold of the (positive, finite, masked) values. */
export function otsuThreshold(values: ArrayLike<number>, options: OtsuOptions = {}): OtsuResult {
  const bins = options.bins ?? 256;
  if (!Number.isInteger(bins) || bins < 2) throw new ConfigError(`Otsu bins must be an integer ≥ 2, got ${bins}`);
  const positiveOnly = options.positiveOnly ?? true;
  const upperPercentile = options.upperPercentile ?? 99.9;
  if (!(upperPercentile > 0 && upperPercentile <= 100)) {
    throw new ConfigError(`Otsu upperPercentile must be in (0, 100], got ${String(upperPercentile)}`);
  }
  const { mask } = options;
  if (mask !== undefined && mask.length !== values.length) {
    throw new ConfigError(`Otsu mask has ${mask.length} values but the image has ${values.length}`);
  }
  const lowest = positiveOnly ? Number.MIN_VALUE : -Number.MAX_VALUE; // values below are not counted
  const range = valueRange(values, lowest, mask);
  if (range.count === 0) {
    throw new Mri2ctError(
      `no ${positiveOnly ? 'positive ' : ''}value to threshold in ${options.what ?? 'the image'}: ` +
        'the image is blank; check the file (and that intensities are not all ≤ 0)',
    );
  }
  const { min, max, count } = range;
  if (max === min) return { threshold: min, min, max, upper: max, count };
  let upper = max;
  if (upperPercentile < 100) {
    const fine = histogram(values, lowest, mask, min, max, FINE_BINS);
    upper = Math.min(max, min + ((percentileBin(fine, count, upperPercentile) + 1) * (max - min)) / FINE_BINS);
  }
  const hist = histogram(values, lowest, mask, min, upper, bins);
  const best = bestSplit(hist);
  return { threshold: min + ((best + 1) * (upper - min)) / bins, min, max, upper, count };
}

/** Bins of the fine histogram that locates the upper end of the range. */
const FINE_BINS = 4096;

/** Index of the bin holding the value of percentile p (0–100) of `count` histogram entries. */
function percentileBin(hist: Float64Array, count: number, p: number): number {
  const target = (p / 100) * count;
  let cumulative = 0;
  for (let b = 0; b < hist.length; b++) {
    cumulative += hist[b] as number;
    if (cumulative >= target) return b;
  }
  return hist.length - 1;
}

/** Min, max and count of the finite values ≥ lowest (inside the mask, if any). */
function valueRange(
  values: ArrayLike<number>,
  lowest: number,
  mask: ArrayLike<number> | undefined,
): { min: number; max: number; count: number } {
  let min = Infinity;
  let max = -Infinity;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    // v >= lowest is false for NaN; v <= MAX_VALUE is false for +Infinity
    if (!(v >= lowest && v <= Number.MAX_VALUE) || (mask !== undefined && mask[i] === 0)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    count++;
  }
  return { min, max, count };
}

/** Histogram of the counted values with `bins` equal bins over [min, max] (above max: last bin). */
function histogram(
  values: ArrayLike<number>,
  lowest: number,
  mask: ArrayLike<number> | undefined,
  min: number,
  max: number,
  bins: number,
): Float64Array {
  const counts = new Int32Array(bins);
  const scale = bins / (max - min);
  const last = bins - 1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!(v >= lowest && v <= Number.MAX_VALUE) || (mask !== undefined && mask[i] === 0)) continue;
    const t = (v - min) * scale;
    const bin = t >= last ? last : t | 0;
    counts[bin] = (counts[bin] ?? 0) + 1;
  }
  return Float64Array.from(counts);
}

/** Index of the last bin of the dark class that maximises the between-class variance. */
export function bestSplit(hist: Float64Array): number {
  let total = 0;
  let sumAll = 0;
  for (let b = 0; b < hist.length; b++) {
    total += hist[b] as number;
    sumAll += b * (hist[b] as number);
  }
  let w0 = 0;
  let sum0 = 0;
  let bestVar = -1;
  let best = 0;
  for (let b = 0; b < hist.length - 1; b++) {
    w0 += hist[b] as number;
    sum0 += b * (hist[b] as number);
    const w1 = total - w0;
    if (w0 === 0 || w1 === 0) continue;
    const d = sum0 / w0 - (sumAll - sum0) / w1;
    const between = w0 * w1 * d * d;
    if (between > bestVar) {
      bestVar = between;
      best = b;
    }
  }
  return best;
}
