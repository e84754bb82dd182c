/**
 * The control-point lattice of a 3-D tensor-product B-spline (the representation of N4's log
 * bias field), and its refinement between fitting levels.
 */

import type { Vec3 } from '../../io/volume';
import { binomial } from './bspline-basis';

/** Control points of a 3-D uniform B-spline, x fastest: index = i + sx * (j + sy * k). */
export interface ControlPointLattice {
  /** Number of control points along x, y, z (each = spans + order). */
  size: Vec3;
  /** Spline degree (same on every axis). */
  order: number;
  /** Control-point values. */
  data: Float64Array;
}

/** A lattice of zeros. */
export function zeroLattice(size: Vec3, order: number): ControlPointLattice {
  return { size: [size[0], size[1], size[2]], order, data: new Float64Array(size[0] * size[1] * size[2]) };
}

/** In place: target += addend (lattices of the same size), ITK's AddImageFilter on the lattices. */
export function addLatticeInPlace(target: ControlPointLattice, addend: ControlPointLattice): void {
  const a = target.data;
  const b = addend.data;
  if (a.length !== b.length) throw new Error('addLatticeInPlace: lattice sizes differ');
  for (let i = 0; i < a.length; i++) a[i] = (a[i] as number) + (b[i] as number);
}

/**
 * One-dimensional refinement (knot insertion at every span midpoint) of a uniform B-spline of
 * degree n: the spline with spans' = 2 * spans and m' = 2 * (m - n) + n control points that is
 * exactly equal to the original one. From the two-scale relation of the centred B-spline,
 * B_n(x) = 2^-n sum_k C(n+1, k) B_n(2x - k + (n+1)/2), the refined coefficients are
 *     c'_i = 2^-n * sum_j C(n+1, i - 2j + n) * c_j.
 * For cubic splines this is the familiar c'_{2p} = (c_p + c_{p+1}) / 2,
 * c'_{2p+1} = (c_p + 6 c_{p+1} + c_{p+2}) / 8. ITK's RefineControlPointLattice computes the same
 * coefficients numerically (by an SVD solve in SetSplineOrder).
 */
function refinementMatrix(m: number, order: number): { rows: number; cols: number; coeff: Float64Array } {
  const rows = 2 * (m - order) + order;
  const coeff = new Float64Array(rows * m);
  const norm = Math.pow(2, -order);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < m; j++) {
      const k = i - 2 * j + order;
      if (k >= 0 && k <= order + 1) coeff[i * m + j] = norm * binomial(order + 1, k);
    }
  }
  return { rows, cols: m, coeff };
}

/** Applies a (rows × cols) matrix along one axis of a 3-D array. */
function applyAlongAxis(
  src: Float64Array,
  size: Vec3,
  axis: 0 | 1 | 2,
  mat: { rows: number; cols: number; coeff: Float64Array },
): { data: Float64Array; size: Vec3 } {
  const outSize: Vec3 = [size[0], size[1], size[2]];
  outSize[axis] = mat.rows;
  const out = new Float64Array(outSize[0] * outSize[1] * outSize[2]);
  const inStride = axis === 0 ? 1 : axis === 1 ? size[0] : size[0] * size[1];
  const outStride = axis === 0 ? 1 : axis === 1 ? outSize[0] : outSize[0] * outSize[1];
  // Iterate over all lines along `axis`.
  const [n0, n1] = axis === 0 ? [size[1], size[2]] : axis === 1 ? [size[0], size[2]] : [size[0], size[1]];
  for (let b = 0; b < n1; b++) {
    for (let a = 0; a < n0; a++) {
      let inBase: number;
      let outBase: number;
      if (axis === 0) {
        inBase = size[0] * (a + size[1] * b);
        outBase = outSize[0] * (a + outSize[1] * b);
      } else if (axis === 1) {
        inBase = a + size[0] * size[1] * b;
        outBase = a + outSize[0] * outSize[1] * b;
      } else {
        inBase = a + size[0] * b;
        outBase = a + outSize[0] * b;
      }
      for (let i = 0; i < mat.rows; i++) {
        let s = 0;
        const row = i * mat.cols;
        for (let j = 0; j < mat.cols; j++) {
          const c = mat.coeff[row + j] as number;
          if (c !== 0) s += c * (src[inBase + j * inStride] as number);
        }
        out[outBase + i * outStride] = s;
      }
    }
  }
  return { data: out, size: outSize };
}

/**
 * Doubles the number of spans along every axis without changing the spline
 * (numberOfControlPoints' = 2 * (numberOfControlPoints - order) + order), as ITK's N4 does between
 * fitting levels through BSplineControlPointImageFilter::RefineControlPointLattice.
 */
export function refineLattice(lattice: ControlPointLattice): ControlPointLattice {
  let data = lattice.data;
  let size: Vec3 = [lattice.size[0], lattice.size[1], lattice.size[2]];
  for (const axis of [0, 1, 2] as const) {
    const r = applyAlongAxis(data, size, axis, refinementMatrix(size[axis], lattice.order));
    data = r.data;
    size = r.size;
  }
  return { size, order: lattice.order, data };
}
