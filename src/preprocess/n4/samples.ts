/**
 * The set of scattered data points N4 fits: the foreground voxels of the shrunk grid, stored
 * compactly (one entry per foreground voxel) so that every per-iteration pass touches only them.
 */

import type { Vec3 } from '../../io/volume';

/** Foreground voxels of a grid, in grid (x-fastest) order. */
export interface SampleSet {
  /** Grid dimensions. */
  readonly dims: Vec3;
  /** Number of samples. */
  readonly count: number;
  /** Linear grid index of each sample. */
  readonly index: Int32Array;
  /** x index of each sample. */
  readonly x: Int32Array;
  /** Row index (y + ny * z) of each sample. */
  readonly row: Int32Array;
}

/** Collects the voxels whose mask value is non-zero. */
export function samplesFromMask(mask: Uint8Array, dims: Vec3): SampleSet {
  const [nx, ny, nz] = dims;
  let count = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) count++;
  const index = new Int32Array(count);
  const x = new Int32Array(count);
  const row = new Int32Array(count);
  let j = 0;
  let i = 0;
  for (let r = 0; r < ny * nz; r++) {
    for (let xi = 0; xi < nx; xi++, i++) {
      if (mask[i] !== 0) {
        index[j] = i;
        x[j] = xi;
        row[j] = r;
        j++;
      }
    }
  }
  return { dims: [nx, ny, nz], count, index, x, row };
}
