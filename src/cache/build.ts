/**
 * Builds the preprocessed cache: for each MRI/CT pair, the eight preprocessing steps then one
 * cache file (h5 or npy) plus metadata/<id>.json. Patients already cached with the same
 * parameters are skipped unless `force`; `shard` splits the cohort across machines or runs;
 * `workers` > 1 preprocesses patients in parallel worker threads. One bad patient is reported
 * and never stops or corrupts the others. Progress goes through callbacks; no drawing here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { PatientPair } from '../dataset/discover';
import { ConfigError } from '../errors';
import { type PreprocessParams, paramsHash, PIPELINE_VERSION } from '../preprocess/params';
import type { StepName } from '../preprocess/pipeline';
import type { RegistrationFigures } from '../register/register';
import type { ProgressCallback } from '../util/progress';
import { type CacheFormat, getCacheFormat, removeStaleTemps } from './format';
import { readCacheParams, readPatientMetadata, softwareVersions, writeCacheParams, writePreprocessingInfo } from './metadata';
import { type PatientJob, type PatientOutcome, processPatient } from './patient-job';

export interface BuildCacheOptions {
  pairs: PatientPair[];
  cacheDir: string;
  /** 'h5' | 'npy' | 'pt' (alias of npy). */
  format: string;
  params: PreprocessParams;
  /** Parallel worker threads (default 1: in this thread). */
  workers?: number;
  /** Only patients i with i % n === k − 1. */
  shard?: { k: number; n: number };
  /** Rebuild even valid entries. */
  force?: boolean;
  /** Which volume of 4D inputs to take (they are refused without it). */
  volume?: number;
  /** One event per finished patient. */
  onProgress?: ProgressCallback;
  log?: (message: string) => void;
}

export interface BuildCacheResult {
  built: PatientOutcome[];
  skipped: string[];
  /** Failed patients; `registration` when a poor registration was the reason. */
  failed: { id: string; error: string; registration?: RegistrationFigures }[];
  seconds: number;
  format: 'h5' | 'npy';
}

/** Parses "k/n" (1 ≤ k ≤ n). */
export function parseShard(s: string): { k: number; n: number } {
  const m = /^(\d+)\/(\d+)$/.exec(s.trim());
  const k = Number(m?.[1]);
  const n = Number(m?.[2]);
  if (m === null || !(k >= 1 && k <= n)) throw new ConfigError(`--shard ${s}: use k/n with 1 ≤ k ≤ n, e.g. --shard 1/4.`);
  return { k, n };
}

/** True when the patient's cache entry and metadata exist, agree on the checksum and were built with `hash`. */
async function isValidEntry(cacheDir: string, id: string, file: string, format: CacheFormat, hash: string): Promise<boolean> {
  if (!format.exists(file)) return false;
  const meta = readPatientMetadata(cacheDir, id);
  if (meta === undefined || meta.paramsHash !== hash) return false;
  try {
    return (await format.readAttrs(file)).checksum === meta.checksum;
  } catch {
    return false; // unreadable: rebuild
  }
}

/** The worker: the compiled .js, or (running from source under tsx, e.g. tests) the .ts via tsx's CommonJS hook. */
function startWorker(): Worker {
  const js = path.join(__dirname, 'patient-worker.js');
  if (fs.existsSync(js)) return new Worker(js);
  const ts = path.join(__dirname, 'patient-worker.ts');
  return new Worker(`require('tsx/cjs'); require(${JSON.stringify(ts)});`, { eval: true });
}

async function runInWorkers(jobs: PatientJob[], workers: number, onDone: (o: PatientOutcome) => void): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    let w = startWorker();
    try {
      while (next < jobs.length) {
        const job = jobs[next++];
        if (job === undefined) break;
        const outcome = await new Promise<PatientOutcome>((resolve) => {
          const cleanup = (): void => {
            w.off('message', onMessage);
            w.off('error', onError);
            w.off('exit', onExit);
          };
          const onMessage = (o: PatientOutcome): void => {
            cleanup();
            resolve(o);
          };
          const onError = (err: Error): void => {
            cleanup();
            resolve({ id: job.pair.id, ok: false, error: `worker crashed: ${err.message}` });
          };
          const onExit = (code: number): void => {
            cleanup();
            resolve({ id: job.pair.id, ok: false, error: `worker exited with code ${code}` });
          };
          w.once('message', onMessage);
          w.once('error', onError);
          w.once('exit', onExit);
          w.postMessage(job);
        });
        if (!outcome.ok && /^worker (crashed|exited)/.test(outcome.error ?? '')) {
          await w.terminate();
          w = startWorker(); // a fresh worker for the remaining patients
        }
        onDone(outcome);
      }
    } finally {
      await w.terminate();
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, jobs.length) }, lane));
}

export async function buildCache(o: BuildCacheOptions): Promise<BuildCacheResult> {
  const t0 = performance.now();
  const { format, note } = getCacheFormat(o.format);
  const log = o.log ?? ((m: string) => console.log(m));
  if (note !== undefined) log(`note: ${note}`);
  const hash = paramsHash(o.params);
  fs.mkdirSync(o.cacheDir, { recursive: true });
  const removed = removeStaleTemps(o.cacheDir);
  if (removed.length > 0) log(`removed ${removed.length} unfinished file(s) left by an interrupted run`);

  const previous = readCacheParams(o.cacheDir);
  if (previous !== undefined && previous.paramsHash !== hash) {
    log(`the cache in ${o.cacheDir} was built with other parameters (${previous.paramsHash} ≠ ${hash}): its patients are rebuilt`);
  }
  writeCacheParams(o.cacheDir, { format: format.name, paramsHash: hash, params: o.params, pipelineVersion: PIPELINE_VERSION, writer: 'mri2ct', versions: softwareVersions() });

  const mine = o.shard === undefined ? o.pairs : o.pairs.filter((_, i) => i % (o.shard?.n ?? 1) === (o.shard?.k ?? 1) - 1);
  const skipped: string[] = [];
  const jobs: PatientJob[] = [];
  for (const pair of mine) {
    const file = format.pathFor(o.cacheDir, pair.id);
    if (o.force !== true && (await isValidEntry(o.cacheDir, pair.id, file, format, hash))) skipped.push(pair.id);
    else jobs.push({ pair, params: o.params, paramsHash: hash, cacheDir: o.cacheDir, format: format.name, ...(o.volume !== undefined ? { volume: o.volume } : {}) });
  }
  const built: PatientOutcome[] = [];
  const failed: BuildCacheResult['failed'] = [];
  let done = skipped.length;
  o.onProgress?.({ stage: 'preprocess', done, total: mine.length, message: skipped.length > 0 ? `${skipped.length} already cached` : '' });
  const onDone = (r: PatientOutcome): void => {
    done += 1;
    if (r.ok) built.push(r);
    else failed.push({ id: r.id, error: r.error ?? 'unknown error', ...(r.registration !== undefined ? { registration: r.registration } : {}) });
    o.onProgress?.({ stage: 'preprocess', done, total: mine.length, message: `${r.id} ${r.ok ? `${(r.seconds ?? 0).toFixed(1)} s` : 'FAILED'}` });
  };
  const workers = Math.max(1, o.workers ?? 1);
  if (workers === 1 || jobs.length <= 1) {
    for (const job of jobs) onDone(await processPatient(job));
  } else {
    await runInWorkers(jobs, workers, onDone);
  }
  built.sort((a, b) => a.id.localeCompare(b.id));
  writePreprocessingInfo(o.cacheDir);
  return { built, skipped, failed, seconds: (performance.now() - t0) / 1000, format: format.name };
}

/** Headers of the registration columns of the summary (shown when any patient was registered). */
export const REGISTRATION_COLUMNS = ['rot max°', 'trans mm', 'Dice', 'NMI', 'reg s', 'verdict'] as const;

/** What the registration columns mean (printed under the table). */
export const REGISTRATION_LEGEND =
  'registration (--register rigid): rot max° = largest |rotation| about x/y/z; trans mm = length of the translation; ' +
  'Dice = MRI head mask vs registered CT body mask; NMI = normalised mutual information of MRI and CT inside the head (1 = unrelated, 2 = identical); ' +
  'reg s = registration time; verdict ok/poor (poor fails the patient); — = not registered';

/** The registration cells of one patient ('—' each when it was not registered). */
export function registrationCells(r: RegistrationFigures | undefined): string[] {
  if (r === undefined) return REGISTRATION_COLUMNS.map(() => '—');
  return [r.maxAbsRotationDegrees.toFixed(1), r.translationMm.toFixed(1), r.dice.toFixed(3), r.nmi.toFixed(3), r.seconds.toFixed(1), r.ok ? 'ok' : 'poor'];
}

/** True when the summary of `r` needs the registration columns. */
export function hasRegistration(r: BuildCacheResult): boolean {
  return r.built.some((b) => b.registration !== undefined) || r.failed.some((f) => f.registration !== undefined);
}

/** The summary table printed at the end of `mri2ct preprocess`. */
export function formatBuildSummary(r: BuildCacheResult): string {
  const steps: StepName[] = ['read', 'n4', 'mask', 'ct_artifacts', 'clip', 'normalize', 'crop', 'resize', 'clamp'];
  const reg = hasRegistration(r);
  const head = ['patient', 'slices', ...steps, 'write', 'total s', ...(reg ? REGISTRATION_COLUMNS : [])];
  const rows = r.built.map((b) => [
    b.id, String(b.shape?.[0] ?? ''), ...steps.map((s) => (b.timings?.[s] ?? 0).toFixed(2)), (b.writeSeconds ?? 0).toFixed(2), (b.seconds ?? 0).toFixed(1),
    ...(reg ? registrationCells(b.registration) : []),
  ]);
  if (r.built.length > 1) {
    const mean = (f: (b: PatientOutcome) => number): string => (r.built.reduce((a, b) => a + f(b), 0) / r.built.length).toFixed(2);
    rows.push(['mean', '', ...steps.map((s) => mean((b) => b.timings?.[s] ?? 0)), mean((b) => b.writeSeconds ?? 0), mean((b) => b.seconds ?? 0), ...(reg ? REGISTRATION_COLUMNS.map(() => '') : [])]);
  }
  // Patients refused for a poor registration: their figures, no timings.
  for (const f of r.failed) {
    if (reg && f.registration !== undefined) rows.push([f.id, '—', ...steps.map(() => '—'), '—', '—', ...registrationCells(f.registration)]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  const out = [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  if (reg) out.push(REGISTRATION_LEGEND);
  out.push('', `built ${r.built.length}, already cached ${r.skipped.length}, failed ${r.failed.length} — ${r.seconds.toFixed(1)} s (${r.format})`);
  for (const b of r.built) for (const n of b.notes ?? []) out.push(`  ${b.id}: ${n}`);
  for (const f of r.failed) out.push(`  FAILED ${f.id}: ${f.error}`);
  return out.join('\n');
}
