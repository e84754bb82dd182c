/**
 * Uniform B-spline basis functions and per-axis weight tables.
 *
 * Conventions follow ITK's BSplineScatteredDataPointSetToImageFilter / BSplineControlPointImageFilter
 * (Tustison & Gee, "Generalized n-D C^k B-spline scattered data approximation with confidence
 * values", Insight Journal 2005; Lee, Wolberg & Shin, "Scattered data interpolation with multilevel
 * B-splines", IEEE TVCG 3(3), 1997):
 *
 * - Along one axis, a lattice of `m = spans + order` control points c_0..c_{m-1} defines a spline
 *   on the parametric interval [0, spans). A parametric coordinate u lies in span s = floor(u)
 *   with local coordinate t = u - s, and the spline value there is
 *       f(u) = sum_{k=0..order} c_{s+k} * N_k(t),  N_k(t) = B_order(t - k + (order - 1) / 2)
 *   where B_order is the centred cardinal B-spline of that degree (ITK's BSplineKernelFunction,
 *   evaluated exactly as in ThreadedGenerateDataForFitting: u = p - floor(p) - k + 0.5 (order - 1)).
 * - The parametric interval [0, spans] is mapped linearly onto the physical domain. ITK clamps a
 *   point at exactly u = spans to spans - epsilon; here that point is evaluated in the last span
 *   at t = 1, which is the same value (the spline is continuous) without the epsilon fudge.
 *
 * Because every sample of a voxel grid shares its per-axis coordinates with a whole plane of other
 * samples, all weights are tabulated once per axis ({@link AxisBasis}) and 3-D weights are formed as
 * tensor products. That is what makes both the fit and the evaluation separable and fast.
 */

/** Binomial coefficient C(n, k) for small n (exact in double precision for n <= 50). */
export function binomial(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

/**
 * Centred cardinal B-spline of degree `order` at x (support (-(order+1)/2, (order+1)/2)).
 * Degrees 0–3 use closed forms; higher degrees the truncated-power formula
 * B_n(x) = 1/n! * sum_j (-1)^j C(n+1, j) (x + (n+1)/2 - j)_+^n.
 */
export function centeredBSpline(order: number, x: number): number {
  const a = Math.abs(x);
  switch (order) {
    case 0:
      return a < 0.5 ? 1 : a === 0.5 ? 0.5 : 0;
    case 1:
      return a < 1 ? 1 - a : 0;
    case 2:
      if (a < 0.5) return 0.75 - a * a;
      if (a < 1.5) return 0.5 * (1.5 - a) * (1.5 - a);
      return 0;
    case 3:
      if (a < 1) return (4 - 6 * a * a + 3 * a * a * a) / 6;
      if (a < 2) return ((2 - a) * (2 - a) * (2 - a)) / 6;
      return 0;
    default: {
      const half = (order + 1) / 2;
      if (a >= half) return 0;
      let sum = 0;
      let factorial = 1;
      for (let i = 2; i <= order; i++) factorial *= i;
      for (let j = 0; j <= order + 1; j++) {
        const v = a + half - j;
        if (v <= 0) break;
        sum += (j % 2 === 0 ? 1 : -1) * binomial(order + 1, j) * Math.pow(v, order);
      }
      return sum / factorial;
    }
  }
}

/**
 * Precomputed B-spline weights of one axis for a fixed list of sample positions.
 * Sample i depends on control points span[i] .. span[i] + order with weights
 * weights[i * (order + 1) + k].
 */
export interface AxisBasis {
  /** Number of samples along the axis. */
  readonly count: number;
  /** Spline degree. */
  readonly order: number;
  /** Number of control points along the axis (spans + order). */
  readonly controlPoints: number;
  /** Index of the first control point that influences each sample. */
  readonly span: Int32Array;
  /** (order + 1) weights per sample, row-major. */
  readonly weights: Float64Array;
}

/**
 * Builds the weight table of one axis.
 *
 * @param positions sample positions in the axis' physical unit (here: full-resolution voxel index)
 * @param domainStart physical coordinate mapped to parametric u = 0
 * @param domainLength physical length mapped to the whole parametric range [0, spans]
 * @param controlPoints number of control points along the axis (> order)
 * @param order spline degree
 */
export function buildAxisBasis(
  positions: ArrayLike<number>,
  domainStart: number,
  domainLength: number,
  controlPoints: number,
  order: number,
): AxisBasis {
  const spans = controlPoints - order;
  const count = positions.length;
  const k1 = order + 1;
  const span = new Int32Array(count);
  const weights = new Float64Array(count * k1);
  const scale = domainLength > 0 ? spans / domainLength : 0;
  const shift = 0.5 * (order - 1);
  for (let i = 0; i < count; i++) {
    let u = ((positions[i] as number) - domainStart) * scale;
    // Clamp into the closed domain [0, spans]; positions are inside it by construction, this only
    // absorbs rounding.
    if (u < 0) u = 0;
    if (u > spans) u = spans;
    let s = Math.floor(u);
    if (s > spans - 1) s = spans - 1;
    const t = u - s;
    span[i] = s;
    for (let k = 0; k < k1; k++) weights[i * k1 + k] = centeredBSpline(order, t - k + shift);
  }
  return { count, order, controlPoints, span, weights };
}
