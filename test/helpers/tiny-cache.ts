/**
 * Builds a tiny real cache for training and loader tests: a phantom cohort (default 5 patients,
 * 64×64×40 voxels) preprocessed with the real pipeline into 32×32 slices, once per test file,
 * in the formats asked for. Fresh copies can be made for tests that damage a cache.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildCache } from '../../src/cache/build';
import { discoverSeedLayout } from '../../src/dataset/discover';
import { writePhantomCohort } from '../../src/phantom';
import { resolvePreprocessParams } from '../../src/preprocess/params';

export interface TinyCaches {
  /** Root temp folder (phantom data in data/, caches in cache-<format>/). */
  root: string;
  /** Phantom cohort folder (MRI/, CT/, truth/). */
  data: string;
  /** Cache folder per format. */
  caches: Partial<Record<'npy' | 'h5', string>>;
  /** Patient ids, sorted. */
  ids: string[];
  /** The slice size of the caches. */
  size: number;
}

export interface TinyCacheOptions {
  formats?: ('npy' | 'h5')[];
  patients?: number;
  /** Phantom grid in voxels. */
  grid?: [number, number, number];
  /** Slice size of the cache. */
  size?: number;
  seed?: number;
}

/** Writes the phantom and builds one cache per format (the N4 step dominates: a few s per patient). */
export async function buildTinyCaches(o: TinyCacheOptions = {}): Promise<TinyCaches> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-tiny-'));
  const data = path.join(root, 'data');
  const size = o.size ?? 32;
  await writePhantomCohort({ out: data, patients: o.patients ?? 5, size: o.grid ?? [64, 64, 40], seed: o.seed ?? 7 });
  const { pairs } = discoverSeedLayout(path.join(data, 'MRI'), path.join(data, 'CT'));
  const params = resolvePreprocessParams({ resize: { size } });
  const caches: TinyCaches['caches'] = {};
  for (const format of o.formats ?? ['npy']) {
    const cacheDir = path.join(root, `cache-${format}`);
    const r = await buildCache({ pairs, cacheDir, format, params, workers: 1, log: () => undefined });
    if (r.failed.length > 0) throw new Error(`tiny cache (${format}) failed: ${JSON.stringify(r.failed)}`);
    caches[format] = cacheDir;
  }
  return { root, data, caches, ids: pairs.map((p) => p.id).sort(), size };
}

/** A fresh copy of a cache folder (for tests that damage it). */
export function copyCache(cacheDir: string): string {
  const dst = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-tinycopy-'));
  fs.cpSync(cacheDir, dst, { recursive: true });
  return dst;
}

/** Removes a temp folder made by this helper (best effort). */
export function removeTemp(dir: string | undefined): void {
  if (dir !== undefined && dir.startsWith(os.tmpdir())) fs.rmSync(dir, { recursive: true, force: true });
}
