/**
 * The in-memory volume every pipeline stage passes around: voxel data in NIfTI order
 * (x fastest: index = x + nx * (y + ny * z)), its dimensions, voxel spacing and the
 * voxel-to-world affine (NIfTI RAS+ millimetres). Pure data helpers only: no file I/O here.
 */

export type Vec3 = [number, number, number];

/** 4×4 voxel-to-world matrix, row-major, NIfTI (RAS+, mm) convention. */
export type Affine = number[][];

export interface Volume<T extends ArrayLike<number> = Float32Array> {
  /** Voxel values, x fastest: index = x + nx * (y + ny * z). */
  data: T;
  /** Number of voxels along x, y, z. */
  dims: Vec3;
  /** Voxel size in mm along x, y, z. */
  spacing: Vec3;
  /** Voxel-to-world affine (row-major 4×4). */
  affine: Affine;
}

/** Identity-orientation affine with the given spacing, origin at voxel 0. */
export function diagonalAffine(spacing: Vec3, origin: Vec3 = [0, 0, 0]): Affine {
  return [
    [spacing[0], 0, 0, origin[0]],
    [0, spacing[1], 0, origin[1]],
    [0, 0, spacing[2], origin[2]],
    [0, 0, 0, 1],
  ];
}

/** Number of voxels of a volume with these dimensions. */
export function voxelCount(dims: Vec3): number {
  return dims[0] * dims[1] * dims[2];
}
