/**
 * Test helper: compares two volumes that should hold the same voxels on the same world grid,
 * possibly stored in another axis order (e.g. dcm2niix flips rows). It works out the voxel
 * mapping from the two affines (it must be a signed permutation with integer offsets), then
 * compares every voxel through it. Must not be used by library code.
 */

import type { Affine, Volume } from '../../src/io/volume';

function inverse4(a: Affine): number[][] {
  const m = a.map((r) => [...r]);
  const inv = [0, 1, 2, 3].map((r) => [0, 1, 2, 3].map((c) => (r === c ? 1 : 0)));
  for (let c = 0; c < 4; c++) {
    let p = c;
    for (let r = c + 1; r < 4; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    [inv[c], inv[p]] = [inv[p]!, inv[c]!];
    const d = m[c]![c]!;
    for (let k = 0; k < 4; k++) {
      m[c]![k]! /= d;
      inv[c]![k]! /= d;
    }
    for (let r = 0; r < 4; r++) {
      if (r === c) continue;
      const f = m[r]![c]!;
      for (let k = 0; k < 4; k++) {
        m[r]![k]! -= f * m[c]![k]!;
        inv[r]![k]! -= f * inv[c]![k]!;
      }
    }
  }
  return inv;
}

export interface WorldComparison {
  /** Voxel map b_index = round(M · a_index): the 3×4 integer matrix found. */
  map: number[][];
  /** Largest deviation of inv(B)·A from that integer matrix (0 for identical grids). */
  gridError: number;
  /** Voxels compared, and how many differ by more than `tolerance`. */
  compared: number;
  mismatches: number;
  maxAbsDiff: number;
}

/** Maps every voxel of `a` into `b` through the affines and compares values. */
export function compareInWorld(a: Volume<ArrayLike<number>>, b: Volume<ArrayLike<number>>, tolerance = 0): WorldComparison {
  const inv = inverse4(b.affine);
  const m = inv.slice(0, 3).map((row) => [0, 1, 2, 3].map((c) => row.reduce((s, v, k) => s + v * (a.affine[k]?.[c] ?? 0), 0)));
  const map = m.map((row) => row.map((v) => Math.round(v)));
  const gridError = Math.max(...m.flatMap((row, r) => row.map((v, c) => Math.abs(v - (map[r]?.[c] ?? 0)))));
  const [nx, ny, nz] = a.dims;
  const [bx, by, bz] = b.dims;
  let compared = 0;
  let mismatches = 0;
  let maxAbsDiff = 0;
  const [r0, r1, r2] = map as [number[], number[], number[]];
  const bData = b.data;
  const aData = a.data;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      const i0 = r0[1]! * y + r0[2]! * z + r0[3]!;
      const j0 = r1[1]! * y + r1[2]! * z + r1[3]!;
      const k0 = r2[1]! * y + r2[2]! * z + r2[3]!;
      const rowA = nx * (y + ny * z);
      for (let x = 0; x < nx; x++) {
        const i = i0 + r0[0]! * x;
        const j = j0 + r1[0]! * x;
        const k = k0 + r2[0]! * x;
        if (i < 0 || j < 0 || k < 0 || i >= bx || j >= by || k >= bz) continue;
        const d = Math.abs(Number(aData[rowA + x]) - Number(bData[i + bx * (j + by * k)]));
        compared++;
        if (d > tolerance) mismatches++;
        if (d > maxAbsDiff) maxAbsDiff = d;
      }
    }
  }
  return { map, gridError, compared, mismatches, maxAbsDiff };
}
