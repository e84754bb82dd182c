/**
 * Opens a preprocessed cache for training: reads metadata/, checks that every patient's entry
 * exists, was built with the cache's parameters and (optionally) passes its checksum, and
 * serves patients' compact arrays (uint16 + scale) either from memory (when the cache fits the
 * memory budget) or through a bounded LRU of patient files, with asynchronous read-ahead.
 * Knows nothing of tensors or batches.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getCacheFormat, type CacheFormat, type RawReadResult } from '../cache/format';
import { listPatientMetadata, type PatientMetadata, readCacheParams } from '../cache/metadata';
import { CacheError } from '../errors';
import { paramsHash } from '../preprocess/params';

export interface OpenCacheOptions {
  /** Verify every file's checksum on open (default true). */
  verify?: boolean;
  /** Bytes of compact arrays to keep in memory (default: half the available RAM, max 16 GiB). */
  maxCacheMem?: number;
  /** Force this format instead of the one in metadata/params.json ('h5' | 'npy' | 'pt'). */
  format?: string;
  /** Patient ids to use (default all). */
  patients?: string[];
}

export interface CachedPatient {
  id: string;
  mri: Uint16Array;
  ct: Uint16Array;
  mask: Uint8Array;
  shape: [number, number, number];
  scale: number;
}

/** Default memory budget: half of the available memory, at most 16 GiB. */
export function defaultMemoryBudget(): number {
  let avail = os.freemem();
  try {
    const m = /MemAvailable:\s+(\d+) kB/.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
    if (m?.[1] !== undefined) avail = Number(m[1]) * 1024;
  } catch {
    /* not Linux */
  }
  return Math.min(16 * 1024 ** 3, Math.floor(avail / 2));
}

function bytesOf(m: PatientMetadata): number {
  const [n, h, w] = m.shape;
  return n * h * w * 5; // uint16 mri + uint16 ct + uint8 mask
}

export class CacheReader {
  readonly patients: PatientMetadata[];
  readonly format: CacheFormat;
  readonly inMemory: boolean;
  readonly ctWindow: { minHu: number; maxHu: number };
  readonly imageSize: number;
  private readonly resident = new Map<string, CachedPatient>();
  private readonly lru = new Map<string, Promise<CachedPatient>>();
  private readonly lruCapacity: number;

  private constructor(readonly cacheDir: string, patients: PatientMetadata[], format: CacheFormat, budget: number) {
    this.patients = patients;
    this.format = format;
    const total = patients.reduce((s, p) => s + bytesOf(p), 0);
    this.inMemory = total <= budget;
    const largest = Math.max(...patients.map(bytesOf));
    this.lruCapacity = Math.max(2, Math.floor(budget / Math.max(largest, 1)));
    const first = patients[0];
    if (first === undefined) throw new CacheError(`${cacheDir} has no patients.`);
    this.ctWindow = { minHu: first.normalization.ct.min, maxHu: first.normalization.ct.max };
    this.imageSize = first.shape[1];
  }

  /** Opens and validates the cache; with the memory budget met, loads everything. */
  static async open(cacheDir: string, o: OpenCacheOptions = {}): Promise<CacheReader> {
    const params = readCacheParams(cacheDir);
    if (params === undefined) {
      throw new CacheError(`${cacheDir} is not an mri2ct cache (no metadata/params.json). Fix: run \`mri2ct preprocess --cache_dir ${cacheDir}\`.`);
    }
    // params.json must agree with its own hash under this code's pipeline version (else the cache
    // was built by another version of the pipeline, or params.json was edited).
    const ownHash = params.params !== undefined ? paramsHash(params.params) : undefined;
    if (ownHash !== params.paramsHash) {
      throw new CacheError(`${path.join(cacheDir, 'metadata', 'params.json')}: the cache was built with other preprocessing parameters or another pipeline version ` +
        `(recorded hash ${params.paramsHash}, its parameters hash to ${ownHash ?? '(none)'} here). Fix: run \`mri2ct preprocess --force --cache_dir ${cacheDir}\`.`);
    }
    const { format } = getCacheFormat(o.format ?? params.format);
    let metas = listPatientMetadata(cacheDir).filter((m) => m.format === format.name);
    if (o.patients !== undefined) metas = metas.filter((m) => o.patients?.includes(m.id));
    if (metas.length === 0) {
      throw new CacheError(`${cacheDir} has no ${format.name} patients. Fix: run \`mri2ct preprocess --cache_dir ${cacheDir} --format ${format.name}\`.`);
    }
    for (const m of metas) {
      const file = path.join(cacheDir, m.file);
      if (!format.exists(file)) {
        throw new CacheError(`cache file ${file} of patient ${m.id} is missing. Fix: run \`mri2ct preprocess --cache_dir ${cacheDir} --format ${format.name}\` to rebuild it.`);
      }
      if (m.paramsHash !== params.paramsHash) {
        throw new CacheError(`cache file ${file} was built with other preprocessing parameters (${m.paramsHash} ≠ ${params.paramsHash}). ` +
          `Fix: run \`mri2ct preprocess --force --cache_dir ${cacheDir} --format ${format.name}\`.`);
      }
      if (m.shape[1] !== metas[0]?.shape[1] || m.shape[2] !== metas[0]?.shape[2]) {
        throw new CacheError(`cache file ${file} has ${m.shape[1]}×${m.shape[2]} slices, others ${metas[0]?.shape[1]}×${metas[0]?.shape[2]}. Fix: \`mri2ct preprocess --force\`.`);
      }
    }
    const reader = new CacheReader(cacheDir, metas, format, o.maxCacheMem ?? defaultMemoryBudget());
    const verify = o.verify ?? true;
    if (reader.inMemory || verify) {
      for (const m of metas) {
        const p = await reader.readFile(m, verify);
        if (reader.inMemory) reader.resident.set(m.id, p);
      }
    }
    return reader;
  }

  private async readFile(m: PatientMetadata, verify: boolean): Promise<CachedPatient> {
    const file = path.join(this.cacheDir, m.file);
    const r: RawReadResult = await this.format.readRaw(file, { verify });
    if (r.attrs.checksum !== m.checksum) {
      throw new CacheError(`cache file ${file} does not match metadata/${m.id}.json (checksum ${r.attrs.checksum} ≠ ${m.checksum}). Fix: run \`mri2ct preprocess --force\`.`);
    }
    return { id: m.id, mri: r.mri, ct: r.ct, mask: r.mask, shape: [r.shape[0], r.shape[1], r.shape[2]], scale: r.scale };
  }

  /** A patient's arrays (from memory, or read through the LRU). */
  async get(id: string): Promise<CachedPatient> {
    const hit = this.resident.get(id);
    if (hit !== undefined) return hit;
    const cached = this.lru.get(id);
    if (cached !== undefined) {
      this.lru.delete(id);
      this.lru.set(id, cached);
      return cached;
    }
    const meta = this.patients.find((p) => p.id === id);
    if (meta === undefined) throw new CacheError(`patient ${id} is not in the cache ${this.cacheDir}.`);
    const p = this.readFile(meta, false);
    this.lru.set(id, p);
    while (this.lru.size > this.lruCapacity) {
      const oldest = this.lru.keys().next().value;
      if (oldest === undefined) break;
      this.lru.delete(oldest);
    }
    return p;
  }

  /** Starts reading a patient in the background (no-op when resident). */
  prefetch(id: string): void {
    if (!this.resident.has(id)) void this.get(id).catch(() => undefined);
  }

  meta(id: string): PatientMetadata {
    const m = this.patients.find((p) => p.id === id);
    if (m === undefined) throw new CacheError(`patient ${id} is not in the cache ${this.cacheDir}.`);
    return m;
  }
}
