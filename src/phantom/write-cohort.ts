/**
 * Writes a phantom cohort to disk in the seed dataset layout:
 *   <out>/MRI/brain_001.nii.gz            T1-like MRI, int16 (arbitrary units, WM ≈ 1000 × gain)
 *   <out>/CT/brain_001.nii.gz             CT, int16 HU
 *   <out>/truth/brain_001_bias.nii.gz     true multiplicative bias field, float32
 *   <out>/truth/brain_001_labels.nii.gz   tissue + hardware labels, uint8 (table in labels.json)
 *   <out>/truth/brain_001_head_mask.nii.gz  head mask (labels 1–19), uint8
 *   <out>/truth/labels.json               the label table
 *   <out>/phantom.json                    generator version, seed, grid and every drawn parameter
 * phantom.json is written last (it marks a complete cohort) and holds no timestamps, so the same
 * options always give byte-identical files. Patient i+1 is generated while patient i is being
 * compressed (gzip runs off the main thread). Refuses to write into a folder that holds a
 * non-phantom dataset; in an older phantom cohort it replaces the files and deletes patients
 * beyond the new count.
 * Must not: generate anatomy or intensities itself (generate.ts does), or write outside `out`.
 */

import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { ConfigError } from '../errors';
import { writeNifti } from '../io/nifti-write';
import {
  generatePhantomPatient,
  MAX_PHANTOM_PATIENTS,
  PHANTOM_GENERATOR_VERSION,
  phantomPatientId,
  resolvePhantomOptions,
  type PhantomOptions,
  type PhantomPatient,
  type PhantomPatientParams,
} from './generate';
import { FIELD_OF_VIEW_MM, makeGrid } from './grid';
import { LABEL_TABLE } from './labels';

/** Options of {@link writePhantomCohort}. */
export interface PhantomCohortOptions extends PhantomOptions {
  /** Output folder (created if missing). */
  out: string;
  /** Number of patients, 1–999 (ids brain_001 …). */
  patients: number;
  /** gzip level 0–9 of the .nii.gz files (default 1: fast; the noisy volumes barely shrink further). */
  compressionLevel?: number;
}

/** A progress event (one per patient written, plus one at the start). */
export interface PhantomProgressEvent {
  /** Always 'phantom'. */
  stage: string;
  /** Patients fully written so far. */
  done: number;
  /** Patients to write. */
  total: number;
  /** What just happened, e.g. "brain_002 written". */
  message?: string;
}

/** Files of one written patient (absolute paths). */
export interface PhantomPatientFiles {
  /** Patient id, e.g. brain_001. */
  id: string;
  /** MRI file. */
  mri: string;
  /** CT file. */
  ct: string;
  /** Bias field file. */
  bias: string;
  /** Label file. */
  labels: string;
  /** Head mask file. */
  headMask: string;
}

/** What {@link writePhantomCohort} wrote. */
export interface PhantomCohortResult {
  /** Absolute output folder. */
  out: string;
  /** Cohort seed used. */
  seed: number;
  /** Grid size (voxels). */
  size: [number, number, number];
  /** Voxel size (mm). */
  spacing: [number, number, number];
  /** Files per patient, in id order. */
  patients: PhantomPatientFiles[];
  /** Path of phantom.json. */
  phantomJson: string;
  /** Path of truth/labels.json. */
  labelsJson: string;
}

/** Folder names of the layout. */
export const PHANTOM_LAYOUT = { mri: 'MRI', ct: 'CT', truth: 'truth' } as const;

/** Paths of patient `id` under `out`. */
export function phantomPatientFiles(out: string, id: string): PhantomPatientFiles {
  const truth = join(out, PHANTOM_LAYOUT.truth);
  return {
    id,
    mri: join(out, PHANTOM_LAYOUT.mri, `${id}.nii.gz`),
    ct: join(out, PHANTOM_LAYOUT.ct, `${id}.nii.gz`),
    bias: join(truth, `${id}_bias.nii.gz`),
    labels: join(truth, `${id}_labels.nii.gz`),
    headMask: join(truth, `${id}_head_mask.nii.gz`),
  };
}

function checkCohortOptions(options: PhantomCohortOptions): void {
  if (typeof options.out !== 'string' || options.out.trim() === '') {
    throw new ConfigError('Phantom output folder (--out) must be a non-empty path.');
  }
  const n = options.patients;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PHANTOM_PATIENTS) {
    throw new ConfigError(`Phantom patient count (--patients) must be an integer from 1 to ${MAX_PHANTOM_PATIENTS}, got ${n}.`);
  }
  const level = options.compressionLevel ?? 1;
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw new ConfigError(`Phantom compressionLevel must be an integer from 0 to 9, got ${level}.`);
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function listNames(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => [] as string[]);
}

const PHANTOM_FILE = /^brain_(\d{3})(_bias|_labels|_head_mask)?\.nii\.gz$/;

/**
 * Makes `out` ready: refuses a non-phantom dataset, removes an older phantom.json (the cohort is
 * incomplete until the new one is written) and patients beyond `patients` of an older cohort.
 */
async function prepareOutput(out: string, patients: number): Promise<void> {
  const info = await stat(out).catch(() => undefined);
  if (info !== undefined && !info.isDirectory()) {
    throw new ConfigError(`Phantom output ${out} exists and is not a folder. Choose a folder path for --out.`);
  }
  const marker = join(out, 'phantom.json');
  const isPhantom = await exists(marker);
  const dirs = [PHANTOM_LAYOUT.mri, PHANTOM_LAYOUT.ct, PHANTOM_LAYOUT.truth].map((d) => join(out, d));
  if (!isPhantom) {
    for (const dir of dirs.slice(0, 2)) {
      const images = (await listNames(dir)).filter((f) => f.endsWith('.nii') || f.endsWith('.nii.gz'));
      if (images.length > 0) {
        throw new ConfigError(
          `${out} already holds images (${join(dir, images[0]!)}) and is not a phantom cohort (no phantom.json): ` +
            'refusing to mix phantom patients into it. Choose an empty or new --out folder.',
        );
      }
    }
    return;
  }
  await rm(marker, { force: true });
  for (const dir of dirs) {
    for (const name of await listNames(dir)) {
      const m = PHANTOM_FILE.exec(name);
      if (m !== null && Number(m[1]) > patients) await rm(join(dir, name), { force: true });
    }
  }
}

async function writeJsonAtomically(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(tmp, path);
}

/** Writes the five volumes of one patient concurrently. */
async function writePatient(p: PhantomPatient, files: PhantomPatientFiles, level: number): Promise<void> {
  const o = { compressionLevel: level };
  await Promise.all([
    writeNifti(files.mri, p.mri, { ...o, datatype: 'int16', description: `mri2ct phantom ${p.id} T1 MRI (a.u.)` }),
    writeNifti(files.ct, p.ct, { ...o, datatype: 'int16', description: `mri2ct phantom ${p.id} CT (HU)` }),
    writeNifti(files.bias, p.bias, { ...o, datatype: 'float32', description: `mri2ct phantom ${p.id} true bias field` }),
    writeNifti(files.labels, p.labels, { ...o, datatype: 'uint8', description: `mri2ct phantom ${p.id} labels` }),
    writeNifti(files.headMask, p.headMask, { ...o, datatype: 'uint8', description: `mri2ct phantom ${p.id} head mask` }),
  ]);
}

/** The label table document written to truth/labels.json. */
export function labelsDocument(): unknown {
  return {
    description:
      'Label values of truth/<id>_labels.nii.gz. Head mask = labels 1-19 (anatomical). Labels 20+ are scanner ' +
      'hardware present only in the CT, outside the head mask.',
    headMaskLabels: LABEL_TABLE.filter((l) => l.anatomical).map((l) => l.value),
    labels: LABEL_TABLE,
  };
}

/**
 * Generates `patients` phantom patients and writes them to `out` (see the module header for the
 * layout). Deterministic: the same options give byte-identical files.
 *
 * @throws ConfigError for bad options or an output folder holding another dataset.
 */
export async function writePhantomCohort(
  options: PhantomCohortOptions & { onProgress?: (e: PhantomProgressEvent) => void },
): Promise<PhantomCohortResult> {
  checkCohortOptions(options);
  const resolved = resolvePhantomOptions(options);
  const grid = makeGrid(resolved.size);
  const out = resolve(options.out);
  const level = options.compressionLevel ?? 1;
  const total = options.patients;
  const progress = (done: number, message: string): void => options.onProgress?.({ stage: 'phantom', done, total, message });

  await prepareOutput(out, total);
  for (const d of Object.values(PHANTOM_LAYOUT)) await mkdir(join(out, d), { recursive: true });
  const labelsJson = join(out, PHANTOM_LAYOUT.truth, 'labels.json');
  await writeJsonAtomically(labelsJson, labelsDocument());
  progress(0, `writing ${total} phantom patient(s) to ${out}`);

  const patients: PhantomPatientFiles[] = [];
  const params: Array<{ id: string } & PhantomPatientParams> = [];
  let pending: Promise<void> | undefined;
  for (let index = 1; index <= total; index++) {
    let patient: PhantomPatient;
    try {
      patient = generatePhantomPatient(index, resolved); // runs while the previous patient is compressed
    } catch (error) {
      await pending?.catch(() => undefined);
      throw error;
    }
    if (pending !== undefined) {
      await pending;
      progress(index - 1, `${phantomPatientId(index - 1)} written`);
    }
    const files = phantomPatientFiles(out, patient.id);
    patients.push(files);
    params.push({ id: patient.id, ...patient.params });
    pending = writePatient(patient, files, level);
  }
  await pending;
  progress(total, `${phantomPatientId(total)} written`);

  const phantomJson = join(out, 'phantom.json');
  await writeJsonAtomically(phantomJson, {
    generator: 'mri2ct phantom',
    version: PHANTOM_GENERATOR_VERSION,
    seed: resolved.seed,
    patients: total,
    size: grid.dims,
    spacing: grid.spacing,
    fieldOfViewMm: FIELD_OF_VIEW_MM,
    affine: grid.affine,
    layout: {
      mri: `${PHANTOM_LAYOUT.mri}/<id>.nii.gz (int16, T1-weighted arbitrary units, white matter ~1000 x gain)`,
      ct: `${PHANTOM_LAYOUT.ct}/<id>.nii.gz (int16, Hounsfield units)`,
      bias: `${PHANTOM_LAYOUT.truth}/<id>_bias.nii.gz (float32, MRI = Rician(noise-free MRI x bias))`,
      labels: `${PHANTOM_LAYOUT.truth}/<id>_labels.nii.gz (uint8, see ${PHANTOM_LAYOUT.truth}/labels.json)`,
      headMask: `${PHANTOM_LAYOUT.truth}/<id>_head_mask.nii.gz (uint8, 1 = labels 1-19)`,
    },
    patientParams: params,
  });
  return {
    out,
    seed: resolved.seed,
    size: grid.dims,
    spacing: grid.spacing,
    patients,
    phantomJson,
    labelsJson,
  };
}
