/**
 * One unit of cache building: preprocess one patient, write its cache entry and metadata.
 * Runs in the main thread or in a worker (patient-worker.ts). Never throws: a failure becomes
 * an outcome with the error message, so one bad patient cannot stop the others; the entry is
 * only committed (atomic rename) when everything succeeded.
 */
import type { PatientPair } from '../dataset/discover';
import { Mri2ctError } from '../errors';
import type { PreprocessParams } from '../preprocess/params';
import { preprocessPatient, type StepName } from '../preprocess/pipeline';
import { PoorRegistrationError, registrationFigures, type RegistrationFigures } from '../register/register';
import { getCacheFormat } from './format';
import { backgroundSliceIndices, writePatientMetadata } from './metadata';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface PatientJob {
  pair: PatientPair;
  params: PreprocessParams;
  paramsHash: string;
  cacheDir: string;
  format: 'h5' | 'npy';
  /** Which volume of 4D inputs to take (refused without it). */
  volume?: number;
}

export interface PatientOutcome {
  id: string;
  ok: boolean;
  error?: string;
  shape?: [number, number, number];
  timings?: Record<StepName, number>;
  writeSeconds?: number;
  seconds?: number;
  /** What was done to the inputs (reoriented, CT resampled) and warnings. */
  notes?: string[];
  /** Figures of the CT-to-MRI registration when it ran (also on a failure it caused). */
  registration?: RegistrationFigures;
}

/** SHA-256 of a file, or of a folder's files (a DICOM series: names and contents, sorted). */
async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  const files = fs.statSync(file).isDirectory()
    ? fs.readdirSync(file).sort().map((f) => path.join(file, f)).filter((f) => fs.statSync(f).isFile())
    : [file];
  for (const f of files) {
    if (files.length > 1) h.update(path.basename(f));
    for await (const chunk of fs.createReadStream(f)) h.update(chunk as Buffer);
  }
  return h.digest('hex');
}

export async function processPatient(job: PatientJob): Promise<PatientOutcome> {
  const t0 = performance.now();
  const id = job.pair.id;
  try {
    const p = await preprocessPatient(job.pair, job.params, undefined, job.volume !== undefined ? { volume: job.volume } : {});
    const tw = performance.now();
    const { format } = getCacheFormat(job.format);
    const file = format.pathFor(job.cacheDir, id);
    const attrs = await format.write(file, { mri: p.mri, ct: p.ct, mask: p.mask, shape: p.shape }, {
      patientId: id,
      sourceFiles: { mri: job.pair.mri, ct: job.pair.ct },
      paramsHash: job.paramsHash,
      normalization: {
        mri: { min: p.normalization.mri.min, max: p.normalization.mri.max, method: p.normalization.mri.method, clip: true },
        ct: { min: p.normalization.ct.min, max: p.normalization.ct.max, unit: 'HU', method: p.normalization.ct.method, clip: true },
      },
    });
    writePatientMetadata(job.cacheDir, {
      id, file: path.relative(job.cacheDir, file), format: job.format, shape: p.shape, paramsHash: job.paramsHash, checksum: attrs.checksum,
      sourceFiles: { mri: job.pair.mri, ct: job.pair.ct },
      sourceSha256: { mri: await sha256File(job.pair.mri), ct: await sha256File(job.pair.ct) }, normalization: p.normalization, geometry: p.geometry, stats: p.stats,
      timings: p.timings, backgroundSlices: backgroundSliceIndices(p.mask, p.shape), source: p.source, notes: p.notes, ...(p.registration !== undefined ? { registration: p.registration } : {}),
    });
    const writeSeconds = (performance.now() - tw) / 1000;
    return { id, ok: true, shape: p.shape, timings: p.timings, writeSeconds, seconds: (performance.now() - t0) / 1000, notes: p.notes,
      ...(p.registration !== undefined ? { registration: registrationFigures(p.registration) } : {}) };
  } catch (err) {
    const msg = err instanceof Mri2ctError ? err.message : `${(err as Error).name}: ${(err as Error).message} (while preprocessing ${job.pair.mri})`;
    const registration = err instanceof PoorRegistrationError ? { registration: registrationFigures(err.registration) } : {};
    return { id, ok: false, error: msg, seconds: (performance.now() - t0) / 1000, ...registration };
  }
}
