/**
 * 3D binary morphology on Uint8Array masks (NIfTI order, x fastest: i = x + nx·(y + ny·z)):
 * exact Euclidean distance transform (anisotropic spacing, Felzenszwalb–Huttenlocher separable
 * passes), dilation/erosion/closing/opening with a ball (radius in mm, exact via the distance
 * transform) or a box (separable 1D passes), connected components (6/26-connectivity, queue
 * based) and hole filling (3D, or per axial slice in 2D).
 * Every function is O(voxels) per pass, iterative (no recursion) and allocates only whole
 * arrays up front (no per-voxel allocation). Inputs are never modified; a mask voxel is "on"
 * when its value is not 0, outputs hold 0/1.
 * The distance transform lives in distance-transform.ts, components and hole filling in
 * components.ts; both are re-exported here.
 * Must not know anything about MRI/CT intensities: that belongs to the callers.
 */

import { ConfigError } from '../errors';
import type { Vec3 } from '../io/volume';
import { checkLength, checkNumber, checkSpacing } from './arrays';
import { cropArray, findBoundingBox, growBox, uncropArray } from './crop';
import { squaredDistanceTransform } from './distance-transform';

export { squaredDistanceTransform } from './distance-transform';
export { fillHoles3d, fillHolesAxial, labelComponents, largestComponent, type Connectivity, type LargestComponent } from './components';


/** The structuring element of dilation/erosion/closing/opening. */
export interface StructuringElement {
  /** Radius in mm (spacing units). Ball: every voxel centre within this Euclidean distance.
   * Box: ⌊radiusMm / spacing⌋ voxels on each side along each axis. 0 leaves the mask unchanged. */
  radiusMm: number;
  /** Voxel size in mm along x, y, z (use [1, 1, 1] to give the radius in voxels). */
  spacing: Vec3;
  /** 'ball' (default, isotropic in mm whatever the spacing) or 'box' (cheaper, cuboid). */
  shape?: 'ball' | 'box';
}

/** Options of {@link erode}. */
export interface ErodeOptions extends StructuringElement {
  /** What lies outside the volume: 0 = background (default, like scipy: the mask erodes from
   * the volume's faces), 1 = foreground (a mask touching a face does not erode from it). */
  borderValue?: 0 | 1;
}

function checkElement(se: StructuringElement, what: string): void {
  checkNumber(se.radiusMm, `${what} radiusMm`, 0);
  checkSpacing(se.spacing, what);
  if (se.shape !== undefined && se.shape !== 'ball' && se.shape !== 'box') {
    throw new ConfigError(`${what}: shape must be 'ball' or 'box', got ${String(se.shape)}`);
  }
}

/** Voxels per side covering radiusMm along each axis. */
function radiusVoxels(radiusMm: number, spacing: Vec3): Vec3 {
  const r = (s: number): number => Math.floor(radiusMm / s + 1e-9);
  return [r(spacing[0]), r(spacing[1]), r(spacing[2])];
}

/**
 * Runs op on the bounding box of the "on" voxels grown by margin (clamped to the volume) and
 * pastes the result into a zero volume: op must leave everything outside that box off.
 * An empty mask gives an empty result without calling op.
 */
function onBoundingBox(
  mask: ArrayLike<number>,
  dims: Vec3,
  margin: Vec3,
  op: (roi: Uint8Array, roiDims: Vec3) => Uint8Array,
): Uint8Array {
  const tight = findBoundingBox(mask, dims);
  if (tight === undefined) return new Uint8Array(dims[0] * dims[1] * dims[2]);
  const box = growBox(tight, margin, dims);
  const roi = cropArray(toBinary(mask), dims, box);
  return uncropArray(op(roi, box.size), box, dims, 0);
}

function toBinary(mask: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < out.length; i++) out[i] = mask[i] !== 0 ? 1 : 0;
  return out;
}

/** Binary dilation: every voxel within the structuring element of an "on" voxel. */
export function dilate(mask: ArrayLike<number>, dims: Vec3, se: StructuringElement): Uint8Array {
  checkLength(mask, dims, 'dilate');
  checkElement(se, 'dilate');
  const r = radiusVoxels(se.radiusMm, se.spacing);
  const margin: Vec3 = [r[0] + 1, r[1] + 1, r[2] + 1];
  return onBoundingBox(mask, dims, margin, (roi, roiDims) => dilateRoi(roi, roiDims, se));
}

function dilateRoi(mask: Uint8Array, dims: Vec3, se: StructuringElement): Uint8Array {
  if (se.radiusMm === 0) return mask;
  if ((se.shape ?? 'ball') === 'box') return boxDilate(mask, dims, radiusVoxels(se.radiusMm, se.spacing), true, false);
  const r2 = ballRadius2(se.radiusMm);
  const dist = squaredDistanceTransform(mask, dims, se.spacing, 1, r2);
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < out.length; i++) out[i] = (dist[i] as number) <= r2 ? 1 : 0;
  return out;
}

/** Binary erosion: voxels whose whole structuring element is "on" (see borderValue). */
export function erode(mask: ArrayLike<number>, dims: Vec3, options: ErodeOptions): Uint8Array {
  checkLength(mask, dims, 'erode');
  checkElement(options, 'erode');
  // A one-voxel margin keeps a layer of "off" voxels around the mask inside the box, so the box
  // faces behave like the rest of the background.
  return onBoundingBox(mask, dims, [1, 1, 1], (roi, roiDims) => erodeRoi(roi, roiDims, options));
}

/**
 * Erosion of a box cut out by onBoundingBox. Box faces that are not volume faces have a layer of
 * "off" voxels just inside them, which is nearer than anything beyond the face, so treating them
 * like volume faces (either borderValue) gives the same result as on the whole volume.
 */
function erodeRoi(mask: Uint8Array, dims: Vec3, options: ErodeOptions): Uint8Array {
  if (options.radiusMm === 0) return mask;
  const borderOn = (options.borderValue ?? 0) === 1;
  if ((options.shape ?? 'ball') === 'box') {
    // erosion = complement of the dilation of the complement (outside counts when it is off)
    const grown = boxDilate(mask, dims, radiusVoxels(options.radiusMm, options.spacing), false, !borderOn);
    for (let i = 0; i < grown.length; i++) grown[i] = grown[i] === 0 ? 1 : 0;
    return grown;
  }
  const r2 = ballRadius2(options.radiusMm);
  const dist = squaredDistanceTransform(mask, dims, options.spacing, 0, r2);
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < out.length; i++) out[i] = mask[i] !== 0 && (dist[i] as number) > r2 ? 1 : 0;
  if (!borderOn) clearNearBorder(out, dims, options.spacing, options.radiusMm);
  return out;
}

/**
 * Closing (dilation then erosion): fills gaps and concavities narrower than the element.
 * The erosion treats outside the volume as foreground, so the result always contains the input
 * (a head touching the field-of-view edge is not eaten away there).
 */
export function close(mask: ArrayLike<number>, dims: Vec3, se: StructuringElement): Uint8Array {
  checkLength(mask, dims, 'close');
  checkElement(se, 'close');
  // One box for both steps: with a margin beyond the radius the dilation stays inside it.
  const r = radiusVoxels(se.radiusMm, se.spacing);
  const margin: Vec3 = [r[0] + 2, r[1] + 2, r[2] + 2];
  return onBoundingBox(mask, dims, margin, (roi, roiDims) =>
    erodeRoi(dilateRoi(roi, roiDims, se), roiDims, { ...se, borderValue: 1 }),
  );
}

/**
 * Opening (erosion then dilation): removes structures thinner than the element. Like close, the
 * erosion treats outside the volume as foreground (structures touching a face are kept there).
 */
export function open(mask: ArrayLike<number>, dims: Vec3, se: StructuringElement): Uint8Array {
  return dilate(erode(mask, dims, { ...se, borderValue: 1 }), dims, se);
}

/**
 * r² with a small relative tolerance so voxels exactly on the sphere count as inside despite the
 * float32 rounding of the stored squared distances (relative error ≈ 6e-8).
 */
function ballRadius2(r: number): number {
  return r * r * (1 + 1e-6);
}

/** Switches off voxels within radiusMm (in mm) of the outside of the volume. */
function clearNearBorder(out: Uint8Array, dims: Vec3, spacing: Vec3, radiusMm: number): void {
  const [nx, ny, nz] = dims;
  const r = radiusMm * (1 + 1e-9) + 1e-9;
  const near = (c: number, len: number, s: number): boolean => (c + 1) * s <= r || (len - c) * s <= r;
  for (let z = 0; z < nz; z++) {
    const nearZ = near(z, nz, spacing[2]);
    for (let y = 0; y < ny; y++) {
      const nearYZ = nearZ || near(y, ny, spacing[1]);
      const base = nx * (y + ny * z);
      for (let x = 0; x < nx; x++) if (nearYZ || near(x, nx, spacing[0])) out[base + x] = 0;
    }
  }
}

/**
 * Separable box dilation of the voxels that are "on" (on = true) or "off" (on = false),
 * optionally with everything outside the volume acting as a site (outsideIsSite).
 */
function boxDilate(mask: ArrayLike<number>, dims: Vec3, radii: Vec3, on: boolean, outsideIsSite: boolean): Uint8Array {
  let cur = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (let i = 0; i < cur.length; i++) cur[i] = (mask[i] !== 0) === on ? 1 : 0;
  let next = new Uint8Array(cur.length);
  for (let axis = 0; axis < 3; axis++) {
    const r = radii[axis] as number;
    if (r === 0 && !outsideIsSite) continue;
    const src = cur;
    const dst = next;
    forEachLine(dims, axis, (offset, stride, len) => dilateLine(src, dst, offset, stride, len, r, outsideIsSite));
    [cur, next] = [next, cur];
  }
  return cur;
}

/** Calls fn(offset, stride, length) for every line of voxels along axis 0 (x), 1 (y) or 2 (z). */
function forEachLine(dims: Vec3, axis: number, fn: (offset: number, stride: number, len: number) => void): void {
  const [nx, ny, nz] = dims;
  if (axis === 0) {
    for (let row = 0; row < ny * nz; row++) fn(row * nx, 1, nx);
  } else if (axis === 1) {
    for (let z = 0; z < nz; z++) for (let x = 0; x < nx; x++) fn(x + nx * ny * z, nx, ny);
  } else {
    for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) fn(x + nx * y, nx * ny, nz);
  }
}

/** 1D dilation of one strided line by r voxels on each side. */
function dilateLine(
  src: Uint8Array,
  dst: Uint8Array,
  offset: number,
  stride: number,
  n: number,
  r: number,
  outsideIsSite: boolean,
): void {
  let last = outsideIsSite ? -1 : -Infinity;
  for (let p = 0; p < n; p++) {
    const i = offset + p * stride;
    if (src[i] !== 0) last = p;
    dst[i] = p - last <= r ? 1 : 0;
  }
  let next = outsideIsSite ? n : Infinity;
  for (let p = n - 1; p >= 0; p--) {
    const i = offset + p * stride;
    if (src[i] !== 0) next = p;
    if (next - p <= r) dst[i] = 1;
  }
}

// ───────────────────────────── connected components ─────────────────────────────
