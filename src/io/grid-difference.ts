/**
 * Whether two volumes share one voxel grid (same sizes, affines equal within tolerance) and, if
 * not, how they differ, in words for an error message. Used by preprocessing (MRI vs CT before
 * resampling) and evaluation (prediction, mask, MRI vs CT).
 * Must not: resample, read files, or decide what a difference means (the callers do).
 */
import type { Affine, Vec3 } from './volume';

/**
 * How the voxel grids of `a` and `b` differ, or undefined when they share one: the sizes, else
 * the first affine entry of the top three rows that differs by more than 0.01 (rotation and
 * scale) or 0.1 mm (translation). `sizes` words a size difference from both sizes as 'x×y×z';
 * by default "sizes A and B differ".
 */
export function gridDifference(
  a: { dims: Vec3; affine: Affine },
  b: { dims: Vec3; affine: Affine },
  sizes: (a: string, b: string) => string = (da, db) => `sizes ${da} and ${db} differ`,
): string | undefined {
  if (a.dims.join() !== b.dims.join()) return sizes(a.dims.join('×'), b.dims.join('×'));
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 4; c++) {
      const d = Math.abs((a.affine[r]?.[c] ?? 0) - (b.affine[r]?.[c] ?? 0));
      if (d > (c === 3 ? 0.1 : 1e-2)) return `affines differ (row ${r}, column ${c}: ${a.affine[r]?.[c]} vs ${b.affine[r]?.[c]})`;
    }
  }
  return undefined;
}
