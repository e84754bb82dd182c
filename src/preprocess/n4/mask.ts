/**
 * Foreground selection for N4 when the caller gives no mask.
 *
 * ITK's filter without a mask uses every voxel (and keeps non-positive ones in the "log" image
 * unchanged, a well-known pitfall); ANTs users pass a head or brain mask. For a head MRI with air
 * around it the default here is: the finite, positive voxels brighter than half of Otsu's
 * threshold computed over all finite positive voxels (histogram of 256 bins on
 * [0, 99.9th percentile]). On T1 heads Otsu's threshold falls between grey matter and CSF, so
 * half of it still lies far above the Rician noise of the air (a few % of WM) while keeping most
 * of the head: on the phantom cohort it covers 85–90 % of the head at 99 % precision, and the
 * recovered field is clearly better than with Otsu's threshold itself (which keeps only ~60 % of
 * the head and leaves the field extrapolated over the rest). Pass an explicit mask for
 * skull-stripped or otherwise unusual images.
 */

/** Fraction of Otsu's threshold used by {@link defaultForegroundMask}. */
export const DEFAULT_MASK_OTSU_FRACTION = 0.5;

/** Otsu's threshold of the finite positive values (NaN when there are none). */
export function otsuThresholdPositive(data: ArrayLike<number>): number {
  const n = data.length;
  let max = -Infinity;
  let count = 0;
  for (let i = 0; i < n; i++) {
    const v = data[i] as number;
    if (v > 0 && v < Infinity) {
      count++;
      if (v > max) max = v;
    }
  }
  if (count === 0) return NaN;

  // Robust upper end: 99.9th percentile from a fine histogram.
  const fineBins = 4096;
  const fine = new Float64Array(fineBins);
  const fineScale = fineBins / max;
  for (let i = 0; i < n; i++) {
    const v = data[i] as number;
    if (v > 0 && v < Infinity) {
      const b = Math.min(fineBins - 1, Math.floor(v * fineScale));
      fine[b] = (fine[b] as number) + 1;
    }
  }
  let top = max;
  let acc = 0;
  for (let b = 0; b < fineBins; b++) {
    acc += fine[b] as number;
    if (acc >= 0.999 * count) {
      top = ((b + 1) / fineBins) * max;
      break;
    }
  }

  const bins = 256;
  const hist = new Float64Array(bins);
  const scale = bins / top;
  for (let i = 0; i < n; i++) {
    const v = data[i] as number;
    if (v > 0 && v < Infinity) {
      const b = Math.min(bins - 1, Math.floor(v * scale));
      hist[b] = (hist[b] as number) + 1;
    }
  }
  // Otsu: maximise the between-class variance over the split after bin t.
  let sumAll = 0;
  for (let b = 0; b < bins; b++) sumAll += (b + 0.5) * (hist[b] as number);
  let w0 = 0;
  let sum0 = 0;
  let best = -1;
  let bestT = 0;
  for (let t = 0; t < bins - 1; t++) {
    w0 += hist[t] as number;
    sum0 += (t + 0.5) * (hist[t] as number);
    const w1 = count - w0;
    if (w0 === 0 || w1 === 0) continue;
    const m0 = sum0 / w0;
    const m1 = (sumAll - sum0) / w1;
    const between = w0 * w1 * (m0 - m1) * (m0 - m1);
    if (between > best) {
      best = between;
      bestT = t;
    }
  }
  return ((bestT + 1) / bins) * top;
}

/**
 * Default N4 foreground: finite voxels above {@link DEFAULT_MASK_OTSU_FRACTION} ×
 * {@link otsuThresholdPositive}. Returns the threshold used (NaN when no voxel is positive).
 */
export function defaultForegroundMask(data: ArrayLike<number>): { mask: Uint8Array; threshold: number } {
  const threshold = DEFAULT_MASK_OTSU_FRACTION * otsuThresholdPositive(data);
  const mask = new Uint8Array(data.length);
  if (Number.isNaN(threshold)) return { mask, threshold };
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (v > threshold && v < Infinity) mask[i] = 1;
  }
  return { mask, threshold };
}
