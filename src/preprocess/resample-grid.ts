/**
 * Resampling between voxel grids: puts a volume (e.g. a CT) onto another volume's grid (e.g. the
 * MRI's) through the two voxel-to-world affines, optionally composed with a rigid (or any affine)
 * world transform from registration; trilinear for images, nearest neighbour for masks, a fill
 * value (−1000 HU for CT) outside the moving volume's field of view. Also measures how much of one
 * grid lies inside another's field of view.
 * Must not estimate transforms (registration does) and must not modify its inputs.
 */

import { ConfigError } from '../errors';
import { invertAffine, multiplyAffines, identityAffine } from '../io/affine-math';
import type { Affine, Vec3, Volume } from '../io/volume';
import { checkDims, checkLength } from './arrays';

/** A voxel grid: size and voxel-to-world (RAS+, mm) affine. */
export interface Grid {
  dims: Vec3;
  affine: Affine;
}

/** Options of {@link resampleToGrid}. */
export interface ResampleOptions {
  /** 'linear' (trilinear, for images) or 'nearest' (for masks and labels). */
  interpolation: 'linear' | 'nearest';
  /** Value of target voxels whose centre falls outside the moving volume (−1000 for CT in HU). */
  fill: number;
  /** Maps target-world points to moving-world points (4×4, RAS+ mm); identity by default. */
  worldTransform?: Affine;
  /** Names the moving volume in error messages. Default "the moving volume". */
  what?: string;
}

/**
 * A continuous voxel coordinate within this distance (in voxels) of an integer is snapped to it,
 * so grids that coincide (or differ by whole voxels) copy values bit-exactly despite the rounding
 * of the affine products.
 */
const SNAP = 1e-6;

/** The 3×4 map from target voxel indices to moving voxel indices, as 12 numbers (row-major). */
function indexMap(moving: Grid, target: Grid, worldTransform: Affine | undefined, what: string): number[] {
  const m = multiplyAffines(invertAffine(moving.affine, `voxel-to-world matrix of ${what}`), worldTransform ?? identityAffine(), target.affine);
  const out: number[] = [];
  for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) out.push(m[r]?.[c] ?? 0);
  if (!out.every(Number.isFinite)) throw new ConfigError(`resampling ${what}: the affines or the world transform contain non-finite values`);
  return out;
}

function snap(p: number): number {
  const r = Math.round(p);
  return Math.abs(p - r) < SNAP ? r : p;
}

/**
 * Resamples `moving` onto the voxel grid `target` (dims + voxel-to-world RAS affine) through the
 * two affines, optionally composed with a rigid world transform. Trilinear interpolation uses the
 * moving voxel centres as nodes (like scipy.ndimage.map_coordinates(order=1, mode='constant')):
 * points outside [0, n−1] on any axis get `fill`. Nearest takes the closest voxel of points
 * within the voxel extents [−0.5, n−0.5). Returns one value per target voxel, x fastest.
 */
export function resampleToGrid(moving: Volume<ArrayLike<number>>, target: Grid, options: ResampleOptions): Float32Array {
  const what = options.what ?? 'the moving volume';
  checkLength(moving.data, moving.dims, what);
  const nOut = checkDims(target.dims, 'target grid');
  if (!Number.isFinite(options.fill)) throw new ConfigError(`resampling ${what}: fill must be a finite number, got ${options.fill}`);
  if (options.interpolation !== 'linear' && options.interpolation !== 'nearest') {
    throw new ConfigError(`resampling ${what}: interpolation must be 'linear' or 'nearest', got ${String(options.interpolation)}`);
  }
  const [a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23] = indexMap(moving, target, options.worldTransform, what) as [
    number, number, number, number, number, number, number, number, number, number, number, number,
  ];
  const [nx, ny, nz] = target.dims;
  const [mx, my, mz] = moving.dims;
  const d = moving.data;
  const sy = mx;
  const sz = mx * my;
  const fill = options.fill;
  const out = new Float32Array(nOut);
  const linear = options.interpolation === 'linear';
  // Largest valid lower node per axis (so i0 + 1 is in range; 0 for an axis of one voxel).
  const lx = Math.max(mx - 2, 0);
  const ly = Math.max(my - 2, 0);
  const lz = Math.max(mz - 2, 0);
  let o = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      const bx = a01 * y + a02 * z + a03;
      const by = a11 * y + a12 * z + a13;
      const bz = a21 * y + a22 * z + a23;
      for (let x = 0; x < nx; x++, o++) {
        const px = snap(bx + a00 * x);
        const py = snap(by + a10 * x);
        const pz = snap(bz + a20 * x);
        if (linear) {
          if (!(px >= 0 && px <= mx - 1 && py >= 0 && py <= my - 1 && pz >= 0 && pz <= mz - 1)) {
            out[o] = fill;
            continue;
          }
          const i = Math.min(Math.floor(px), lx);
          const j = Math.min(Math.floor(py), ly);
          const k = Math.min(Math.floor(pz), lz);
          const fx = px - i;
          const fy = py - j;
          const fz = pz - k;
          const b = i + sy * j + sz * k;
          // Neighbours beyond a one-voxel axis have weight 0: reuse the same voxel.
          const dx = mx > 1 ? 1 : 0;
          const dy = my > 1 ? sy : 0;
          const dz = mz > 1 ? sz : 0;
          if (fx === 0 && fy === 0 && fz === 0) {
            out[o] = d[b] as number;
            continue;
          }
          const c00 = (d[b] as number) * (1 - fx) + (d[b + dx] as number) * fx;
          const c10 = (d[b + dy] as number) * (1 - fx) + (d[b + dy + dx] as number) * fx;
          const c01 = (d[b + dz] as number) * (1 - fx) + (d[b + dz + dx] as number) * fx;
          const c11 = (d[b + dz + dy] as number) * (1 - fx) + (d[b + dz + dy + dx] as number) * fx;
          const c0 = c00 * (1 - fy) + c10 * fy;
          const c1 = c01 * (1 - fy) + c11 * fy;
          out[o] = c0 * (1 - fz) + c1 * fz;
        } else {
          if (!(px >= -0.5 && px < mx - 0.5 && py >= -0.5 && py < my - 0.5 && pz >= -0.5 && pz < mz - 0.5)) {
            out[o] = fill;
            continue;
          }
          const i = Math.min(Math.max(Math.round(px), 0), mx - 1);
          const j = Math.min(Math.max(Math.round(py), 0), my - 1);
          const k = Math.min(Math.max(Math.round(pz), 0), mz - 1);
          out[o] = d[i + sy * j + sz * k] as number;
        }
      }
    }
  }
  return out;
}

/**
 * Fraction of `a`'s voxels (or of a given mask's voxels, mask on `a`'s grid) whose centres fall
 * inside `b`'s field of view (the extents of its voxels, [−0.5, n−0.5) per axis). 0 when the mask
 * is empty. `worldTransform` maps a-world to b-world points (identity by default).
 */
export function fovOverlap(a: Grid, b: Grid, mask?: ArrayLike<number>, worldTransform?: Affine): number {
  const n = checkDims(a.dims, 'grid a');
  checkDims(b.dims, 'grid b');
  if (mask !== undefined && mask.length !== n) {
    throw new ConfigError(`fovOverlap: the mask has ${mask.length} values but grid a has ${n} voxels; pass a mask on grid a`);
  }
  const [a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23] = indexMap(b, a, worldTransform, 'grid b') as [
    number, number, number, number, number, number, number, number, number, number, number, number,
  ];
  const [nx, ny, nz] = a.dims;
  const [mx, my, mz] = b.dims;
  let inside = 0;
  let total = 0;
  let o = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      const bx = a01 * y + a02 * z + a03;
      const by = a11 * y + a12 * z + a13;
      const bz = a21 * y + a22 * z + a23;
      for (let x = 0; x < nx; x++, o++) {
        if (mask !== undefined && (mask[o] as number) === 0) continue;
        total++;
        const px = snap(bx + a00 * x);
        const py = snap(by + a10 * x);
        const pz = snap(bz + a20 * x);
        if (px >= -0.5 && px < mx - 0.5 && py >= -0.5 && py < my - 0.5 && pz >= -0.5 && pz < mz - 0.5) inside++;
      }
    }
  }
  return total === 0 ? 0 : inside / total;
}
