/**
 * 3D structural similarity (SSIM), computed like scikit-image's `structural_similarity` with its
 * defaults (which SynthRAD2023 uses): a uniform 7×7×7 window, K1 = 0.01, K2 = 0.03, sample
 * covariance, and the mean over the volume cropped by the window radius (3 voxels per side).
 *
 * Formulas (Wang, Bovik, Sheikh & Simoncelli 2004, "Image quality assessment: from error
 * visibility to structural similarity", IEEE TIP 13(4), eq. 13; skimage/metrics/_structural_similarity.py):
 *   per voxel, over the N = 7³ = 343 voxels of the window centred on it,
 *     μx = Σx / N,  μy = Σy / N,
 *     σx² = (Σx²/N − μx²) · N/(N−1),  σy² likewise,  σxy = (Σxy/N − μx·μy) · N/(N−1)   (sample covariance)
 *     C1 = (K1·L)²,  C2 = (K2·L)²  with L the data range,
 *     SSIM = (2μxμy + C1)(2σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2)).
 *   skimage filters with scipy's uniform_filter (mode 'reflect') over the whole volume, then
 *   averages the map after cropping `pad = (7 − 1)/2 = 3` voxels from every side. In the cropped
 *   interior every window lies inside the volume, so the border mode never matters: this module
 *   only computes the interior ("valid") windows.
 *
 * Efficiency: the window sums of x, y, x², y², xy are separable box sums, done with running sums
 * along x, then y (per slice), then z over a ring of 7 slices, in float64: O(voxels) time and
 * O(7 slices) memory. With integer-valued HU images every partial sum is an exact integer in
 * float64 (|sums| < 2^53), so the running add/subtract loses nothing.
 * Must not: read files or know about masks' meaning (the caller chooses which voxels to average).
 */
import { ConfigError } from '../errors';
import type { Vec3 } from '../io/volume';

/** Options of {@link ssim3d}. */
export interface Ssim3dOptions {
  /** Data range L of the images (e.g. 4024 HU for SynthRAD's [−1024, 3000] window). Required. */
  dataRange: number;
  /** Side of the cubic window (odd, ≥ 3). Default 7 (skimage's default). */
  winSize?: number;
  /** Default 0.01. */
  k1?: number;
  /** Default 0.03. */
  k2?: number;
  /** N/(N−1) normalisation of (co)variances (skimage's default true); false: population covariance. */
  sampleCovariance?: boolean;
  /**
   * Average the SSIM map only over interior voxels where mask ≠ 0 (SynthRAD2023: crop(ssim_map,
   * pad)[crop(mask, pad)].mean()). The plain mean over the interior is returned anyway.
   */
  mask?: ArrayLike<number>;
  /** Called with each interior voxel's flat index and SSIM value (for maps/pictures). */
  onVoxel?: (index: number, ssim: number) => void;
}

/** Result of {@link ssim3d}. */
export interface Ssim3dResult {
  /** Mean SSIM over the interior (skimage's `mssim`). */
  mean: number;
  /** Mean SSIM over interior voxels inside `mask` (NaN when no mask was given or none is inside). */
  maskedMean: number;
  /** Interior voxels averaged for `mean`. */
  interiorVoxels: number;
  /** Interior voxels inside the mask. */
  maskedVoxels: number;
}

/**
 * SSIM of two volumes a, b of the same dims (NIfTI order, x fastest), skimage-style; see the
 * module header. Throws ConfigError when a dimension is smaller than the window.
 */
export function ssim3d(a: ArrayLike<number>, b: ArrayLike<number>, dims: Vec3, options: Ssim3dOptions): Ssim3dResult {
  const [nx, ny, nz] = dims;
  const n = nx * ny * nz;
  if (a.length !== n || b.length !== n) throw new ConfigError(`ssim3d: images have ${a.length} and ${b.length} voxels, dims ${dims.join('×')} need ${n}`);
  const w = options.winSize ?? 7;
  if (!Number.isInteger(w) || w < 3 || w % 2 === 0) throw new ConfigError(`ssim3d: winSize ${w} must be an odd integer ≥ 3`);
  if (nx < w || ny < w || nz < w) {
    throw new ConfigError(`SSIM needs at least ${w} voxels along every axis (window ${w}×${w}×${w}, as skimage), but the volume is ${dims.join('×')}`);
  }
  const L = options.dataRange;
  if (!(L > 0) || !Number.isFinite(L)) throw new ConfigError(`ssim3d: dataRange ${L} must be a positive number`);
  const mask = options.mask;
  if (mask !== undefined && mask.length !== n) throw new ConfigError(`ssim3d: mask has ${mask.length} voxels, the images ${n}`);
  const k1 = options.k1 ?? 0.01;
  const k2 = options.k2 ?? 0.03;
  const NP = w * w * w;
  const covNorm = options.sampleCovariance === false ? 1 : NP / (NP - 1);
  const C1 = (k1 * L) ** 2;
  const C2 = (k2 * L) ** 2;
  const pad = (w - 1) / 2;
  const vx = nx - w + 1; // valid outputs along x
  const vy = ny - w + 1;
  const plane = vx * vy;
  const Q = 5; // x, y, x², y², xy

  // ring[slot][q]: the 2D window sums (valid region) of quantity q of one input slice
  const ring = Array.from({ length: w }, () => Array.from({ length: Q }, () => new Float64Array(plane)));
  const acc = Array.from({ length: Q }, () => new Float64Array(plane));
  const rowSums = Array.from({ length: Q }, () => new Float64Array(vx * ny));
  const line = Array.from({ length: Q }, () => new Float64Array(nx));

  let sum = 0;
  let count = 0;
  let mSum = 0;
  let mCount = 0;
  for (let z = 0; z < nz; z++) {
    const slot = ring[z % w] as Float64Array[];
    // the slice leaving the z window
    if (z >= w) for (let q = 0; q < Q; q++) subtractInto(acc[q] as Float64Array, slot[q] as Float64Array);
    // 1) window sums along x for every row of slice z
    for (let y = 0; y < ny; y++) {
      const base = nx * (y + ny * z);
      const l0 = line[0] as Float64Array, l1 = line[1] as Float64Array, l2 = line[2] as Float64Array, l3 = line[3] as Float64Array, l4 = line[4] as Float64Array;
      for (let x = 0; x < nx; x++) {
        const av = Number(a[base + x]);
        const bv = Number(b[base + x]);
        l0[x] = av;
        l1[x] = bv;
        l2[x] = av * av;
        l3[x] = bv * bv;
        l4[x] = av * bv;
      }
      for (let q = 0; q < Q; q++) boxValid(line[q] as Float64Array, nx, w, rowSums[q] as Float64Array, y * vx);
    }
    // 2) window sums along y → slot
    for (let q = 0; q < Q; q++) boxColumns(rowSums[q] as Float64Array, vx, ny, w, slot[q] as Float64Array);
    for (let q = 0; q < Q; q++) addInto(acc[q] as Float64Array, slot[q] as Float64Array);
    if (z < w - 1) continue;
    // 3) acc now holds the 3D window sums centred on slice zc
    const zc = z - pad;
    const [sa, sb, saa, sbb, sab] = acc as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
    for (let j = 0; j < vy; j++) {
      const rowIndex = nx * (j + pad + ny * zc) + pad;
      for (let i = 0; i < vx; i++) {
        const k = j * vx + i;
        const ux = (sa[k] as number) / NP;
        const uy = (sb[k] as number) / NP;
        const vxx = covNorm * ((saa[k] as number) / NP - ux * ux);
        const vyy = covNorm * ((sbb[k] as number) / NP - uy * uy);
        const vxy = covNorm * ((sab[k] as number) / NP - ux * uy);
        const s = ((2 * ux * uy + C1) * (2 * vxy + C2)) / ((ux * ux + uy * uy + C1) * (vxx + vyy + C2));
        sum += s;
        count += 1;
        const idx = rowIndex + i;
        if (mask !== undefined && Number(mask[idx]) !== 0) {
          mSum += s;
          mCount += 1;
        }
        options.onVoxel?.(idx, s);
      }
    }
  }
  return { mean: sum / count, maskedMean: mCount > 0 ? mSum / mCount : NaN, interiorVoxels: count, maskedVoxels: mCount };
}

/** out[offset + i] = Σ_{k<w} src[i + k] for i in 0..n−w (running sum). */
function boxValid(src: Float64Array, n: number, w: number, out: Float64Array, offset: number): void {
  let s = 0;
  for (let k = 0; k < w; k++) s += src[k] as number;
  out[offset] = s;
  for (let i = 1; i + w <= n; i++) {
    s += (src[i + w - 1] as number) - (src[i - 1] as number);
    out[offset + i] = s;
  }
}

/** Window sums along y of rows (ny rows of width vx) into vy = ny − w + 1 rows. */
function boxColumns(rows: Float64Array, vx: number, ny: number, w: number, out: Float64Array): void {
  out.fill(0, 0, vx);
  for (let y = 0; y < w; y++) {
    const r = y * vx;
    for (let i = 0; i < vx; i++) out[i] = (out[i] as number) + (rows[r + i] as number);
  }
  for (let j = 1; j + w <= ny; j++) {
    const prev = (j - 1) * vx;
    const cur = j * vx;
    const enter = (j + w - 1) * vx;
    const leave = (j - 1) * vx;
    for (let i = 0; i < vx; i++) out[cur + i] = (out[prev + i] as number) + (rows[enter + i] as number) - (rows[leave + i] as number);
  }
}

function addInto(dst: Float64Array, src: Float64Array): void {
  for (let i = 0; i < dst.length; i++) dst[i] = (dst[i] as number) + (src[i] as number);
}

function subtractInto(dst: Float64Array, src: Float64Array): void {
  for (let i = 0; i < dst.length; i++) dst[i] = (dst[i] as number) - (src[i] as number);
}
