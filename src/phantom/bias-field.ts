/**
 * The MRI's true multiplicative bias field (receive-coil inhomogeneity): exp of a sum of a few
 * wide 3-D Gaussians in world space, affinely rescaled in the log domain so that over the head
 * mask it spans exactly [range[0], range[1]] ⊂ [0.7, 1.3]. Outside the head the field is clamped to
 * [0.5, 2.0]; values are quantised to multiples of 2^-12 ≈ 0.00024 (exact in float32, compresses well).
 * Gaussians are separable, so rendering costs one multiply-add per blob and one exp per voxel.
 * Must not: know about tissues or intensities (it only sees the head mask), or touch files.
 */

import type { Vec3 } from '../io/volume';
import type { PhantomGrid } from './grid';
import type { Rng } from './rng';

/** Documented bounds of the bias field. */
export const BIAS_BOUNDS = {
  /** Smallest field value inside the head mask. */
  headMin: 0.7,
  /** Largest field value inside the head mask. */
  headMax: 1.3,
  /** Smallest field value anywhere (clamp). */
  min: 0.5,
  /** Largest field value anywhere (clamp). */
  max: 2.0,
  /** Quantisation step of the stored field. */
  step: 1 / 4096,
} as const;

/** One Gaussian component of the log field. */
export interface BiasBlob {
  /** World position (mm). */
  centre: Vec3;
  /** Width (mm). */
  sigma: number;
  /** Weight before rescaling (arbitrary units). */
  amplitude: number;
}

/** One patient's bias field (JSON-serialisable). */
export interface BiasFieldModel {
  /** Components of the log field. */
  blobs: BiasBlob[];
  /** Field minimum and maximum over the head mask. */
  range: [number, number];
}

/** Samples 4 wide blobs centred 50–110 mm from the head centre and a head range in [0.7, 0.8]–[1.2, 1.3]. */
export function sampleBiasField(rng: Rng, headCentre: Vec3): BiasFieldModel {
  const blobs: BiasBlob[] = [];
  for (let k = 0; k < 4; k++) {
    let dx = rng.normal();
    let dy = rng.normal();
    let dz = rng.normal();
    const n = Math.hypot(dx, dy, dz) || 1;
    const dist = rng.range(50, 110);
    dx = (dx / n) * dist;
    dy = (dy / n) * dist;
    dz = (dz / n) * dist;
    blobs.push({
      centre: [headCentre[0] + dx, headCentre[1] + dy, headCentre[2] + dz],
      sigma: rng.range(70, 120),
      amplitude: rng.range(-1, 1),
    });
  }
  return { blobs, range: [rng.range(0.701, 0.8), rng.range(1.2, 1.299)] };
}

/** exp(−(world − c)² / 2σ²) along one axis. */
function axisGaussian(grid: PhantomGrid, axis: 0 | 1 | 2, centre: number, sigma: number): Float64Array {
  const n = grid.dims[axis];
  const g = new Float64Array(n);
  const k = 1 / (2 * sigma * sigma);
  for (let i = 0; i < n; i++) {
    const d = grid.origin[axis] + grid.spacing[axis] * i - centre;
    g[i] = Math.exp(-d * d * k);
  }
  return g;
}

/** Raw log field Σ a·gx·gy·gz (before rescaling) into `out`. */
function renderLogField(model: BiasFieldModel, grid: PhantomGrid, out: Float32Array): void {
  const [nx, ny, nz] = grid.dims;
  const k = model.blobs.length;
  const gx = new Float64Array(k * nx); // gx[j * nx + x]
  const gy = model.blobs.map((b) => axisGaussian(grid, 1, b.centre[1], b.sigma));
  const gz = model.blobs.map((b) => axisGaussian(grid, 2, b.centre[2], b.sigma));
  model.blobs.forEach((b, j) => gx.set(axisGaussian(grid, 0, b.centre[0], b.sigma), j * nx));
  const rowWeight = new Float64Array(k);
  const row = new Float64Array(nx);
  let idx = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      model.blobs.forEach((b, j) => (rowWeight[j] = b.amplitude * gy[j]![y]! * gz[j]![z]!));
      row.fill(0);
      for (let j = 0; j < k; j++) {
        const wj = rowWeight[j]!;
        const off = j * nx;
        for (let x = 0; x < nx; x++) row[x] = (row[x] ?? 0) + wj * (gx[off + x] ?? 0);
      }
      out.set(row, idx);
      idx += nx;
    }
  }
}

/**
 * Renders the bias field on the grid: the log field is rescaled so that over `headMask` it spans
 * exactly model.range, then clamped to [BIAS_BOUNDS.min, BIAS_BOUNDS.max] and quantised.
 */
export function renderBiasField(model: BiasFieldModel, grid: PhantomGrid, headMask: Uint8Array): Float32Array {
  const field = new Float32Array(headMask.length);
  renderLogField(model, grid, field);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < field.length; i++) {
    if (headMask[i] === 0) continue;
    const v = field[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const logLo = Math.log(model.range[0]);
  const logHi = Math.log(model.range[1]);
  const span = hi - lo;
  const gain = span > 1e-9 && Number.isFinite(span) ? (logHi - logLo) / span : 0;
  const base = span > 1e-9 && Number.isFinite(span) ? logLo - lo * gain : 0;
  const q = 1 / BIAS_BOUNDS.step;
  for (let i = 0; i < field.length; i++) {
    let b = Math.exp(base + gain * field[i]!);
    if (b < BIAS_BOUNDS.min) b = BIAS_BOUNDS.min;
    else if (b > BIAS_BOUNDS.max) b = BIAS_BOUNDS.max;
    field[i] = Math.round(b * q) / q;
  }
  return field;
}
