/**
 * Downsampling of a volume by block means before registration: per axis an integer factor
 * (round(target mm / spacing), at least 1), each output voxel the mean of one full block of input
 * voxels and placed at the block's centre (the affine says so, so world positions stay exact).
 * Partial blocks at the upper edges are dropped. A rigid transform estimated on the coarse grids
 * applies unchanged to the full-resolution images: the caller resamples those.
 * Must not change its input and must not resample with a transform.
 */

import type { Affine, Vec3, Volume } from '../io/volume';

/** Per-axis block factors that bring `spacing` nearest `targetMm` from below or above (≥ 1). */
export function blockFactors(spacing: Vec3, targetMm: number): Vec3 {
  return spacing.map((s) => (targetMm > 0 ? Math.max(1, Math.round(targetMm / s)) : 1)) as Vec3;
}

/** The volume averaged over blocks of `factors` voxels; the input itself when all factors are 1. */
export function blockMean(volume: Volume<ArrayLike<number>>, factors: Vec3): Volume<ArrayLike<number>> {
  if (factors.every((f) => f === 1)) return volume;
  const [nx, ny, nz] = volume.dims;
  const [fx, fy, fz] = factors;
  const dims: Vec3 = [Math.max(1, Math.floor(nx / fx)), Math.max(1, Math.floor(ny / fy)), Math.max(1, Math.floor(nz / fz))];
  const [mx, my, mz] = dims;
  const sum = new Float64Array(mx * my * mz);
  const src = volume.data;
  for (let z = 0; z < Math.min(nz, mz * fz); z++) {
    const oz = Math.floor(z / fz) * mx * my;
    for (let y = 0; y < Math.min(ny, my * fy); y++) {
      const oy = oz + Math.floor(y / fy) * mx;
      const row = nx * (y + ny * z);
      for (let x = 0; x < Math.min(nx, mx * fx); x++) {
        const o = oy + Math.floor(x / fx);
        sum[o] = (sum[o] as number) + (src[row + x] as number);
      }
    }
  }
  const n = Math.min(nx, fx) * Math.min(ny, fy) * Math.min(nz, fz);
  const data = new Float32Array(sum.length);
  for (let i = 0; i < sum.length; i++) data[i] = (sum[i] as number) / n;
  // Output voxel i covers input voxels i·f … i·f + f − 1: its centre is input index i·f + (f − 1)/2.
  const affine = volume.affine.map((row, r) => {
    if (r === 3) return row.slice();
    return [row[0]! * fx, row[1]! * fy, row[2]! * fz, row[3]! + row[0]! * ((fx - 1) / 2) + row[1]! * ((fy - 1) / 2) + row[2]! * ((fz - 1) / 2)];
  }) as Affine;
  return { data, dims, spacing: volume.spacing.map((s, i) => s * factors[i]!) as Vec3, affine };
}
