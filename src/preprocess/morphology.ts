/**
 * 3D binary morphology on Uint8Array masks (NIfTI order, x fastest: i = x + nx·(y + ny·z)):
 * exact Euclidean distance transform (anisotropic spacing, Felzenszwalb–Huttenlocher separable
 * passes), dilation/erosion/closing/opening with a ball (radius in mm, exact via the distance
 * transform) or a box (separable 1D passes), connected components (6/26-connectivity, queue
 * based) and hole filling (3D, or per axial slice in 2D).
 * Every function is O(voxels) per pass, iterative (no recursion) and allocates only whole
 * arrays up front (no per-voxel allocation). Inputs are never modified; a mask voxel is "on"
 * when its value is not 0, outputs hold 0/1.
 * Must not know anything about MRI/CT intensities: that belongs to the callers.
 */

import { ConfigError } from '../errors';
import type { Vec3 } from '../io/volume';
import { checkLength, checkNumber, checkSpacing } from './arrays';
import { cropArray, findBoundingBox, growBox, uncropArray } from './crop';

/** Voxel neighbourhood of connected components: faces only (6) or faces+edges+corners (26). */
export type Connectivity = 6 | 26;

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

/** Result of {@link largestComponent}. */
export interface LargestComponent {
  /** 0/1 mask of the largest connected component (all 0 if the input was empty). */
  mask: Uint8Array;
  /** Voxels in the largest component. */
  size: number;
  /** Voxels in the whole input mask. */
  total: number;
  /** Number of connected components in the input mask. */
  components: number;
}

// ───────────────────────────── distance transform ─────────────────────────────

/**
 * Squared Euclidean distance in mm² from every voxel to the nearest "site" voxel, where sites are
 * the voxels with mask !== 0 (sites = 1, default) or mask === 0 (sites = 0). Sites get 0; when
 * there is no site at all every voxel gets Infinity. Only voxels inside the volume are sites.
 * With maxSq, every distance² above maxSq is reported as Infinity (much faster: lines far from
 * any site are skipped), which is all a dilation/erosion by a ball of radius √maxSq needs.
 */
export function squaredDistanceTransform(
  mask: ArrayLike<number>,
  dims: Vec3,
  spacing: Vec3,
  sites: 0 | 1 = 1,
  maxSq = Infinity,
): Float32Array {
  const n = checkLength(mask, dims, 'distance transform');
  checkSpacing(spacing, 'distance transform');
  const [nx, ny, nz] = dims;
  const out = new Float32Array(n);
  distancePassX(mask, out, dims, spacing[0], sites === 1, maxSq);
  const scratch = makeScratch(Math.max(nx, ny, nz));
  // y pass: lines of stride nx inside each contiguous xy plane.
  if (ny > 1) {
    for (let z = 0; z < nz; z++) {
      for (let x = 0; x < nx; x++) envelopeStrided(out, x + nx * ny * z, nx, ny, spacing[1], maxSq, scratch);
    }
  }
  // z pass: gather one xz plane at a time (contiguous reads) to keep memory access cache friendly.
  if (nz > 1) {
    const plane = new Float32Array(nx * nz);
    for (let y = 0; y < ny; y++) {
      copyRows(out, nx * y, nx * ny, plane, 0, nx, nz, nx);
      for (let x = 0; x < nx; x++) envelopeStrided(plane, x, nx, nz, spacing[2], maxSq, scratch);
      copyRows(plane, 0, nx, out, nx * y, nx * ny, nz, nx);
    }
  }
  return out;
}

/**
 * First pass: exact 1D distance along x, written squared in mm² (capped at maxSq), run by run:
 * a run of sites is 0, a run of other voxels is the distance to the site just before or after
 * it, finite only within √maxSq of one (the middle of long runs is filled with Infinity at once).
 */
function distancePassX(
  mask: ArrayLike<number>,
  out: Float32Array,
  dims: Vec3,
  sx: number,
  onIsSite: boolean,
  maxSq: number,
): void {
  const [nx, ny, nz] = dims;
  const s2 = sx * sx;
  const site = onIsSite ? 1 : 0;
  // farthest finite distance in voxels (+1 so rounding can only make us compute more)
  const reach = maxSq === Infinity ? nx : Math.min(nx, Math.floor(Math.sqrt(maxSq) / sx) + 1);
  const end = nx * ny * nz;
  for (let base = 0; base < end; base += nx) {
    const rowEnd = base + nx;
    let i = base;
    while (i < rowEnd) {
      const start = i;
      if ((mask[i] !== 0 ? 1 : 0) === site) {
        while (i < rowEnd && (mask[i] !== 0 ? 1 : 0) === site) i++;
        out.fill(0, start, i);
        continue;
      }
      while (i < rowEnd && (mask[i] !== 0 ? 1 : 0) !== site) i++;
      // voxels [start, i) are not sites; sites at start − 1 (if > base − 1) and i (if < rowEnd)
      out.fill(Infinity, start, i);
      if (start > base) {
        const stop = Math.min(i, start + reach);
        for (let p = start; p < stop; p++) {
          const d2 = (p - start + 1) * (p - start + 1) * s2;
          if (d2 <= maxSq) out[p] = d2;
        }
      }
      if (i < rowEnd) {
        for (let p = Math.max(start, i - reach); p < i; p++) {
          const d2 = (i - p) * (i - p) * s2;
          if (d2 <= maxSq && d2 < (out[p] as number)) out[p] = d2;
        }
      }
    }
  }
}

/** Copies `rows` runs of `len` values from src (run stride srcStride) to dst (dstStride). */
function copyRows(
  src: Float32Array,
  srcOffset: number,
  srcStride: number,
  dst: Float32Array,
  dstOffset: number,
  dstStride: number,
  rows: number,
  len: number,
): void {
  for (let r = 0; r < rows; r++) {
    const s0 = srcOffset + r * srcStride;
    const d0 = dstOffset + r * dstStride;
    for (let k = 0; k < len; k++) dst[d0 + k] = src[s0 + k] as number;
  }
}

interface Scratch {
  f: Float64Array;
  v: Int32Array;
  z: Float64Array;
}

function makeScratch(n: number): Scratch {
  return { f: new Float64Array(n), v: new Int32Array(n), z: new Float64Array(n + 1) };
}

/**
 * In-place 1D squared-distance envelope (Felzenszwalb–Huttenlocher) of a strided line.
 * Lines that are all sites (0) or all Infinity are left as they are.
 */
function envelopeStrided(
  a: Float32Array,
  offset: number,
  stride: number,
  n: number,
  s: number,
  maxSq: number,
  sc: Scratch,
): void {
  const { f } = sc;
  let finite = 0;
  let zeros = 0;
  for (let q = 0, i = offset; q < n; q++, i += stride) {
    const val = a[i] as number;
    f[q] = val;
    if (val !== Infinity) finite++;
    if (val === 0) zeros++;
  }
  if (finite === 0 || zeros === n) return;
  const k = buildEnvelope(n, s, sc);
  writeEnvelope(a, offset, stride, n, s, maxSq, k, sc);
}

/**
 * Lower envelope of the parabolas ((p − q)·s)² + f[q] over the finite f[q] (at least one).
 * A 0 whose two neighbours are also 0 never is the unique nearest site of any other point, so
 * such interior sites are skipped (long runs inside a mask cost nothing). Returns the index of
 * the last parabola; v holds their sites, z the boundaries between them (in mm).
 */
function buildEnvelope(n: number, s: number, sc: Scratch): number {
  const { f, v, z } = sc;
  let k = -1;
  for (let q = 0; q < n; q++) {
    const fq = f[q] as number;
    if (fq === Infinity) continue;
    if (fq === 0 && q > 0 && q < n - 1 && f[q - 1] === 0 && f[q + 1] === 0) continue;
    const pq = q * s;
    const hq = fq + pq * pq;
    if (k < 0) {
      k = 0;
      v[0] = q;
      z[0] = -Infinity;
      z[1] = Infinity;
      continue;
    }
    let cross = 0;
    for (;;) {
      const vk = v[k] as number;
      const pk = vk * s;
      cross = (hq - ((f[vk] as number) + pk * pk)) / (2 * (pq - pk));
      if (cross <= (z[k] as number)) k--; // z[0] = −∞ so k never drops below 0
      else break;
    }
    k++;
    v[k] = q;
    z[k] = cross;
    z[k + 1] = Infinity;
  }
  return k;
}

/** Writes min over the envelope at every point of the line (sites keep 0; > maxSq → Infinity). */
function writeEnvelope(
  a: Float32Array,
  offset: number,
  stride: number,
  n: number,
  s: number,
  maxSq: number,
  last: number,
  sc: Scratch,
): void {
  const { f, v, z } = sc;
  let k = 0;
  for (let p = 0, i = offset; p < n; p++, i += stride) {
    if (f[p] === 0) {
      a[i] = 0;
      continue;
    }
    const pp = p * s;
    while (k < last && (z[k + 1] as number) < pp) k++;
    const vk = v[k] as number;
    const dp = pp - vk * s;
    const d2 = dp * dp + (f[vk] as number);
    a[i] = d2 > maxSq ? Infinity : d2;
  }
}

// ───────────────────────────── dilation / erosion ─────────────────────────────

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

/**
 * Labels the connected components of the "on" voxels: labels[i] = 1..count (0 = background),
 * sizes[label − 1] = voxel count. Breadth-first with one preallocated queue.
 */
export function labelComponents(
  mask: ArrayLike<number>,
  dims: Vec3,
  connectivity: Connectivity = 6,
): { labels: Int32Array; sizes: number[] } {
  const n = checkLength(mask, dims, 'connected components');
  if (connectivity !== 6 && connectivity !== 26) {
    throw new ConfigError(`connectivity must be 6 or 26, got ${String(connectivity)}`);
  }
  const labels = new Int32Array(n);
  const queue = new Int32Array(n);
  const sizes: number[] = [];
  for (let seed = 0; seed < n; seed++) {
    if (mask[seed] === 0 || labels[seed] !== 0) continue;
    const label = sizes.length + 1;
    labels[seed] = label;
    queue[0] = seed;
    const size =
      connectivity === 6 ? flood6(mask, labels, queue, dims, label) : flood26(mask, labels, queue, dims, label);
    sizes.push(size);
  }
  return { labels, sizes };
}

/**
 * Breadth-first flood of one component through 6-neighbours from the seed in queue[0] (already
 * labelled), writing `label` into labels of every "on" voxel reached. Returns its voxel count.
 */
function flood6(mask: ArrayLike<number>, labels: Int32Array, queue: Int32Array, dims: Vec3, label: number): number {
  const [nx, ny, nz] = dims;
  const plane = nx * ny;
  let head = 0;
  let tail = 1;
  const visit = (j: number): void => {
    if (labels[j] === 0 && mask[j] !== 0) {
      labels[j] = label;
      queue[tail++] = j;
    }
  };
  while (head < tail) {
    const i = queue[head++] as number;
    const x = i % nx;
    const yz = (i - x) / nx;
    const y = yz % ny;
    const z = (yz - y) / ny;
    if (x > 0) visit(i - 1);
    if (x < nx - 1) visit(i + 1);
    if (y > 0) visit(i - nx);
    if (y < ny - 1) visit(i + nx);
    if (z > 0) visit(i - plane);
    if (z < nz - 1) visit(i + plane);
  }
  return tail;
}

/** Like flood6, through all 26 neighbours. */
function flood26(mask: ArrayLike<number>, labels: Int32Array, queue: Int32Array, dims: Vec3, label: number): number {
  const [nx, ny, nz] = dims;
  const plane = nx * ny;
  let head = 0;
  let tail = 1;
  while (head < tail) {
    const i = queue[head++] as number;
    const x = i % nx;
    const yz = (i - x) / nx;
    const y = yz % ny;
    const z = (yz - y) / ny;
    const z0 = z > 0 ? -1 : 0;
    const z1 = z < nz - 1 ? 1 : 0;
    const y0 = y > 0 ? -1 : 0;
    const y1 = y < ny - 1 ? 1 : 0;
    const x0 = x > 0 ? -1 : 0;
    const x1 = x < nx - 1 ? 1 : 0;
    for (let dz = z0; dz <= z1; dz++) {
      for (let dy = y0; dy <= y1; dy++) {
        const rowBase = i + dz * plane + dy * nx;
        for (let dx = x0; dx <= x1; dx++) {
          const j = rowBase + dx;
          if (labels[j] === 0 && mask[j] !== 0) {
            labels[j] = label;
            queue[tail++] = j;
          }
        }
      }
    }
  }
  return tail;
}

/** The largest connected component of the "on" voxels (ties: the first found in voxel order). */
export function largestComponent(
  mask: ArrayLike<number>,
  dims: Vec3,
  connectivity: Connectivity = 6,
): LargestComponent {
  const { labels, sizes } = labelComponents(mask, dims, connectivity);
  let best = 0;
  let total = 0;
  for (let l = 0; l < sizes.length; l++) {
    total += sizes[l] as number;
    if ((sizes[l] as number) > (sizes[best] ?? 0)) best = l;
  }
  const out = new Uint8Array(labels.length);
  const size = sizes[best] ?? 0;
  if (size > 0) {
    const label = best + 1;
    for (let i = 0; i < labels.length; i++) out[i] = labels[i] === label ? 1 : 0;
  }
  return { mask: out, size, total, components: sizes.length };
}

// ───────────────────────────── hole filling ─────────────────────────────

const OPEN = 0; // background not reached yet
const WALL = 1; // foreground, or the sentinel layer around the volume
const REACHED = 2; // background connected to the volume's border

/**
 * Copies one x-fastest grid (nx·ny·nz) into the middle of a grid with a one-voxel sentinel layer
 * (WALL) on every side: foreground → WALL, background → OPEN.
 */
function padStatus(mask: ArrayLike<number>, offset: number, nx: number, ny: number, nz: number, out: Uint8Array): void {
  const px = nx + 2;
  const py = ny + 2;
  out.fill(WALL);
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      const src = offset + nx * (y + ny * z);
      const dst = 1 + px * (y + 1 + py * (nz > 1 ? z + 1 : 0));
      for (let x = 0; x < nx; x++) out[dst + x] = mask[src + x] !== 0 ? WALL : OPEN;
    }
  }
}

/** Seeds every OPEN voxel next to the sentinel layer and floods through OPEN neighbours. */
function floodFromBorder(status: Uint8Array, queue: Int32Array, px: number, py: number, pz: number): void {
  const plane = px * py;
  const offsets = pz > 1 ? [1, -1, px, -px, plane, -plane] : [1, -1, px, -px];
  const o0 = offsets[0] as number;
  const o1 = offsets[1] as number;
  const o2 = offsets[2] as number;
  const o3 = offsets[3] as number;
  const o4 = offsets[4] ?? 0;
  const o5 = offsets[5] ?? 0;
  let tail = 0;
  const z0 = pz > 1 ? 1 : 0;
  const z1 = pz > 1 ? pz - 2 : 0;
  for (let z = z0; z <= z1; z++) {
    for (let y = 1; y < py - 1; y++) {
      for (let x = 1; x < px - 1; x++) {
        const onFace = x === 1 || x === px - 2 || y === 1 || y === py - 2 || (pz > 1 && (z === 1 || z === pz - 2));
        if (!onFace) {
          x = px - 3; // jump to the last inner column of this row
          continue;
        }
        const i = x + px * (y + py * z);
        if (status[i] === OPEN) {
          status[i] = REACHED;
          queue[tail++] = i;
        }
      }
    }
  }
  let head = 0;
  const three = pz > 1;
  while (head < tail) {
    const i = queue[head++] as number;
    let j = i + o0;
    if (status[j] === OPEN) (status[j] = REACHED), (queue[tail++] = j);
    j = i + o1;
    if (status[j] === OPEN) (status[j] = REACHED), (queue[tail++] = j);
    j = i + o2;
    if (status[j] === OPEN) (status[j] = REACHED), (queue[tail++] = j);
    j = i + o3;
    if (status[j] === OPEN) (status[j] = REACHED), (queue[tail++] = j);
    if (three) {
      j = i + o4;
      if (status[j] === OPEN) (status[j] = REACHED), (queue[tail++] = j);
      j = i + o5;
      if (status[j] === OPEN) (status[j] = REACHED), (queue[tail++] = j);
    }
  }
}

/** Writes the filled result (everything but REACHED is on) from a padded grid. */
function unpadFilled(status: Uint8Array, out: Uint8Array, offset: number, nx: number, ny: number, nz: number): void {
  const px = nx + 2;
  const py = ny + 2;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      const dst = offset + nx * (y + ny * z);
      const src = 1 + px * (y + 1 + py * (nz > 1 ? z + 1 : 0));
      for (let x = 0; x < nx; x++) out[dst + x] = status[src + x] === REACHED ? 0 : 1;
    }
  }
}

/**
 * 3D hole filling: every "off" voxel not 6-connected (through "off" voxels) to the faces of the
 * volume becomes "on". Returns a new 0/1 mask.
 */
export function fillHoles3d(mask: ArrayLike<number>, dims: Vec3): Uint8Array {
  const n = checkLength(mask, dims, 'fill holes');
  const [nx, ny, nz] = dims;
  if (nz === 1) return fillHolesAxial(mask, dims);
  const status = new Uint8Array((nx + 2) * (ny + 2) * (nz + 2));
  padStatus(mask, 0, nx, ny, nz, status);
  floodFromBorder(status, new Int32Array(n), nx + 2, ny + 2, nz + 2);
  const out = new Uint8Array(n);
  unpadFilled(status, out, 0, nx, ny, nz);
  return out;
}

/**
 * 2D hole filling in every axial slice (fixed z): "off" pixels not 4-connected to the slice's
 * border become "on". Fills cavities that are closed within a slice but open across slices
 * (e.g. sinuses, skull gaps). Returns a new 0/1 mask.
 */
export function fillHolesAxial(mask: ArrayLike<number>, dims: Vec3): Uint8Array {
  const n = checkLength(mask, dims, 'fill holes (axial)');
  const [nx, ny, nz] = dims;
  const out = new Uint8Array(n);
  const status = new Uint8Array((nx + 2) * (ny + 2));
  const queue = new Int32Array(nx * ny);
  for (let z = 0; z < nz; z++) {
    const offset = z * nx * ny;
    padStatus(mask, offset, nx, ny, 1, status);
    floodFromBorder(status, queue, nx + 2, ny + 2, 1);
    unpadFilled(status, out, offset, nx, ny, 1);
  }
  return out;
}
