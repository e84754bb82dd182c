/**
 * What `mri2ct info` shows about one image file or DICOM folder, as a typed object
 * (describeImage) and as text (formatImageDescription): format, shape, voxel size, storage and
 * canonical orientation with the flips/permutation between them, obliquity, value range and
 * percentiles, a units guess (HU or not), DICOM series details, and the reader's warnings or
 * refusal. Later checks (preprocessing verdicts) can be added as more fields.
 * Must not write, resample or reorient anything.
 */

import { ImageFormatError } from '../errors';
import type { DicomSeriesInfo } from './dicom-series';
import { obliquityDegrees } from './nifti-affine';
import { readImage, type ImageFormat, type MedicalImage } from './read-image';
import type { Affine, Vec3 } from './volume';
import { looksLikeHu } from './hu-rule';

/** Options of {@link describeImage}. */
export interface DescribeImageOptions {
  /** Which volume of a 4D file to describe; default 0. */
  volumeIndex?: number;
  /** DICOM folders with several series: the SeriesInstanceUID or SeriesNumber to describe. */
  series?: string;
}

/** Value statistics of the described volume. */
export interface ValueSummary {
  min: number;
  max: number;
  mean: number;
  /** Percentiles 1, 5, 50, 95, 99 (from up to ~2 M evenly strided voxels). */
  percentiles: Record<'p1' | 'p5' | 'p50' | 'p95' | 'p99', number>;
  /** Fraction of voxels in [-1100, -900] (air in HU). */
  airFractionHu: number;
  /** Fraction of voxels below −500 (what io/hu-rule weighs). */
  belowMinus500: number;
}

/** A guess at what the values are. */
export interface UnitsGuess {
  guess: 'HU' | 'non-negative' | 'other';
  reason: string;
}

/** Everything `mri2ct info` reports about an image. */
export interface ImageDescription {
  path: string;
  format: ImageFormat;
  shape: number[];
  dims: Vec3;
  volumeCount: number;
  volumeIndex: number;
  datatype: string;
  spacing: Vec3;
  affine: Affine;
  /** Axis codes of the stored voxel order, e.g. 'LIA'. */
  storageOrientation: string;
  /** What the pipeline reorients to. */
  canonicalOrientation: 'RAS';
  /** The permutation/flips from storage to canonical order, e.g. ['flip x'] or ['swap y and z', 'flip x']. */
  reorientation: string[];
  /** Largest angle (degrees) between a voxel axis and its nearest world axis. */
  obliquityDegrees: number;
  /** Value statistics; absent when the image could not be read (refusal). */
  values?: ValueSummary;
  units?: UnitsGuess;
  dicom?: Omit<DicomSeriesInfo, 'files'> & { firstFile: string; lastFile: string };
  warnings: string[];
  /** Why the reader refuses the image (it is then described from its headers only). */
  refusal?: string;
}

const AXES = ['x', 'y', 'z'];
const CANONICAL = 'RAS';
const WORLD_OF: Record<string, [number, number]> = { R: [0, 1], L: [0, -1], A: [1, 1], P: [1, -1], S: [2, 1], I: [2, -1] };

/** The steps that turn storage axis codes into RAS: which voxel axes swap, which flip. */
export function reorientationSteps(codes: string): string[] {
  if (codes === CANONICAL) return [];
  const perm = [...codes].map((c) => WORLD_OF[c]);
  if (perm.some((p) => p === undefined)) return [`cannot reorient: axis codes ${codes}`];
  const steps: string[] = [];
  const order = perm.map((p) => p![0]);
  if (order.join() !== '0,1,2') steps.push(`permute axes (${order.map((w) => AXES[w]).join(', ')}) → (x, y, z)`);
  perm.forEach((p, i) => {
    if (p![1] < 0) steps.push(`flip ${AXES[i]} (${codes[i]}→${'RAS'[p![0]]})`);
  });
  return steps;
}

export { obliquityDegrees };

/** Min, max, mean (all voxels) and percentiles (strided sample) of a volume. */
export function summarizeValues(data: Float32Array): ValueSummary {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let air = 0;
  let below = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    if (v >= -1100 && v <= -900) air++;
    if (v < -500) below++;
  }
  const stride = Math.max(1, Math.floor(data.length / 2_000_000));
  const sample = new Float32Array(Math.ceil(data.length / stride));
  for (let i = 0, k = 0; i < data.length; i += stride, k++) sample[k] = data[i]!;
  sample.sort();
  const q = (p: number): number => sample[Math.min(sample.length - 1, Math.round((p / 100) * (sample.length - 1)))] ?? NaN;
  return {
    min, max, mean: sum / Math.max(1, data.length),
    percentiles: { p1: q(1), p5: q(5), p50: q(50), p95: q(95), p99: q(99) },
    airFractionHu: air / Math.max(1, data.length),
    belowMinus500: below / Math.max(1, data.length),
  };
}

/** HU by the rule the input checks use (io/hu-rule); non-negative for MRI-like data. */
export function guessUnits(v: ValueSummary): UnitsGuess {
  if (v.min >= 0) {
    return { guess: 'non-negative', reason: `values ${fmt(v.min)}..${fmt(v.max)} are ≥ 0: MRI-like, or a CT not in HU (e.g. stored +1024, or other units)` };
  }
  if (looksLikeHu({ p1: v.percentiles.p1, belowMinus500: v.belowMinus500 })) {
    return { guess: 'HU', reason: `${(100 * v.belowMinus500).toFixed(1)} % of voxels below -500 (${(100 * v.airFractionHu).toFixed(1)} % near -1000, air), 1st percentile ${fmt(v.percentiles.p1)}: a CT in Hounsfield units` };
  }
  return { guess: 'other', reason: `negative values (min ${fmt(v.min)}, p1 ${fmt(v.percentiles.p1)}) without air near -1000 among the darkest voxels: not HU, not plain MRI magnitudes` };
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4);
}

function geometryWarnings(img: MedicalImage, obliquity: number): string[] {
  const w: string[] = [];
  if (obliquity > 1) w.push(`oblique: voxel axes are up to ${obliquity.toFixed(1)}° from the world axes (reorientation to RAS is then approximate; resampling is needed for an exact grid)`);
  const [a, b, c] = img.spacing;
  if (Math.max(a, b, c) / Math.min(a, b, c) > 1.5) w.push(`anisotropic voxels ${img.spacing.map((s) => s.toFixed(3)).join('×')} mm`);
  if (img.volumeCount > 1) w.push(`4D file: ${img.volumeCount} volumes; volume ${img.volumeIndex} described (choose with --volume)`);
  if (img.dicom !== undefined) {
    if (img.dicom.ignoredFiles.length > 0) w.push(`ignored non-DICOM files: ${img.dicom.ignoredFiles.join(', ')}`);
    if (img.dicom.otherSeries.length > 0) w.push(`the folder also holds: ${img.dicom.otherSeries.join('; ')}`);
  }
  return w;
}

/**
 * Describes an image file or DICOM series folder. A DICOM series the reader refuses (tilt, uneven
 * spacing) is described from its headers, with `refusal` set.
 * @throws ImageFormatError / NiftiFormatError when the path is not a readable image at all.
 */
export async function describeImage(path: string, options: DescribeImageOptions = {}): Promise<ImageDescription> {
  const ro = { ...(options.volumeIndex !== undefined ? { volumeIndex: options.volumeIndex } : {}), ...(options.series !== undefined ? { series: options.series } : {}) };
  let img: MedicalImage;
  let refusal: string | undefined;
  try {
    img = await readImage(path, ro);
  } catch (err) {
    if (!(err instanceof ImageFormatError)) throw err;
    const info = await readImage(path, { ...ro, informationOnly: true }).catch(() => undefined);
    if (info?.dicom?.refusal === undefined) throw err;
    img = info;
    refusal = info.dicom.refusal;
  }
  const obliquity = obliquityDegrees(img.affine);
  const values = refusal === undefined ? summarizeValues(img.data) : undefined;
  const { files, ...dicomRest } = img.dicom ?? { files: [] as string[] };
  return {
    path, format: img.format, shape: img.shape, dims: img.dims, volumeCount: img.volumeCount, volumeIndex: img.volumeIndex,
    datatype: img.datatype, spacing: img.spacing, affine: img.affine,
    storageOrientation: img.orientation, canonicalOrientation: 'RAS', reorientation: reorientationSteps(img.orientation),
    obliquityDegrees: obliquity,
    ...(values !== undefined ? { values, units: guessUnits(values) } : {}),
    ...(img.dicom !== undefined ? { dicom: { ...(dicomRest as Omit<DicomSeriesInfo, 'files'>), firstFile: files[0] ?? '', lastFile: files[files.length - 1] ?? '' } } : {}),
    warnings: geometryWarnings(img, obliquity),
    ...(refusal !== undefined ? { refusal } : {}),
  };
}

/** Human-readable lines for a description (what `mri2ct info` prints). */
export function formatImageDescription(d: ImageDescription): string {
  const lines: string[] = [];
  const row = (k: string, v: string): number => lines.push(`${k.padEnd(20)} ${v}`);
  row('File', d.path);
  row('Format', `${d.format}${d.format === 'dicom' ? ' series folder' : ''}, stored as ${d.datatype}`);
  row('Shape', `${d.shape.join(' × ')}${d.volumeCount > 1 ? ` (${d.volumeCount} volumes, showing ${d.volumeIndex})` : ''}`);
  row('Voxel size', `${d.spacing.map((s) => s.toFixed(4)).join(' × ')} mm`);
  row('Orientation', `${d.storageOrientation} (storage) → ${d.canonicalOrientation} (canonical)${d.reorientation.length > 0 ? `: ${d.reorientation.join(', ')}` : ': already canonical'}`);
  row('Obliquity', `${d.obliquityDegrees.toFixed(2)}°`);
  row('Affine (RAS mm)', d.affine.slice(0, 3).map((r) => `[${r.map((v) => v.toFixed(3)).join(', ')}]`).join(' '));
  if (d.values !== undefined) {
    const p = d.values.percentiles;
    row('Values', `min ${fmt(d.values.min)}, max ${fmt(d.values.max)}, mean ${fmt(d.values.mean)}`);
    row('Percentiles', `p1 ${fmt(p.p1)}, p5 ${fmt(p.p5)}, p50 ${fmt(p.p50)}, p95 ${fmt(p.p95)}, p99 ${fmt(p.p99)}`);
  }
  if (d.units !== undefined) row('Units (guess)', `${d.units.guess}: ${d.units.reason}`);
  if (d.dicom !== undefined) {
    const s = d.dicom;
    row('DICOM series', `${s.seriesNumber ?? '?'} "${s.seriesDescription}" ${s.modality}, ${s.sliceCount} slices, UID ${s.seriesInstanceUid}`);
    row('Slice spacing', `${s.sliceSpacing.min.toFixed(3)}–${s.sliceSpacing.max.toFixed(3)} mm (mean ${s.sliceSpacing.mean.toFixed(3)}), ${s.uniformSpacing ? 'uniform' : 'NOT uniform'}`);
    row('Gantry tilt', `${s.gantryTiltDegrees.toFixed(2)}° from the slice positions${s.gantryTiltTag !== undefined ? ` (tag 0018,1120: ${s.gantryTiltTag}°)` : ''}`);
    row('Rescale', `slope ${s.rescaleSlope}, intercept ${s.rescaleIntercept} (applied once)`);
  }
  for (const w of d.warnings) row('Warning', w);
  if (d.refusal !== undefined) row('Refused', d.refusal);
  return lines.join('\n');
}
