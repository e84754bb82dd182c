/**
 * Helpers of notebook 02 (preprocessing walk-through), also used by notebook 03 (the notebooks'
 * data folders are in notebook-data.ts, the summary tables in summary-tables.ts):
 *  - the first preprocessing steps run one by one on one patient with exactly the options the
 *    pipeline (src/preprocess/pipeline.ts) derives from the same PreprocessParams (N4, head
 *    mask, CT artifact removal), so their intermediate volumes can be shown;
 *  - figures of each step as PNG buffers (via src/viz/panel-grid.ts) with short text summaries,
 *    compared against the phantom's ground truth (true bias field, head mask, hardware labels)
 *    when it is there;
 * Must not: import tslab or display anything (the notebook displays what these return), change
 * any preprocessing step (the steps live in src/preprocess), or write anywhere but the data
 * folder it is given.
 */
import * as fs from 'node:fs';
import { type PatientPair } from '../dataset/discover';
import { ConfigError } from '../errors';
import { readNifti } from '../io/nifti-read';
import type { Vec3, Volume } from '../io/volume';
import { FIRST_OBJECT_LABEL, LABEL } from '../phantom/labels';
import { phantomPatientFiles } from '../phantom/write-cohort';
import { removeCtArtifacts, type CtArtifactResult } from '../preprocess/ct-artifacts';
import { headMaskWithStats, type HeadMaskResult } from '../preprocess/head-mask';
import { n4BiasFieldCorrection, type N4Result } from '../preprocess/n4';
import type { PreprocessParams } from '../preprocess/params';
import { type PreprocessedPatient } from '../preprocess/pipeline';
import { renderPanelGrid, type Panel } from '../viz/panel-grid';
import { CT_WINDOWS, percentileWindow, type Window } from '../viz/window';
import { cacheSlice, extractSlice, orthogonalSlices, type SliceView, type ViewPlane } from './volume-views';
import { maskCentre } from '../preprocess/crop';
import { dice } from '../register/quality';

// One patient, step by step

/** One patient's volumes for the walk-through, with the phantom's ground truth when present. */
export interface WalkthroughPatient {
  id: string;
  pair: PatientPair;
  mri: Volume;
  ct: Volume;
  /** Phantom ground truth (undefined for real data). */
  truth?: { bias: Volume; headMask: Volume<Uint8Array>; labels: Volume<Uint8Array> };
}

function toBytes(v: Volume): Volume<Uint8Array> {
  return { ...v, data: Uint8Array.from(v.data, (x) => (x > 0.5 ? Math.round(x) : 0)) };
}

/** Reads patient `id` of a phantom cohort folder (and its truth/ files when they exist). */
export async function readWalkthroughPatient(dataDir: string, id: string): Promise<WalkthroughPatient> {
  const files = phantomPatientFiles(dataDir, id);
  if (!fs.existsSync(files.mri) || !fs.existsSync(files.ct)) {
    throw new ConfigError(`patient ${id} is not in ${dataDir} (no ${files.mri} / ${files.ct}): choose an id like brain_001.`);
  }
  const [mri, ct] = await Promise.all([readNifti(files.mri), readNifti(files.ct)]);
  const pair: PatientPair = { id, mri: files.mri, ct: files.ct };
  const hasTruth = [files.bias, files.headMask, files.labels].every((f) => fs.existsSync(f));
  if (!hasTruth) return { id, pair, mri, ct };
  const [bias, headMask, labels] = await Promise.all([readNifti(files.bias), readNifti(files.headMask), readNifti(files.labels)]);
  return { id, pair, mri, ct, truth: { bias, headMask: toBytes(headMask), labels: toBytes(labels) } };
}

/** Step 1, N4, with the options preprocessPatient uses for `params`. */
export function runN4Step(mri: Volume, params: PreprocessParams): N4Result {
  const o = params.n4;
  return n4BiasFieldCorrection(mri, {
    shrinkFactor: o.shrinkFactor,
    iterations: o.iterations,
    convergenceThreshold: o.convergenceThreshold,
    splineOrder: o.splineOrder,
    controlPoints: o.controlPoints,
  });
}

/** Step 2, the head mask of the corrected MRI, with the pipeline's options. */
export function runHeadMaskStep(correctedMri: Volume, params: PreprocessParams): HeadMaskResult {
  return headMaskWithStats(correctedMri, { ...params.headMask });
}

/** Step 3, CT artifact removal outside the dilated head mask, with the pipeline's options. */
export function runCtArtifactStep(ct: Volume, mask: Uint8Array, params: PreprocessParams): CtArtifactResult {
  return removeCtArtifacts(ct, mask, { ...params.ctArtifacts });
}

// ---------------------------------------------------------------------------------------------
// Small numeric helpers

/** Pearson correlation of a and b over the voxels where `where` is non-zero (all when omitted). */
export function maskedCorrelation(a: ArrayLike<number>, b: ArrayLike<number>, where?: ArrayLike<number>): number {
  let n = 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < a.length; i++) {
    if (where !== undefined && where[i] === 0) continue;
    n++;
    sa += a[i] ?? 0;
    sb += b[i] ?? 0;
  }
  if (n < 2) return NaN;
  const ma = sa / n;
  const mb = sb / n;
  let cab = 0;
  let caa = 0;
  let cbb = 0;
  for (let i = 0; i < a.length; i++) {
    if (where !== undefined && where[i] === 0) continue;
    const da = (a[i] ?? 0) - ma;
    const db = (b[i] ?? 0) - mb;
    cab += da * db;
    caa += da * da;
    cbb += db * db;
  }
  return cab / Math.sqrt(caa * cbb);
}

/** Mean of the values where `where` is non-zero. */
function maskedMean(v: ArrayLike<number>, where: ArrayLike<number>): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    if (where[i] === 0) continue;
    s += v[i] ?? 0;
    n++;
  }
  return n > 0 ? s / n : NaN;
}

/** Coefficient of variation (std / mean) of the values where `where` is non-zero. */
function maskedCv(v: ArrayLike<number>, where: ArrayLike<number>): number {
  const m = maskedMean(v, where);
  let s = 0;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    if (where[i] === 0) continue;
    const d = (v[i] ?? 0) - m;
    s += d * d;
    n++;
  }
  return Math.sqrt(s / Math.max(1, n - 1)) / m;
}

/** Percentile window over several slices' values together. */
function windowOver(views: { values: ArrayLike<number> }[], low: number, high: number, label: string): Window {
  const all = new Float32Array(views.reduce((a, v) => a + v.values.length, 0));
  let o = 0;
  for (const v of views) {
    all.set(v.values, o);
    o += v.values.length;
  }
  return percentileWindow(all, low, high, label);
}

/**
 * Marks a mask's outline on an image for a grey panel: the ring of mask pixels at the edge
 * becomes black (window.low) and the ring of outside pixels touching it white (window.high), a
 * double line visible on bright and dark backgrounds. Each ring is `thickness` pixels wide
 * (default: 1, or 2 from 240 pixels up). `mask` is thresholded at 0.5 (views of a mask may be
 * interpolated). Returns new values.
 */
export function withMaskOutline(
  values: ArrayLike<number>,
  mask: ArrayLike<number>,
  width: number,
  height: number,
  window: Window,
  thickness = Math.max(1, Math.round(Math.max(width, height) / 160)),
): Float32Array {
  const out = Float32Array.from(values);
  const n = width * height;
  const inside = Uint8Array.from({ length: n }, (_, i) => ((mask[i] ?? 0) >= 0.5 ? 1 : 0));
  // ring: 0 = not on the outline, 1 = inner ring, 2 = outer ring
  const ring = new Uint8Array(n);
  const touches = (r: number, c: number, test: (k: number) => boolean): boolean =>
    (r > 0 && test((r - 1) * width + c)) || (r < height - 1 && test((r + 1) * width + c)) ||
    (c > 0 && test(r * width + c - 1)) || (c < width - 1 && test(r * width + c + 1));
  for (let pass = 0; pass < thickness; pass++) {
    const add: number[] = [];
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) {
        const k = r * width + c;
        if (ring[k] !== 0) continue;
        const me = inside[k] === 1;
        // first pass: touching the other side; later passes: touching this side's ring
        const hit = pass === 0
          ? touches(r, c, (q) => inside[q] !== inside[k])
          : touches(r, c, (q) => ring[q] === (me ? 1 : 2) && inside[q] === inside[k]);
        if (hit) add.push(k);
      }
    }
    for (const k of add) ring[k] = inside[k] === 1 ? 1 : 2;
  }
  for (let k = 0; k < n; k++) {
    if (ring[k] === 1) out[k] = window.low;
    else if (ring[k] === 2) out[k] = window.high;
  }
  return out;
}

const PLANE_TITLE: Record<ViewPlane, string> = { axial: 'axial', coronal: 'coronal', sagittal: 'sagittal' };

/** "axial 80/159": the 0-based slice index and the last index (as the notebooks' slice settings count). */
function viewTitle(prefix: string, v: SliceView): string {
  return `${prefix}${PLANE_TITLE[v.plane]} ${v.index}/${v.count - 1}`;
}

function panel(v: SliceView, window: Window, title: string, extra: Partial<Panel> = {}): Panel {
  return { values: v.values, width: v.width, height: v.height, window, title, orientation: v.orientation, ...extra };
}

/** Panel size for volumes: about 1.5× the largest side, between 192 and 256 pixels. */
function panelSizeFor(views: SliceView[]): number {
  const largest = Math.max(...views.map((v) => Math.max(v.width, v.height)));
  return Math.max(192, Math.min(256, Math.round(largest * 1.5)));
}


// ---------------------------------------------------------------------------------------------
// Figures of the steps

/** A PNG and the text that goes with it. */
export interface FigureWithSummary {
  png: Buffer;
  summary: string;
}

/** Axial, coronal and sagittal views of an MRI (robust percentile window) or a CT (HU window). */
export function volumeFigure(
  vol: Volume,
  options: { title: string; kind?: 'mri' | 'ct'; ctWindow?: Window; voxel?: Vec3 },
): Buffer {
  const views = orthogonalSlices(vol, options.voxel);
  const window = options.kind === 'ct' ? options.ctWindow ?? CT_WINDOWS.full : windowOver(views, 0.5, 99.5, 'MRI');
  const panels = views.map((v) => panel(v, window, viewTitle('', v)));
  return renderPanelGrid(panels, { columns: 3, panelSize: panelSizeFor(views), title: options.title });
}

/** One line describing a volume: size, voxel size, orientation and value range. */
export function describeVolume(name: string, vol: Volume & { orientation?: string }): string {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < vol.data.length; i++) {
    const v = vol.data[i] ?? 0;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const orient = vol.orientation === undefined ? '' : `, ${vol.orientation}`;
  return `${name}: ${vol.dims.join('×')} voxels of ${vol.spacing.map((s) => s.toFixed(2)).join('×')} mm${orient}, values ${lo.toFixed(0)}..${hi.toFixed(0)}`;
}

/** Field scaled to mean 1 over `where` (bias fields have an arbitrary overall scale). */
function unitMeanField(field: ArrayLike<number>, where: ArrayLike<number>): Float32Array {
  const m = maskedMean(field, where);
  return Float32Array.from(field, (v) => v / m);
}

/**
 * The bias field N4 estimated next to the phantom's true field (each scaled to mean 1 inside
 * the head, shown inside the head only, same window), with their correlation inside the head.
 * Without ground truth, the estimate alone.
 */
export function biasFieldFigure(p: WalkthroughPatient, n4: N4Result): FigureWithSummary {
  const head = p.truth?.headMask.data ?? n4FallbackMask(n4);
  const est = unitMeanField(n4.biasField.data, head);
  const maskOut = (v: Float32Array): Float32Array => v.map((x, i) => (head[i] !== 0 ? x : NaN));
  const estVol: Volume = { ...n4.biasField, data: maskOut(est) };
  const centre = maskCentre(head, p.mri.dims);
  const rows: { name: string; views: SliceView[] }[] = [{ name: 'N4 estimate', views: orthogonalSlices(estVol, centre) }];
  let summary = `N4: ${n4.iterationsRun.length} levels, iterations ${n4.iterationsRun.join('/')}, fitted on ${n4.shrunkDims.join('×')} voxels, ${(n4.timing.totalMs / 1000).toFixed(1)} s`;
  if (p.truth !== undefined) {
    const truth = unitMeanField(p.truth.bias.data, head);
    rows.push({ name: 'true field', views: orthogonalSlices({ ...p.truth.bias, data: maskOut(truth) }, centre) });
    const r = maskedCorrelation(est, truth, head);
    let rms = 0;
    let n = 0;
    for (let i = 0; i < est.length; i++) {
      if (head[i] === 0) continue;
      rms += ((est[i] ?? 0) / (truth[i] ?? 1) - 1) ** 2;
      n++;
    }
    summary +=
      `\ncorrelation of the estimated and the true bias field inside the head: r = ${r.toFixed(3)}` +
      `\nRMS relative difference (both scaled to mean 1 in the head): ${(100 * Math.sqrt(rms / Math.max(1, n))).toFixed(1)}%`;
  }
  const finite = rows.flatMap((r) => r.views).map((v) => ({ values: v.values.filter((x) => Number.isFinite(x)) }));
  const w = windowOver(finite, 0.5, 99.5, 'field');
  const window: Window = { low: w.low, high: w.high, label: `field ${w.low.toFixed(2)}..${w.high.toFixed(2)}` };
  const panels = rows.flatMap((r) => r.views.map((v) => panel(v, window, `${r.name}, ${v.plane}`, { colormap: 'hot', colorbar: true })));
  const png = renderPanelGrid(panels, { columns: 3, panelSize: panelSizeFor(rows[0]?.views ?? []), title: `${p.id}: multiplicative bias field (inside the head, mean 1)` });
  return { png, summary };
}

/** Without ground truth: voxels where the corrected image is above a tenth of its mean. */
function n4FallbackMask(n4: N4Result): Uint8Array {
  const d = n4.corrected.data;
  let s = 0;
  for (let i = 0; i < d.length; i++) s += d[i] ?? 0;
  const t = (0.1 * s) / d.length;
  return Uint8Array.from(d, (v) => (v > t ? 1 : 0));
}

/**
 * Raw MRI (top row) and N4-corrected MRI (bottom row), each in its own percentile window; with
 * ground truth, the white-matter intensity spread before and after (the bias field widens it).
 */
export function n4ComparisonFigure(p: WalkthroughPatient, n4: N4Result): FigureWithSummary {
  const centre = p.truth === undefined ? undefined : maskCentre(p.truth.headMask.data, p.mri.dims);
  const raw = orthogonalSlices(p.mri, centre);
  const cor = orthogonalSlices(n4.corrected, centre);
  const wr = windowOver(raw, 0.5, 99.5, 'MRI');
  const wc = windowOver(cor, 0.5, 99.5, 'MRI');
  const panels = [
    ...raw.map((v) => panel(v, wr, `raw, ${v.plane}`)),
    ...cor.map((v) => panel(v, wc, `N4-corrected, ${v.plane}`)),
  ];
  let summary = '';
  if (p.truth !== undefined) {
    const wm = Uint8Array.from(p.truth.labels.data, (l) => (l === LABEL.WHITE_MATTER ? 1 : 0));
    const before = maskedCv(p.mri.data, wm);
    const after = maskedCv(n4.corrected.data, wm);
    summary = `white-matter intensity spread (coefficient of variation, true WM labels): raw ${(100 * before).toFixed(1)}% → N4-corrected ${(100 * after).toFixed(1)}%`;
  }
  const png = renderPanelGrid(panels, { columns: 3, panelSize: panelSizeFor(raw), title: `${p.id}: MRI before and after N4 bias correction` });
  return { png, summary };
}

/** The corrected MRI with the head mask's outline (black inside, white outside), three planes. */
export function headMaskFigure(p: WalkthroughPatient, correctedMri: Volume, mask: HeadMaskResult): FigureWithSummary {
  const maskVol: Volume = { ...correctedMri, data: Float32Array.from(mask.mask) };
  const centre = maskCentre(mask.mask, correctedMri.dims);
  const views = orthogonalSlices(correctedMri, centre);
  const masks = orthogonalSlices(maskVol, centre);
  const w = windowOver(views, 0.5, 99.5, 'MRI');
  const panels = views.map((v, i) => {
    const m = masks[i]!;
    return panel({ ...v, values: withMaskOutline(v.values, m.values, v.width, v.height, w) }, w, `mask outline, ${v.plane}`);
  });
  const s = mask.stats;
  let summary =
    `head mask: ${s.voxels} voxels = ${s.volumeMl.toFixed(0)} mL (${(100 * s.fraction).toFixed(1)}% of the volume), ` +
    `threshold ${s.threshold.toFixed(1)} (= fraction × Otsu ${s.otsuThreshold.toFixed(1)}), ${s.components} component(s) before keeping the largest, ` +
    `contrast inside/outside ${Number.isFinite(s.contrast) ? s.contrast.toFixed(1) : '∞'}`;
  if (p.truth !== undefined) summary += `\nDice overlap with the phantom's true head mask: ${dice(mask.mask, p.truth.headMask.data).toFixed(3)}`;
  const png = renderPanelGrid(panels, { columns: 3, panelSize: panelSizeFor(views), title: `${p.id}: head mask on the N4-corrected MRI` });
  return { png, summary };
}

/** The axial slice where the most dense voxels (above −500 HU: hardware, not noisy air) were removed. */
function axialWithMostRemoved(before: Volume, kept: Uint8Array): number {
  const [nx, ny, nz] = before.dims;
  let best = Math.floor(nz / 2);
  let most = 0;
  for (let z = 0; z < nz; z++) {
    let c = 0;
    for (let i = z * nx * ny; i < (z + 1) * nx * ny; i++) if (kept[i] === 0 && (before.data[i] ?? -1000) > -500) c++;
    if (c > most) [most, best] = [c, z];
  }
  return best;
}

/**
 * CT before and after artifact removal (rows) in axial and sagittal views, plus what was removed
 * (before, where the voxel changed; air elsewhere). With ground truth: hardware voxels left.
 */
export function ctArtifactFigure(p: WalkthroughPatient, cleaned: CtArtifactResult, ctWindow: Window = CT_WINDOWS.full): FigureWithSummary {
  const before = p.ct;
  const after = cleaned.volume;
  const removed: Volume = { ...before, data: before.data.map((v, i) => (cleaned.keptMask[i] === 0 ? v : -1000)) };
  const z = axialWithMostRemoved(before, cleaned.keptMask);
  const centre = maskCentre(cleaned.keptMask, before.dims);
  const cols: { plane: ViewPlane; index: number | undefined }[] = [
    { plane: 'axial', index: z },
    { plane: 'sagittal', index: centre[0] },
  ];
  const rows: [string, Volume][] = [['CT before', before], ['CT after', after], ['removed', removed]];
  const views = rows.flatMap(([name, vol]) => cols.map((c) => ({ name, v: extractSlice(vol, c.plane, c.index) })));
  const panels = views.map(({ name, v }) => panel(v, ctWindow, viewTitle(`${name}, `, v)));
  let summary =
    `CT artifact removal: the ${cleaned.outsideVoxels} voxels outside the dilated head mask were set to air ` +
    `(${cleaned.changedVoxels} of them changed value: hardware and noisy air)`;
  if (p.truth !== undefined) {
    const labels = p.truth.labels.data;
    let hardware = 0;
    let left = 0;
    for (let i = 0; i < labels.length; i++) {
      if ((labels[i] ?? 0) < FIRST_OBJECT_LABEL) continue;
      hardware++;
      if ((after.data[i] ?? -1000) > -900) left++;
    }
    summary +=
      `\nphantom hardware (couch, headrest, frame; ${hardware} voxels): ${left} voxel(s) still denser than −900 HU after removal ` +
      '(hardware within the margin around the head, e.g. where the head rests on the headrest, stays by design)';
  }
  const png = renderPanelGrid(panels, { columns: 2, panelSize: panelSizeFor(views.map((x) => x.v)), title: `${p.id}: CT hardware removal` });
  return { png, summary };
}

/** CT values in [0,1] → HU with the patient's normalisation. */
export function normalizedToHu(values: ArrayLike<number>, ct: { min: number; max: number }): Float32Array {
  return Float32Array.from(values, (v) => ct.min + v * (ct.max - ct.min));
}

/** Slice indices at these fractions of `count` slices (rounded, unique). */
export function slicesAtFractions(count: number, fractions: readonly number[]): number[] {
  return [...new Set(fractions.map((f) => Math.min(count - 1, Math.max(0, Math.round(f * (count - 1))))))];
}

/**
 * The preprocessed S×S pair at a few axial slices: MRI (normalised, window 0..1), CT (in HU),
 * and the MRI with the resized head mask's outline.
 */
export function preprocessedPairFigure(pre: PreprocessedPatient, options: { fractions?: number[]; ctWindow?: Window } = {}): FigureWithSummary {
  const [n, s] = pre.shape;
  const slices = slicesAtFractions(n, options.fractions ?? [0.3, 0.5, 0.7]);
  const affine = pre.geometry.affine;
  const unit: Window = { low: 0, high: 1, label: 'normalised 0..1' };
  const ctW = options.ctWindow ?? CT_WINDOWS.full;
  const ctHu = normalizedToHu(pre.ct, pre.normalization.ct);
  const mri = slices.map((z) => cacheSlice(pre.mri, pre.shape, z, affine));
  const ct = slices.map((z) => cacheSlice(ctHu, pre.shape, z, affine));
  const mask = slices.map((z) => cacheSlice(pre.mask, pre.shape, z, affine));
  const panels = [
    ...mri.map((v) => panel(v, unit, viewTitle('MRI, ', v))),
    ...ct.map((v) => panel(v, ctW, viewTitle('CT, ', v))),
    ...mri.map((v, i) => panel({ ...v, values: withMaskOutline(v.values, mask[i]!.values, v.width, v.height, unit) }, unit, viewTitle('mask, ', v))),
  ];
  const g = pre.geometry;
  const nm = pre.normalization;
  const summary = [
    `cache arrays: [${pre.shape.join(', ')}] (slices, ${s}×${s}); crop box start ${g.crop.start.join(',')} size ${g.crop.size.join('×')} voxels`,
    `MRI normalised by its ${nm.mri.method} range ${nm.mri.min.toFixed(1)}..${nm.mri.max.toFixed(1)} → 0..1; CT by the fixed window ${nm.ct.min}..${nm.ct.max} HU → 0..1`,
    `head volume ${pre.stats.headVolumeMl.toFixed(0)} mL, CT voxels cleared ${pre.stats.ctVoxelsCleared}, N4 iterations ${pre.stats.n4Iterations.join('/')}`,
  ].join('\n');
  const png = renderPanelGrid(panels, { columns: slices.length, panelSize: Math.max(160, Math.min(256, s * 2)), title: `${pre.id}: preprocessed ${s}×${s} slices (cache content)` });
  return { png, summary };
}
