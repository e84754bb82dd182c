/**
 * Finds paired MRI/CT volumes on disk, in two layouts:
 *  - seed layout: `<mriDir>/<id>.nii[.gz]` and `<ctDir>/<id>.nii[.gz]`, matched by id;
 *  - SynthRAD2023 layout: `<root>/<id>/mr.nii.gz`, `ct.nii.gz` and optionally `mask.nii.gz`.
 * Every file that does not pair up (missing partner, duplicate id, non-NIfTI name) is reported
 * as a problem for the user to see; nothing is dropped silently. It reads no image data.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PairMismatchError } from '../errors';

export interface PatientPair {
  /** Patient id: the file name without .nii/.nii.gz (seed) or the folder name (SynthRAD). */
  id: string;
  mri: string;
  ct: string;
  /** SynthRAD's own mask, when present. */
  mask?: string;
}

export type DatasetProblemKind = 'missing-ct' | 'missing-mri' | 'duplicate' | 'not-nifti' | 'incomplete-folder';

export interface DatasetProblem {
  kind: DatasetProblemKind;
  /** Patient id, or the file name when no id applies. */
  id: string;
  files: string[];
  message: string;
}

export interface Dataset {
  pairs: PatientPair[];
  problems: DatasetProblem[];
  /** Human description of where the data came from. */
  source: string;
}

const NIFTI_RE = /^(.*)\.nii(\.gz)?$/i;

/** Patient id of a NIfTI file name, or undefined when it is not a NIfTI name. */
export function niftiId(fileName: string): string | undefined {
  const m = NIFTI_RE.exec(fileName);
  return m?.[1] !== undefined && m[1] !== '' ? m[1] : undefined;
}

function listDir(dir: string, what: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw new PairMismatchError(
      `cannot read the ${what} directory ${dir}: ${(err as Error).message}. ` +
        'Check the path (or generate demo data with `mri2ct phantom --out data`).',
      { cause: err },
    );
  }
}

interface Indexed {
  byId: Map<string, string>;
  problems: DatasetProblem[];
}

function indexNiftiDir(dir: string, what: string): Indexed {
  const byId = new Map<string, string>();
  const seen = new Map<string, string[]>();
  const problems: DatasetProblem[] = [];
  for (const e of listDir(dir, what)) {
    if (!e.isFile() || e.name.startsWith('.')) continue;
    const id = niftiId(e.name);
    const file = path.join(dir, e.name);
    if (id === undefined) {
      problems.push({ kind: 'not-nifti', id: e.name, files: [file], message: `${file}: not a .nii/.nii.gz file, ignored` });
      continue;
    }
    seen.set(id, [...(seen.get(id) ?? []), file]);
  }
  for (const [id, files] of [...seen].sort(([a], [b]) => a.localeCompare(b))) {
    if (files.length > 1) {
      problems.push({
        kind: 'duplicate',
        id,
        files,
        message: `${what} id '${id}' has ${files.length} files (${files.map((f) => path.basename(f)).join(', ')}); keep one. Patient skipped.`,
      });
    } else if (files[0] !== undefined) {
      byId.set(id, files[0]);
    }
  }
  return { byId, problems };
}

/** Seed layout: MRI and CT folders matched by file id. */
export function discoverSeedLayout(mriDir: string, ctDir: string): Dataset {
  const mri = indexNiftiDir(mriDir, 'MRI');
  const ct = indexNiftiDir(ctDir, 'CT');
  const pairs: PatientPair[] = [];
  const problems = [...mri.problems, ...ct.problems];
  for (const [id, mriFile] of mri.byId) {
    const ctFile = ct.byId.get(id);
    if (ctFile !== undefined) pairs.push({ id, mri: mriFile, ct: ctFile });
    else if (!ct.problems.some((p) => p.id === id)) {
      problems.push({ kind: 'missing-ct', id, files: [mriFile], message: `${mriFile}: no CT '${id}.nii[.gz]' in ${ctDir}. Patient skipped.` });
    }
  }
  for (const [id, ctFile] of ct.byId) {
    if (!mri.byId.has(id) && !mri.problems.some((p) => p.id === id)) {
      problems.push({ kind: 'missing-mri', id, files: [ctFile], message: `${ctFile}: no MRI '${id}.nii[.gz]' in ${mriDir}. Patient skipped.` });
    }
  }
  pairs.sort((a, b) => a.id.localeCompare(b.id));
  return { pairs, problems, source: `MRI ${mriDir} + CT ${ctDir}` };
}

function findOne(folder: string, base: string): string[] {
  return ['.nii.gz', '.nii'].map((ext) => path.join(folder, base + ext)).filter((f) => fs.existsSync(f));
}

/** SynthRAD2023 layout: one folder per patient with mr / ct [/ mask]. */
export function discoverSynthradLayout(root: string): Dataset {
  const pairs: PatientPair[] = [];
  const problems: DatasetProblem[] = [];
  const dirs = listDir(root, 'SynthRAD data')
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  for (const id of dirs) {
    const folder = path.join(root, id);
    const mr = findOne(folder, 'mr');
    const ct = findOne(folder, 'ct');
    const mask = findOne(folder, 'mask');
    const dup = [mr, ct, mask].find((l) => l.length > 1);
    if (dup !== undefined) {
      problems.push({ kind: 'duplicate', id, files: dup, message: `${folder}: both ${dup.map((f) => path.basename(f)).join(' and ')}; keep one. Patient skipped.` });
      continue;
    }
    if (mr[0] === undefined || ct[0] === undefined) {
      const missing = [mr[0] === undefined ? 'mr.nii.gz' : '', ct[0] === undefined ? 'ct.nii.gz' : ''].filter(Boolean).join(' and ');
      problems.push({ kind: 'incomplete-folder', id, files: [folder], message: `${folder}: no ${missing}. Patient skipped.` });
      continue;
    }
    pairs.push({ id, mri: mr[0], ct: ct[0], ...(mask[0] !== undefined ? { mask: mask[0] } : {}) });
  }
  return { pairs, problems, source: `SynthRAD layout ${root}` };
}

export interface DiscoverOptions {
  /** Seed layout: folder of MRI volumes. */
  mriDir?: string;
  /** Seed layout: folder of CT volumes. */
  ctDir?: string;
  /** SynthRAD2023 layout root; takes precedence over mriDir/ctDir. */
  dataDir?: string;
}

/** Discovers a dataset and fails with a clear error when no pair at all is found. */
export function discoverDataset(options: DiscoverOptions): Dataset {
  let ds: Dataset;
  if (options.dataDir !== undefined) ds = discoverSynthradLayout(options.dataDir);
  else if (options.mriDir !== undefined && options.ctDir !== undefined) ds = discoverSeedLayout(options.mriDir, options.ctDir);
  else throw new PairMismatchError('no dataset given: pass --mri_dir and --ct_dir (seed layout) or --data_dir (SynthRAD layout).');
  if (ds.pairs.length === 0) {
    const why = ds.problems.length > 0 ? `\n${formatDatasetProblems(ds.problems)}` : '';
    throw new PairMismatchError(
      `no MRI/CT pairs found in ${ds.source}.${why}\nExpected <mri_dir>/<id>.nii.gz with <ct_dir>/<id>.nii.gz, ` +
        'or <data_dir>/<id>/mr.nii.gz + ct.nii.gz. Demo data: `mri2ct phantom --out data`.',
    );
  }
  return ds;
}

/** One line per problem, for the user. */
export function formatDatasetProblems(problems: DatasetProblem[]): string {
  return problems.map((p) => `  - [${p.kind}] ${p.message}`).join('\n');
}
