/**
 * Evaluation of a 3-D tensor-product B-spline lattice on a grid of samples, by separable
 * contraction (what ITK's BSplineControlPointImageFilter does with its "collapsed" lattices, but
 * ordered so that the big grid sees only (order + 1) multiply-adds per voxel):
 *
 *   e1[cx, cy, z] = sum_k lattice[cx, cy, span_z(z) + k] * Bz(z, k)        (lattice-sized × nz)
 *   e2[cx, y,  z] = sum_k e1[cx, span_y(y) + k, z]     * By(y, k)        (mx × ny × nz)
 *   f[x,  y,  z]  = sum_k e2[span_x(x) + k, y, z]      * Bx(x, k)        (the grid)
 */

import type { AxisBasis } from './bspline-basis';
import type { ControlPointLattice } from './lattice';
import type { SampleSet } from './samples';

function checkAxes(lattice: ControlPointLattice, axes: readonly [AxisBasis, AxisBasis, AxisBasis]): void {
  for (let d = 0; d < 3; d++) {
    const a = axes[d] as AxisBasis;
    if (a.controlPoints !== lattice.size[d] || a.order !== lattice.order) {
      throw new Error(`B-spline axis ${d} does not match the lattice (${a.controlPoints} vs ${lattice.size[d]})`);
    }
  }
}

/** The first two (small) passes: contract z then y; returns e2 of size mx × ny × nz. */
function contractZY(
  lattice: ControlPointLattice,
  ay: AxisBasis,
  az: AxisBasis,
  scratch?: { e1: Float64Array; e2: Float64Array },
): Float64Array {
  const [mx, my] = lattice.size;
  const k1 = lattice.order + 1;
  const ny = ay.count;
  const nz = az.count;
  const plane = mx * my;
  const src = lattice.data;

  const e1 = scratch?.e1 ?? new Float64Array(plane * nz);
  e1.fill(0);
  for (let z = 0; z < nz; z++) {
    const s = az.span[z] as number;
    const dst = plane * z;
    for (let k = 0; k < k1; k++) {
      const c = az.weights[z * k1 + k] as number;
      if (c === 0) continue;
      const from = plane * (s + k);
      for (let i = 0; i < plane; i++) e1[dst + i] = (e1[dst + i] as number) + c * (src[from + i] as number);
    }
  }

  const e2 = scratch?.e2 ?? new Float64Array(mx * ny * nz);
  e2.fill(0);
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      const s = ay.span[y] as number;
      const dst = mx * (y + ny * z);
      for (let k = 0; k < k1; k++) {
        const c = ay.weights[y * k1 + k] as number;
        if (c === 0) continue;
        const from = mx * (s + k + my * z);
        for (let cx = 0; cx < mx; cx++) e2[dst + cx] = (e2[dst + cx] as number) + c * (e1[from + cx] as number);
      }
    }
  }
  return e2;
}

/**
 * Evaluates the spline at the foreground samples of a grid (N4's per-iteration reconstruction of
 * the log bias field on the shrunk image). Construct once per lattice size; reuses its buffers.
 */
export class SampleEvaluator {
  private readonly axes: [AxisBasis, AxisBasis, AxisBasis];
  private readonly samples: SampleSet;
  private readonly scratch: { e1: Float64Array; e2: Float64Array };

  constructor(samples: SampleSet, axes: [AxisBasis, AxisBasis, AxisBasis]) {
    this.samples = samples;
    this.axes = axes;
    const [ax, ay, az] = axes;
    this.scratch = {
      e1: new Float64Array(ax.controlPoints * ay.controlPoints * az.count),
      e2: new Float64Array(ax.controlPoints * ay.count * az.count),
    };
  }

  /** Writes the spline value at every sample into out (length = samples.count). */
  evaluate(lattice: ControlPointLattice, out: Float64Array): void {
    checkAxes(lattice, this.axes);
    const [ax, ay, az] = this.axes;
    const e2 = contractZY(lattice, ay, az, this.scratch);
    const mx = lattice.size[0];
    const k1 = lattice.order + 1;
    const { count, x: sx, row: srow } = this.samples;
    const span = ax.span;
    const w = ax.weights;
    for (let j = 0; j < count; j++) {
      const xi = sx[j] as number;
      const base = (srow[j] as number) * mx + (span[xi] as number);
      const wb = xi * k1;
      let s = 0;
      for (let k = 0; k < k1; k++) s += (e2[base + k] as number) * (w[wb + k] as number);
      out[j] = s;
    }
  }
}

/**
 * Evaluates the spline on a whole grid, one x-row at a time: `onRow(row, values)` is called for
 * row = y + ny * z with the ax.count values of that row (the buffer is reused between calls).
 * Used for the full-resolution reconstruction of the bias field.
 */
export function evaluateLatticeRows(
  lattice: ControlPointLattice,
  axes: readonly [AxisBasis, AxisBasis, AxisBasis],
  onRow: (row: number, values: Float64Array) => void,
): void {
  checkAxes(lattice, axes);
  const [ax, ay, az] = axes;
  const e2 = contractZY(lattice, ay, az);
  const mx = lattice.size[0];
  const k1 = lattice.order + 1;
  const nx = ax.count;
  const rows = ay.count * az.count;
  const values = new Float64Array(nx);
  const span = ax.span;
  const w = ax.weights;
  if (k1 === 4) {
    // Cubic fast path (the default): unrolled inner product.
    for (let r = 0; r < rows; r++) {
      const rb = r * mx;
      for (let x = 0; x < nx; x++) {
        const b = rb + (span[x] as number);
        const wb = x * 4;
        values[x] =
          (e2[b] as number) * (w[wb] as number) +
          (e2[b + 1] as number) * (w[wb + 1] as number) +
          (e2[b + 2] as number) * (w[wb + 2] as number) +
          (e2[b + 3] as number) * (w[wb + 3] as number);
      }
      onRow(r, values);
    }
    return;
  }
  for (let r = 0; r < rows; r++) {
    const rb = r * mx;
    for (let x = 0; x < nx; x++) {
      const b = rb + (span[x] as number);
      const wb = x * k1;
      let s = 0;
      for (let k = 0; k < k1; k++) s += (e2[b + k] as number) * (w[wb + k] as number);
      values[x] = s;
    }
    onRow(r, values);
  }
}
