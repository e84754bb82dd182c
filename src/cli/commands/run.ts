/**
 * `mri2ct run`: the whole pipeline in one command (the seed's run_fast_training). With
 * --check_env it only prints the environment check. Otherwise: environment check, the built-in
 * phantom cohort when the default data folder is empty, then the later stages.
 * Only wiring: each stage lives in the library.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { discoverDataset, formatDatasetProblems } from '../../dataset/discover';
import { camelize, intArg } from '../options';
import { runCheckEnv } from './check-env';
import { runPhantom } from './phantom';

export interface RunCliOptions {
  checkEnv?: boolean;
  mriDir: string;
  ctDir: string;
  cacheDir: string;
  outputDir: string;
  backend: string;
  phantomPatients: number;
}

const DEFAULT_DATA = 'data';

function hasNifti(dir: string): boolean {
  return fs.existsSync(dir) && fs.readdirSync(dir).some((f) => /\.nii(\.gz)?$/.test(f));
}

export async function runPipeline(o: RunCliOptions): Promise<boolean> {
  console.log('== 1. environment ==');
  const ok = await runCheckEnv({ cacheDir: o.cacheDir, backend: o.backend });
  if (o.checkEnv === true || !ok) return ok;

  console.log('\n== 2. data ==');
  const usingDefault = path.resolve(o.mriDir) === path.resolve(DEFAULT_DATA, 'MRI') && path.resolve(o.ctDir) === path.resolve(DEFAULT_DATA, 'CT');
  if (usingDefault && !hasNifti(o.mriDir)) {
    console.log(`no data in ${o.mriDir}: writing the built-in phantom cohort (${o.phantomPatients} patients)`);
    await runPhantom({ out: DEFAULT_DATA, patients: o.phantomPatients, seed: 1 });
  }
  const ds = discoverDataset({ mriDir: o.mriDir, ctDir: o.ctDir });
  console.log(`${ds.pairs.length} MRI/CT pairs in ${ds.source}`);
  if (ds.problems.length > 0) console.log(`not used:\n${formatDatasetProblems(ds.problems)}`);
  return true;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('the whole pipeline: environment check, data (phantom demo when none), then the later stages')
    .option('--check_env', 'only print the environment check')
    .option('--mri_dir <dir>', 'MRI folder (<id>.nii[.gz])', path.join(DEFAULT_DATA, 'MRI'))
    .option('--ct_dir <dir>', 'CT folder (<id>.nii[.gz])', path.join(DEFAULT_DATA, 'CT'))
    .option('--cache_dir <dir>', 'preprocessed cache folder', 'preprocessed_cache')
    .option('--output_dir <dir>', 'training output folder', 'fast_training_output')
    .option('--backend <name>', 'auto | tensorflow-gpu | tensorflow | cpu', 'auto')
    .option('--phantom_patients <n>', 'patients of the demo cohort written when the default data folder is empty', intArg('--phantom_patients', 2), 10)
    .action(async (raw: Record<string, unknown>) => {
      if (!(await runPipeline(camelize<RunCliOptions>(raw)))) process.exitCode = 1;
    });
}
