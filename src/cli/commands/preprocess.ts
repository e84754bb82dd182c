/**
 * `mri2ct preprocess`: builds the cache from a dataset (seed or SynthRAD layout) with a progress
 * bar and a summary table. Exit code 1 when any patient failed (the others are still cached).
 * Only wiring: the work lives in src/cache/build.ts and src/preprocess.
 */
import type { Command } from 'commander';
import { buildCache, formatBuildSummary, parseShard } from '../../cache/build';
import { writePreprocessingInfo } from '../../cache/metadata';
import { discoverDataset, formatDatasetProblems } from '../../dataset/discover';
import { resolvePreprocessParams } from '../../preprocess/params';
import { camelize, floatArg, intArg } from '../options';
import { createProgressBar } from '../progress-bar';

export interface PreprocessCliOptions {
  mriDir: string;
  ctDir: string;
  dataDir?: string;
  cacheDir: string;
  format: string;
  workers: number;
  shard?: string;
  force?: boolean;
  mergeMetadata?: boolean;
  imageSize: number;
  n4: boolean;
  ctMinHu: number;
  ctMaxHu: number;
  volume?: number;
  register?: string;
}

/** Runs the preprocessing; returns false when a patient failed. */
export async function runPreprocess(o: PreprocessCliOptions): Promise<boolean> {
  if (o.mergeMetadata === true) {
    console.log(`merged the shards' metadata into ${writePreprocessingInfo(o.cacheDir)}`);
    return true;
  }
  const ds = discoverDataset(o.dataDir !== undefined ? { dataDir: o.dataDir } : { mriDir: o.mriDir, ctDir: o.ctDir });
  console.log(`${ds.pairs.length} MRI/CT pairs in ${ds.source}`);
  if (ds.problems.length > 0) console.log(`not used:\n${formatDatasetProblems(ds.problems)}`);
  const params = resolvePreprocessParams({
    resize: { size: o.imageSize }, n4: { enabled: o.n4 }, clip: { ctMinHu: o.ctMinHu, ctMaxHu: o.ctMaxHu },
    ...(o.register !== undefined && o.register !== 'none' ? { register: { method: o.register as 'rigid' } } : {}),
  });
  const bar = createProgressBar();
  try {
    const r = await buildCache({
      pairs: ds.pairs, cacheDir: o.cacheDir, format: o.format, params, workers: o.workers,
      ...(o.shard !== undefined ? { shard: parseShard(o.shard) } : {}), force: o.force === true, onProgress: bar.onProgress,
      ...(o.volume !== undefined ? { volume: o.volume } : {}),
    });
    bar.stop();
    console.log(formatBuildSummary(r));
    return r.failed.length === 0;
  } finally {
    bar.stop();
  }
}

export function addPreprocessOptions(cmd: Command): Command {
  return cmd
    .option('--mri_dir <dir>', 'MRI folder (<id>.nii[.gz])', 'data/MRI')
    .option('--ct_dir <dir>', 'CT folder (<id>.nii[.gz])', 'data/CT')
    .option('--data_dir <dir>', 'SynthRAD2023 layout root (<id>/mr.nii.gz, ct.nii.gz); replaces --mri_dir/--ct_dir')
    .option('--cache_dir <dir>', 'cache folder', 'preprocessed_cache')
    .option('--workers <n>', 'patients preprocessed in parallel (worker threads)', intArg('--workers', 1), 1)
    .option('--image_size <n>', 'slice size after resize', intArg('--image_size', 16), 256)
    .option('--no-n4', 'skip N4 bias correction')
    .option('--ct_min_hu <hu>', 'CT window low end (clip and normalisation)', floatArg('--ct_min_hu'), -1024)
    .option('--ct_max_hu <hu>', 'CT window high end', floatArg('--ct_max_hu'), 3000)
    .option('--volume <n>', 'take volume n (0-based) of 4D inputs; without it 4D files are refused', intArg('--volume', 0))
    .option('--register <method>', 'none (pairs already co-registered) | rigid (elastix, CT to MRI, before the CT steps)', 'none')
    .option('--force', 'rebuild patients that are already cached');
}

export function registerPreprocess(program: Command): void {
  addPreprocessOptions(
    program
      .command('preprocess')
      .description('preprocess every MRI/CT pair once into the cache (N4, head mask, CT clean-up, clip, normalise, crop, resize, clamp)')
      .option('--format <fmt>', 'cache format: h5 (gzip 9, compact) | npy (fastest load) | pt (alias of npy)', 'h5')
      .option('--shard <k/n>', 'only this shard of the patients (for parallel runs)')
      .option('--merge-metadata', 'only rewrite metadata/preprocessing_info.json from all shards (also done after every run)'),
  ).action(async (raw: Record<string, unknown>) => {
    if (!(await runPreprocess(camelize<PreprocessCliOptions>(raw)))) process.exitCode = 1;
  });
}
