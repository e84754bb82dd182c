/**
 * `mri2ct evaluate`: the SynthRAD2023 image metrics (MAE, PSNR, SSIM inside the head mask) of a
 * folder of sCTs against the real CTs, per patient, with the bulk-density baseline; writes a CSV
 * and prints the tables. Also the last stage of `mri2ct run`: predict the validation patients of
 * the trained model from their source NIfTI files and evaluate them.
 * Only wiring: the work lives in src/infer/.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { discoverDataset } from '../../dataset/discover';
import { loadBackend, parseBackendRequest } from '../../env/backend';
import { evaluatePredictions, type EvaluationResult, formatEvaluation, writeEvaluationCsv } from '../../infer/evaluate';
import { predictMany, SctPredictor } from '../../infer/predict';
import { readCheckpointState } from '../../train/checkpoint';
import { camelize } from '../options';
import { createProgressBar } from '../progress-bar';
import { describePredictor } from './predict';

export interface EvaluateCliOptions {
  predDir: string;
  dataDir?: string;
  ctDir?: string;
  mriDir?: string;
  maskDir?: string;
  ids?: string;
  csv?: string;
}

export async function runEvaluate(o: EvaluateCliOptions): Promise<EvaluationResult> {
  const bar = createProgressBar();
  try {
    const r = await evaluatePredictions({
      predDir: o.predDir,
      ...(o.dataDir !== undefined ? { dataDir: o.dataDir } : {}),
      ...(o.ctDir !== undefined ? { ctDir: o.ctDir } : {}),
      ...(o.mriDir !== undefined ? { mriDir: o.mriDir } : {}),
      ...(o.maskDir !== undefined ? { maskDir: o.maskDir } : {}),
      ...(o.ids !== undefined ? { ids: o.ids.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
      onProgress: bar.onProgress,
    });
    bar.stop();
    const csv = o.csv ?? path.join(o.predDir, 'evaluation.csv');
    writeEvaluationCsv(csv, r);
    console.log(formatEvaluation(r));
    console.log(`per-patient metrics: ${csv}`);
    return r;
  } finally {
    bar.stop();
  }
}

/** Options of {@link evaluateValidationPatients}. */
export interface ValidationEvaluationOptions {
  /** Folder with best_model.ckpt / last.ckpt. */
  checkpointsDir: string;
  /** Run folder: predictions go to <outputDir>/predictions/. */
  outputDir: string;
  /** The dataset the run was trained on (seed layout or SynthRAD root). */
  mriDir: string;
  ctDir: string;
  dataDir?: string;
  batchSize?: number;
  backend?: string;
}

/**
 * Predicts the validation patients of a run (ids from the checkpoint's config.split.val) from
 * their source MRIs into <outputDir>/predictions/, then evaluates them against their CTs and
 * prints the table with the bulk-density baseline. Undefined when there is no validation patient.
 */
export async function evaluateValidationPatients(o: ValidationEvaluationOptions): Promise<EvaluationResult | undefined> {
  const best = path.join(o.checkpointsDir, 'best_model.ckpt');
  const checkpoint = fs.existsSync(best) ? best : path.join(o.checkpointsDir, 'last.ckpt');
  const split = readCheckpointState(checkpoint).config['split'] as { val?: string[] } | undefined;
  const val = split?.val ?? [];
  if (val.length === 0) {
    console.log('no validation patients in this run (--val_fraction 0?): nothing to evaluate');
    return undefined;
  }
  const ds = discoverDataset(o.dataDir !== undefined ? { dataDir: o.dataDir } : { mriDir: o.mriDir, ctDir: o.ctDir });
  const inputs = ds.pairs.filter((p) => val.includes(p.id)).map((p) => ({ id: p.id, mri: p.mri }));
  const lost = val.filter((id) => !inputs.some((i) => i.id === id));
  if (lost.length > 0) console.log(`validation patients without source files in ${ds.source}: ${lost.join(', ')} (skipped)`);
  if (inputs.length === 0) return undefined;
  await loadBackend({ request: parseBackendRequest(o.backend ?? 'auto') });
  const predDir = path.join(o.outputDir, 'predictions');
  const predictor = await SctPredictor.load(checkpoint, o.batchSize !== undefined ? { batchSize: o.batchSize } : {});
  const bar = createProgressBar();
  try {
    console.log(describePredictor(predictor));
    console.log(`predicting the ${inputs.length} validation patient(s) ${inputs.map((i) => i.id).join(', ')} from their source MRIs into ${predDir}/`);
    const pr = await predictMany(predictor, inputs, predDir, { onProgress: bar.onProgress, log: (m) => { bar.stop(); console.log(m); } });
    bar.stop();
    if (pr.done.length === 0) return undefined;
    console.log('');
    return await runEvaluate({
      predDir,
      ...(o.dataDir !== undefined ? { dataDir: o.dataDir } : { ctDir: o.ctDir, mriDir: o.mriDir }),
      ids: pr.done.map((d) => d.id).join(','),
    });
  } finally {
    bar.stop();
    predictor.dispose();
  }
}

export function registerEvaluate(program: Command): void {
  program
    .command('evaluate')
    .description('SynthRAD2023 image metrics (MAE, PSNR, SSIM inside the head mask) of predicted sCTs vs the CTs, with the bulk-density baseline')
    .requiredOption('--pred_dir <dir>', 'folder of sCTs <id>.nii[.gz] (as mri2ct predict writes them)')
    .option('--data_dir <dir>', 'SynthRAD2023 layout root (<id>/ct.nii.gz, mask.nii.gz, mr.nii.gz)')
    .option('--ct_dir <dir>', 'CT folder (<id>.nii[.gz]), seed layout')
    .option('--mri_dir <dir>', 'MRI folder, only to compute head masks when no mask file exists')
    .option('--mask_dir <dir>', 'masks <id>.nii[.gz] (default: SynthRAD mask.nii.gz, else <pred_dir>/masks/, else the MRI head mask)')
    .option('--ids <ids>', 'only these comma-separated patient ids')
    .option('--csv <file>', 'per-patient CSV (default <pred_dir>/evaluation.csv)')
    .action(async (raw: Record<string, unknown>) => {
      const r = await runEvaluate(camelize<EvaluateCliOptions>(raw));
      if (r.failed.length > 0 || r.patients.length === 0) process.exitCode = 1;
    });
}
