/**
 * The phantom's voxel grid and small geometry helpers: a fixed physical field of view
 * (256 × 256 × 192 mm) sampled by the requested number of voxels, a diagonal RAS+ affine whose
 * world origin is the nominal head centre, 3×3 rotations and axis-aligned ellipsoids.
 * Pure math: no randomness, no volumes, no I/O.
 */

import { ConfigError } from '../errors';
import { diagonalAffine, type Affine, type Vec3 } from '../io/volume';

/** Default grid size (voxels) of a phantom patient. */
export const DEFAULT_SIZE: Vec3 = [256, 256, 160];
/** Smallest grid on which every tissue is still reliably present. */
export const MIN_SIZE: Vec3 = [40, 40, 28];
/** Largest grid accepted along any axis (memory bound). */
export const MAX_SIZE_PER_AXIS = 512;
/** Physical field of view (mm) along x, y, z, whatever the grid size. */
export const FIELD_OF_VIEW_MM: Vec3 = [256, 256, 192];
/**
 * Where the nominal head centre (world origin) sits relative to the centre of the field of view, mm:
 * 10 mm anterior (room for the headrest and couch behind the head) and 8 mm inferior (room above
 * the vertex; a large head is cut at the neck, as in real scans).
 */
export const HEAD_CENTRE_IN_FOV_MM: Vec3 = [0, 10, -8];

/** A voxel grid: dims, spacing and the voxel→world mapping world = origin + spacing ⊙ index. */
export interface PhantomGrid {
  /** Voxels along x, y, z. */
  dims: Vec3;
  /** Voxel size (mm). */
  spacing: Vec3;
  /** World position (mm) of voxel (0, 0, 0). */
  origin: Vec3;
  /** Row-major 4×4 voxel→world affine (diagonal, RAS+). */
  affine: Affine;
  /** Largest voxel size: thin structures are made at least this thick so they survive sampling. */
  maxSpacing: number;
}

/** Validates a grid size and builds the grid (spacing = field of view / size). */
export function makeGrid(size: Vec3): PhantomGrid {
  size.forEach((n, axis) => {
    const min = MIN_SIZE[axis]!;
    if (!Number.isInteger(n) || n < min || n > MAX_SIZE_PER_AXIS) {
      throw new ConfigError(
        `Phantom size ${size.join('×')} is not usable: axis ${'xyz'[axis]} must be an integer from ` +
          `${min} to ${MAX_SIZE_PER_AXIS} (minimum grid ${MIN_SIZE.join('×')}, default ${DEFAULT_SIZE.join('×')}).`,
      );
    }
  });
  const dims: Vec3 = [size[0], size[1], size[2]];
  const spacing = dims.map((n, axis) => FIELD_OF_VIEW_MM[axis]! / n) as Vec3;
  const origin = dims.map(
    (n, axis) => -HEAD_CENTRE_IN_FOV_MM[axis]! - (spacing[axis]! * (n - 1)) / 2,
  ) as Vec3;
  return {
    dims,
    spacing,
    origin,
    affine: diagonalAffine(spacing, origin),
    maxSpacing: Math.max(...spacing),
  };
}

/** Row-major 3×3 matrix. */
export type Mat3 = [number, number, number, number, number, number, number, number, number];

/** Rotation R = Rz · Ry · Rx for angles in degrees about the world x, y, z axes. */
export function rotationFromDegrees(rx: number, ry: number, rz: number): Mat3 {
  const [a, b, c] = [rx, ry, rz].map((d) => (d * Math.PI) / 180) as Vec3;
  const [ca, sa, cb, sb, cc, sc] = [Math.cos(a), Math.sin(a), Math.cos(b), Math.sin(b), Math.cos(c), Math.sin(c)];
  return [
    cc * cb, cc * sb * sa - sc * ca, cc * sb * ca + sc * sa,
    sc * cb, sc * sb * sa + cc * ca, sc * sb * ca - cc * sa,
    -sb, cb * sa, cb * ca,
  ];
}

/** Transpose (= inverse for a rotation). */
export function transpose(m: Mat3): Mat3 {
  return [m[0], m[3], m[6], m[1], m[4], m[7], m[2], m[5], m[8]];
}

/** Axis-aligned ellipsoid (in whatever frame its user defines). */
export interface Ellipsoid {
  /** Centre (mm). */
  centre: Vec3;
  /** Semi-axes (mm). */
  radii: Vec3;
}

/** (p - c)ᵀ diag(1/r²) (p - c): < 1 inside the ellipsoid. */
export function ellipsoidLevel(e: Ellipsoid, x: number, y: number, z: number): number {
  const dx = (x - e.centre[0]) / e.radii[0];
  const dy = (y - e.centre[1]) / e.radii[1];
  const dz = (z - e.centre[2]) / e.radii[2];
  return dx * dx + dy * dy + dz * dz;
}

/** The same ellipsoid grown by `margin` mm along every semi-axis. */
export function growEllipsoid(e: Ellipsoid, margin: number): Ellipsoid {
  return { centre: e.centre, radii: e.radii.map((r) => r + margin) as Vec3 };
}
