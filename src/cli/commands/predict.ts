/**
 * `mri2ct predict`: synthetic CT for new MRIs, written in each MRI's own geometry (shape and
 * affine), from a checkpoint that carries its preprocessing. One file (`--mri a.nii.gz --out
 * sct.nii.gz [--mask mask.nii.gz]`) or a folder (`--mri <dir> --out <dir>`: `<id>.nii[.gz]` files
 * or SynthRAD `<id>/mr.nii.gz` folders → `<out>/<id>.nii.gz` and `<out>/masks/<id>.nii.gz`).
 * Only wiring: the work lives in src/infer/predict.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { loadBackend, parseBackendRequest } from '../../env/backend';
import { ConfigError } from '../../errors';
import { discoverMriInputs, mriInputId, predictionPaths, predictMany, type PredictManyResult, SctPredictor } from '../../infer/predict';
import { isDicomFolder } from '../../dataset/discover';
import { imageFileId } from '../../io/read-image';
import { camelize, intArg } from '../options';
import { createProgressBar } from '../progress-bar';

export interface PredictCliOptions {
  checkpoint: string;
  mri: string;
  out: string;
  mask?: string;
  ids?: string;
  cacheDir?: string;
  batchSize: number;
  backend: string;
  dtype: string;
}

/** One line about the loaded model and where its preprocessing came from. */
export function describePredictor(p: SctPredictor): string {
  const m = p.modelConfig;
  const pp = p.params;
  return `checkpoint ${p.checkpointPath} (epoch ${p.state.epoch}, ${m.imageSize}² slices, ngf ${m.ngf}); preprocessing from ${p.preprocessing.source}: ` +
    `N4 ${pp.n4.enabled ? 'on' : 'off'}, MRI clip p${pp.clip.mriLowPercentile}–p${pp.clip.mriHighPercentile}, CT window ${p.ctWindow.minHu}..${p.ctWindow.maxHu} HU, crop margin ${pp.crop.marginMm} mm`;
}

export async function runPredict(o: PredictCliOptions): Promise<PredictManyResult> {
  if (o.dtype !== 'int16' && o.dtype !== 'float32') throw new ConfigError(`--dtype ${o.dtype}: use int16 (HU integers, like clinical CT) or float32.`);
  if (!fs.existsSync(o.mri)) throw new ConfigError(`--mri ${o.mri} does not exist: give an MRI file (.nii[.gz], .mha, .nrrd), a DICOM series folder, or a folder of them.`);
  const backend = await loadBackend({ request: parseBackendRequest(o.backend) });
  console.log(`backend: ${backend.kind} (${backend.package})`);
  const predictor = await SctPredictor.load(o.checkpoint, { batchSize: o.batchSize, ...(o.cacheDir !== undefined ? { cacheDir: o.cacheDir } : {}) });
  console.log(describePredictor(predictor));
  for (const w of predictor.preprocessing.warnings) console.log(`note: ${w}`);
  const bar = createProgressBar();
  try {
    if (fs.statSync(o.mri).isDirectory() && !isDicomFolder(o.mri)) {
      if (o.mask !== undefined) throw new ConfigError('--mask names one file; with a folder of MRIs the masks go to <out>/masks/<id>.nii.gz.');
      if (fs.existsSync(o.out) && !fs.statSync(o.out).isDirectory()) throw new ConfigError(`--out ${o.out} is a file; with a folder of MRIs give an output folder.`);
      let inputs = discoverMriInputs(o.mri);
      if (o.ids !== undefined) {
        const want = o.ids.split(',').map((s) => s.trim()).filter(Boolean);
        const missing = want.filter((id) => !inputs.some((i) => i.id === id));
        if (missing.length > 0) throw new ConfigError(`--ids: no MRI for ${missing.join(', ')} in ${o.mri}.`);
        inputs = inputs.filter((i) => want.includes(i.id));
      }
      console.log(`${inputs.length} MRI(s) in ${o.mri} → ${o.out}/`);
      const r = await predictMany(predictor, inputs, o.out, {
        onProgress: bar.onProgress, datatype: o.dtype, log: (m) => { bar.stop(); console.log(m); },
      });
      bar.stop();
      console.log(`${r.done.length} sCT(s) written to ${o.out} in ${r.seconds.toFixed(1)} s${r.failed.length > 0 ? `; ${r.failed.length} failed: ${r.failed.map((f) => f.id).join(', ')}` : ''}`);
      return r;
    }
    // one file or DICOM folder; --out may be a folder
    const id = mriInputId(o.mri);
    const isFolder = (fs.existsSync(o.out) && fs.statSync(o.out).isDirectory()) || imageFileId(path.basename(o.out)) === undefined;
    if (isFolder) fs.mkdirSync(o.out, { recursive: true });
    const out = isFolder ? predictionPaths(o.out, id, o.mri).sct : o.out;
    const t0 = performance.now();
    const r = await predictor.predictFile(o.mri, out, {
      id, onProgress: bar.onProgress, datatype: o.dtype, ...(o.mask !== undefined ? { maskPath: o.mask } : {}),
    });
    bar.stop();
    for (const w of r.warnings) console.log(`note: ${w}`);
    console.log(
      `sCT ${r.sctPath}: ${r.sct.dims.join('×')} voxels, affine and shape of ${o.mri}${r.maskPath !== undefined ? `; head mask ${r.maskPath}` : ''} ` +
        `(${r.timings.total.toFixed(1)} s: preprocess ${r.timings.preprocess.toFixed(1)}, model ${r.timings.model.toFixed(1)}, restore ${r.timings.restore.toFixed(1)}, files ${r.ioSeconds.toFixed(1)})`,
    );
    return { done: [r], failed: [], seconds: (performance.now() - t0) / 1000 };
  } finally {
    bar.stop();
    predictor.dispose();
  }
}

export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description('synthetic CT for new MRIs, in their original geometry (shape and affine), with the preprocessing the model was trained with')
    .requiredOption('--checkpoint <file>', 'checkpoint, e.g. fast_training_output/checkpoints/best_model')
    .requiredOption('--mri <path>', 'MRI NIfTI file, or a folder of <id>.nii[.gz] files / SynthRAD <id>/mr.nii.gz folders')
    .requiredOption('--out <path>', 'sCT file (for one MRI) or output folder (<id>.nii.gz, masks/<id>.nii.gz)')
    .option('--mask <file>', 'also write the head mask used (one MRI only)')
    .option('--ids <ids>', 'folder form: only these comma-separated patient ids')
    .option('--cache_dir <dir>', "cache to take the preprocessing from when the checkpoint predates recording it (default: the checkpoint's cache)")
    .option('--batch_size <n>', 'slices per generator call', intArg('--batch_size', 1), 8)
    .option('--dtype <type>', 'int16 (HU integers) | float32', 'int16')
    .option('--backend <name>', 'auto | tensorflow-gpu | tensorflow | cpu', 'auto')
    .action(async (raw: Record<string, unknown>) => {
      const r = await runPredict(camelize<PredictCliOptions>(raw));
      if (r.failed.length > 0 || r.done.length === 0) process.exitCode = 1;
    });
}
