/**
 * `mri2ct cache-speed`: the cache speed test, printed as a table. Only wiring around
 * src/data/cache-speed.ts.
 */
import type { Command } from 'commander';
import { cacheSpeedTest, formatCacheSpeed } from '../../data/cache-speed';
import { loadBackend, parseBackendRequest } from '../../env/backend';
import { camelize, floatArg, intArg } from '../options';

interface CacheSpeedCliOptions { cacheDir: string; batchSize: number; augProb: number; epochs: number; backend: string; verify?: boolean }

export function registerCacheSpeed(program: Command): void {
  program
    .command('cache-speed')
    .description('cache speed test: full load time, slices/s and batches/s with and without augmentation, peak memory')
    .option('--cache_dir <dir>', 'preprocessed cache', 'preprocessed_cache')
    .option('--batch_size <n>', 'batch size', intArg('--batch_size', 1), 32)
    .option('--aug_prob <p>', 'augmentation probability of the augmented pass', floatArg('--aug_prob', 0, 1), 0.8)
    .option('--epochs <n>', 'epochs per pass', intArg('--epochs', 1), 1)
    .option('--verify', 'include checksum verification in the load time')
    .option('--backend <name>', 'auto | tensorflow-gpu | tensorflow | cpu', 'auto')
    .action(async (raw: Record<string, unknown>) => {
      const o = camelize<CacheSpeedCliOptions>(raw);
      const b = await loadBackend({ request: parseBackendRequest(o.backend) });
      const r = await cacheSpeedTest({ cacheDir: o.cacheDir, batchSize: o.batchSize, augProb: o.augProb, epochs: o.epochs, verify: o.verify === true });
      console.log(`backend ${b.kind}`);
      console.log(formatCacheSpeed(r, o.batchSize));
    });
}
