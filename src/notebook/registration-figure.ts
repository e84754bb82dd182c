/**
 * Figure of a CT-to-MRI registration for notebook 02: checkerboards of the MRI and the CT (both on
 * the MRI grid, each windowed to 0..1 grey) in axial, coronal and sagittal views, before
 * registration (the CT put on the MRI grid by the headers) and after (the registered CT), as one
 * PNG (node-canvas via src/viz/panel-grid.ts); and the transform and quality figures as text.
 * Where the two images disagree, edges break at the tile borders.
 * Must not: run registration, import tslab or display anything (the notebook displays what
 * these return).
 */

import type { Affine, Vec3, Volume } from '../io/volume';
import { maskCentre } from '../preprocess/crop';
import type { RegistrationResult } from '../register/register';
import { transformDistanceMm } from '../register/known-motion';
import { renderPanelGrid, type Panel } from '../viz/panel-grid';
import { CT_WINDOWS, percentileWindow, type Window } from '../viz/window';
import { extractSlice, VIEW_PLANES, planeNormalAxis, type SliceView } from './volume-views';

/** Values mapped through a window to 0..1 (clamped). */
export function windowed(values: ArrayLike<number>, w: Window): Float32Array {
  const out = new Float32Array(values.length);
  const scale = 1 / (w.high - w.low);
  for (let i = 0; i < values.length; i++) out[i] = Math.min(1, Math.max(0, ((values[i] as number) - w.low) * scale));
  return out;
}

/**
 * Checkerboard of two pictures of the same size (row-major, `height` rows of `width`): tile
 * (row ⌊r/tile⌋, column ⌊c/tile⌋) comes from `a` when row + column is even, from `b` otherwise.
 */
export function checkerboard(a: ArrayLike<number>, b: ArrayLike<number>, width: number, height: number, tile: number): Float32Array {
  if (a.length !== width * height || b.length !== width * height) {
    throw new RangeError(`checkerboard: pictures of ${a.length} and ${b.length} pixels for ${width}×${height}`);
  }
  if (!(Number.isInteger(tile) && tile >= 1)) throw new RangeError(`checkerboard: tile must be a positive integer, got ${tile}`);
  const out = new Float32Array(width * height);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const k = r * width + c;
      out[k] = (Math.floor(r / tile) + Math.floor(c / tile)) % 2 === 0 ? (a[k] as number) : (b[k] as number);
    }
  }
  return out;
}

/** Inputs of {@link registrationFigure}. */
export interface RegistrationFigureInput {
  /** The MRI (fixed image); its grid is the CTs' grid. */
  mri: Volume<ArrayLike<number>>;
  /** The CT on the MRI grid before registration (HU). */
  ctBefore: ArrayLike<number>;
  /** The registered CT on the MRI grid (HU), e.g. RegistrationResult.ctOnMri. */
  ctAfter: ArrayLike<number>;
  /** Head mask on the MRI grid: the views cross at its centre, the MRI window is taken inside it. */
  headMask?: ArrayLike<number>;
  /** Voxel where the three views cross (default: the head mask's centre, else the volume's). */
  voxel?: Vec3;
  /** Default: the MRI's 1–99 percentiles (inside the head mask when given). */
  mriWindow?: Window;
  /** Default: the bone window (−500..1500 HU: skin grey, skull white). */
  ctWindow?: Window;
  /** Tile side in pixels of the slice pictures (default: an eighth of the largest side). */
  tile?: number;
  title?: string;
}

/** The picture values of one checkerboard panel, and the tile used. */
export interface CheckerboardView {
  plane: SliceView['plane'];
  values: Float32Array;
  width: number;
  height: number;
  tile: number;
  view: SliceView;
}

/** The six checkerboards (before: axial, coronal, sagittal; then after), values 0..1. */
export function registrationCheckerboards(input: RegistrationFigureInput): { before: CheckerboardView[]; after: CheckerboardView[]; mriWindow: Window; ctWindow: Window } {
  const { mri } = input;
  const voxel = input.voxel ?? (input.headMask !== undefined ? maskCentre(input.headMask, mri.dims) : undefined);
  let mriWindow = input.mriWindow;
  if (mriWindow === undefined) {
    const m = input.headMask;
    let inHead: ArrayLike<number> = mri.data;
    if (m !== undefined) {
      const v: number[] = [];
      for (let i = 0; i < m.length; i++) if ((m[i] as number) !== 0) v.push(mri.data[i] as number);
      inHead = v;
    }
    mriWindow = percentileWindow(inHead, 1, 99, 'MRI');
  }
  const ctWindow = input.ctWindow ?? CT_WINDOWS.bone;
  const at = (plane: SliceView['plane']): number | undefined => (voxel === undefined ? undefined : voxel[planeNormalAxis(mri.affine, plane)]);
  const boards = (ct: ArrayLike<number>): CheckerboardView[] =>
    VIEW_PLANES.map((plane) => {
      const a = extractSlice(mri, plane, at(plane));
      const b = extractSlice({ ...mri, data: ct }, plane, at(plane));
      const tile = input.tile ?? Math.max(2, Math.round(Math.max(a.width, a.height) / 8));
      return { plane, values: checkerboard(windowed(a.values, mriWindow), windowed(b.values, ctWindow), a.width, a.height, tile), width: a.width, height: a.height, tile, view: a };
    });
  return { before: boards(input.ctBefore), after: boards(input.ctAfter), mriWindow, ctWindow };
}

/** One PNG: top row before registration, bottom row after, axial | coronal | sagittal. */
export function registrationFigure(input: RegistrationFigureInput): Buffer {
  const c = registrationCheckerboards(input);
  const unit: Window = { low: 0, high: 1, label: `MRI ${fmt(c.mriWindow.low)}..${fmt(c.mriWindow.high)} | CT ${fmt(c.ctWindow.low)}..${fmt(c.ctWindow.high)} HU` };
  const panel = (v: CheckerboardView, when: string): Panel => ({
    values: v.values, width: v.width, height: v.height, window: unit, title: `${when}: ${v.plane} ${v.view.index}/${v.view.count - 1}`, orientation: v.view.orientation,
  });
  const largest = Math.max(...c.before.map((v) => Math.max(v.width, v.height)));
  return renderPanelGrid([...c.before.map((v) => panel(v, 'before')), ...c.after.map((v) => panel(v, 'after'))], {
    columns: 3,
    panelSize: Math.max(192, Math.min(288, Math.round(largest * 1.5))),
    title: input.title ?? 'MRI / CT checkerboard, before and after registration',
  });
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3);
}

/** The transform and quality figures in words; with `truth` (a known motion) also the error against it over the head mask. */
export function registrationSummary(
  r: Omit<RegistrationResult, 'ctOnMri'>,
  options: { truth?: Affine; grid?: { dims: Vec3; affine: Affine }; headMask?: ArrayLike<number> } = {},
): string {
  const t = r.transform;
  const xyz = (v: { x: number; y: number; z: number }, digits: number): string => [v.x, v.y, v.z].map((x) => x.toFixed(digits)).join(', ');
  const q = r.quality;
  const lines = [
    `initial alignment: ${r.initialization}; registration ${r.seconds.toFixed(1)} s (elastix ${r.elastixSeconds.toFixed(1)} s)`,
    `rotation (deg, about x, y, z): ${xyz(t.rotationDegrees, 2)}`,
    `translation (mm): ${xyz(t.translationMm, 2)} (centre ${xyz(t.centerMm, 1)})`,
    `matrix (MRI world → CT world):`,
    ...t.matrix.slice(0, 3).map((row) => `  [${row.map((v) => v.toFixed(4).padStart(10)).join(' ')} ]`),
    `quality: Dice head/CT body ${q.dice.toFixed(3)}, NMI ${q.nmi.toFixed(3)}, head inside the CT's view ${(q.overlap * 100).toFixed(0)}% → ${q.ok ? 'ok' : `POOR (${q.reasons.join('; ')})`}`,
  ];
  if (options.truth !== undefined && options.grid !== undefined && options.headMask !== undefined) {
    const e = transformDistanceMm(t.matrix, options.truth, options.grid, options.headMask);
    lines.push(`against the known motion: error over the head mask mean ${e.mean.toFixed(2)} mm, max ${e.max.toFixed(2)} mm`);
  }
  return lines.join('\n');
}
