/**
 * Slice extraction for pictures: axial, coronal and sagittal slices of a Volume (NIfTI voxel
 * order, x fastest: index = x + nx·(y + ny·z)) and axial slices of cache arrays
 * ([slices, H, W], same memory order), turned into display orientation.
 *
 * Display orientation (radiological convention by default, as CT and MRI viewers show them):
 *  - axial:    anterior at the top,  patient's right on the image's left  (labels A / L / P / R);
 *  - coronal:  superior at the top,  patient's right on the image's left  (labels S / L / I / R);
 *  - sagittal: superior at the top,  anterior on the image's left         (labels S / P / I / A).
 * `convention: 'neurological'` puts the patient's left on the image's left instead (axial and
 * coronal; labels swap accordingly). Top/bottom never change.
 *
 * How world directions are found: the voxel-to-world affine is assumed RAS-like (NIfTI RAS+ mm,
 * axis-aligned up to small rotations; obliquity is ignored, no resampling). Each voxel axis is
 * matched to the world axis its affine column points along most (R/L, A/P or S/I; the largest
 * entries are taken first, as nibabel's io_orientation does), with that entry's sign. So RAS,
 * LPS, LAS, … and permuted storage orders all display the same way. "Axial" is the plane normal
 * to the voxel axis that runs along S/I, and a slice `index` counts along that voxel axis in
 * storage order (0 = first stored slice, whichever end that is). A degenerate (all-zero)
 * affine is read as the identity (RAS).
 *
 * Pixels are made square by default: when the in-plane voxel sizes differ (e.g. 1 mm in-plane,
 * 1.2 mm slices in a coronal view) the rows are linearly resampled to the column pixel size.
 * Values are never windowed or rescaled here.
 * Must not: draw, read or write files, or import tslab (display belongs to the notebook).
 */
import type { Affine, Vec3, Volume } from '../io/volume';

/** The three orthogonal planes. */
export type ViewPlane = 'axial' | 'coronal' | 'sagittal';

/** The planes in the order figures show them. */
export const VIEW_PLANES: readonly ViewPlane[] = ['axial', 'coronal', 'sagittal'];

/** 'radiological' (patient's right on the image's left, default) or 'neurological' (left on left). */
export type LeftRightConvention = 'radiological' | 'neurological';

/** Options of {@link extractSlice}. */
export interface SliceViewOptions {
  /** Left/right convention of axial and coronal views. Default 'radiological'. */
  convention?: LeftRightConvention;
  /** Resample rows so that pixels are square in mm. Default true. */
  squarePixels?: boolean;
}

/** A 2D slice in display orientation, ready for a panel of renderPanelGrid. */
export interface SliceView {
  /** Row-major pixel values, `height` rows of `width`, row 0 at the top of the picture. */
  values: Float32Array;
  width: number;
  height: number;
  plane: ViewPlane;
  /** Slice index along the plane's normal voxel axis (storage order). */
  index: number;
  /** Number of slices along that axis. */
  count: number;
  /** Voxel axis (0 = x, 1 = y, 2 = z) normal to the plane. */
  normalAxis: 0 | 1 | 2;
  /** Orientation labels [top, right, bottom, left], as Panel.orientation wants them. */
  orientation: [string, string, string, string];
  /** Pixel size in mm of the returned picture: [column width, row height]. */
  pixelMm: [number, number];
  /**
   * True when the picture is a mirror image of the plain storage layout (rows along the higher
   * in-plane voxel axis, row 0 at the top, columns along the lower one): then a rotation that is
   * counter-clockwise in storage layout looks clockwise here.
   */
  mirrored: boolean;
}

/** Where a world axis (R, A or S) lies in voxel space. */
export interface WorldAxis {
  /** Voxel axis running along this world axis. */
  voxelAxis: 0 | 1 | 2;
  /** +1 when increasing the voxel index moves towards R / A / S, −1 when towards L / P / I. */
  sign: 1 | -1;
}

/** For world axes [R, A, S]: the voxel axis along each and its direction. */
export type WorldAxisMap = [WorldAxis, WorldAxis, WorldAxis];

/**
 * Matches voxel axes to world axes from the affine's 3×3 part: the largest absolute entry first,
 * then the largest among the remaining rows and columns, and so on.
 */
export function worldAxisMap(affine: Affine): WorldAxisMap {
  const m = [0, 1, 2].map((r) => [0, 1, 2].map((c) => Number(affine[r]?.[c] ?? 0)));
  const usedRows = new Set<number>();
  const usedCols = new Set<number>();
  const out: Partial<Record<number, WorldAxis>> = {};
  for (let k = 0; k < 3; k++) {
    let best = -1;
    let br = -1;
    let bc = -1;
    for (let r = 0; r < 3; r++) {
      if (usedRows.has(r)) continue;
      for (let c = 0; c < 3; c++) {
        if (usedCols.has(c)) continue;
        const v = Math.abs(m[r]?.[c] ?? 0);
        if (Number.isFinite(v) && v > best) [best, br, bc] = [v, r, c];
      }
    }
    if (best <= 0) break; // degenerate: fall back to identity below
    usedRows.add(br);
    usedCols.add(bc);
    out[br] = { voxelAxis: bc as 0 | 1 | 2, sign: (m[br]?.[bc] ?? 1) < 0 ? -1 : 1 };
  }
  if (out[0] === undefined || out[1] === undefined || out[2] === undefined) {
    return [{ voxelAxis: 0, sign: 1 }, { voxelAxis: 1, sign: 1 }, { voxelAxis: 2, sign: 1 }];
  }
  return [out[0], out[1], out[2]];
}

/** Geometry of a plane: which world axes are normal, vertical (top = +) and horizontal. */
interface PlaneLayout {
  normal: 0 | 1 | 2;
  /** World axis shown vertically; its positive end (A or S) is at the top. */
  rowWorld: 0 | 1 | 2;
  /** World axis shown horizontally. */
  colWorld: 0 | 1 | 2;
  /** +1: the column index grows towards the world axis' positive end (R or A); −1: towards L or P. */
  colDirection: 1 | -1;
  orientation: [string, string, string, string];
}

function planeLayout(plane: ViewPlane, convention: LeftRightConvention): PlaneLayout {
  const radio = convention === 'radiological';
  // Radiological: image left = patient right, so columns run R → L (towards −R).
  const lr: Pick<PlaneLayout, 'colDirection'> & { left: string; right: string } = radio
    ? { colDirection: -1, left: 'R', right: 'L' }
    : { colDirection: 1, left: 'L', right: 'R' };
  switch (plane) {
    case 'axial':
      return { normal: 2, rowWorld: 1, colWorld: 0, colDirection: lr.colDirection, orientation: ['A', lr.right, 'P', lr.left] };
    case 'coronal':
      return { normal: 1, rowWorld: 2, colWorld: 0, colDirection: lr.colDirection, orientation: ['S', lr.right, 'I', lr.left] };
    case 'sagittal':
      // Anterior on the image's left (face looking left), in either convention.
      return { normal: 0, rowWorld: 2, colWorld: 1, colDirection: -1, orientation: ['S', 'P', 'I', 'A'] };
    default:
      throw new RangeError(`unknown view plane '${String(plane)}': use 'axial', 'coronal' or 'sagittal'`);
  }
}

/** The voxel axis normal to `plane` in a volume with this affine. */
export function planeNormalAxis(affine: Affine, plane: ViewPlane): 0 | 1 | 2 {
  return worldAxisMap(affine)[planeLayout(plane, 'radiological').normal].voxelAxis;
}

/** Number of slices of `plane` in the volume. */
export function sliceCount(vol: Pick<Volume<ArrayLike<number>>, 'dims' | 'affine'>, plane: ViewPlane): number {
  return vol.dims[planeNormalAxis(vol.affine, plane)];
}

/** The slice index at `fraction` (0..1) of the way through the plane's slices (0.5: the middle). */
export function sliceAt(vol: Pick<Volume<ArrayLike<number>>, 'dims' | 'affine'>, plane: ViewPlane, fraction = 0.5): number {
  const n = sliceCount(vol, plane);
  return Math.min(n - 1, Math.max(0, Math.round(fraction * (n - 1))));
}

/** Linear resampling of the rows of a row-major image to `newHeight` rows (pixel centres aligned). */
function resampleRows(values: Float32Array, width: number, height: number, newHeight: number): Float32Array {
  const out = new Float32Array(width * newHeight);
  const scale = height / newHeight;
  for (let r = 0; r < newHeight; r++) {
    const p = Math.min(height - 1, Math.max(0, (r + 0.5) * scale - 0.5));
    const r0 = Math.floor(p);
    const r1 = Math.min(height - 1, r0 + 1);
    const f = p - r0;
    for (let c = 0; c < width; c++) {
      out[r * width + c] = (1 - f) * (values[r0 * width + c] ?? 0) + f * (values[r1 * width + c] ?? 0);
    }
  }
  return out;
}

/**
 * One slice of `plane` at voxel `index` along the plane's normal axis (default: the middle),
 * in display orientation (see the module header).
 */
export function extractSlice(vol: Volume<ArrayLike<number>>, plane: ViewPlane, index?: number, options: SliceViewOptions = {}): SliceView {
  const layout = planeLayout(plane, options.convention ?? 'radiological');
  const map = worldAxisMap(vol.affine);
  const dims = vol.dims;
  const n = dims[0] * dims[1] * dims[2];
  if (vol.data.length !== n) throw new RangeError(`volume has ${vol.data.length} voxels but dims ${dims.join('×')} need ${n}`);
  const strides: Vec3 = [1, dims[0], dims[0] * dims[1]];
  const normal = map[layout.normal].voxelAxis;
  const count = dims[normal];
  const k = index ?? Math.floor((count - 1) / 2);
  if (!Number.isInteger(k) || k < 0 || k >= count) {
    throw new RangeError(`${plane} slice ${k} is outside 0..${count - 1}`);
  }
  const row = map[layout.rowWorld];
  const col = map[layout.colWorld];
  const height = dims[row.voxelAxis];
  const width = dims[col.voxelAxis];
  const values = new Float32Array(width * height);
  const base = k * strides[normal];
  const rowStride = strides[row.voxelAxis];
  const colStride = strides[col.voxelAxis];
  for (let r = 0; r < height; r++) {
    // Top row = the most anterior / superior voxel.
    const vr = row.sign > 0 ? height - 1 - r : r;
    const rowBase = base + vr * rowStride;
    for (let c = 0; c < width; c++) {
      const vc = col.sign * layout.colDirection > 0 ? c : width - 1 - c;
      values[r * width + c] = Number(vol.data[rowBase + vc * colStride] ?? 0);
    }
  }
  const rowMm = Math.abs(vol.spacing[row.voxelAxis]) || 1;
  const colMm = Math.abs(vol.spacing[col.voxelAxis]) || 1;
  const transposed = row.voxelAxis < col.voxelAxis;
  const rowFlipped = row.sign > 0;
  const colFlipped = !(col.sign * layout.colDirection > 0);
  const view: SliceView = {
    values, width, height, plane, index: k, count, normalAxis: normal, orientation: layout.orientation, pixelMm: [colMm, rowMm],
    mirrored: transposed !== (rowFlipped !== colFlipped),
  };
  if ((options.squarePixels ?? true) && Math.abs(rowMm / colMm - 1) > 0.01) {
    const newHeight = Math.max(1, Math.round((height * rowMm) / colMm));
    return { ...view, values: resampleRows(values, width, height, newHeight), height: newHeight, pixelMm: [colMm, colMm] };
  }
  return view;
}

/** The axial, coronal and sagittal slices through one voxel (default: the volume's centre). */
export function orthogonalSlices(vol: Volume<ArrayLike<number>>, voxel?: Vec3, options: SliceViewOptions = {}): SliceView[] {
  return VIEW_PLANES.map((plane) => {
    const axis = planeNormalAxis(vol.affine, plane);
    return extractSlice(vol, plane, voxel === undefined ? undefined : voxel[axis], options);
  });
}

/**
 * Axial slice `index` of cache arrays [slices, H, W] (preprocessing keeps the voxel axes: row =
 * voxel y, column = voxel x, slice = voxel z of the original volume) in display orientation.
 * `affine` is the original volume's (from the patient's metadata geometry); only its directions
 * matter. Cache pixels are square, so no resampling happens. The pipeline assumes voxel z runs
 * along S/I; when the affine says otherwise the slice is returned in storage order, unlabelled.
 */
export function cacheSlice(
  data: ArrayLike<number>,
  shape: readonly [number, number, number],
  index: number,
  affine: Affine,
  options: Pick<SliceViewOptions, 'convention'> = {},
): SliceView {
  const [slices, h, w] = shape;
  if (!Number.isInteger(index) || index < 0 || index >= slices) throw new RangeError(`cache slice ${index} is outside 0..${slices - 1}`);
  const px = h * w;
  // The pipeline cuts slices along voxel z; if the affine says z is not S/I, show the slice in
  // storage order (identity directions) with no orientation labels rather than mislabel it.
  const zIsAxial = worldAxisMap(affine)[2].voxelAxis === 2;
  const one = {
    data: Float32Array.from({ length: px }, (_, i) => Number(data[index * px + i] ?? 0)),
    dims: [w, h, 1] as Vec3,
    spacing: [1, 1, 1] as Vec3,
    affine: zIsAxial ? affine : [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
  };
  const view = extractSlice(one, 'axial', 0, { ...options, squarePixels: false });
  return { ...view, index, count: slices, orientation: zIsAxial ? view.orientation : ['', '', '', ''] };
}
