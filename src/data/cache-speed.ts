/**
 * The cache speed test (the seed's test_cached_loader_speed): full-cache load time, then
 * slices/s and batches/s through the loader with and without augmentation, and peak memory.
 * Measures only; it changes nothing on disk.
 */
import * as tf from '@tensorflow/tfjs';
import { CacheLoader } from './loader';
import { CacheReader } from './cache-reader';

export interface CacheSpeedOptions {
  cacheDir: string;
  batchSize?: number;
  /** Augmentation probability of the augmented pass (default 0.8). */
  augProb?: number;
  /** Epochs per pass (default 1). */
  epochs?: number;
  /** Verify checksums in the load timing (default false: raw load speed). */
  verify?: boolean;
}

export interface CacheSpeedResult {
  format: string;
  patients: number;
  slices: number;
  cacheBytes: number;
  loadSeconds: number;
  /** Loader passes: [without augmentation, with augmentation]. */
  passes: { augment: boolean; slicesPerSecond: number; batchesPerSecond: number; seconds: number }[];
  peakRssBytes: number;
}

export async function cacheSpeedTest(o: CacheSpeedOptions): Promise<CacheSpeedResult> {
  let peak = process.memoryUsage().rss;
  const sample = (): void => {
    peak = Math.max(peak, process.memoryUsage().rss);
  };
  const t0 = performance.now();
  const reader = await CacheReader.open(o.cacheDir, { verify: o.verify ?? false, maxCacheMem: Number.MAX_SAFE_INTEGER });
  const loadSeconds = (performance.now() - t0) / 1000;
  sample();
  const slices = reader.patients.reduce((s, p) => s + p.shape[0], 0);
  const cacheBytes = reader.patients.reduce((s, p) => s + p.shape[0] * p.shape[1] * p.shape[2] * 5, 0);
  const passes: CacheSpeedResult['passes'] = [];
  for (const augment of [false, true]) {
    const loader = await CacheLoader.open(o.cacheDir, {
      batchSize: o.batchSize ?? 32, verify: false, split: { valFraction: 0 }, dropBackground: false,
      augment: { augProb: augment ? (o.augProb ?? 0.8) : 0 },
    });
    let n = 0;
    let b = 0;
    const t = performance.now();
    for (let e = 1; e <= (o.epochs ?? 1); e++) {
      for await (const batch of loader.epochBatches(e)) {
        // Wait for the backend to finish the batch (a one-element read: training does not copy
        // batches back to the host either).
        const probe = tf.tidy(() => tf.slice(tf.reshape(batch.ct, [-1]), [0], [1]));
        await probe.data();
        probe.dispose();
        n += batch.mri.shape[0];
        b += 1;
        tf.dispose([batch.mri, batch.ct]);
        sample();
      }
    }
    const seconds = (performance.now() - t) / 1000;
    passes.push({ augment, slicesPerSecond: n / seconds, batchesPerSecond: b / seconds, seconds });
  }
  return { format: reader.format.name, patients: reader.patients.length, slices, cacheBytes, loadSeconds, passes, peakRssBytes: peak };
}

export function formatCacheSpeed(r: CacheSpeedResult, batchSize: number): string {
  const rows = [
    ['cache', `${r.format}, ${r.patients} patients, ${r.slices} slices, ${(r.cacheBytes / 1024 ** 2).toFixed(0)} MiB in memory`],
    ['full load', `${r.loadSeconds.toFixed(2)} s (${(r.slices / r.loadSeconds).toFixed(0)} slices/s)`],
    ...r.passes.map((p) => [
      p.augment ? 'batches, augmented' : 'batches, no augmentation',
      `${p.slicesPerSecond.toFixed(0)} slice pairs/s, ${p.batchesPerSecond.toFixed(1)} batches/s (batch ${batchSize})`,
    ]),
    ['peak memory (RSS)', `${(r.peakRssBytes / 1024 ** 2).toFixed(0)} MiB`],
  ];
  const w = Math.max(...rows.map((x) => (x[0] ?? '').length));
  return rows.map(([k, v]) => `${(k ?? '').padEnd(w)}  ${v ?? ''}`).join('\n');
}
