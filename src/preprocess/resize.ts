/**
 * Step 7 of preprocessing: every axial slice (fixed z) is padded to a square field of view in
 * millimetres, centred, then resized to size × size (default 256), so anatomy keeps its aspect
 * ratio also when in-plane voxels are not square (e.g. 1.0 × 0.898 mm): the padded extent along
 * each axis is round(L / spacing) voxels with L = max(nx·sx, ny·sy), so both axes span the same
 * L mm and every cache pixel is L/size mm square. Bilinear for images, nearest for label masks.
 * {@link unresizeSlices} undoes it (resize back to the padded square, remove the padding): used at
 * inference to bring predicted slices back onto the cropped volume's grid.
 *
 * Output layout (the cache layout [slices, H, W]): a Float32Array, row-major, index
 *   i = x + size · (y + size · z)      (slice z, then row y, then column x)
 * i.e. slice-major, each slice stored row by row, x (W) fastest. This is the same memory order
 * as a NIfTI volume of dims [size, size, slices].
 *
 * Sampling convention (pixel centres, like OpenCV INTER_LINEAR and PIL, i.e. NOT align-corners):
 * output pixel o samples the padded image at p = (o + 0.5) / scale − 0.5, scale = size / paddedSize,
 * coordinates clamped to the padded image (edge replicate). Nearest takes ⌊(o + 0.5) / scale⌋.
 * Bilinear down-sampling is not anti-aliased (like OpenCV's INTER_LINEAR).
 * Padding: padBefore = ⌊(paddedSize − n) / 2⌋ per axis, paddedSize = max(nx, ny); pad pixels hold
 * `padValue` (the image's background: 0 for normalised MRI and masks, the normalised air value
 * for CT, see normalizedHu).
 * Must not clamp values (step 8) and must not modify its input.
 */

import { ConfigError } from '../errors';
import type { Vec3 } from '../io/volume';
import { checkLength, checkNumber } from './arrays';

/** How pixel values are sampled. */
export type Interpolation = 'bilinear' | 'nearest';

/** Options of {@link resizeSlices}. */
export interface ResizeOptions {
  /** Side of the square output slices in pixels. Default 256. */
  size?: number;
  /** 'bilinear' (default, images) or 'nearest' (label masks: keeps label values). */
  interpolation?: Interpolation;
  /** Value of the padding added to make slices square. Default 0. */
  padValue?: number;
  /** In-plane voxel size [sx, sy] in mm: slices are padded to a square in mm. Default [1, 1]. */
  pixelSpacing?: [number, number];
}

/** Default output slice size. */
export const DEFAULT_SLICE_SIZE = 256;

/** Everything needed to undo {@link resizeSlices}; plain JSON-able data. */
export interface SliceGeometry {
  /** In-plane size [nx, ny] of the slices before padding. */
  sourceSize: [number, number];
  /** Number of slices (nz). */
  slices: number;
  /** Pad pixels added before x = 0 and y = 0 (the rest goes after). */
  padBefore: [number, number];
  /** Side of the padded square: max(nx, ny) for square voxels; the larger of `padded` otherwise. */
  paddedSize: number;
  /** Padded extent [Px, Py] in source voxels when in-plane voxels are not square (Px·sx ≈ Py·sy). */
  padded?: [number, number];
  /** Side of the output square. */
  size: number;
  /** size / paddedSize (output pixels per source pixel). */
  scale: number;
  /** Millimetres per cache pixel [x, y] (equal up to the rounding of `padded`). */
  pixelMm?: [number, number];
}

/** The padded extent [Px, Py] of a geometry in source voxels. */
export function paddedExtent(g: SliceGeometry): [number, number] {
  return g.padded ?? [g.paddedSize, g.paddedSize];
}

/** Result of {@link resizeSlices}. */
export interface ResizeResult {
  /** [slices, size, size] row-major: i = x + size · (y + size · z). */
  data: Float32Array;
  geometry: SliceGeometry;
}

/** Options of {@link unresizeSlices}. */
export interface UnresizeOptions {
  /** 'bilinear' (default) or 'nearest' (label masks). */
  interpolation?: Interpolation;
}

/** Per-output-coordinate sampling table along one axis. */
interface AxisTable {
  /** Input index of the lower neighbour. */
  i0: Int32Array;
  /** Input index of the upper neighbour. */
  i1: Int32Array;
  /** Weight of the upper neighbour (0 for nearest). */
  w: Float64Array;
}

/**
 * Sampling table for outLen output pixels reading a line of inLen pixels: output pixel o samples
 * coordinate (o + 0.5) · step − 0.5 clamped to [0, inLen − 1] (nearest: ⌊(o + 0.5) · step⌋).
 */
function axisTable(outLen: number, inLen: number, step: number, nearest: boolean): AxisTable {
  const t: AxisTable = { i0: new Int32Array(outLen), i1: new Int32Array(outLen), w: new Float64Array(outLen) };
  for (let o = 0; o < outLen; o++) {
    if (nearest) {
      const p = Math.min(inLen - 1, Math.max(0, Math.floor((o + 0.5) * step)));
      t.i0[o] = p;
      t.i1[o] = p;
      continue;
    }
    const f = Math.min(inLen - 1, Math.max(0, (o + 0.5) * step - 0.5));
    const p0 = Math.floor(f);
    t.i0[o] = p0;
    t.i1[o] = Math.min(p0 + 1, inLen - 1);
    t.w[o] = f - p0;
  }
  return t;
}

/** Resamples one slice (srcW wide, x fastest) into dst at dstOffset using the tables. */
function resampleSlice(
  src: Float32Array,
  srcOffset: number,
  srcW: number,
  dst: Float32Array,
  dstOffset: number,
  tx: AxisTable,
  ty: AxisTable,
): void {
  const W = tx.i0.length;
  const H = ty.i0.length;
  const { i0: x0s, i1: x1s, w: wxs } = tx;
  let o = dstOffset;
  for (let y = 0; y < H; y++) {
    const r0 = srcOffset + (ty.i0[y] as number) * srcW;
    const r1 = srcOffset + (ty.i1[y] as number) * srcW;
    const wy = ty.w[y] as number;
    for (let x = 0; x < W; x++) {
      const x0 = x0s[x] as number;
      const x1 = x1s[x] as number;
      const wx = wxs[x] as number;
      const a = src[r0 + x0] as number;
      const c = src[r1 + x0] as number;
      const top = a + wx * ((src[r0 + x1] as number) - a);
      const bottom = c + wx * ((src[r1 + x1] as number) - c);
      dst[o++] = top + wy * (bottom - top);
    }
  }
}

/** Copies slice z of a volume into the centre of a paddedSize² buffer filled with padValue. */
function padSlice(data: ArrayLike<number>, z: number, g: SliceGeometry, padValue: number, out: Float32Array): void {
  const [nx, ny] = g.sourceSize;
  const P = paddedExtent(g)[0];
  out.fill(padValue);
  const base = z * nx * ny;
  for (let y = 0; y < ny; y++) {
    const src = base + y * nx;
    const dst = g.padBefore[0] + P * (y + g.padBefore[1]);
    if (data instanceof Float32Array) out.set(data.subarray(src, src + nx), dst);
    else for (let x = 0; x < nx; x++) out[dst + x] = data[src + x] as number;
  }
}

function checkInterpolation(i: Interpolation): void {
  if (i !== 'bilinear' && i !== 'nearest') {
    throw new ConfigError(`interpolation must be 'bilinear' or 'nearest', got ${String(i)}`);
  }
}

/**
 * The padding/scaling geometry of slices of in-plane size [nx, ny] (voxels of spacing [sx, sy]
 * mm) resized to size.
 */
export function sliceGeometry(dims: Vec3, size: number, pixelSpacing: [number, number] = [1, 1]): SliceGeometry {
  const [nx, ny, nz] = dims;
  const [sx, sy] = pixelSpacing;
  if (!(sx > 0 && sy > 0)) throw new ConfigError(`resize: in-plane spacing must be positive, got ${sx}×${sy} mm`);
  const square = Math.abs(sx / sy - 1) < 1e-4;
  const extent = Math.max(nx * sx, ny * sy);
  const padded: [number, number] = square ? [Math.max(nx, ny), Math.max(nx, ny)] : [Math.max(nx, Math.round(extent / sx)), Math.max(ny, Math.round(extent / sy))];
  const paddedSize = Math.max(...padded);
  return {
    sourceSize: [nx, ny],
    slices: nz,
    padBefore: [Math.floor((padded[0] - nx) / 2), Math.floor((padded[1] - ny) / 2)],
    paddedSize,
    ...(square ? {} : { padded }),
    size,
    scale: size / paddedSize,
    pixelMm: [(padded[0] * sx) / size, (padded[1] * sy) / size],
  };
}

/** Pads each axial slice to a centred square and resizes it to size × size; see the header. */
export function resizeSlices(
  vol: { data: ArrayLike<number>; dims: Vec3 },
  options: ResizeOptions = {},
): ResizeResult {
  const size = options.size ?? DEFAULT_SLICE_SIZE;
  if (!Number.isInteger(size) || size < 1) throw new ConfigError(`resize size must be a positive integer, got ${size}`);
  const interpolation = options.interpolation ?? 'bilinear';
  checkInterpolation(interpolation);
  const padValue = checkNumber(options.padValue ?? 0, 'padValue');
  checkLength(vol.data, vol.dims, 'resize');
  const g = sliceGeometry(vol.dims, size, options.pixelSpacing);
  const nearest = interpolation === 'nearest';
  const [px, py] = paddedExtent(g);
  const tx = axisTable(size, px, px / size, nearest);
  const ty = px === py ? tx : axisTable(size, py, py / size, nearest);
  const padded = new Float32Array(px * py);
  const data = new Float32Array(size * size * g.slices);
  for (let z = 0; z < g.slices; z++) {
    padSlice(vol.data, z, g, padValue, padded);
    resampleSlice(padded, 0, px, data, z * size * size, tx, ty);
  }
  return { data, geometry: g };
}

/**
 * Inverse of {@link resizeSlices}: resizes [slices, size, size] data back to the padded square
 * and removes the padding. Returns a Float32Array in volume order (x fastest) of dims
 * [sourceSize[0], sourceSize[1], slices].
 */
export function unresizeSlices(
  data: ArrayLike<number>,
  geometry: SliceGeometry,
  options: UnresizeOptions = {},
): Float32Array {
  const interpolation = options.interpolation ?? 'bilinear';
  checkInterpolation(interpolation);
  const { size, padBefore, sourceSize, slices } = geometry;
  checkLength(data, [size, size, slices], 'unresize');
  const src = data instanceof Float32Array ? data : Float32Array.from(data);
  const nearest = interpolation === 'nearest';
  // Output pixel x sits at padded coordinate x + padBefore: sample the resized image there.
  const [px, py] = paddedExtent(geometry);
  const part = (padLen: number, pad: number, len: number): AxisTable => {
    const full = axisTable(padLen, size, size / padLen, nearest);
    return { i0: full.i0.subarray(pad, pad + len), i1: full.i1.subarray(pad, pad + len), w: full.w.subarray(pad, pad + len) };
  };
  const tx = part(px, padBefore[0], sourceSize[0]);
  const ty = part(py, padBefore[1], sourceSize[1]);
  const plane = sourceSize[0] * sourceSize[1];
  const out = new Float32Array(plane * slices);
  for (let z = 0; z < slices; z++) resampleSlice(src, z * size * size, size, out, z * plane, tx, ty);
  return out;
}
