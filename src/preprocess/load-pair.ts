/**
 * Brings a patient's MRI and CT into the pipeline's frame before any step runs: reads both (any
 * format readImage knows: NIfTI, MetaImage, NRRD, DICOM folders),
 * checks each (2D, 4D, NaN/Inf, constant, modality, HU), reorients both to the canonical RAS+
 * storage order (reorient.ts: permutation and flips, no resampling) and, when the CT's grid differs
 * from the MRI's but their world coordinates overlap, resamples the CT onto the MRI grid through
 * the two affines (trilinear, −1000 HU outside the CT's field of view). Pairs that barely overlap
 * are refused (not a registered pair). Every decision is returned as a note for the summary and
 * the metadata. Reads files; writes nothing.
 */
import { PairMismatchError } from '../errors';
import { readImage } from '../io/read-image';
import { gridDifference } from '../io/grid-difference';
import type { Vec3, Volume } from '../io/volume';
import type { PatientPair } from '../dataset/discover';
import { checkModalities, checkSingleVolume, checkVolume, type IntensityProfile } from './input-checks';
import { obliquityWarning, reorientToCanonical, type OrientationRecord } from './reorient';
import { fovOverlap, resampleToGrid } from './resample-grid';

/** Smallest accepted overlap of the two fields of view (see {@link loadPair}). */
export const MIN_PAIR_OVERLAP = 0.5;

/** What was read from one file, as stored. */
export interface SourceInfo {
  path: string;
  format: string;
  dims: Vec3;
  spacing: Vec3;
  /** Storage orientation (axis codes) before reorientation. */
  orientation: string;
  obliquityDeg: number;
}

/** A volume read, checked and reoriented to canonical order. */
export interface LoadedVolume extends Volume<Float32Array> {
  orientation: string;
  reorientation: OrientationRecord;
  source: SourceInfo;
  profile: IntensityProfile;
}

/** Options of {@link loadVolume} and {@link loadPair}. */
export interface LoadOptions {
  /** Which volume of a 4D file to take (0-based); 4D files are refused without it. */
  volume?: number;
  /**
   * 'header' (default): the CT is put on the MRI grid through the two affines (refused when the
   * fields of view barely overlap). 'none': the CT stays on its own (canonical) grid, for a
   * registration step to align it.
   */
  align?: 'header' | 'none';
}

/** Reads one image, checks it and brings it to canonical order; `what` names it in errors. */
export async function loadVolume(file: string, what: string, options: LoadOptions = {}): Promise<LoadedVolume> {
  const img = await readImage(file, { volumeIndex: options.volume ?? 0 });
  checkSingleVolume(img, file, what, options.volume);
  const profile = checkVolume(img, file, what);
  const canon = reorientToCanonical({ data: img.data, dims: img.dims, spacing: img.spacing, affine: img.affine });
  const rec = canon.reorientation;
  return {
    ...canon,
    profile,
    source: { path: file, format: img.format, dims: [...img.dims], spacing: [...img.spacing], orientation: rec.original, obliquityDeg: rec.obliquityDeg },
  };
}

/** How the pair was brought together (kept in the metadata, summarised in the notes). */
export interface PairSource {
  mri: SourceInfo;
  ct: SourceInfo;
  /** True when the CT was resampled onto the MRI grid. */
  ctResampled: boolean;
  /** Overlap of the fields of view (1 for pairs on one grid). */
  overlap: number;
}

export interface LoadedPair {
  mri: LoadedVolume;
  /** The CT on the MRI's (canonical) grid. */
  ct: Volume<Float32Array>;
  source: PairSource;
  /** What was done to the inputs and warnings, one sentence each (empty when nothing). */
  notes: string[];
}

const mm = (s: Vec3): string => s.map((v) => v.toFixed(3).replace(/\.?0+$/, '')).join('×');

/**
 * Reads, checks and aligns a pair: both volumes in canonical order, the CT on the MRI grid.
 * Throws Mri2ctError/PairMismatchError with the reason and the fix for a pair that must not train.
 */
export async function loadPair(pair: PatientPair, options: LoadOptions = {}): Promise<LoadedPair> {
  const [mri, ct] = await Promise.all([
    loadVolume(pair.mri, `MRI of patient ${pair.id}`, options),
    loadVolume(pair.ct, `CT of patient ${pair.id}`, options),
  ]);
  checkModalities(mri.profile, ct.profile, pair);
  const notes: string[] = [];
  for (const v of [mri, ct]) {
    const what = `${v === mri ? 'MRI' : 'CT'} ${v.source.path}`;
    if (v.reorientation.reoriented) notes.push(`${what}: stored ${v.source.orientation}, reoriented to ${v.orientation}`);
    const w = obliquityWarning(v.reorientation, what);
    if (w !== undefined) notes.push(`warning: ${w}`);
  }
  if (options.align === 'none') {
    return { mri, ct, source: { mri: mri.source, ct: ct.source, ctResampled: false, overlap: Math.max(fovOverlap(mri, ct), fovOverlap(ct, mri)) }, notes };
  }
  const diff = gridDifference(mri, ct, (m, c) => `sizes differ (MRI ${m}, CT ${c})`);
  let ctOnMri: Volume<Float32Array> = ct;
  let overlap = 1;
  if (diff !== undefined) {
    overlap = Math.max(fovOverlap(mri, ct), fovOverlap(ct, mri));
    if (overlap < MIN_PAIR_OVERLAP) {
      throw new PairMismatchError(
        `patient ${pair.id}: MRI ${pair.mri} and CT ${pair.ct} are on different grids (${diff}) and their fields of view overlap by only ${(100 * overlap).toFixed(0)}% in world coordinates: ` +
          'this is not a registered pair. Register the CT to the MRI first (`mri2ct register --fixed <mri> --moving <ct>`), or check that the files belong to the same patient.',
      );
    }
    const data = resampleToGrid(ct, mri, { interpolation: 'linear', fill: -1000, what: `CT of patient ${pair.id}` });
    ctOnMri = { data, dims: [...mri.dims], spacing: [...mri.spacing], affine: mri.affine.map((r) => [...r]) };
    notes.push(`CT resampled onto the MRI grid (${mm(ct.spacing)} mm ${ct.dims.join('×')} → ${mm(mri.spacing)} mm ${mri.dims.join('×')}, trilinear, −1000 HU outside its field of view; overlap ${(100 * overlap).toFixed(0)}%)`);
  }
  return { mri, ct: ctOnMri, source: { mri: mri.source, ct: ct.source, ctResampled: diff !== undefined, overlap }, notes };
}
