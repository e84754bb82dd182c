/**
 * The cache's metadata/ folder: `params.json` (the preprocessing parameters, their hash, the
 * cache format) and one `<id>.json` per patient (geometry to undo crop/pad/resize, the
 * normalisation mapping, shape, checksum, timings). Shards write disjoint patient files, so
 * parallel `--shard k/n` runs never collide. Written atomically; read with clear errors.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CacheError } from '../errors';
import type { PreprocessParams } from '../preprocess/params';
import type { PatientGeometry, PreprocessedPatient } from '../preprocess/pipeline';
import { writeFileAtomicSync } from '../util/atomic-write';
import { installedVersion, ownVersion } from '../util/package-version';

export interface CacheParamsFile {
  format: 'h5' | 'npy';
  paramsHash: string;
  params: PreprocessParams;
  pipelineVersion: number;
  writer: string;
  /** Versions of the software that built the cache. */
  versions?: Record<string, string>;
}

export interface PatientMetadata {
  id: string;
  /** Cache entry, relative to the cache dir. */
  file: string;
  format: 'h5' | 'npy';
  shape: [number, number, number];
  paramsHash: string;
  checksum: string;
  sourceFiles: { mri: string; ct: string };
  /** SHA-256 of the source files, to tell when they changed. */
  sourceSha256?: { mri: string; ct: string };
  normalization: PreprocessedPatient['normalization'];
  geometry: PatientGeometry;
  stats: PreprocessedPatient['stats'];
  timings: PreprocessedPatient['timings'];
  /** Slices whose head mask is empty or almost (<1% of pixels): candidates to drop in training. */
  backgroundSlices: number[];
  /** The inputs as stored (format, storage orientation, grid) and whether the CT was resampled. */
  source?: PreprocessedPatient['source'];
  /** What was done to the inputs, and warnings. */
  notes?: string[];
  /** Rigid CT-to-MRI registration (transform, quality, timing) when preprocessing ran it. */
  registration?: PreprocessedPatient['registration'];
}

export const metadataDir = (cacheDir: string): string => path.join(cacheDir, 'metadata');
const paramsPath = (cacheDir: string): string => path.join(metadataDir(cacheDir), 'params.json');
const patientPath = (cacheDir: string, id: string): string => path.join(metadataDir(cacheDir), `${id}.json`);

export function writeCacheParams(cacheDir: string, p: CacheParamsFile): void {
  writeFileAtomicSync(paramsPath(cacheDir), `${JSON.stringify(p, null, 2)}\n`);
}

export function readCacheParams(cacheDir: string): CacheParamsFile | undefined {
  const f = paramsPath(cacheDir);
  if (!fs.existsSync(f)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(f, 'utf8')) as CacheParamsFile;
  } catch (err) {
    throw new CacheError(`${f} is not valid JSON. Fix: run \`mri2ct preprocess --force\` to rebuild the cache.`, { cause: err });
  }
}

export function writePatientMetadata(cacheDir: string, m: PatientMetadata): void {
  writeFileAtomicSync(patientPath(cacheDir, m.id), `${JSON.stringify(m, null, 1)}\n`);
}

export function readPatientMetadata(cacheDir: string, id: string): PatientMetadata | undefined {
  const f = patientPath(cacheDir, id);
  if (!fs.existsSync(f)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(f, 'utf8')) as PatientMetadata;
  } catch (err) {
    throw new CacheError(`${f} is not valid JSON. Fix: run \`mri2ct preprocess --force\` to rebuild patient ${id}.`, { cause: err });
  }
}

/** Every patient's metadata in the cache, sorted by id. */
export function listPatientMetadata(cacheDir: string): PatientMetadata[] {
  const dir = metadataDir(cacheDir);
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f !== 'params.json' && f !== 'preprocessing_info.json' && !f.startsWith('.'))
    .map((f) => readPatientMetadata(cacheDir, f.slice(0, -5)))
    .filter((m): m is PatientMetadata => m !== undefined)
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** Indices of slices whose mask covers less than `fraction` of the slice. */
export function backgroundSliceIndices(mask: Uint8Array, shape: [number, number, number], fraction = 0.01): number[] {
  const [n, h, w] = shape;
  const px = h * w;
  const out: number[] = [];
  for (let z = 0; z < n; z++) {
    let c = 0;
    for (let i = z * px; i < (z + 1) * px; i++) c += mask[i] ?? 0;
    if (c < fraction * px) out.push(z);
  }
  return out;
}

/** Software versions recorded with the cache. */
export function softwareVersions(): Record<string, string> {
  const dep = (pkg: string): string => installedVersion(pkg) ?? 'unknown';
  return { mri2ct: ownVersion(), node: process.versions.node, h5wasm: dep('h5wasm'), 'nifti-reader-js': dep('nifti-reader-js') };
}

/**
 * Writes metadata/preprocessing_info.json: parameters, versions and every patient's metadata,
 * merged from metadata/<id>.json (so shards built separately merge here). Returns its path.
 */
export function writePreprocessingInfo(cacheDir: string): string {
  const file = path.join(metadataDir(cacheDir), 'preprocessing_info.json');
  const params = readCacheParams(cacheDir);
  writeFileAtomicSync(file, `${JSON.stringify({ ...params, patients: listPatientMetadata(cacheDir) }, null, 1)}\n`);
  return file;
}
