/**
 * `--batch_size auto`: the largest batch that trains on this machine, found by real training
 * steps (forward and backward of G and D, both Adam updates) of a throw-away model with the run's
 * configuration and image size, on batches of 1, 2, 4, … up to a cap and the number of training
 * slices. A batch is refused when its step fails for lack of memory (TensorFlow's OOM/allocation
 * errors), or when the process's memory would pass a limit: MRI2CT_MEMORY_LIMIT_MB (or the
 * option), else on CPU the memory this process may still take (the cgroup limit or the system's
 * available memory, whichever is smaller). Memory is the process's peak RSS; the growth per
 * sample measured between batches gives both the prediction for the next batch (a batch
 * predicted over the limit is never run) and a safety margin. Returns the choice with the reason
 * and every probe, for the log and the run's config.
 * Must not: train the run's model, read the cache, or leave tensors behind.
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../errors';
import type { ModelConfig } from '../model/config';
import { DEFAULT_OPTIMIZER, type OptimizerConfig, Pix2Pix } from '../model/pix2pix';

/** Largest batch tried on CPU (larger batches are no faster there; state it in the log). */
export const AUTO_BATCH_CAP_CPU = 16;
/** Largest batch tried on a GPU. */
export const AUTO_BATCH_CAP_GPU = 64;
/** Head-room kept under the memory limit: this fraction of the batch-dependent memory at the chosen batch, plus 5% of the limit. */
export const AUTO_BATCH_MARGIN = 0.25;

export interface AutoBatchOptions {
  model: ModelConfig;
  optimizer?: OptimizerConfig;
  /** Training slices: no batch larger than this is tried. */
  trainSlices: number;
  /** 'cpu' | 'tensorflow' | 'tensorflow-gpu' | … (a GPU gets the larger cap and no RSS limit unless one is given). */
  backendKind: string;
  /** Largest batch tried (default: {@link AUTO_BATCH_CAP_CPU}, or {@link AUTO_BATCH_CAP_GPU} on a GPU). */
  cap?: number;
  /** Memory limit of the process (RSS) in bytes; default: MRI2CT_MEMORY_LIMIT_MB, else detected on CPU. */
  memoryLimitBytes?: number;
  seed?: number;
  log?: (message: string) => void;
}

/** One tried batch size. */
export interface BatchProbe {
  batch: number;
  ok: boolean;
  /** Peak RSS after the step, MB (undefined when the step did not run). */
  peakMb?: number;
  /** Seconds of the measured step. */
  seconds?: number;
  /** Why it was refused. */
  reason?: string;
}

export interface AutoBatchResult {
  batchSize: number;
  cap: number;
  /** The memory limit used (MB) and where it came from; undefined when none applied. */
  limitMb?: number;
  limitSource?: string;
  probes: BatchProbe[];
  /** One sentence: why this batch. */
  reason: string;
}

const MB = 1024 * 1024;

/** Parses `--batch_size`: a whole number ≥ 1 or 'auto'. */
export function parseBatchSize(v: string): number | 'auto' {
  if (v.trim().toLowerCase() === 'auto') return 'auto';
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`--batch_size must be a whole number ≥ 1 or auto (got '${v}').`);
  return n;
}

function readNumber(file: string): number | undefined {
  try {
    const s = fs.readFileSync(file, 'utf8').trim();
    const n = Number(s);
    return Number.isFinite(n) ? n : undefined; // 'max' (no limit) → undefined
  } catch {
    return undefined;
  }
}

/** MemAvailable of /proc/meminfo in bytes (undefined elsewhere). */
function memAvailable(): number | undefined {
  try {
    const m = /^MemAvailable:\s+(\d+)\s+kB/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
    return m === null ? undefined : Number(m[1]) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * The memory limit for this process's RSS: MRI2CT_MEMORY_LIMIT_MB when set; else (not on a GPU)
 * the current RSS plus what it may still take: the smaller of the cgroup's room (limit − usage)
 * and the system's available memory.
 */
export function memoryLimit(backendKind: string, env: NodeJS.ProcessEnv = process.env): { bytes: number; source: string } | undefined {
  const given = env['MRI2CT_MEMORY_LIMIT_MB'];
  if (given !== undefined && given.trim() !== '') {
    const mb = Number(given);
    if (!(mb > 0)) throw new ConfigError(`MRI2CT_MEMORY_LIMIT_MB=${given}: must be a number of megabytes > 0.`);
    return { bytes: mb * MB, source: 'MRI2CT_MEMORY_LIMIT_MB' };
  }
  if (backendKind === 'tensorflow-gpu' || backendKind === 'webgl') return undefined; // GPU memory: TensorFlow's OOM says it
  const rss = process.memoryUsage().rss;
  const room: { bytes: number; source: string }[] = [];
  const avail = memAvailable();
  if (avail !== undefined) room.push({ bytes: avail, source: 'available system memory' });
  const v2 = readNumber('/sys/fs/cgroup/memory.max');
  const v1 = readNumber('/sys/fs/cgroup/memory/memory.limit_in_bytes');
  const cgLimit = v2 ?? (v1 !== undefined && v1 < 2 ** 60 ? v1 : undefined);
  if (cgLimit !== undefined) {
    const used = readNumber(v2 !== undefined ? '/sys/fs/cgroup/memory.current' : '/sys/fs/cgroup/memory/memory.usage_in_bytes') ?? rss;
    room.push({ bytes: Math.max(0, cgLimit - used), source: `cgroup limit ${(cgLimit / MB).toFixed(0)} MB` });
  }
  if (room.length === 0) return undefined;
  const least = room.reduce((a, b) => (b.bytes < a.bytes ? b : a));
  return { bytes: rss + least.bytes, source: `this process's RSS + ${least.source}` };
}

/** True for TensorFlow's (and tf.js's) out-of-memory and allocation failures. */
export function isOutOfMemory(err: unknown): boolean {
  const m = String((err as Error)?.message ?? err);
  return /\bOOM\b|out of memory|Resource ?exhausted|failed to allocate|allocation|Cannot allocate|Array buffer allocation failed|Invalid typed array length/i.test(m);
}

/** Peak RSS of the process so far, bytes (maxRSS is in kB). */
const peakRss = (): number => Math.max(process.resourceUsage().maxRSS * 1024, process.memoryUsage().rss);

/** Finds the largest batch size that trains; see the module header. */
export async function chooseBatchSize(o: AutoBatchOptions): Promise<AutoBatchResult> {
  const log = o.log ?? ((m: string) => console.log(m));
  const gpu = o.backendKind === 'tensorflow-gpu' || o.backendKind === 'webgl';
  const cap = o.cap ?? (gpu ? AUTO_BATCH_CAP_GPU : AUTO_BATCH_CAP_CPU);
  const limit = o.memoryLimitBytes !== undefined ? { bytes: o.memoryLimitBytes, source: 'the memory limit given' } : memoryLimit(o.backendKind);
  const top = Math.max(1, Math.min(cap, o.trainSlices));
  const S = o.model.imageSize;
  const model = new Pix2Pix(o.model, o.optimizer ?? DEFAULT_OPTIMIZER, o.seed ?? 0);
  const probes: BatchProbe[] = [];
  const step = (b: number): void => {
    const mri = tf.randomUniform([b, S, S, 1], -1, 1) as tf.Tensor4D;
    const ct = tf.randomUniform([b, S, S, 1], -1, 1) as tf.Tensor4D;
    try {
      tf.tidy(() => {
        model.trainStep(mri, ct, true); // reading the losses waits for the step to finish
      });
    } finally {
      tf.dispose([mri, ct]);
    }
  };
  let best = 0;
  let stop = '';
  try {
    let prev = { batch: 0, peak: peakRss() };
    let perSample = 0;
    let measured = 0;
    for (let b = 1; b <= top; b *= 2) {
      if (limit !== undefined && perSample > 0) {
        const predicted = prev.peak + perSample * (b - prev.batch);
        if (predicted > limit.bytes) {
          probes.push({ batch: b, ok: false, reason: `predicted ${(predicted / MB).toFixed(0)} MB > limit ${(limit.bytes / MB).toFixed(0)} MB (not run)` });
          stop = `batch ${b} would need about ${(predicted / MB).toFixed(0)} MB`;
          break;
        }
      }
      let seconds: number;
      try {
        if (b === 1) step(1); // warm-up: the optimiser state and kernels, independent of the batch
        const t0 = performance.now();
        step(b);
        seconds = (performance.now() - t0) / 1000;
      } catch (err) {
        if (!isOutOfMemory(err)) throw err;
        probes.push({ batch: b, ok: false, reason: `out of memory: ${String((err as Error).message).split('\n')[0]?.slice(0, 160)}` });
        stop = `batch ${b} ran out of memory`;
        break;
      }
      const peak = peakRss();
      // Growth per sample: the largest seen between two probed batches; after the first probe only,
      // the growth since before any step (with the optimiser state: an overestimate).
      const growth = Math.max(0, (peak - prev.peak) / (b - prev.batch));
      if (prev.batch === 0) perSample = growth;
      else measured = Math.max(measured, growth);
      if (measured > 0) perSample = measured;
      const margin = limit === undefined ? 0 : AUTO_BATCH_MARGIN * perSample * b + 0.05 * limit.bytes;
      if (limit !== undefined && peak + margin > limit.bytes) {
        probes.push({ batch: b, ok: false, peakMb: peak / MB, seconds, reason: `peak ${(peak / MB).toFixed(0)} MB + margin ${(margin / MB).toFixed(0)} MB > limit ${(limit.bytes / MB).toFixed(0)} MB` });
        stop = `batch ${b} peaked at ${(peak / MB).toFixed(0)} MB`;
        break;
      }
      probes.push({ batch: b, ok: true, peakMb: peak / MB, seconds });
      best = b;
      prev = { batch: b, peak };
    }
  } finally {
    model.dispose();
  }
  if (best === 0) {
    throw new ConfigError(
      `--batch_size auto: not even a batch of 1 fits (${probes.map((p) => p.reason).join('; ')}). ` +
        'Use a smaller model (--ngf/--ndf), smaller slices, or raise MRI2CT_MEMORY_LIMIT_MB / free memory.',
    );
  }
  const bound = top === o.trainSlices && top < cap ? `the ${o.trainSlices} training slices` : `the cap of ${cap}${gpu ? '' : ' on CPU (larger batches are no faster there)'}`;
  const why = stop !== ''
    ? `${stop}${limit !== undefined ? ` (limit ${(limit.bytes / MB).toFixed(0)} MB: ${limit.source})` : ''}`
    : `every batch up to ${bound} fits${limit !== undefined ? ` under ${(limit.bytes / MB).toFixed(0)} MB (${limit.source})` : ''}`;
  const result: AutoBatchResult = {
    batchSize: best, cap, probes, reason: `batch ${best}: ${why}`,
    ...(limit !== undefined ? { limitMb: limit.bytes / MB, limitSource: limit.source } : {}),
  };
  log(`--batch_size auto: ${probes.map((p) => `${p.batch} ${p.ok ? `ok (${p.peakMb?.toFixed(0)} MB, ${p.seconds?.toFixed(2)} s)` : `no: ${p.reason}`}`).join(' | ')}`);
  log(`--batch_size auto: chose ${result.reason}`);
  return result;
}
