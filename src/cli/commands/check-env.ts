/**
 * `mri2ct check-env`: prints the environment check and exits 0 when ready, 1 when not.
 * Only wiring: the checks live in src/env/check-env.ts.
 */
import type { Command } from 'commander';
import { camelize } from '../options';
import { parseBackendRequest } from '../../env/backend';
import { checkEnvironment, formatEnvReport } from '../../env/check-env';

export interface CheckEnvCliOptions {
  cacheDir: string;
  backend: string;
}

/** Runs the check, prints it, returns whether the machine is ready. */
export async function runCheckEnv(opts: CheckEnvCliOptions): Promise<boolean> {
  const report = await checkEnvironment({ cacheDir: opts.cacheDir, backend: parseBackendRequest(opts.backend) });
  console.log(formatEnvReport(report));
  return report.ok;
}

export function registerCheckEnv(program: Command): void {
  program
    .command('check-env')
    .description('check the machine: compute backend, GPU, memory, disk, packages, tslab kernel')
    .option('--cache_dir <dir>', 'where the cache will go (its free disk is checked)', 'preprocessed_cache')
    .option('--backend <name>', 'auto | tensorflow-gpu | tensorflow | cpu', 'auto')
    .action(async (raw: Record<string, unknown>) => {
      if (!(await runCheckEnv(camelize<CheckEnvCliOptions>(raw)))) process.exitCode = 1;
    });
}
