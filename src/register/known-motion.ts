/**
 * A misaligned pair with a known answer, for demonstrations and checks of registration: a
 * volume (e.g. a phantom CT that is aligned with its MRI by construction) moved by a known rigid
 * motion, resampled onto its own grid or another one, together with the transform a perfect
 * registration would return; and the distance between two transforms over a mask's voxels.
 * Must not run registration.
 */

import { applyAffine, invertAffine, rigidAffine } from '../io/affine-math';
import type { Affine, Vec3, Volume } from '../io/volume';
import { type Grid, resampleToGrid } from '../preprocess/resample-grid';
import { columnNorms } from '../io/nifti-affine';

/** A known rigid motion: rotations about RAS x, y, z (degrees, ITK Euler order) about `centerMm`, then a shift. */
export interface KnownMotion {
  rotationDegrees: Vec3;
  translationMm: Vec3;
  /** Centre of rotation (RAS mm). Default: the world position of the volume's centre voxel. */
  centerMm?: Vec3;
}

/** Result of {@link moveRigidly}. */
export interface MovedVolume {
  /** moved(q) = original(W q) on the target grid (W the motion's matrix). */
  volume: Volume<Float32Array>;
  /** What registering the moved volume back to the original's partner should find: W⁻¹ (partner world → moved world). */
  truth: Affine;
}

/** World (RAS mm) position of a volume's central voxel. */
export function volumeCentreMm(v: { dims: Vec3; affine: Affine }): Vec3 {
  return applyAffine(v.affine, v.dims.map((d) => (d - 1) / 2) as Vec3);
}

/**
 * The volume moved by `motion` (trilinear, `fill` outside, −1000 by default: CT air), on `grid`
 * (default: the volume's own grid).
 */
export function moveRigidly(volume: Volume<ArrayLike<number>>, motion: KnownMotion, options: { grid?: Grid; fill?: number } = {}): MovedVolume {
  const deg = Math.PI / 180;
  const w = rigidAffine(motion.rotationDegrees.map((a) => a * deg) as Vec3, motion.translationMm, motion.centerMm ?? volumeCentreMm(volume));
  const grid = options.grid ?? { dims: volume.dims, affine: volume.affine };
  const data = resampleToGrid(volume, grid, { interpolation: 'linear', fill: options.fill ?? -1000, worldTransform: w, what: 'the moved volume' });
  return {
    volume: { data, dims: [...grid.dims] as Vec3, spacing: columnNorms(grid.affine) as Vec3, affine: grid.affine.map((r) => [...r]) as Affine },
    truth: invertAffine(w),
  };
}

/** Mean and largest distance (mm) between a(p) and b(p) over the world positions p of the mask's voxels. */
export function transformDistanceMm(a: Affine, b: Affine, grid: { dims: Vec3; affine: Affine }, mask: ArrayLike<number>): { mean: number; max: number } {
  const [nx, ny] = grid.dims;
  let [sum, max, n] = [0, 0, 0];
  for (let i = 0; i < mask.length; i++) {
    if ((mask[i] as number) === 0) continue;
    const p = applyAffine(grid.affine, [i % nx, Math.floor(i / nx) % ny, Math.floor(i / (nx * ny))]);
    const q = applyAffine(a, p);
    const r = applyAffine(b, p);
    const d = Math.hypot(q[0] - r[0], q[1] - r[1], q[2] - r[2]);
    sum += d;
    if (d > max) max = d;
    n++;
  }
  return { mean: n > 0 ? sum / n : NaN, max };
}
