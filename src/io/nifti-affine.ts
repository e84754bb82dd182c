/**
 * Affine maths for NIfTI headers, following nibabel's rules so that our files and theirs agree:
 * qform quaternion <-> matrix (with qfac), nibabel's fallback "base" affine, and axis codes
 * (nibabel.aff2axcodes). Pure 3×3 / 4×4 arithmetic on plain numbers: must not know about bytes,
 * files or header layouts.
 */

import type { Affine, Vec3 } from './volume';

/** 3×3 matrix, row-major. */
export type Mat3 = [Vec3, Vec3, Vec3];

/** Quaternion form of an affine, as stored in the NIfTI qform fields. */
export interface Quatern {
  /** quatern_b, quatern_c, quatern_d (quatern_a is implied, >= 0). */
  b: number;
  c: number;
  d: number;
  /** qoffset_x, qoffset_y, qoffset_z. */
  offset: Vec3;
  /** pixdim[1..3]: column norms of the affine. */
  zooms: Vec3;
  /** pixdim[0]: -1 for a left-handed voxel grid, else 1. */
  qfac: 1 | -1;
}

/** Element (r, c) of a row-major affine; NaN when missing. */
export function affineEntry(affine: Affine, r: number, c: number): number {
  return affine[r]?.[c] ?? Number.NaN;
}

/** True when `affine` is a 4×4 array of finite numbers. */
export function isFiniteAffine(affine: unknown): affine is Affine {
  return (
    Array.isArray(affine) &&
    affine.length === 4 &&
    affine.every((row) => Array.isArray(row) && row.length === 4 && row.every((v) => Number.isFinite(v)))
  );
}

/** The upper-left 3×3 block of an affine. */
export function linearPart(affine: Affine): Mat3 {
  const row = (r: number): Vec3 => [affineEntry(affine, r, 0), affineEntry(affine, r, 1), affineEntry(affine, r, 2)];
  return [row(0), row(1), row(2)];
}

/** Builds a 4×4 affine from a 3×3 block and a translation. */
export function composeAffine(m: Mat3, t: Vec3): Affine {
  return [[...m[0], t[0]], [...m[1], t[1]], [...m[2], t[2]], [0, 0, 0, 1]];
}

/** Euclidean norms of the first three columns of an affine (the voxel sizes it encodes). */
export function columnNorms(affine: Affine): Vec3 {
  const m = linearPart(affine);
  const norm = (c: 0 | 1 | 2): number => Math.hypot(m[0][c], m[1][c], m[2][c]);
  return [norm(0), norm(1), norm(2)];
}

/** Determinant of a 3×3 matrix. */
export function det3(m: Mat3): number {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
}

function inverseTranspose3(m: Mat3): Mat3 | undefined {
  const det = det3(m);
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12) return undefined;
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  // Cofactor matrix divided by det is inverse^T.
  return [
    [(e * i - f * h) / det, -(d * i - f * g) / det, (d * h - e * g) / det],
    [-(b * i - c * h) / det, (a * i - c * g) / det, -(a * h - b * g) / det],
    [(b * f - c * e) / det, -(a * f - c * d) / det, (a * e - b * d) / det],
  ];
}

/**
 * Closest orthogonal matrix to `m` (orthogonal factor of the polar decomposition, what nibabel
 * computes as P·Qs from the SVD), by Newton iteration. Undefined when `m` is singular.
 */
export function nearestOrthogonal(m: Mat3): Mat3 | undefined {
  let x: Mat3 = [[...m[0]], [...m[1]], [...m[2]]];
  for (let iter = 0; iter < 100; iter++) {
    const it = inverseTranspose3(x);
    if (it === undefined) return undefined;
    let change = 0;
    const next = x.map((row, r) =>
      row.map((v, c) => {
        const n = 0.5 * (v + (it[r]?.[c] ?? 0));
        change = Math.max(change, Math.abs(n - v));
        return n;
      }),
    ) as Mat3;
    x = next;
    if (change < 1e-15) break;
  }
  return x;
}

/**
 * Rotation matrix of a quaternion (w, x, y, z), normalising it first (nibabel quat2mat).
 */
export function quaternionToMatrix(w: number, x: number, y: number, z: number): Mat3 {
  const nq = w * w + x * x + y * y + z * z;
  if (nq < 2.220446049250313e-16) return [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
  const s = 2 / nq;
  const [X, Y, Z] = [x * s, y * s, z * s];
  const [wX, wY, wZ] = [w * X, w * Y, w * Z];
  const [xX, xY, xZ] = [x * X, x * Y, x * Z];
  const [yY, yZ, zZ] = [y * Y, y * Z, z * Z];
  return [
    [1 - (yY + zZ), xY - wZ, xZ + wY],
    [xY + wZ, 1 - (xX + zZ), yZ - wX],
    [xZ - wY, yZ + wX, 1 - (xX + yY)],
  ];
}

/** Unit quaternion (w >= 0) of a rotation matrix (Shepperd's method). */
export function matrixToQuaternion(m: Mat3): [number, number, number, number] {
  const [[m00, m01, m02], [m10, m11, m12], [m20, m21, m22]] = m;
  const trace = m00 + m11 + m22;
  let q: [number, number, number, number];
  if (trace > 0) {
    const s = Math.sqrt(trace + 1) * 2;
    q = [s / 4, (m21 - m12) / s, (m02 - m20) / s, (m10 - m01) / s];
  } else if (m00 > m11 && m00 > m22) {
    const s = Math.sqrt(1 + m00 - m11 - m22) * 2;
    q = [(m21 - m12) / s, s / 4, (m01 + m10) / s, (m02 + m20) / s];
  } else if (m11 > m22) {
    const s = Math.sqrt(1 + m11 - m00 - m22) * 2;
    q = [(m02 - m20) / s, (m01 + m10) / s, s / 4, (m12 + m21) / s];
  } else {
    const s = Math.sqrt(1 + m22 - m00 - m11) * 2;
    q = [(m10 - m01) / s, (m02 + m20) / s, (m12 + m21) / s, s / 4];
  }
  const n = Math.hypot(...q);
  const sign = q[0] < 0 ? -1 : 1;
  return [(sign * q[0]) / n, (sign * q[1]) / n, (sign * q[2]) / n, (sign * q[3]) / n];
}

/**
 * The qform affine from header fields (nibabel Nifti1Header.get_qform): quatern_a is recovered
 * as sqrt(1 - b² - c² - d²) (0 when rounding makes that negative), voxel sizes are |pixdim|
 * and the third column is multiplied by qfac (pixdim[0]; anything negative counts as -1).
 */
export function qformAffine(b: number, c: number, d: number, offset: Vec3, pixdim: Vec3, qfac: number): Affine {
  const a = Math.sqrt(Math.max(0, 1 - (b * b + c * c + d * d)));
  const r = quaternionToMatrix(a, b, c, d);
  const s: Vec3 = [Math.abs(pixdim[0]), Math.abs(pixdim[1]), Math.abs(pixdim[2]) * (qfac < 0 ? -1 : 1)];
  const m = r.map((row) => [row[0] * s[0], row[1] * s[1], row[2] * s[2]]) as Mat3;
  return composeAffine(m, offset);
}

/**
 * The affine nibabel uses when neither sform nor qform is set (shape_zoom_affine with x flip):
 * voxel sizes on the diagonal, x negated (radiological convention), origin at the grid centre.
 */
export function baseAffine(dims: Vec3, zooms: Vec3): Affine {
  const z: Vec3 = [-zooms[0], zooms[1], zooms[2]];
  const t = (i: 0 | 1 | 2): number => (-(dims[i] - 1) / 2) * z[i];
  return composeAffine(
    [
      [z[0], 0, 0],
      [0, z[1], 0],
      [0, 0, z[2]],
    ],
    [t(0), t(1), t(2)],
  );
}

/**
 * Quaternion decomposition of an affine (nibabel Nifti1Header.set_qform): zooms are the column
 * norms, qfac makes the rotation proper, and shears are stripped by taking the nearest
 * orthogonal matrix. Undefined when the affine is singular.
 */
export function affineToQuatern(affine: Affine): Quatern | undefined {
  const zooms = columnNorms(affine);
  if (zooms.some((z) => !(z > 0))) return undefined;
  const m = linearPart(affine);
  const r = m.map((row) => [row[0] / zooms[0], row[1] / zooms[1], row[2] / zooms[2]]) as Mat3;
  const qfac: 1 | -1 = det3(r) > 0 ? 1 : -1;
  if (qfac < 0) for (const row of r) row[2] = -row[2];
  const pr = nearestOrthogonal(r);
  if (pr === undefined) return undefined;
  const [, b, c, d] = matrixToQuaternion(pr);
  const offset: Vec3 = [affineEntry(affine, 0, 3), affineEntry(affine, 1, 3), affineEntry(affine, 2, 3)];
  return { b, c, d, offset, zooms, qfac };
}

const AXIS_LABELS: [string, string][] = [
  ['L', 'R'],
  ['P', 'A'],
  ['I', 'S'],
];

/** Which world axis a voxel axis points along (0 = x/R, 1 = y/A, 2 = z/S) and in which sense. */
export interface AxisOrientation {
  /** World axis 0, 1 or 2; -1 when the affine collapses this voxel axis. */
  worldAxis: -1 | 0 | 1 | 2;
  /** +1 when the voxel index grows towards R/A/S, -1 towards L/P/I. */
  sign: 1 | -1;
}

/**
 * For each voxel axis, the world axis it points to most (nibabel.orientations.io_orientation):
 * the direction cosines are replaced by their nearest orthogonal matrix, then voxel axes are
 * assigned greedily in order, each taking the world axis of its largest cosine not yet taken.
 */
export function ioOrientation(affine: Affine): [AxisOrientation, AxisOrientation, AxisOrientation] {
  const zooms = columnNorms(affine).map((z) => (z === 0 ? 1 : z));
  const rs = linearPart(affine).map((row) => row.map((v, c) => v / (zooms[c] ?? 1))) as Mat3;
  const r = nearestOrthogonal(rs) ?? rs;
  const out: AxisOrientation[] = [];
  for (let inAx = 0; inAx < 3; inAx++) {
    const col = r.map((row) => row[inAx] ?? 0);
    if (col.every((v) => Math.abs(v) <= 1e-8)) {
      out.push({ worldAxis: -1, sign: 1 });
      continue;
    }
    let outAx: 0 | 1 | 2 = 0;
    for (const k of [1, 2] as const) if (Math.abs(col[k] ?? 0) > Math.abs(col[outAx] ?? 0)) outAx = k;
    out.push({ worldAxis: outAx, sign: (col[outAx] ?? 0) < 0 ? -1 : 1 });
    r[outAx] = [0, 0, 0];
  }
  return out as [AxisOrientation, AxisOrientation, AxisOrientation];
}

/**
 * Axis codes of an affine, e.g. 'RAS' or 'LPS': for each voxel axis, the world direction it
 * points to most (nibabel.aff2axcodes / io_orientation). An axis the affine collapses gets '?'.
 */
export function axisCodes(affine: Affine): string {
  return ioOrientation(affine)
    .map(({ worldAxis, sign }) => (worldAxis < 0 ? '?' : (AXIS_LABELS[worldAxis] ?? ['?', '?'])[sign < 0 ? 0 : 1]))
    .join('');
}

/**
 * How far the voxel axes are from the world axes, in degrees (nibabel.affines.obliquity, largest
 * over the three world axes): 0 for a grid stored along x/y/z, e.g. 18.5 for a tilted CT gantry.
 */
export function obliquityDegrees(affine: Affine): number {
  const zooms = columnNorms(affine).map((z) => (z === 0 ? 1 : z));
  const m = linearPart(affine);
  let worst = 0;
  for (let row = 0; row < 3; row++) {
    const best = Math.max(...[0, 1, 2].map((c) => Math.abs((m[row]?.[c] ?? 0) / (zooms[c] ?? 1))));
    worst = Math.max(worst, Math.acos(Math.min(1, best)));
  }
  return (worst * 180) / Math.PI;
}
