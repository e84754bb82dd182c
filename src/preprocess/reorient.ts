/**
 * Step 0 of preprocessing: every volume is brought, right after reading, into one canonical
 * storage order, RAS+ (voxel x grows to the patient's Right, y to Anterior, z to Superior, as
 * nibabel's as_closest_canonical), by an axis permutation and flips only: voxel values are copied,
 * never interpolated, and the world position of every voxel is unchanged (the affine is rewritten
 * to match). So cache slices (fixed z) are always axial with the same in-plane direction, whatever
 * the scanner or converter stored (LAS, LPS, LIA, PSR...). An oblique volume goes to the closest
 * canonical order; its obliquity (degrees) is reported so callers can warn.
 * {@link reorientFromCanonical} undoes it (predict writes the sCT back in the input's own order).
 * Must not resample, read or write files.
 */
import { ConfigError } from '../errors';
import { multiplyAffines } from '../io/affine-math';
import { axisCodes, ioOrientation, obliquityDegrees } from '../io/nifti-affine';
import type { Affine, Vec3, Volume } from '../io/volume';
import { checkLength } from './arrays';

/** The canonical storage order of every volume inside the pipeline. */
export const CANONICAL_ORIENTATION = 'RAS';

/** Obliquity above which preprocessing and predict warn (degrees). */
export const OBLIQUE_WARN_DEGREES = 10;

/** How a volume's storage order maps onto the canonical one (plain JSON, kept in the metadata). */
export interface OrientationRecord {
  /** Axis codes of the volume as stored, e.g. 'LIA'. */
  original: string;
  /** Always {@link CANONICAL_ORIENTATION}. */
  canonical: string;
  /** Dimensions as stored. */
  originalDims: Vec3;
  /** Affine as stored (voxel → world RAS mm). */
  originalAffine: Affine;
  /** For each canonical axis (R, A, S), the stored voxel axis it comes from. */
  axes: [number, number, number];
  /** For each canonical axis, whether the stored axis runs the other way (index reversed). */
  flips: [boolean, boolean, boolean];
  /** Largest angle between a voxel axis and its world axis, degrees (0 = not oblique). */
  obliquityDeg: number;
  /** False when the volume was stored canonically already (data untouched). */
  reoriented: boolean;
}

/** A volume in canonical order with the record of how it got there. */
export interface ReorientedVolume<T extends ArrayLike<number>> extends Volume<T> {
  orientation: string;
  reorientation: OrientationRecord;
}

/** The permutation/flips that bring a grid with this affine to canonical order. */
export function canonicalOrientation(dims: Vec3, affine: Affine): OrientationRecord {
  const ornt = ioOrientation(affine);
  const axes: [number, number, number] = [-1, -1, -1];
  const flips: [boolean, boolean, boolean] = [false, false, false];
  ornt.forEach(({ worldAxis, sign }, storageAxis) => {
    if (worldAxis < 0) throw new ConfigError(`the affine collapses voxel axis ${storageAxis} (${JSON.stringify(affine)}): the volume has no usable orientation`);
    const j = worldAxis as 0 | 1 | 2;
    axes[j] = storageAxis;
    flips[j] = sign < 0;
  });
  const reoriented = axes.some((a, j) => a !== j) || flips.some((f) => f);
  return {
    original: axisCodes(affine),
    canonical: CANONICAL_ORIENTATION,
    originalDims: [...dims],
    originalAffine: affine.map((row) => [...row]),
    axes,
    flips,
    obliquityDeg: obliquityDegrees(affine),
    reoriented,
  };
}

/** Dimensions of the canonical grid. */
export function canonicalDims(rec: OrientationRecord): Vec3 {
  return [rec.originalDims[rec.axes[0]] as number, rec.originalDims[rec.axes[1]] as number, rec.originalDims[rec.axes[2]] as number];
}

/**
 * Affine of the canonical grid: original affine · T, where T takes a canonical voxel index to the
 * stored one (stored axis axes[j] = canonical index j, or n − 1 − j when flipped).
 */
export function canonicalAffine(rec: OrientationRecord): Affine {
  const t: Affine = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]];
  for (let j = 0; j < 3; j++) {
    const i = rec.axes[j] as number;
    const flip = rec.flips[j] as boolean;
    (t[i] as number[])[j] = flip ? -1 : 1;
    (t[i] as number[])[3] = flip ? (rec.originalDims[i] as number) - 1 : 0;
  }
  return multiplyAffines(rec.originalAffine, t);
}

/** Copies `src` (stored order) into canonical order, or back (`toCanonical` false). */
function permute<T extends ArrayLike<number>>(src: T, rec: OrientationRecord, toCanonical: boolean, out: { length: number } & { [i: number]: number }): void {
  const od = rec.originalDims;
  const strides = [1, od[0], od[0] * od[1]];
  const cd = canonicalDims(rec);
  // Walk the canonical grid; `s` is the matching stored index, stepped incrementally.
  const step = [0, 1, 2].map((j) => (rec.flips[j] ? -1 : 1) * (strides[rec.axes[j] as number] as number));
  let start = 0;
  for (let j = 0; j < 3; j++) if (rec.flips[j]) start += ((od[rec.axes[j] as number] as number) - 1) * (strides[rec.axes[j] as number] as number);
  const [sx, sy, sz] = step as [number, number, number];
  let c = 0;
  for (let z = 0; z < cd[2]; z++) {
    let sRow = start + z * sz;
    for (let y = 0; y < cd[1]; y++, sRow += sy) {
      let s = sRow;
      if (toCanonical) for (let x = 0; x < cd[0]; x++, s += sx) out[c++] = src[s] as number;
      else for (let x = 0; x < cd[0]; x++, s += sx) out[s] = src[c++] as number;
    }
  }
}

type TypedCtor<T> = { new (n: number): T };

function sameKind<T extends ArrayLike<number>>(a: T, n: number): T {
  const ctor = (a as unknown as { constructor: unknown }).constructor;
  if (typeof ctor === 'function' && ctor !== Array) return new (ctor as TypedCtor<T>)(n);
  return new Float32Array(n) as unknown as T;
}

/**
 * Brings a volume into canonical (RAS+) storage order. Returns the input's own data array when it
 * is canonical already; otherwise a new array of the same type.
 */
export function reorientToCanonical<T extends ArrayLike<number>>(vol: Volume<T>): ReorientedVolume<T> {
  checkLength(vol.data, vol.dims, 'reorient');
  const rec = canonicalOrientation(vol.dims, vol.affine);
  if (!rec.reoriented) return { ...vol, orientation: CANONICAL_ORIENTATION, reorientation: rec };
  const data = sameKind(vol.data, vol.data.length);
  permute(vol.data, rec, true, data as unknown as { length: number; [i: number]: number });
  const dims = canonicalDims(rec);
  const spacing: Vec3 = [vol.spacing[rec.axes[0]] as number, vol.spacing[rec.axes[1]] as number, vol.spacing[rec.axes[2]] as number];
  return { data, dims, spacing, affine: canonicalAffine(rec), orientation: CANONICAL_ORIENTATION, reorientation: rec };
}

/**
 * The inverse of {@link reorientToCanonical}: canonical-order data (dims canonicalDims(rec)) back
 * into the stored order of the original volume (dims rec.originalDims, affine rec.originalAffine).
 */
export function reorientFromCanonical<T extends ArrayLike<number>>(data: T, rec: OrientationRecord): T {
  const n = rec.originalDims[0] * rec.originalDims[1] * rec.originalDims[2];
  if (data.length !== n) throw new ConfigError(`reorient back: ${data.length} values for a ${rec.originalDims.join('×')} volume`);
  if (!rec.reoriented) return data;
  const out = sameKind(data, n);
  permute(data, rec, false, out as unknown as { length: number; [i: number]: number });
  return out;
}

/** A warning for strongly oblique volumes, or undefined. */
export function obliquityWarning(rec: OrientationRecord, what: string): string | undefined {
  if (rec.obliquityDeg <= OBLIQUE_WARN_DEGREES) return undefined;
  return `${what} is oblique by ${rec.obliquityDeg.toFixed(1)}° (stored ${rec.original}); it is stored as the closest canonical orientation (${rec.canonical}) without resampling, so its slices are tilted by up to that angle from true axial.`;
}
