/**
 * The slice viewers of the notebooks, built on sliceViewer (src/notebook/slice-viewer.ts):
 *  - `cacheSliceViewer` (notebook 03): one cached patient, MRI | CT (HU readout) | MRI with the
 *    head mask's outline, every cached slice;
 *  - `preprocessSliceViewer` (notebook 02): the walk-through patient on its original grid, raw
 *    MRI | after N4 | clipped and normalised (head mask outlined) | raw CT | CT after artifact
 *    removal and clipping, one slider for all;
 *  - `inferenceSliceViewer` (notebook 05): MRI | sCT | CT | |sCT − CT|, axial, coronal and
 *    sagittal with a synchronised crosshair.
 * Each states its quantisation in the viewer's note. Must not: import tslab or display anything,
 * change any preprocessing step (the steps are called as the pipeline calls them), or read or
 * write files.
 */
import type { Vec3, Volume } from '../io/volume';
import { SYNTHRAD_HU_RANGE } from '../infer/metrics';
import { clipCt, clipMri } from '../preprocess/clip';
import type { CtArtifactResult } from '../preprocess/ct-artifacts';
import { maskCentre } from '../preprocess/crop';
import type { HeadMaskResult } from '../preprocess/head-mask';
import type { N4Result } from '../preprocess/n4';
import { normalizeMri } from '../preprocess/normalize';
import type { PreprocessParams } from '../preprocess/params';
import type { CachedPatientView } from './cache-figures';
import { normalizedToHu, type WalkthroughPatient } from './preprocess-figures';
import { sliceViewer, type SliceViewer, type SliceViewerOptions, type ViewerVolume } from './slice-viewer';
import { worldAxisMap } from './volume-views';

const IDENTITY = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];

/** Percentile window of a volume from a strided sample (at most ~400k values). */
export function robustRange(data: ArrayLike<number>, lowPct = 0.5, highPct = 99.5): [number, number] {
  const stride = Math.max(1, Math.floor(data.length / 400_000));
  const s: number[] = [];
  for (let i = 0; i < data.length; i += stride) { const v = Number(data[i]); if (Number.isFinite(v)) s.push(v); }
  if (s.length === 0) return [0, 1];
  s.sort((a, b) => a - b);
  const at = (p: number): number => s[Math.min(s.length - 1, Math.max(0, Math.round((p / 100) * (s.length - 1))))]!;
  const lo = at(lowPct), hi = at(highPct);
  return [lo, hi > lo ? hi : lo + 1];
}

const round3 = (v: number): number => +v.toPrecision(4);

function stepNote(v: ViewerVolume): string {
  const step = (v.high - v.low) / 255;
  return `${v.name} ${round3(v.low)}..${round3(v.high)}${v.unit ? ` ${v.unit}` : ''} (±${round3(step / 2)})`;
}

function withNote(volumes: ViewerVolume[], extra: string, o: SliceViewerOptions): SliceViewerOptions {
  return { ...o, note: `${o.note ?? extra} 8-bit values over: ${volumes.map(stepNote).join('; ')}. Slider, mouse wheel or arrow keys (click the viewer first) change the slice; values under the pointer.` };
}

/** Notebook 03: one cached patient, all slices. CT in HU at 8 bits over the cache's CT range. */
export function cacheSliceViewer(p: CachedPatientView, options: SliceViewerOptions = {}): SliceViewer {
  const [slices, h, w] = p.arrays.shape;
  const affine = p.meta.geometry.affine;
  const grid = { dims: [w, h, slices] as Vec3, spacing: [1, 1, 1] as Vec3, affine: worldAxisMap(affine)[2].voxelAxis === 2 ? affine : IDENTITY };
  const ctRange = p.meta.normalization.ct;
  const volumes: ViewerVolume[] = [
    { name: 'MRI', vol: { ...grid, data: p.arrays.mri }, low: 0, high: 1 },
    { name: 'CT', vol: { ...grid, data: normalizedToHu(p.arrays.ct, ctRange) }, low: ctRange.min, high: ctRange.max, unit: 'HU', decimals: 0 },
    { name: 'mask', vol: { ...grid, data: p.arrays.mask }, low: 0, high: 1, decimals: 0 },
  ];
  return sliceViewer(volumes, [
    { title: 'MRI (normalised 0..1)', volume: 0 },
    { title: `CT (HU ${ctRange.min}..${ctRange.max})`, volume: 1 },
    { title: 'MRI + head mask outline', volume: 0, overlay: 2 },
  ], withNote(volumes, `${p.id}, cached ${w}×${h}, ${slices} slices (${p.meta.format}).`, {
    title: `${p.id}: the cache, every slice`, squarePixels: false, maxDim: 160, ...options,
  }));
}

/**
 * Notebook 02: the walk-through patient on its original grid, the same axial slice before and
 * after each step. The normalised MRI is clipMri + normalizeMri of the N4-corrected MRI inside
 * the head mask, as the pipeline does before cropping and resizing; the CT after the steps is
 * the artifact-cleaned CT clipped to the cache's HU window.
 */
export function preprocessSliceViewer(
  p: WalkthroughPatient, n4: N4Result, mask: HeadMaskResult, cleaned: CtArtifactResult, params: PreprocessParams,
  options: SliceViewerOptions = {},
): SliceViewer {
  const c = params.clip;
  const clip = clipMri(n4.corrected, mask.mask, { lowPercentile: c.mriLowPercentile, highPercentile: c.mriHighPercentile });
  const norm = normalizeMri(clip.volume, clip.low, clip.high).volume;
  const ctClipped = clipCt(cleaned.volume, { minHu: c.ctMinHu, maxHu: c.ctMaxHu }).volume;
  const [rawLo, rawHi] = robustRange(p.mri.data);
  const [n4Lo, n4Hi] = robustRange(n4.corrected.data);
  const maskVol: Volume<Uint8Array> = { ...p.mri, data: mask.mask };
  const volumes: ViewerVolume[] = [
    { name: 'raw MRI', vol: p.mri, low: rawLo, high: rawHi },
    { name: 'N4', vol: n4.corrected, low: n4Lo, high: n4Hi },
    { name: 'normalised', vol: norm, low: 0, high: 1 },
    { name: 'raw CT', vol: p.ct, low: c.ctMinHu, high: c.ctMaxHu, unit: 'HU', decimals: 0 },
    { name: 'CT after', vol: ctClipped, low: c.ctMinHu, high: c.ctMaxHu, unit: 'HU', decimals: 0 },
    { name: 'mask', vol: maskVol, low: 0, high: 1, decimals: 0 },
  ];
  return sliceViewer(volumes, [
    { title: 'raw MRI', volume: 0 },
    { title: 'after N4', volume: 1 },
    { title: 'clipped, normalised (+ mask outline)', volume: 2, overlay: 5 },
    { title: 'raw CT', volume: 3 },
    { title: 'CT: artifacts removed, clipped', volume: 4 },
  ], withNote(volumes, `${p.id}, original grid ${p.mri.dims.join('×')}; MRI windows: raw and N4 at their 0.5–99.5th percentiles; the mask is step 2's.`, {
    title: `${p.id}: before and after each step, same slice`, maxDim: 128, start: maskCentre(mask.mask, p.mri.dims), ...options,
  }));
}

/**
 * Notebook 05: MRI | sCT | CT | |sCT − CT| (inside the mask, 0..errorMaxHu), three planes,
 * synchronised crosshair; opens at the centre of the head mask.
 */
export function inferenceSliceViewer(
  v: { id: string; mri: Volume; sct: Volume; ct: Volume; mask: Volume<ArrayLike<number>> },
  options: SliceViewerOptions & { errorMaxHu?: number } = {},
): SliceViewer {
  const lo = SYNTHRAD_HU_RANGE.min, hi = SYNTHRAD_HU_RANGE.max;
  const clamp = (x: number): number => Math.min(hi, Math.max(lo, x));
  const err: Volume = { ...v.ct, data: Float32Array.from(v.ct.data, (c, i) => (Number(v.mask.data[i]) > 0 ? Math.abs(clamp(v.sct.data[i] ?? 0) - clamp(c)) : 0)) };
  const [mLo, mHi] = robustRange(v.mri.data);
  const errMax = options.errorMaxHu ?? 500;
  const volumes: ViewerVolume[] = [
    { name: 'MRI', vol: v.mri, low: mLo, high: mHi },
    { name: 'sCT', vol: v.sct, low: lo, high: hi, unit: 'HU', decimals: 0 },
    { name: 'CT', vol: v.ct, low: lo, high: hi, unit: 'HU', decimals: 0 },
    { name: '|error|', vol: err, low: 0, high: errMax, unit: 'HU', decimals: 0 },
  ];
  return sliceViewer(volumes, [
    { title: 'MRI', volume: 0 },
    { title: 'sCT', volume: 1 },
    { title: 'CT', volume: 2 },
    { title: `|sCT − CT| 0..${errMax} HU`, volume: 3, colormap: 'hot' },
  ], withNote(volumes, `${v.id}: click or drag in any plane to move the crosshair (the other planes follow); error inside the head mask.`, {
    title: `${v.id}: MRI | synthetic CT | CT | error`, planes: ['axial', 'coronal', 'sagittal'], maxDim: 128, panelPx: 256,
    start: maskCentre(v.mask.data, v.mri.dims), ...options,
  }));
}
