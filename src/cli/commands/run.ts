/**
 * `mri2ct run`: the whole pipeline in one command (the seed's run_fast_training). With
 * --check_env it only prints the environment check. Otherwise: environment check → data (the
 * built-in phantom cohort when the default data folder is empty) → preprocess into the cache
 * (already-cached patients are skipped; --skip_preprocessing trusts the cache as it is) →
 * train → predict the validation patients from their source files and evaluate them (SynthRAD2023
 * metrics with the bulk-density baseline). Only wiring: each stage lives in the library and in its
 * own command.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { readCacheParams } from '../../cache/metadata';
import { CacheError } from '../../errors';
import { camelize, intArg } from '../options';
import { runCheckEnv } from './check-env';
import { evaluateValidationPatients } from './evaluate';
import { runPhantom } from './phantom';
import { addPreprocessOptions, type PreprocessCliOptions, runPreprocess } from './preprocess';
import { addTrainOptions, runTrain, type TrainCliOptions } from './train';

export interface RunCliOptions extends Omit<PreprocessCliOptions, 'format'>, Omit<TrainCliOptions, 'workers'> {
  checkEnv?: boolean;
  skipPreprocessing?: boolean;
  cacheFormat: string;
  phantomPatients: number;
}

const DEFAULT_DATA = 'data';

function hasNifti(dir: string): boolean {
  return fs.existsSync(dir) && fs.readdirSync(dir).some((f) => /\.nii(\.gz)?$/.test(f));
}

export async function runPipeline(o: RunCliOptions): Promise<boolean> {
  const t0 = performance.now();
  console.log('== 1/5 environment ==');
  const ok = await runCheckEnv({ cacheDir: o.cacheDir, backend: o.backend });
  if (o.checkEnv === true || !ok) return ok;

  console.log('\n== 2/5 data ==');
  const usingDefault = o.dataDir === undefined && path.resolve(o.mriDir) === path.resolve(DEFAULT_DATA, 'MRI') && path.resolve(o.ctDir) === path.resolve(DEFAULT_DATA, 'CT');
  if (usingDefault && !hasNifti(o.mriDir)) {
    console.log(`no data in ${o.mriDir}: writing the built-in phantom cohort (${o.phantomPatients} patients)`);
    await runPhantom({ out: DEFAULT_DATA, patients: o.phantomPatients, seed: 1 });
  }

  console.log('\n== 3/5 preprocess ==');
  if (o.skipPreprocessing === true) {
    const params = readCacheParams(o.cacheDir);
    if (params === undefined) throw new CacheError(`--skip_preprocessing: ${o.cacheDir} holds no cache. Fix: run without --skip_preprocessing (or \`mri2ct preprocess\`).`);
    console.log(`skipped (--skip_preprocessing): using the ${params.format} cache in ${o.cacheDir}`);
  } else if (!(await runPreprocess({ ...o, format: o.cacheFormat }))) {
    console.log('some patients failed preprocessing (listed above); training goes on with the others');
  }

  console.log('\n== 4/5 train ==');
  const { cacheFormat: _f, ...rest } = o;
  const trained = await runTrain({ ...rest, workers: 0 });
  trained.model.dispose();

  console.log('\n== 5/5 evaluate the validation patients ==');
  await evaluateValidationPatients({
    checkpointsDir: trained.checkpointsDir, outputDir: o.outputDir, mriDir: o.mriDir, ctDir: o.ctDir, batchSize: trained.batchSize, backend: o.backend,
    ...(o.dataDir !== undefined ? { dataDir: o.dataDir } : {}),
  });
  console.log(`\nrun finished in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return true;
}

export function registerRun(program: Command): void {
  const cmd = program
    .command('run')
    .description('the whole pipeline: environment check, data (phantom demo when none), preprocess into the cache, train, evaluate the validation patients')
    .option('--check_env', 'only print the environment check')
    .option('--skip_preprocessing', 'use the cache as it is (fails when there is none)')
    .option('--cache_format <fmt>', 'h5 | npy | pt (alias of npy)', 'h5')
    .option('--phantom_patients <n>', 'patients of the demo cohort written when the default data folder is empty', intArg('--phantom_patients', 2), 10);
  addTrainOptions(addPreprocessOptions(cmd)).action(async (raw: Record<string, unknown>) => {
    if (!(await runPipeline(camelize<RunCliOptions>(raw)))) process.exitCode = 1;
  });
}
