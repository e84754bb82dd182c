/**
 * General 4×4 affine arithmetic on row-major `Affine` matrices: product, inverse, applying to a
 * point, and rigid transforms from/to Euler angles. Pure numbers only: must not know about
 * NIfTI headers, voxel data or files (nifti-affine.ts holds the header-specific maths).
 */

import { Mri2ctError } from '../errors';
import type { Mat3 } from './nifti-affine';
import type { Affine, Vec3 } from './volume';

/** The 4×4 identity. */
export function identityAffine(): Affine {
  return [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ];
}

function at(m: Affine, r: number, c: number): number {
  return m[r]?.[c] ?? (r === c ? 1 : 0);
}

/** a · b (apply b first, then a). Any number of matrices: multiplyAffines(a, b, c) = a·b·c. */
export function multiplyAffines(...ms: Affine[]): Affine {
  let out = identityAffine();
  for (const m of ms) {
    const next: Affine = [[], [], [], []];
    for (let r = 0; r < 4; r++) {
      for (let c = 0; c < 4; c++) {
        let s = 0;
        for (let k = 0; k < 4; k++) s += at(out, r, k) * at(m, k, c);
        (next[r] as number[])[c] = s;
      }
    }
    out = next;
  }
  return out;
}

/** Inverse of a 4×4 affine (last row 0 0 0 1); throws Mri2ctError when it is singular. */
export function invertAffine(m: Affine, what = 'affine'): Affine {
  const [[a, b, c], [d, e, f], [g, h, i]] = [0, 1, 2].map((r) => [at(m, r, 0), at(m, r, 1), at(m, r, 2)]) as Mat3;
  const det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12) {
    throw new Mri2ctError(`the ${what} is singular (determinant ${det}); check the image header's voxel-to-world matrix`);
  }
  const inv: Mat3 = [
    [(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
    [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
    [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det],
  ];
  const t: Vec3 = [at(m, 0, 3), at(m, 1, 3), at(m, 2, 3)];
  const ti = inv.map((row) => -(row[0] * t[0] + row[1] * t[1] + row[2] * t[2]));
  return [[...inv[0], ti[0] ?? 0], [...inv[1], ti[1] ?? 0], [...inv[2], ti[2] ?? 0], [0, 0, 0, 1]];
}

/** m · [p, 1] (the first three components). */
export function applyAffine(m: Affine, p: ArrayLike<number>): Vec3 {
  const x = p[0] ?? 0;
  const y = p[1] ?? 0;
  const z = p[2] ?? 0;
  return [0, 1, 2].map((r) => at(m, r, 0) * x + at(m, r, 1) * y + at(m, r, 2) * z + at(m, r, 3)) as Vec3;
}

/** Rotation about x by `a` radians (right-handed). */
function rotX(a: number): Mat3 {
  const [c, s] = [Math.cos(a), Math.sin(a)];
  return [
    [1, 0, 0],
    [0, c, -s],
    [0, s, c],
  ];
}
function rotY(a: number): Mat3 {
  const [c, s] = [Math.cos(a), Math.sin(a)];
  return [
    [c, 0, s],
    [0, 1, 0],
    [-s, 0, c],
  ];
}
function rotZ(a: number): Mat3 {
  const [c, s] = [Math.cos(a), Math.sin(a)];
  return [
    [c, -s, 0],
    [s, c, 0],
    [0, 0, 1],
  ];
}

function mul3(a: Mat3, b: Mat3): Mat3 {
  return [0, 1, 2].map((r) => [0, 1, 2].map((c) => a[r]![0] * b[0]![c]! + a[r]![1] * b[1]![c]! + a[r]![2] * b[2]![c]!)) as Mat3;
}

/**
 * Rotation matrix of Euler angles (radians) in ITK's Euler3DTransform order (ComputeZYX false,
 * elastix's default): R = Rz · Rx · Ry, i.e. rotate about y first, then x, then z.
 */
export function eulerToMatrix(angles: Vec3): Mat3 {
  return mul3(rotZ(angles[2]), mul3(rotX(angles[0]), rotY(angles[1])));
}

/** Inverse of {@link eulerToMatrix}: angles (radians) with R = Rz · Rx · Ry (ITK's ComputeZYX false). */
export function matrixToEuler(m: Mat3): Vec3 {
  // R = Rz Rx Ry: R[2][1] = sin(ax); R[2][0] = -cos(ax) sin(ay); R[2][2] = cos(ax) cos(ay);
  // R[0][1] = -sin(az) cos(ax); R[1][1] = cos(az) cos(ax).
  const ax = Math.asin(Math.max(-1, Math.min(1, m[2][1])));
  const ay = Math.atan2(-m[2][0], m[2][2]);
  const az = Math.atan2(-m[0][1], m[1][1]);
  return [ax, ay, az];
}

/**
 * The rigid 4×4 map p ↦ R (p − c) + c + t with R from Euler angles (radians, ITK order), centre
 * c and translation t: ITK's Euler3DTransform with its fixed parameters (the centre).
 */
export function rigidAffine(angles: Vec3, translation: Vec3, center: Vec3 = [0, 0, 0]): Affine {
  const r = eulerToMatrix(angles);
  const t = [0, 1, 2].map((i) => {
    const row = r[i as 0 | 1 | 2];
    return center[i as 0 | 1 | 2] + translation[i as 0 | 1 | 2] - (row[0] * center[0] + row[1] * center[1] + row[2] * center[2]);
  });
  return [[...r[0], t[0] ?? 0], [...r[1], t[1] ?? 0], [...r[2], t[2] ?? 0], [0, 0, 0, 1]];
}

/** The diagonal flip between RAS+ (NIfTI) and LPS+ (ITK, DICOM) world coordinates (its own inverse). */
export const RAS_TO_LPS: Affine = [
  [-1, 0, 0, 0],
  [0, -1, 0, 0],
  [0, 0, 1, 0],
  [0, 0, 0, 1],
];
