/**
 * B-spline scattered-data approximation of the N4 residual field, as ITK's
 * BSplineScatteredDataPointSetToImageFilter computes it for one fitting level (Lee, Wolberg & Shin
 * 1997, eqs. 3–5, with Tustison & Gee's point weights). For each data point c with value z_c and
 * tensor-product weights w_{c,k} = prod_d B_d(k_d) on its (order+1)^3 neighbouring control points:
 *
 *     delta_k = sum_c  z_c * w_{c,k}^3 / sum_l w_{c,l}^2
 *     omega_k = sum_c  w_{c,k}^2
 *     phi_k   = delta_k / omega_k      (0 where no point touches control point k)
 *
 * N4 calls this filter with a single level on the current lattice size and adds the resulting phi
 * to its running log-bias-field lattice (UpdateBiasFieldEstimate); multilevel refinement happens in
 * the N4 driver between its own fitting levels.
 *
 * Separability. Both sums factor over the axes: w^3 and w^2 are products of per-axis terms and
 * sum_l w_{c,l}^2 = prod_d sum_{k_d} B_d(k_d)^2. So with per-axis tables
 *     a_d(i, k) = B_d(i, k)^3 / sum_k' B_d(i, k')^2   and   b_d(i, k) = B_d(i, k)^2
 * delta and omega are three successive banded contractions (x, then y, then z) of the data grid,
 * costing (order+1) multiply-adds per foreground voxel plus a few on much smaller intermediate
 * arrays, instead of (order+1)^3 per point. Omega depends only on the sample positions and the
 * lattice size, so it is computed once per level.
 */

import type { Vec3 } from '../../io/volume';
import type { AxisBasis } from './bspline-basis';
import type { ControlPointLattice } from './lattice';
import type { SampleSet } from './samples';

/** Per-axis table of w^3 / sum(w^2) (delta) or w^2 (omega). */
function axisTable(basis: AxisBasis, kind: 'delta' | 'omega'): Float64Array {
  const k1 = basis.order + 1;
  const out = new Float64Array(basis.count * k1);
  for (let i = 0; i < basis.count; i++) {
    let s2 = 0;
    for (let k = 0; k < k1; k++) {
      const w = basis.weights[i * k1 + k] as number;
      s2 += w * w;
    }
    for (let k = 0; k < k1; k++) {
      const w = basis.weights[i * k1 + k] as number;
      out[i * k1 + k] = kind === 'omega' ? w * w : (w * w * w) / s2;
    }
  }
  return out;
}

/**
 * Fits the residual of one N4 iteration on a fixed lattice size. Construct once per fitting level
 * (it precomputes the per-axis tables, omega and scratch buffers) and call {@link fit} every
 * iteration.
 */
export class LatticeFitter {
  readonly latticeSize: Vec3;
  readonly order: number;
  private readonly samples: SampleSet;
  private readonly axes: [AxisBasis, AxisBasis, AxisBasis];
  private readonly deltaTables: [Float64Array, Float64Array, Float64Array];
  private readonly omega: Float64Array;
  private readonly t1: Float64Array;
  private readonly t2: Float64Array;

  /**
   * @param samples foreground voxels of the sample grid
   * @param axes per-axis B-spline weights of the sample grid (all with the same order; their
   *   controlPoints give the lattice size)
   */
  constructor(samples: SampleSet, axes: [AxisBasis, AxisBasis, AxisBasis]) {
    this.samples = samples;
    this.axes = axes;
    this.order = axes[0].order;
    this.latticeSize = [axes[0].controlPoints, axes[1].controlPoints, axes[2].controlPoints];
    const [mx, my] = this.latticeSize;
    const [, ny, nz] = samples.dims;
    this.t1 = new Float64Array(mx * ny * nz);
    this.t2 = new Float64Array(mx * my * nz);
    this.deltaTables = [axisTable(axes[0], 'delta'), axisTable(axes[1], 'delta'), axisTable(axes[2], 'delta')];
    const omegaTables: [Float64Array, Float64Array, Float64Array] = [
      axisTable(axes[0], 'omega'),
      axisTable(axes[1], 'omega'),
      axisTable(axes[2], 'omega'),
    ];
    this.omega = this.contract(null, omegaTables);
  }

  /**
   * Lattice phi approximating the values (one per sample, in sample order) in the least-squares
   * sense of Lee et al.: phi = delta / omega.
   */
  fit(values: Float64Array): ControlPointLattice {
    const delta = this.contract(values, this.deltaTables);
    const omega = this.omega;
    for (let i = 0; i < delta.length; i++) {
      const o = omega[i] as number;
      const p = o > 0 ? (delta[i] as number) / o : 0;
      delta[i] = Number.isFinite(p) ? p : 0;
    }
    return { size: [this.latticeSize[0], this.latticeSize[1], this.latticeSize[2]], order: this.order, data: delta };
  }

  /**
   * sum over samples of value * prod_d table_d, scattered onto the lattice by three separable
   * passes. `values === null` means every sample has value 1.
   */
  private contract(values: Float64Array | null, tables: [Float64Array, Float64Array, Float64Array]): Float64Array {
    const k1 = this.order + 1;
    const [mx, my, mz] = this.latticeSize;
    const [, ny, nz] = this.samples.dims;
    const [tx, ty, tz] = tables;
    const spanX = this.axes[0].span;
    const spanY = this.axes[1].span;
    const spanZ = this.axes[2].span;

    // Pass 1 (x): t1[cx + mx * row] = sum_x value(x, row) * tx(x, cx - span(x)).
    const t1 = this.t1;
    t1.fill(0);
    const { count, x: sx, row: srow } = this.samples;
    for (let j = 0; j < count; j++) {
      const xi = sx[j] as number;
      const v = values === null ? 1 : (values[j] as number);
      const base = (srow[j] as number) * mx + (spanX[xi] as number);
      const w = xi * k1;
      for (let k = 0; k < k1; k++) t1[base + k] = (t1[base + k] as number) + v * (tx[w + k] as number);
    }

    // Pass 2 (y): t2[cx + mx * (cy + my * z)] = sum_y t1[cx + mx * (y + ny * z)] * ty(y, cy - span(y)).
    const t2 = this.t2;
    t2.fill(0);
    for (let z = 0; z < nz; z++) {
      for (let y = 0; y < ny; y++) {
        const src = mx * (y + ny * z);
        const s = spanY[y] as number;
        for (let k = 0; k < k1; k++) {
          const c = ty[y * k1 + k] as number;
          if (c === 0) continue;
          const dst = mx * (s + k + my * z);
          for (let cx = 0; cx < mx; cx++) t2[dst + cx] = (t2[dst + cx] as number) + c * (t1[src + cx] as number);
        }
      }
    }

    // Pass 3 (z): out[cx + mx * (cy + my * cz)] = sum_z t2[... z] * tz(z, cz - span(z)).
    const plane = mx * my;
    const out = new Float64Array(plane * mz);
    for (let z = 0; z < nz; z++) {
      const src = plane * z;
      const s = spanZ[z] as number;
      for (let k = 0; k < k1; k++) {
        const c = tz[z * k1 + k] as number;
        if (c === 0) continue;
        const dst = plane * (s + k);
        for (let i = 0; i < plane; i++) out[dst + i] = (out[dst + i] as number) + c * (t2[src + i] as number);
      }
    }
    return out;
  }
}
