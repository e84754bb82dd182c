/**
 * Finds paired MRI/CT volumes on disk, in three layouts:
 *  - seed layout: `<mriDir>/<id>.<ext>` (or a DICOM series folder `<mriDir>/<id>/`) and the same
 *    in `<ctDir>`, matched by id; <ext> is any format readImage reads (.nii[.gz], .mha, .mhd,
 *    .nrrd, .nhdr);
 *  - SynthRAD2023: `<root>/<id>/mr.<ext>`, `ct.<ext>` and optionally `mask.<ext>`;
 *  - SynthRAD2025: `<root>/<region>/<id>/mr.mha, ct.mha[, mask.mha]` (region folders HN, TH, AB...),
 *    detected automatically under the same `--data_dir`.
 * Every file that does not pair up (missing partner, duplicate id, unknown name) is reported as a
 * problem for the user to see; nothing is dropped silently. Symbolic links are followed (a link
 * to nothing is reported). It reads no image data (for a
 * folder, at most the 132-byte DICOM signature of one file).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PairMismatchError } from '../errors';
import { imageFileId } from '../io/read-image';

export interface PatientPair {
  /** Patient id: the file or folder name without extension (seed) or the patient folder name (SynthRAD). */
  id: string;
  /** MRI image file, or DICOM series folder. */
  mri: string;
  /** CT image file, or DICOM series folder. */
  ct: string;
  /** SynthRAD's own mask, when present. */
  mask?: string;
  /** SynthRAD2025 anatomical region folder (e.g. 'HN', 'TH', 'AB'). */
  region?: string;
}

/** 'not-image' replaces 'not-nifti' (kept as an alias in the type for older callers). */
export type DatasetProblemKind = 'missing-ct' | 'missing-mri' | 'duplicate' | 'not-image' | 'not-nifti' | 'incomplete-folder';

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
const VOLUME_EXTS = '.nii[.gz], .mha, .mhd, .nrrd, .nhdr or a DICOM folder';

/** Patient id of a NIfTI file name, or undefined when it is not a NIfTI name. */
export function niftiId(fileName: string): string | undefined {
  const m = NIFTI_RE.exec(fileName);
  return m?.[1] !== undefined && m[1] !== '' ? m[1] : undefined;
}

/** Patient id of a volume file name in any readable format (not single .dcm slices). */
export function volumeFileId(fileName: string): string | undefined {
  const k = imageFileId(fileName);
  return k !== undefined && k.format !== 'dicom' ? k.id : undefined;
}

/**
 * True when `dir` looks like a DICOM series: it holds a `.dcm` file, or its first regular file
 * has the "DICM" signature at byte 128. Reads at most 132 bytes.
 */
export function isDicomFolder(dir: string): boolean {
  let entries: Entry[];
  try {
    entries = entriesOf(dir);
  } catch {
    return false;
  }
  const files = entries.filter((e) => e.isFile && !e.name.startsWith('.'));
  if (files.some((e) => /\.dcm$/i.test(e.name))) return true;
  const first = files.map((e) => e.name).sort()[0];
  if (first === undefined) return false;
  const buf = Buffer.alloc(132);
  const fd = fs.openSync(path.join(dir, first), 'r');
  try {
    return fs.readSync(fd, buf, 0, 132, 0) === 132 && buf.toString('latin1', 128, 132) === 'DICM';
  } finally {
    fs.closeSync(fd);
  }
}

/** A directory entry with symbolic links followed (datasets are often folders of links to the files). */
interface Entry {
  name: string;
  isFile: boolean;
  isDirectory: boolean;
  /** A symbolic link whose target does not exist. */
  brokenLink: boolean;
}

function entriesOf(dir: string): Entry[] {
  return fs.readdirSync(dir, { withFileTypes: true }).map((e) => {
    if (!e.isSymbolicLink()) return { name: e.name, isFile: e.isFile(), isDirectory: e.isDirectory(), brokenLink: false };
    try {
      const st = fs.statSync(path.join(dir, e.name));
      return { name: e.name, isFile: st.isFile(), isDirectory: st.isDirectory(), brokenLink: false };
    } catch {
      return { name: e.name, isFile: false, isDirectory: false, brokenLink: true };
    }
  });
}

function listDir(dir: string, what: string): Entry[] {
  try {
    return entriesOf(dir);
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

/** Raw data files of MetaImage / NRRD headers (.mhd + .raw/.zraw, .nhdr + .raw[.gz]): not volumes on their own. */
function isDataFileOfHeader(dir: string, name: string): boolean {
  const m = /^(.+)\.(raw|zraw|raw\.gz|img)$/i.exec(name);
  return m?.[1] !== undefined && ['.mhd', '.nhdr'].some((ext) => fs.existsSync(path.join(dir, m[1] + ext)));
}

function indexVolumeDir(dir: string, what: string): Indexed {
  const byId = new Map<string, string>();
  const seen = new Map<string, string[]>();
  const problems: DatasetProblem[] = [];
  for (const e of listDir(dir, what)) {
    if (e.name.startsWith('.')) continue;
    const file = path.join(dir, e.name);
    let id: string | undefined;
    if (e.brokenLink) {
      problems.push({ kind: 'not-image', id: e.name, files: [file], message: `${file}: a symbolic link to nothing (its target is missing), ignored` });
      continue;
    }
    if (e.isDirectory) {
      id = isDicomFolder(file) ? e.name : undefined;
      if (id === undefined) {
        problems.push({ kind: 'not-image', id: e.name, files: [file], message: `${file}: a folder without DICOM files, ignored` });
        continue;
      }
    } else if (e.isFile) {
      if (isDataFileOfHeader(dir, e.name)) continue;
      id = volumeFileId(e.name);
      if (id === undefined) {
        problems.push({ kind: 'not-image', id: e.name, files: [file], message: `${file}: not an image volume (${VOLUME_EXTS}), ignored` });
        continue;
      }
    } else continue;
    seen.set(id, [...(seen.get(id) ?? []), file]);
  }
  for (const [id, files] of [...seen].sort(([a], [b]) => a.localeCompare(b))) {
    if (files.length > 1) {
      problems.push({
        kind: 'duplicate',
        id,
        files,
        message: `${what} id '${id}' has ${files.length} images (${files.map((f) => path.basename(f)).join(', ')}); keep one. Patient skipped.`,
      });
    } else if (files[0] !== undefined) {
      byId.set(id, files[0]);
    }
  }
  return { byId, problems };
}

/** Seed layout: MRI and CT folders matched by id (files of any readable format, or DICOM folders). */
export function discoverSeedLayout(mriDir: string, ctDir: string): Dataset {
  const mri = indexVolumeDir(mriDir, 'MRI');
  const ct = indexVolumeDir(ctDir, 'CT');
  const pairs: PatientPair[] = [];
  const problems = [...mri.problems, ...ct.problems];
  for (const [id, mriFile] of mri.byId) {
    const ctFile = ct.byId.get(id);
    if (ctFile !== undefined) pairs.push({ id, mri: mriFile, ct: ctFile });
    else if (!ct.problems.some((p) => p.id === id)) {
      problems.push({ kind: 'missing-ct', id, files: [mriFile], message: `${mriFile}: no CT '${id}' (${VOLUME_EXTS}) in ${ctDir}. Patient skipped.` });
    }
  }
  for (const [id, ctFile] of ct.byId) {
    if (!mri.byId.has(id) && !mri.problems.some((p) => p.id === id)) {
      problems.push({ kind: 'missing-mri', id, files: [ctFile], message: `${ctFile}: no MRI '${id}' (${VOLUME_EXTS}) in ${mriDir}. Patient skipped.` });
    }
  }
  pairs.sort((a, b) => a.id.localeCompare(b.id));
  return { pairs, problems, source: `MRI ${mriDir} + CT ${ctDir}` };
}

/** The files of a patient folder named `<base>.<ext>` in any readable format. */
function findAll(files: string[], folder: string, base: string): string[] {
  return files.filter((f) => volumeFileId(f) === base && !isDataFileOfHeader(folder, f)).map((f) => path.join(folder, f));
}

const ROLE_BASES = ['mr', 'ct', 'mask'];

function patientFolder(folder: string, id: string, region: string | undefined, pairs: PatientPair[], problems: DatasetProblem[]): void {
  const files = entriesOf(folder).filter((e) => e.isFile && !e.name.startsWith('.')).map((e) => e.name);
  const [mr, ct, mask] = ROLE_BASES.map((b) => findAll(files, folder, b)) as [string[], string[], string[]];
  const dup = [mr, ct, mask].find((l) => l.length > 1);
  if (dup !== undefined) {
    problems.push({ kind: 'duplicate', id, files: dup, message: `${folder}: both ${dup.map((f) => path.basename(f)).join(' and ')}; keep one. Patient skipped.` });
    return;
  }
  if (mr[0] === undefined || ct[0] === undefined) {
    const missing = [mr[0] === undefined ? 'mr' : '', ct[0] === undefined ? 'ct' : ''].filter(Boolean).join(' and ');
    problems.push({ kind: 'incomplete-folder', id, files: [folder], message: `${folder}: no ${missing} image (mr.nii.gz / mr.mha ...). Patient skipped.` });
    return;
  }
  pairs.push({ id, mri: mr[0], ct: ct[0], ...(mask[0] !== undefined ? { mask: mask[0] } : {}), ...(region !== undefined ? { region } : {}) });
}

function subdirs(dir: string, what: string): string[] {
  return listDir(dir, what).filter((e) => e.isDirectory && !e.name.startsWith('.')).map((e) => e.name).sort();
}

function hasRoleFile(folder: string): boolean {
  return fs.readdirSync(folder).some((f) => ROLE_BASES.includes(volumeFileId(f) ?? ''));
}

/**
 * SynthRAD layouts under one root: SynthRAD2023 (`<root>/<id>/mr.<ext>, ct.<ext>[, mask.<ext>]`)
 * and SynthRAD2025 (`<root>/<region>/<id>/...`): a folder without mr/ct files whose subfolders
 * have them is a region folder. Both may not be mixed silently: each folder is classified and
 * reported.
 */
export function discoverSynthradLayout(root: string): Dataset {
  const pairs: PatientPair[] = [];
  const problems: DatasetProblem[] = [];
  const regions: string[] = [];
  for (const name of subdirs(root, 'SynthRAD data')) {
    const folder = path.join(root, name);
    const inner = subdirs(folder, 'SynthRAD data');
    if (!hasRoleFile(folder) && inner.some((d) => hasRoleFile(path.join(folder, d)))) {
      regions.push(name);
      for (const id of inner) patientFolder(path.join(folder, id), id, name, pairs, problems);
      continue;
    }
    patientFolder(folder, name, undefined, pairs, problems);
  }
  const byId = new Map<string, PatientPair[]>();
  for (const p of pairs) byId.set(p.id, [...(byId.get(p.id) ?? []), p]);
  const dupIds = [...byId].filter(([, ps]) => ps.length > 1);
  for (const [id, ps] of dupIds) {
    problems.push({ kind: 'duplicate', id, files: ps.map((p) => path.dirname(p.mri)), message: `patient id '${id}' appears in ${ps.map((p) => path.dirname(p.mri)).join(' and ')}; rename one. Patient skipped.` });
  }
  const kept = pairs.filter((p) => (byId.get(p.id)?.length ?? 0) === 1);
  const source = regions.length > 0 ? `SynthRAD2025 layout ${root} (regions ${regions.join(', ')})` : `SynthRAD2023 layout ${root}`;
  return { pairs: kept, problems, source };
}

export interface DiscoverOptions {
  /** Seed layout: folder of MRI volumes. */
  mriDir?: string;
  /** Seed layout: folder of CT volumes. */
  ctDir?: string;
  /** SynthRAD2023 / SynthRAD2025 layout root; takes precedence over mriDir/ctDir. */
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
      `no MRI/CT pairs found in ${ds.source}.${why}\nExpected <mri_dir>/<id>.nii.gz (or .mha, .nrrd, a DICOM folder <id>/) with the same in <ct_dir>, ` +
        'or <data_dir>/<id>/mr.nii.gz + ct.nii.gz (SynthRAD2023), or <data_dir>/<region>/<id>/mr.mha + ct.mha (SynthRAD2025). ' +
        'Demo data: `mri2ct phantom --out data`.',
    );
  }
  return ds;
}

/** One line per problem, for the user. */
export function formatDatasetProblems(problems: DatasetProblem[]): string {
  return problems.map((p) => `  - [${p.kind}] ${p.message}`).join('\n');
}
