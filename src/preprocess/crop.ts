/**
 * Region-of-interest crop: the bounding box of a mask plus a margin (clamped to the volume),
 * cutting that box out of any volume/array of the same dims, and pasting a cropped array back
 * (used at inference to put a prediction into the original grid).
 * cropVolume moves the affine's translation so every voxel keeps its world position: cropped
 * voxel (0,0,0) is the original voxel `start`. Apply the same box to MRI, CT and mask.
 * Must not resample or change voxel values; must not modify its inputs.
 */

import { ConfigError, Mri2ctError } from '../errors';
import type { Affine, Vec3, Volume } from '../io/volume';
import { allocLike, checkLength, checkNumber, checkSpacing, type NumericArray } from './arrays';

/** A box of voxels: first voxel `start` (inclusive) and `size` voxels along x, y, z. */
export interface CropBox {
  start: Vec3;
  size: Vec3;
}

/** Margin options of {@link cropBoxFromMask}; give marginVoxels or marginMm (+ spacing). */
export interface CropMarginOptions {
  /** Voxels added on each side of the mask's bounding box (one number, or one per axis). */
  marginVoxels?: number | Vec3;
  /** Millimetres added on each side (rounded up to whole voxels per axis); needs `spacing`. */
  marginMm?: number;
  /** Voxel size in mm, required with marginMm. */
  spacing?: Vec3;
  /** Names the mask for error messages (e.g. "head mask of patient 12"). */
  what?: string;
}

/** Tight bounding box of the voxels with mask !== 0; throws Mri2ctError if there is none. */
export function maskBoundingBox(mask: ArrayLike<number>, dims: Vec3, what = 'the mask'): CropBox {
  const box = findBoundingBox(mask, dims);
  if (box === undefined) {
    throw new Mri2ctError(
      `no head found in ${what}: the mask is empty, so there is nothing to crop to; ` +
        'check the MRI (blank or wrong file?) or lower the head-mask threshold',
    );
  }
  return box;
}

/** Tight bounding box of the voxels with mask !== 0, or undefined when there is none. */
export function findBoundingBox(mask: ArrayLike<number>, dims: Vec3): CropBox | undefined {
  checkLength(mask, dims, 'bounding box');
  const [nx, ny, nz] = dims;
  const lo: Vec3 = [nx, ny, nz];
  const hi: Vec3 = [-1, -1, -1];
  let i = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      let rowLo = -1;
      let rowHi = -1;
      for (let x = 0; x < nx; x++, i++) {
        if (mask[i] === 0) continue;
        if (rowLo < 0) rowLo = x;
        rowHi = x;
      }
      if (rowLo < 0) continue;
      lo[0] = Math.min(lo[0], rowLo);
      hi[0] = Math.max(hi[0], rowHi);
      lo[1] = Math.min(lo[1], y);
      hi[1] = Math.max(hi[1], y);
      lo[2] = Math.min(lo[2], z);
      hi[2] = Math.max(hi[2], z);
    }
  }
  if (hi[0] < 0) return undefined;
  return { start: lo, size: [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1] };
}

/** Per-axis margin in voxels from the options. */
function marginVoxels(options: CropMarginOptions): Vec3 {
  if (options.marginMm !== undefined) {
    if (options.marginVoxels !== undefined) throw new ConfigError('give marginVoxels or marginMm, not both');
    checkNumber(options.marginMm, 'marginMm', 0);
    if (options.spacing === undefined) throw new ConfigError('marginMm needs the voxel spacing (option spacing)');
    checkSpacing(options.spacing, 'crop margin');
    const mm = options.marginMm;
    const sp = options.spacing;
    // Relative tolerance: voxel sizes from float32 affines (e.g. 3.99999998 mm) must not add a voxel.
    const v = (i: 0 | 1 | 2): number => { const r = mm / sp[i]; return Math.ceil(r - 1e-6 * Math.max(1, r)); };
    return [v(0), v(1), v(2)];
  }
  const m = options.marginVoxels ?? 0;
  const v: Vec3 = typeof m === 'number' ? [m, m, m] : m;
  for (const c of v) {
    if (!Number.isInteger(c) || c < 0) throw new ConfigError(`marginVoxels must be integers ≥ 0, got ${String(m)}`);
  }
  return v;
}

/** Bounding box of the mask grown by the margin on every side, clamped to the volume. */
export function cropBoxFromMask(mask: ArrayLike<number>, dims: Vec3, options: CropMarginOptions = {}): CropBox {
  const margin = marginVoxels(options);
  const tight = maskBoundingBox(mask, dims, options.what);
  return growBox(tight, margin, dims);
}

/** The box grown by margin voxels per side, clamped to [0, dims). */
export function growBox(box: CropBox, margin: Vec3, dims: Vec3): CropBox {
  const start: Vec3 = [0, 0, 0];
  const size: Vec3 = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    const s = (box.start[a] as number) - (margin[a] as number);
    const e = (box.start[a] as number) + (box.size[a] as number) + (margin[a] as number);
    start[a] = Math.max(0, s);
    size[a] = Math.min(dims[a] as number, e) - (start[a] as number);
  }
  return { start, size };
}

/** Throws ConfigError unless the box lies inside a volume of these dims. */
export function checkBox(box: CropBox, dims: Vec3): void {
  for (let a = 0; a < 3; a++) {
    const s = box.start[a] as number;
    const z = box.size[a] as number;
    if (!Number.isInteger(s) || !Number.isInteger(z) || s < 0 || z < 1 || s + z > (dims[a] as number)) {
      throw new ConfigError(
        `crop box start [${box.start.join(', ')}] size [${box.size.join(', ')}] ` +
          `does not fit in dims [${dims.join(', ')}]`,
      );
    }
  }
}

/** Copies the box out of an array with the given dims (same array type). */
export function cropArray<T extends NumericArray>(data: T, dims: Vec3, box: CropBox): T {
  checkLength(data, dims, 'crop');
  checkBox(box, dims);
  const [nx, ny] = dims;
  const [sx, sy, sz] = box.size;
  const [x0, y0, z0] = box.start;
  const out = allocLike(data, sx * sy * sz);
  let o = 0;
  for (let z = 0; z < sz; z++) {
    for (let y = 0; y < sy; y++) {
      const from = x0 + nx * (y0 + y + ny * (z0 + z));
      out.set(data.subarray(from, from + sx), o);
      o += sx;
    }
  }
  return out;
}

/** Puts a cropped array back into a new array of the full dims; the rest is `fill`. */
export function uncropArray<T extends NumericArray>(cropped: T, box: CropBox, dims: Vec3, fill = 0): T {
  checkBox(box, dims);
  checkLength(cropped, box.size, 'uncrop');
  const [nx, ny, nz] = dims;
  const [sx, sy, sz] = box.size;
  const [x0, y0, z0] = box.start;
  const out = allocLike(cropped, nx * ny * nz);
  if (fill !== 0) out.fill(fill);
  let o = 0;
  for (let z = 0; z < sz; z++) {
    for (let y = 0; y < sy; y++) {
      out.set(cropped.subarray(o, o + sx), x0 + nx * (y0 + y + ny * (z0 + z)));
      o += sx;
    }
  }
  return out;
}

/** Affine of a crop starting at voxel `start`: same rotation/scaling, translation A·[start, 1]. */
export function croppedAffine(affine: Affine, start: Vec3): Affine {
  return affine.map((row, r) => {
    const out = row.slice();
    if (r < 3) out[3] = (row[0] ?? 0) * start[0] + (row[1] ?? 0) * start[1] + (row[2] ?? 0) * start[2] + (row[3] ?? 0);
    return out;
  });
}

/** Crops a volume to the box; spacing kept, affine moved so world coordinates stay right. */
export function cropVolume<T extends NumericArray>(vol: Volume<T>, box: CropBox): Volume<T> {
  return {
    data: cropArray(vol.data, vol.dims, box),
    dims: [box.size[0], box.size[1], box.size[2]],
    spacing: [vol.spacing[0], vol.spacing[1], vol.spacing[2]],
    affine: croppedAffine(vol.affine, box.start),
  };
}

/** Voxel at the centre of the mask's bounding box (the volume's centre when the mask is empty). */
export function maskCentre(mask: ArrayLike<number>, dims: Vec3): Vec3 {
  const box = findBoundingBox(mask, dims);
  if (box === undefined) return [Math.floor(dims[0] / 2), Math.floor(dims[1] / 2), Math.floor(dims[2] / 2)];
  return [0, 1, 2].map((i) => Math.round(box.start[i as 0] + (box.size[i as 0] - 1) / 2)) as Vec3;
}
