/**
 * Percentiles of voxel values (optionally only inside a mask) in O(n) by quickselect, with
 * numpy's default "linear" interpolation on the sorted values a: rank h = (n − 1)·p/100,
 * value = a[⌊h⌋] + frac(h)·(a[⌊h⌋+1] − a[⌊h⌋]). Non-finite values (NaN, ±Infinity) are ignored.
 * Must not modify its inputs and must not sort the whole array (too slow on 10M voxels).
 */

import { ConfigError, Mri2ctError } from '../errors';

/** Options of {@link percentiles}. */
export interface PercentileOptions {
  /** Only voxels where mask[i] !== 0 count; same length as the values. */
  mask?: ArrayLike<number>;
  /** Names what is measured, for error messages (e.g. "MRI of patient 12"). */
  what?: string;
}

/** Copies the finite (and, with a mask, masked) values into a new Float64Array. */
export function collectValues(values: ArrayLike<number>, mask?: ArrayLike<number>): Float64Array {
  const n = values.length;
  if (mask !== undefined && mask.length !== n) {
    throw new ConfigError(`mask has ${mask.length} values but the data has ${n}`);
  }
  let count = 0;
  for (let i = 0; i < n; i++) {
    if ((mask === undefined || mask[i] !== 0) && Number.isFinite(values[i])) count++;
  }
  const out = new Float64Array(count);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    if ((mask === undefined || mask[i] !== 0) && Number.isFinite(v)) out[k++] = v;
  }
  return out;
}

/**
 * Rearranges a[lo..hi] (inclusive) so that a[k] holds the value of rank k, everything before it
 * is ≤ a[k] and everything after is ≥ a[k] (Hoare-style quickselect, robust to many equal values).
 */
export function selectInPlace(a: Float64Array, k: number, lo = 0, hi = a.length - 1): void {
  let l = lo;
  let r = hi;
  while (r > l) {
    const pivot = medianOfThree(a, l, (l + r) >>> 1, r);
    let i = l;
    let j = r;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const t = a[i] as number;
        a[i] = a[j] as number;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) r = j;
    else if (k >= i) l = i;
    else return;
  }
}

function medianOfThree(a: Float64Array, i: number, j: number, k: number): number {
  const x = a[i] as number;
  const y = a[j] as number;
  const z = a[k] as number;
  if (x < y) return y < z ? y : x < z ? z : x;
  return x < z ? x : y < z ? z : y;
}

/** Smallest value of a[lo..hi] (inclusive). */
function minOf(a: Float64Array, lo: number, hi: number): number {
  let m = Infinity;
  for (let i = lo; i <= hi; i++) if ((a[i] as number) < m) m = a[i] as number;
  return m;
}

/**
 * Percentiles `ps` (each in [0, 100]) of the finite values, numpy "linear" method.
 * Returns one value per requested percentile, in the order asked.
 * Throws Mri2ctError when there is no value to measure (empty mask).
 */
export function percentiles(
  values: ArrayLike<number>,
  ps: readonly number[],
  options: PercentileOptions = {},
): number[] {
  for (const p of ps) {
    if (!Number.isFinite(p) || p < 0 || p > 100) {
      throw new ConfigError(`percentile must be between 0 and 100, got ${String(p)}`);
    }
  }
  const a = collectValues(values, options.mask);
  const n = a.length;
  if (n === 0) {
    throw new Mri2ctError(
      `no finite value to take percentiles of in ${options.what ?? 'the data'}` +
        (options.mask !== undefined ? ' (the mask is empty)' : '') +
        ': check that the image is not blank and the mask was computed from it',
    );
  }
  // Select ranks in increasing order so each search only scans the part right of the previous one.
  const order = ps.map((_, i) => i).sort((i, j) => (ps[i] as number) - (ps[j] as number));
  const out = new Array<number>(ps.length).fill(0);
  let lo = 0;
  for (const idx of order) {
    const h = ((n - 1) * (ps[idx] as number)) / 100;
    const k = Math.floor(h);
    selectInPlace(a, k, lo, n - 1);
    const below = a[k] as number;
    const frac = h - k;
    out[idx] = frac > 0 && k + 1 < n ? below + frac * (minOf(a, k + 1, n - 1) - below) : below;
    lo = k;
  }
  return out;
}

/** One percentile p ∈ [0, 100] of the finite values; see {@link percentiles}. */
export function percentile(values: ArrayLike<number>, p: number, options: PercentileOptions = {}): number {
  return percentiles(values, [p], options)[0] as number;
}
