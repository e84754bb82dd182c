/**
 * Evaluation of a folder of synthetic CTs against the real CTs, per patient, with the SynthRAD2023
 * image metrics inside the head mask (./metrics.ts) and the same metrics for the bulk-density
 * baseline (water inside the head, air outside); CSV and a mean ± sd summary table.
 *
 * Pairing: predictions are `<pred_dir>/<id>.nii[.gz]`; the CT is `<data_dir>/<id>/ct.nii[.gz]`
 * (SynthRAD2023 layout) or `<ct_dir>/<id>.nii[.gz]` (seed layout). The mask, first found of:
 * `<mask_dir>/<id>.nii[.gz]`, SynthRAD's `<data_dir>/<id>/mask.nii[.gz]`, the head mask predict
 * wrote (`<pred_dir>/masks/<id>.nii.gz`), else the head mask computed from the MRI
 * (`<mri_dir>/<id>.nii[.gz]` or `<data_dir>/<id>/mr.nii[.gz]`; Otsu, no N4). Prediction, CT and
 * mask must share one voxel grid. A patient that cannot be evaluated is reported; the others go on.
 * Must not: run a model or change any input file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isDicomFolder, volumeFileId } from '../dataset/discover';
import { ConfigError, Mri2ctError } from '../errors';
import { readImage } from '../io/read-image';
import { reorientToCanonical } from '../preprocess/reorient';
import { gridDifference } from '../io/grid-difference';
import { headMask } from '../preprocess/head-mask';
import { writeFileAtomicSync } from '../util/atomic-write';
import type { ProgressCallback } from '../util/progress';
import { BULK_DENSITY, bulkDensityCt, imageMetrics, type ImageMetrics, meanSd, SYNTHRAD_HU_RANGE } from './metrics';

/** Options of {@link evaluatePredictions}. */
export interface EvaluateOptions {
  /** Folder of sCTs `<id>.nii[.gz]`. */
  predDir: string;
  /** SynthRAD2023 layout root (`<id>/ct.nii.gz`, `mask.nii.gz`, `mr.nii.gz`). */
  dataDir?: string;
  /** Seed layout: CT folder (`<id>.nii[.gz]`). */
  ctDir?: string;
  /** Seed layout: MRI folder, only for computing a head mask when no mask file exists. */
  mriDir?: string;
  /** Folder of masks `<id>.nii[.gz]` (takes precedence over every other mask). */
  maskDir?: string;
  /** Only these patients (default: every prediction). */
  ids?: string[];
  onProgress?: ProgressCallback;
}

/** One patient's evaluation. */
export interface PatientEvaluation {
  id: string;
  sct: ImageMetrics;
  baseline: ImageMetrics;
  /** Which mask was used (file, or 'head mask of <mri>'). */
  maskSource: string;
  files: { pred: string; ct: string };
  seconds: number;
}

/** Result of {@link evaluatePredictions}. */
export interface EvaluationResult {
  patients: PatientEvaluation[];
  failed: { id: string; error: string }[];
}

/** `<dir>/<base>.<ext>` in any readable format (NIfTI first), or `<dir>/<base>/` as a DICOM series. */
function findNifti(dir: string | undefined, base: string): string | undefined {
  if (dir === undefined || !fs.existsSync(dir)) return undefined;
  const named = [`${base}.nii.gz`, `${base}.nii`, `${base}.mha`, `${base}.mhd`, `${base}.nrrd`, `${base}.nhdr`].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
  if (named !== undefined) return named;
  const folder = path.join(dir, base);
  return fs.existsSync(folder) && fs.statSync(folder).isDirectory() && isDicomFolder(folder) ? folder : undefined;
}

/** Prediction files of a folder by id (masks/ and other non-NIfTI files ignored). */
export function listPredictions(predDir: string): Map<string, string> {
  let names: fs.Dirent[];
  try {
    names = fs.readdirSync(predDir, { withFileTypes: true });
  } catch (err) {
    throw new ConfigError(`cannot read the prediction folder ${predDir}: ${(err as Error).message}`, { cause: err });
  }
  const out = new Map<string, string>();
  for (const e of names) {
    if (!e.isFile() || e.name.startsWith('.')) continue;
    const id = volumeFileId(e.name);
    if (id === undefined || /\.(raw|zraw)$/i.test(e.name)) continue;
    if (out.has(id)) throw new ConfigError(`${predDir}: two predictions for '${id}' (${id}.nii and ${id}.nii.gz); keep one.`);
    out.set(id, path.join(predDir, e.name));
  }
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)));
}

/** Evaluates one patient: sCT and bulk-density baseline against the CT inside the mask. */
async function evaluatePatient(id: string, pred: string, o: EvaluateOptions): Promise<PatientEvaluation> {
  const t0 = performance.now();
  const ctFile = o.dataDir !== undefined ? findNifti(path.join(o.dataDir, id), 'ct') : findNifti(o.ctDir, id);
  if (ctFile === undefined) {
    const where = o.dataDir !== undefined ? path.join(o.dataDir, id, 'ct.nii.gz') : path.join(o.ctDir ?? '?', `${id}.nii.gz`);
    throw new Mri2ctError(`no CT for prediction ${pred}: expected ${where}.`);
  }
  // Compared in canonical (RAS+) order, so files of one grid stored in different orders still pair.
  const [sct, ct] = (await Promise.all([readImage(pred), readImage(ctFile)])).map((v) => reorientToCanonical(v));
  if (sct === undefined || ct === undefined) throw new Mri2ctError(`cannot read ${pred} / ${ctFile}`);
  const g = gridDifference(sct, ct);
  if (g !== undefined) throw new Mri2ctError(`prediction ${pred} and CT ${ctFile} are not on the same voxel grid: ${g}. Predict from the MRI that is co-registered with this CT.`);
  const maskFile = findNifti(o.maskDir, id) ?? (o.dataDir !== undefined ? findNifti(path.join(o.dataDir, id), 'mask') : undefined) ?? findNifti(path.join(o.predDir, 'masks'), id);
  let mask: Uint8Array;
  let maskSource: string;
  if (maskFile !== undefined) {
    const m = reorientToCanonical(await readImage(maskFile));
    const gm = gridDifference(m, ct);
    if (gm !== undefined) throw new Mri2ctError(`mask ${maskFile} and CT ${ctFile} are not on the same voxel grid: ${gm}.`);
    mask = Uint8Array.from(m.data, (v) => (v > 0 ? 1 : 0));
    maskSource = maskFile;
  } else {
    const mriFile = o.dataDir !== undefined ? findNifti(path.join(o.dataDir, id), 'mr') : findNifti(o.mriDir, id);
    if (mriFile === undefined) {
      throw new Mri2ctError(`no mask for patient ${id}: give --mask_dir, keep the masks/ folder predict writes next to the predictions, or give --mri_dir so the head mask can be computed.`);
    }
    const mri = reorientToCanonical(await readImage(mriFile));
    const gm = gridDifference(mri, ct);
    if (gm !== undefined) throw new Mri2ctError(`MRI ${mriFile} and CT ${ctFile} are not on the same voxel grid: ${gm}.`);
    mask = headMask(mri, { what: `MRI ${mriFile}` });
    maskSource = `head mask of ${mriFile}`;
  }
  const baseline = bulkDensityCt(mask);
  return {
    id,
    sct: imageMetrics(ct.data, sct.data, mask, ct.dims),
    baseline: imageMetrics(ct.data, baseline, mask, ct.dims),
    maskSource,
    files: { pred, ct: ctFile },
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Evaluates every prediction in predDir (or `ids`); see the module header. */
export async function evaluatePredictions(o: EvaluateOptions): Promise<EvaluationResult> {
  if (o.dataDir === undefined && o.ctDir === undefined) {
    throw new ConfigError('evaluate needs the real CTs: pass --data_dir (SynthRAD layout <id>/ct.nii.gz) or --ct_dir (<id>.nii.gz).');
  }
  const preds = listPredictions(o.predDir);
  let ids = [...preds.keys()];
  if (o.ids !== undefined) {
    const missing = o.ids.filter((id) => !preds.has(id));
    if (missing.length > 0) throw new ConfigError(`no prediction for ${missing.join(', ')} in ${o.predDir}.`);
    ids = o.ids.slice();
  }
  if (ids.length === 0) throw new ConfigError(`no predictions (<id>.nii.gz) in ${o.predDir}: run \`mri2ct predict\` first.`);
  const patients: PatientEvaluation[] = [];
  const failed: EvaluationResult['failed'] = [];
  for (const [k, id] of ids.entries()) {
    try {
      patients.push(await evaluatePatient(id, preds.get(id) as string, o));
    } catch (err) {
      if (!(err instanceof Mri2ctError)) throw err;
      failed.push({ id, error: err.message });
    }
    o.onProgress?.({ stage: 'evaluate', done: k + 1, total: ids.length, message: id });
  }
  return { patients, failed };
}

const fmt = (v: number, digits: number): string => (Number.isFinite(v) ? v.toFixed(digits) : v === Infinity ? 'inf' : 'nan');

/** CSV text: one row per patient, the sCT's and the baseline's metrics. */
export function evaluationCsv(r: EvaluationResult): string {
  const head = 'id,mae_hu,psnr_db,ssim,baseline_mae_hu,baseline_psnr_db,baseline_ssim,mask_voxels,mask_source';
  const quote = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const rows = r.patients.map((p) =>
    [p.id, fmt(p.sct.maeHu, 3), fmt(p.sct.psnrDb, 4), fmt(p.sct.ssim, 5), fmt(p.baseline.maeHu, 3), fmt(p.baseline.psnrDb, 4), fmt(p.baseline.ssim, 5), String(p.sct.maskVoxels), quote(p.maskSource)].join(','),
  );
  return `${[head, ...rows].join('\n')}\n`;
}

/** Writes {@link evaluationCsv} atomically to `file`. */
export function writeEvaluationCsv(file: string, r: EvaluationResult): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileAtomicSync(file, evaluationCsv(r));
}

/** Mean ± sd of each metric for the sCT and the baseline. */
export interface EvaluationSummary {
  n: number;
  rows: { metric: string; unit: string; sct: { mean: number; sd: number }; baseline: { mean: number; sd: number }; digits: number; nonFinite: number }[];
}

export function summarizeEvaluation(r: EvaluationResult): EvaluationSummary {
  const rows = ([['MAE', 'HU', 'maeHu', 1], ['PSNR', 'dB', 'psnrDb', 2], ['SSIM', '', 'ssim', 4]] as const).map(([metric, unit, key, digits]) => {
    const s = meanSd(r.patients.map((p) => p.sct[key]));
    const b = meanSd(r.patients.map((p) => p.baseline[key]));
    return { metric, unit, sct: { mean: s.mean, sd: s.sd }, baseline: { mean: b.mean, sd: b.sd }, digits, nonFinite: s.nonFinite + b.nonFinite };
  });
  return { n: r.patients.length, rows };
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/**
 * Plain-text tables: one line per patient, then mean ± sd (sample sd) of the sCT and the
 * bulk-density baseline, and the failures.
 */
export function formatEvaluation(r: EvaluationResult): string {
  const lines: string[] = [];
  const range = `[${SYNTHRAD_HU_RANGE.min}, ${SYNTHRAD_HU_RANGE.max}] HU`;
  lines.push(`SynthRAD2023 image metrics inside the head mask (CT and sCT clipped to ${range}; PSNR/SSIM data range ${SYNTHRAD_HU_RANGE.max - SYNTHRAD_HU_RANGE.min} HU)`);
  lines.push(`${pad('patient', 14)}${pad('MAE [HU]', 11)}${pad('PSNR [dB]', 11)}${pad('SSIM', 9)}| ${pad('baseline MAE', 14)}${pad('PSNR', 8)}SSIM`);
  for (const p of r.patients) {
    lines.push(
      `${pad(p.id, 14)}${pad(fmt(p.sct.maeHu, 1), 11)}${pad(fmt(p.sct.psnrDb, 2), 11)}${pad(fmt(p.sct.ssim, 4), 9)}| ` +
        `${pad(fmt(p.baseline.maeHu, 1), 14)}${pad(fmt(p.baseline.psnrDb, 2), 8)}${fmt(p.baseline.ssim, 4)}`,
    );
  }
  const s = summarizeEvaluation(r);
  if (s.n > 0) {
    lines.push('');
    lines.push(`${pad('metric', 12)}${pad(`sCT (n = ${s.n})`, 20)}bulk density (water ${BULK_DENSITY.waterHu} HU in the head, air ${BULK_DENSITY.airHu} HU outside)`);
    for (const row of s.rows) {
      const ms = (x: { mean: number; sd: number }): string => `${fmt(x.mean, row.digits)} ± ${fmt(x.sd, row.digits)}`;
      lines.push(`${pad(`${row.metric}${row.unit !== '' ? ` [${row.unit}]` : ''}`, 12)}${pad(ms(row.sct), 20)}${ms(row.baseline)}${row.nonFinite > 0 ? `  (${row.nonFinite} infinite value(s) left out)` : ''}`);
    }
  }
  for (const f of r.failed) lines.push(`FAILED ${f.id}: ${f.error}`);
  return lines.join('\n');
}
