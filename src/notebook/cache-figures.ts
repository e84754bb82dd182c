/**
 * Helpers of notebook 03 (inspecting the preprocessed cache): makes sure the notebooks' cache
 * exists (building it from the notebooks' phantom when absent), reads one cached patient with its
 * metadata, and builds the figures: a grid of cached MRI/CT slice pairs, intensity histograms
 * (MRI in its original units, CT in HU through the metadata's normalisation; counts computed
 * here, drawn by plotly), the metadata table, and a preview of training augmentation on the same
 * slices (the real augmenter on the tf.js backend).
 * Must not: import tslab or display anything (the notebook displays what these return), modify
 * the cache other than by building missing entries through buildCache, or leak tensors.
 */
import * as tf from '@tensorflow/tfjs';
import * as path from 'node:path';
import { buildCache, type BuildCacheResult } from '../cache/build';
import { getCacheFormat, type ReadResult } from '../cache/format';
import { listPatientMetadata, readPatientMetadata, type PatientMetadata } from '../cache/metadata';
import { createAugmenter, type AugmentOptions, type SampleDraw } from '../data/augment';
import { loadBackend, type BackendInfo } from '../env/backend';
import { CacheError, ConfigError } from '../errors';
import { resolvePreprocessParams, type PreprocessParams } from '../preprocess/params';
import type { ProgressCallback } from '../util/progress';
import { renderPanelGrid, type Panel } from '../viz/panel-grid';
import { CT_WINDOWS, type Window } from '../viz/window';
import type { PlotlyFigure } from './plotly';
import { ensurePhantomCohort, notebookPaths, type NotebookCohort, type NotebookDataConfig } from './notebook-data';
import { normalizedToHu, withMaskOutline } from './preprocess-figures';
import { cacheSlice, type SliceView } from './volume-views';

/** The preprocessing parameters the notebooks use for a configuration (defaults, resized to imageSize). */
export function notebookPreprocessParams(config: Pick<NotebookDataConfig, 'imageSize'>): PreprocessParams {
  return resolvePreprocessParams({ resize: { size: config.imageSize } });
}

/** What {@link ensureNotebookCache} found or built. */
export interface NotebookCache {
  cacheDir: string;
  cohort: NotebookCohort;
  build: BuildCacheResult;
  /** Every cached patient's metadata, by id. */
  patients: PatientMetadata[];
  /** One line for the user. */
  summary: string;
}

/**
 * The cache of a notebook configuration, built (phantom first, if needed) for the patients it
 * lacks; patients already cached with the same parameters are only checked, not rebuilt.
 */
export async function ensureNotebookCache(
  config: NotebookDataConfig & { workers?: number; onProgress?: ProgressCallback },
): Promise<NotebookCache> {
  const { dataDir, cacheDir } = notebookPaths(config);
  const cohort = await ensurePhantomCohort({ ...config, dataDir, onProgress: config.onProgress });
  const build = await buildCache({
    pairs: cohort.pairs,
    cacheDir,
    format: config.format,
    params: notebookPreprocessParams(config),
    workers: config.workers ?? 1,
    force: cohort.generated,
    onProgress: config.onProgress,
    log: () => undefined,
  });
  if (build.failed.length > 0) {
    throw new CacheError(`building ${cacheDir} failed for ${build.failed.map((f) => `${f.id} (${f.error})`).join(', ')}`);
  }
  const patients = listPatientMetadata(cacheDir);
  const summary =
    `${cacheDir}: ${patients.length} patient(s) (${patients.map((p) => p.id).join(', ')}), ` +
    `${build.built.length} built now, ${build.skipped.length} already cached — ${build.seconds.toFixed(1)} s`;
  return { cacheDir, cohort, build, patients, summary };
}

/** One cached patient: its arrays (float [0,1], [slices, H, W]) and metadata. */
export interface CachedPatientView {
  id: string;
  file: string;
  meta: PatientMetadata;
  arrays: ReadResult;
}

/** Reads patient `id` of the cache (checksums verified). */
export async function readCachedPatient(cacheDir: string, id: string): Promise<CachedPatientView> {
  const meta = readPatientMetadata(cacheDir, id);
  if (meta === undefined) {
    const have = listPatientMetadata(cacheDir).map((m) => m.id);
    throw new ConfigError(`patient '${id}' is not in the cache ${cacheDir}; it holds: ${have.join(', ') || 'nothing (build it first)'}.`);
  }
  const file = path.join(cacheDir, meta.file);
  const arrays = await getCacheFormat(meta.format).format.read(file, { verify: true });
  return { id, file, meta, arrays };
}

function checkSlices(p: CachedPatientView, slices: readonly number[]): number[] {
  const n = p.arrays.shape[0];
  if (slices.length === 0) throw new ConfigError('choose at least one slice');
  for (const s of slices) {
    if (!Number.isInteger(s) || s < 0 || s >= n) {
      throw new ConfigError(`slice ${s} does not exist: patient ${p.id} has slices 0..${n - 1} in the cache.`);
    }
  }
  return [...slices];
}

const UNIT: Window = { low: 0, high: 1, label: 'normalised 0..1' };

function panelOf(v: SliceView, window: Window, title: string): Panel {
  return { values: v.values, width: v.width, height: v.height, window, title, orientation: v.orientation };
}

/** Panels of about 1100 pixels' total width, each 160..256 pixels. */
function panelSize(columns: number): number {
  return Math.max(160, Math.min(256, Math.floor(1100 / Math.max(1, columns))));
}

/**
 * Cached MRI (normalised) and CT (HU) of `slices` (indices into the cache's slices, 0-based),
 * one column per slice; with `outline`, a third row shows the cached head mask's outline.
 */
export function cachedPairsFigure(p: CachedPatientView, slices: readonly number[], options: { ctWindow?: Window; outline?: boolean } = {}): Buffer {
  const zs = checkSlices(p, slices);
  const { shape } = p.arrays;
  const affine = p.meta.geometry.affine;
  const hu = normalizedToHu(p.arrays.ct, p.meta.normalization.ct);
  const ctW = options.ctWindow ?? CT_WINDOWS.full;
  const mri = zs.map((z) => cacheSlice(p.arrays.mri, shape, z, affine));
  const panels = [
    ...mri.map((v) => panelOf(v, UNIT, `MRI, slice ${v.index}/${v.count - 1}`)),
    ...zs.map((z) => cacheSlice(hu, shape, z, affine)).map((v) => panelOf(v, ctW, `CT, slice ${v.index}/${v.count - 1}`)),
  ];
  if (options.outline === true) {
    const masks = zs.map((z) => cacheSlice(p.arrays.mask, shape, z, affine));
    panels.push(...mri.map((v, i) => panelOf({ ...v, values: withMaskOutline(v.values, masks[i]!.values, v.width, v.height, UNIT) }, UNIT, `mask, slice ${v.index}`)));
  }
  return renderPanelGrid(panels, { columns: zs.length, panelSize: panelSize(zs.length), title: `${p.id}: cached ${shape[1]}×${shape[2]} pairs (${p.meta.format})` });
}

/** Histogram counts of `values` over [lo, hi] in `bins` bins (values outside are clamped in). */
export function histogram(values: ArrayLike<number>, lo: number, hi: number, bins: number, where?: ArrayLike<number>): { centres: number[]; counts: number[] } {
  const counts = new Array<number>(bins).fill(0);
  const scale = bins / (hi - lo);
  for (let i = 0; i < values.length; i++) {
    if (where !== undefined && where[i] === 0) continue;
    const b = Math.min(bins - 1, Math.max(0, Math.floor(((values[i] ?? 0) - lo) * scale)));
    counts[b] = (counts[b] ?? 0) + 1;
  }
  return { centres: counts.map((_, b) => lo + (b + 0.5) / scale), counts };
}

function histogramFigure(title: string, xTitle: string, all: ReturnType<typeof histogram>, head: ReturnType<typeof histogram>): PlotlyFigure {
  const bar = (name: string, h: ReturnType<typeof histogram>, colour: string): Record<string, unknown> => ({
    type: 'bar', name, x: h.centres, y: h.counts, marker: { color: colour }, opacity: 0.65,
  });
  return {
    data: [bar('all voxels', all, '#7f7f7f'), bar('inside the head mask', head, '#d62728')],
    layout: {
      title: { text: title },
      barmode: 'overlay',
      bargap: 0,
      xaxis: { title: { text: xTitle } },
      yaxis: { title: { text: 'voxels (log)' }, type: 'log' },
      legend: { orientation: 'h', y: -0.25 },
    },
  };
}

/**
 * Intensity histograms of a cached patient: MRI in its original units (N4-corrected, through the
 * metadata's normalisation range) and CT in HU (through the fixed window), each for all voxels
 * and inside the head mask, log counts.
 */
export function intensityHistograms(p: CachedPatientView, bins = 128): { mri: PlotlyFigure; ct: PlotlyFigure } {
  const { mri: mn, ct: cn } = p.meta.normalization;
  const mriRaw = Float32Array.from(p.arrays.mri, (v) => mn.min + v * (mn.max - mn.min));
  const ctHu = normalizedToHu(p.arrays.ct, cn);
  const mask = p.arrays.mask;
  const ctBins = Math.max(bins, Math.round((cn.max - cn.min) / 20)); // ~20 HU per bin
  return {
    mri: histogramFigure(
      `${p.id}: MRI intensities (${mn.method})`,
      `MRI (a.u., clipped to ${mn.min.toFixed(0)}..${mn.max.toFixed(0)})`,
      histogram(mriRaw, mn.min, mn.max, bins),
      histogram(mriRaw, mn.min, mn.max, bins, mask),
    ),
    ct: histogramFigure(
      `${p.id}: CT intensities (fixed window ${cn.min}..${cn.max} HU)`,
      'CT (HU)',
      histogram(ctHu, cn.min, cn.max, ctBins),
      histogram(ctHu, cn.min, cn.max, ctBins, mask),
    ),
  };
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const TD = 'style="padding:2px 8px;border-bottom:1px solid #ddd;text-align:right"';
const TDL = 'style="padding:2px 8px;border-bottom:1px solid #ddd;text-align:left"';

/** The cache's per-patient metadata as an HTML table (one row per patient). */
export function metadataTableHtml(patients: readonly PatientMetadata[]): string {
  const head = ['patient', 'slices', 'slice size', 'crop box start (x,y,z)', 'crop box size', 'head mL', 'CT cleared', 'N4 iterations', 'N4 s', 'total s', 'background slices', 'checksum'];
  const rows = patients.map((m) => {
    const t = Object.values(m.timings).reduce((a, b) => a + b, 0);
    const cells = [
      String(m.shape[0]),
      `${m.shape[1]}×${m.shape[2]}`,
      m.geometry.crop.start.join(', '),
      m.geometry.crop.size.join('×'),
      m.stats.headVolumeMl.toFixed(0),
      String(m.stats.ctVoxelsCleared),
      m.stats.n4Iterations.join('/'),
      (m.timings.n4 ?? 0).toFixed(2),
      t.toFixed(2),
      String(m.backgroundSlices.length),
      m.checksum.slice(0, 12),
    ];
    return `<tr><td ${TDL}><b>${esc(m.id)}</b></td>${cells.map((c) => `<td ${TD}>${esc(c)}</td>`).join('')}</tr>`;
  });
  return (
    `<table style="border-collapse:collapse;font-family:monospace;font-size:12px">` +
    `<tr>${head.map((h, i) => `<th ${i === 0 ? TDL : TD}>${esc(h)}</th>`).join('')}</tr>${rows.join('')}</table>` +
    `<small>crop box in original voxels; head volume from the head mask; times are the preprocessing steps' seconds; ` +
    `background slices have (almost) no head mask.</small>`
  );
}

/** What {@link augmentationPreview} returns. */
export interface AugmentationPreview {
  png: Buffer;
  /** Per slice: what the augmenter drew. */
  draws: readonly SampleDraw[];
  /** Seed of the draws (rerun with it to see the same result). */
  seed: number;
  backend: BackendInfo;
  summary: string;
}

function describeDraw(d: SampleDraw, mirrored: boolean): string {
  if (!d.augmented) return 'not augmented';
  const angle = mirrored ? -d.angleDeg : d.angleDeg;
  const parts = [`${angle >= 0 ? '+' : ''}${angle.toFixed(1)}°`];
  if (d.flipH) parts.push('H');
  if (d.flipV) parts.push('V');
  if (d.scale !== 1) parts.push(`×${d.scale.toFixed(2)}`);
  return parts.join(' ');
}

/**
 * Runs the training augmenter once on `slices` of a cached patient (one batch, one sample per
 * slice) and shows the originals and the augmented images: rows MRI, augmented MRI, CT,
 * augmented CT (CT in HU). Panel titles give each sample's draw: rotation in degrees
 * (counter-clockwise as shown), H / V for the horizontal / vertical flip of the stored slice
 * (left-right / front-back for usual RAS data), ×f the MRI intensity factor. Loads the tf.js backend if needed.
 */
export async function augmentationPreview(
  p: CachedPatientView,
  slices: readonly number[],
  options: AugmentOptions & { ctWindow?: Window } = {},
): Promise<AugmentationPreview> {
  const zs = checkSlices(p, slices);
  const backend = await loadBackend();
  const { ctWindow, ...augmentOptions } = options;
  const augmenter = createAugmenter(augmentOptions);
  const [, h, w] = p.arrays.shape;
  const px = h * w;
  const pick = (a: Float32Array): Float32Array => {
    const out = new Float32Array(zs.length * px);
    zs.forEach((z, i) => out.set(a.subarray(z * px, (z + 1) * px), i * px));
    return out;
  };
  const mriIn = pick(p.arrays.mri);
  const ctIn = pick(p.arrays.ct);
  const mriT = tf.tensor4d(mriIn, [zs.length, h, w, 1]);
  const ctT = tf.tensor4d(ctIn, [zs.length, h, w, 1]);
  let mriOut: Float32Array;
  let ctOut: Float32Array;
  try {
    const out = augmenter.apply(mriT, ctT);
    try {
      [mriOut, ctOut] = [new Float32Array(await out.mri.data()), new Float32Array(await out.ct.data())];
    } finally {
      out.mri.dispose();
      out.ct.dispose();
    }
  } finally {
    mriT.dispose();
    ctT.dispose();
  }
  const draws = augmenter.lastDraws;
  const affine = p.meta.geometry.affine;
  const cn = p.meta.normalization.ct;
  const batchShape: [number, number, number] = [zs.length, h, w];
  const signedToHu = (a: Float32Array): Float32Array => normalizedToHu(a.map((v) => (v + 1) / 2), cn);
  const ctW = ctWindow ?? CT_WINDOWS.full;
  const signed: Window = { low: -1, high: 1, label: 'network input −1..1' };
  const view = (a: Float32Array, i: number): SliceView => cacheSlice(a, batchShape, i, affine);
  const ctHuIn = normalizedToHu(ctIn, cn);
  const ctHuOut = signedToHu(ctOut);
  const panels: Panel[] = [
    ...zs.map((z, i) => panelOf(view(mriIn, i), UNIT, `MRI, slice ${z}`)),
    ...zs.map((_, i) => {
      const v = view(mriOut, i);
      return { ...panelOf(v, signed, `aug: ${describeDraw(draws[i]!, v.mirrored)}`), orientation: undefined }; // flips make labels wrong
    }),
    ...zs.map((z, i) => panelOf(view(ctHuIn, i), ctW, `CT, slice ${z}`)),
    ...zs.map((_, i) => {
      const v = view(ctHuOut, i);
      return { ...panelOf(v, ctW, `aug: ${describeDraw({ ...draws[i]!, scale: augmenter.options.scaleCt ? draws[i]!.scale : 1 }, v.mirrored)}`), orientation: undefined };
    }),
  ];
  const o = augmenter.options;
  const title = `${p.id}: augmentation preview (augProb ${o.augProb}, rotation ±${o.maxRotationDeg}°, flips ${o.flipHProb}/${o.flipVProb}, MRI intensity ±${(100 * o.intensityScale).toFixed(0)}%)`;
  const png = renderPanelGrid(panels, { columns: zs.length, panelSize: panelSize(zs.length), title });
  const n = draws.filter((d) => d.augmented).length;
  const summary = `${n} of ${zs.length} slice(s) augmented; seed ${augmenter.seed}; backend ${backend.kind} (${backend.tfBackend})`;
  return { png, draws, seed: augmenter.seed, backend, summary };
}
