/**
 * Exact squared Euclidean distance transform of a 3D binary mask with anisotropic spacing
 * (Felzenszwalb–Huttenlocher separable lower-envelope passes, O(voxels) per axis, no per-voxel
 * allocation). The ball operations of morphology.ts are built on it. Must not know about MRI/CT
 * intensities, and must not modify its input.
 */
import type { Vec3 } from '../io/volume';
import { checkLength, checkSpacing } from './arrays';

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

