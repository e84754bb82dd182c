/**
 * Helpers of notebook 05 (inference): the notebooks' model (the checkpoint notebook 04 leaves, or
 * a tiny one trained here when there is none usable), the held-out patient to predict, the figure
 * MRI | sCT | CT | |sCT − CT| in axial, coronal and sagittal views, and the metrics table (model and
 * bulk-density baseline) as HTML.
 * Must not: import tslab or display anything (the notebook displays what these return).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CacheLoader } from '../data/loader';
import { loadBackend } from '../env/backend';
import { Mri2ctError } from '../errors';
import type { EvaluationResult } from '../infer/evaluate';
import { summarizeEvaluation } from '../infer/evaluate';
import { SYNTHRAD_HU_RANGE } from '../infer/metrics';
import { SctPredictor } from '../infer/predict';
import type { Volume } from '../io/volume';
import { DEFAULT_MODEL_CONFIG } from '../model/config';
import { train } from '../train/trainer';
import type { ProgressCallback } from '../util/progress';
import { renderPanelGrid, type Panel } from '../viz/panel-grid';
import { CT_WINDOWS, percentileWindow, type Window } from '../viz/window';
import { orthogonalSlices, type SliceView } from './volume-views';
import { maskCentre } from '../preprocess/crop';

/** What {@link notebookPredictor} found or made. */
export interface NotebookPredictor {
  predictor: SctPredictor;
  /** True when a tiny model was trained here because no usable checkpoint existed. */
  trained: boolean;
  /** One line for the user. */
  summary: string;
}

/**
 * The predictor of `checkpoint` (preprocessing from the checkpoint, else from `cacheDir`), or,
 * when it is missing or does not fit this cache, a tiny model trained for `epochs` on the cache
 * into `outputDir` (then its best checkpoint).
 */
export async function notebookPredictor(o: {
  checkpoint: string;
  cacheDir: string;
  outputDir: string;
  epochs?: number;
  ngf?: number;
  onProgress?: ProgressCallback;
}): Promise<NotebookPredictor> {
  let why = `no checkpoint at ${o.checkpoint}`;
  if (fs.existsSync(o.checkpoint)) {
    try {
      const predictor = await SctPredictor.load(o.checkpoint, { cacheDir: o.cacheDir });
      const cfgCache = predictor.state.config['cacheDir'];
      if (typeof cfgCache !== 'string' || path.resolve(cfgCache) === path.resolve(o.cacheDir)) {
        return { predictor, trained: false, summary: `model: ${o.checkpoint} (epoch ${predictor.state.epoch}); preprocessing from ${predictor.preprocessing.source}` };
      }
      predictor.dispose();
      why = `${o.checkpoint} was trained on another cache (${cfgCache})`;
    } catch (err) {
      if (!(err instanceof Mri2ctError)) throw err;
      why = `${o.checkpoint} cannot be used here: ${err.message}`;
    }
  }
  const backend = await loadBackend();
  const loader = await CacheLoader.open(o.cacheDir, { batchSize: 8, seed: 42, augment: { augProb: 0.5 } });
  const ngf = o.ngf ?? 8;
  const epochs = o.epochs ?? 2;
  const r = await train(loader, {
    outputDir: o.outputDir,
    epochs,
    model: { ...DEFAULT_MODEL_CONFIG, imageSize: loader.imageSize, ngf, ndf: ngf },
    optimizer: { lr: 1e-3, beta1: 0.5, beta2: 0.999 },
    saveFreq: epochs,
    valFreq: 1,
    logEverySteps: 10,
    seed: 42,
    extraConfig: { from: 'notebook 05 (tiny model)' },
    tfjsNode: backend.nodeModule,
    ...(o.onProgress !== undefined ? { onProgress: o.onProgress } : {}),
    onEpoch: () => undefined,
    log: () => undefined,
  });
  r.model.dispose();
  const ckpt = path.join(r.checkpointsDir, fs.existsSync(path.join(r.checkpointsDir, 'best_model.ckpt')) ? 'best_model.ckpt' : 'last.ckpt');
  const predictor = await SctPredictor.load(ckpt);
  return { predictor, trained: true, summary: `${why}; trained a tiny model (${epochs} epochs, ngf ${ngf}) into ${o.outputDir}: ${ckpt}` };
}

/** Patients of the checkpoint's validation split (held out from training) that exist in `ids`; else the last id. */
export function heldOutPatients(predictor: SctPredictor, ids: readonly string[]): { ids: string[]; note: string } {
  const split = predictor.state.config['split'] as { train?: string[]; val?: string[] } | undefined;
  const val = (split?.val ?? []).filter((id) => ids.includes(id));
  if (val.length > 0) return { ids: val, note: `validation patients of the checkpoint (not trained on): ${val.join(', ')}` };
  const last = ids[ids.length - 1];
  if (last === undefined) throw new Mri2ctError('no patients to predict');
  const trainedOn = (split?.train ?? []).includes(last);
  return { ids: [last], note: `the checkpoint records no validation patient of this cohort; using ${last}${trainedOn ? ' (it WAS in training: metrics are optimistic)' : ''}` };
}


/**
 * Rows axial / coronal / sagittal, columns MRI | sCT | CT | |sCT − CT| (inside the mask, hot
 * colour map 0..errorMaxHu), through the centre of the head mask.
 */
export function inferenceFigure(
  v: { id: string; mri: Volume; sct: Volume; ct: Volume; mask: Volume<ArrayLike<number>> },
  options: { ctWindow?: Window; errorMaxHu?: number } = {},
): Buffer {
  const centre = maskCentre(v.mask.data, v.mri.dims);
  const lo = SYNTHRAD_HU_RANGE.min;
  const hi = SYNTHRAD_HU_RANGE.max;
  const err: Volume = {
    ...v.ct,
    data: Float32Array.from(v.ct.data, (c, i) => (Number(v.mask.data[i]) > 0 ? Math.abs(Math.min(hi, Math.max(lo, v.sct.data[i] ?? 0)) - Math.min(hi, Math.max(lo, c))) : 0)),
  };
  const views = (vol: Volume): SliceView[] => orthogonalSlices(vol, centre);
  const [mri, sct, ct, e] = [views(v.mri), views(v.sct), views(v.ct), views(err)];
  const all = new Float32Array(mri.reduce((a, s) => a + s.values.length, 0));
  let o = 0;
  for (const s of mri) {
    all.set(s.values, o);
    o += s.values.length;
  }
  const mriW = percentileWindow(all, 0.5, 99.5, 'MRI');
  const ctW = options.ctWindow ?? CT_WINDOWS.full;
  const errW: Window = { low: 0, high: options.errorMaxHu ?? 500, label: `|error| 0..${options.errorMaxHu ?? 500} HU` };
  const panels: Panel[] = [];
  for (let k = 0; k < 3; k++) {
    const p = (s: SliceView | undefined, w: Window, title: string, extra: Partial<Panel> = {}): Panel => {
      if (s === undefined) throw new Error('internal: missing view');
      return { values: s.values, width: s.width, height: s.height, window: w, title: `${title}, ${s.plane}`, orientation: s.orientation, ...extra };
    };
    panels.push(p(mri[k], mriW, 'MRI'), p(sct[k], ctW, 'sCT'), p(ct[k], ctW, 'CT'), p(e[k], errW, '|sCT − CT|', { colormap: 'hot', colorbar: true }));
  }
  const largest = Math.max(...mri.map((s) => Math.max(s.width, s.height)));
  return renderPanelGrid(panels, { columns: 4, panelSize: Math.max(192, Math.min(256, Math.round(largest * 1.5))), title: `${v.id}: MRI | synthetic CT | CT | error inside the head` });
}

const num = (v: number, d: number): string => (Number.isFinite(v) ? v.toFixed(d) : v === Infinity ? '∞' : '–');

/** HTML tables: per patient, then mean ± sd of the model and the bulk-density baseline. */
export function evaluationTableHtml(r: EvaluationResult): string {
  const cell = 'style="padding:2px 10px;text-align:right"';
  const left = 'style="padding:2px 10px;text-align:left"';
  const rows = r.patients.map((p) =>
    `<tr><td ${left}>${p.id}</td><td ${cell}>${num(p.sct.maeHu, 1)}</td><td ${cell}>${num(p.sct.psnrDb, 2)}</td><td ${cell}>${num(p.sct.ssim, 4)}</td>` +
      `<td ${cell}>${num(p.baseline.maeHu, 1)}</td><td ${cell}>${num(p.baseline.psnrDb, 2)}</td><td ${cell}>${num(p.baseline.ssim, 4)}</td><td ${cell}>${p.sct.maskVoxels}</td></tr>`,
  ).join('');
  const per = `<table><thead><tr><th ${left}>patient</th><th ${cell}>MAE [HU]</th><th ${cell}>PSNR [dB]</th><th ${cell}>SSIM</th>` +
    `<th ${cell}>baseline MAE</th><th ${cell}>baseline PSNR</th><th ${cell}>baseline SSIM</th><th ${cell}>mask voxels</th></tr></thead><tbody>${rows}</tbody></table>`;
  const s = summarizeEvaluation(r);
  const sum = s.rows.map((row) =>
    `<tr><td ${left}>${row.metric}${row.unit !== '' ? ` [${row.unit}]` : ''}</td><td ${cell}>${num(row.sct.mean, row.digits)} ± ${num(row.sct.sd, row.digits)}</td>` +
      `<td ${cell}>${num(row.baseline.mean, row.digits)} ± ${num(row.baseline.sd, row.digits)}</td></tr>`,
  ).join('');
  const summary = `<table><thead><tr><th ${left}>metric (n = ${s.n})</th><th ${cell}>sCT (model)</th><th ${cell}>bulk density (water/air)</th></tr></thead><tbody>${sum}</tbody></table>`;
  const failed = r.failed.map((f) => `<p>FAILED ${f.id}: ${f.error.replace(/</g, '&lt;')}</p>`).join('');
  return `${per}<br/>${summary}${failed}`;
}
