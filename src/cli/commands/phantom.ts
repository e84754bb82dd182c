/**
 * `mri2ct phantom`: writes the built-in phantom cohort (paired MRI/CT + ground truth) in the
 * seed layout. Only wiring: the generator lives in src/phantom.
 */
import type { Command } from 'commander';
import { writePhantomCohort } from '../../phantom';
import { camelize, intArg, toVec3, vec3Arg } from '../options';
import { createProgressBar } from '../progress-bar';

export interface PhantomCliOptions {
  out: string;
  patients: number;
  size?: number[];
  seed: number;
}

export async function runPhantom(o: PhantomCliOptions): Promise<void> {
  const bar = createProgressBar();
  const t0 = performance.now();
  try {
    const size = toVec3('--size', o.size);
    const r = await writePhantomCohort({ out: o.out, patients: o.patients, seed: o.seed, ...(size !== undefined ? { size } : {}), onProgress: bar.onProgress });
    bar.stop();
    console.log(`phantom: ${r.patients.length} patients (${r.size.join('×')} voxels, seed ${r.seed}) in ${r.out} — ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    console.log(`  MRI: ${o.out}/MRI  CT: ${o.out}/CT  ground truth: ${o.out}/truth`);
  } finally {
    bar.stop();
  }
}

export function registerPhantom(program: Command): void {
  program
    .command('phantom')
    .description('write the built-in phantom cohort: paired head MRI/CT (seed layout) with ground truth')
    .option('--out <dir>', 'output folder (MRI/, CT/, truth/)', 'data')
    .option('--patients <n>', 'number of patients', intArg('--patients', 1), 8)
    .option('--size <n...>', 'grid size X Y Z in voxels (default 256 256 160; minimum 40 40 28)', vec3Arg('--size'))
    .option('--seed <s>', 'cohort seed (same seed → identical files)', intArg('--seed', 0), 1)
    .action(async (raw: Record<string, unknown>) => runPhantom(camelize<PhantomCliOptions>(raw)));
}
