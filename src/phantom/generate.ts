/**
 * In-memory generation of one phantom patient: anatomy → hardware → bias field → MRI and CT,
 * all from random streams derived from (cohort seed, patient index, purpose), so patient i is
 * identical whether generated alone or inside a cohort, and the same seed always gives
 * bit-identical volumes. Pure: no files, no clock, no Math.random, no global state.
 */

import { ConfigError } from '../errors';
import type { Affine, Vec3, Volume } from '../io/volume';
import { rasterizeHead, sampleHeadModel, type HeadExtent, type HeadModel } from './anatomy';
import { renderBiasField, sampleBiasField, type BiasFieldModel } from './bias-field';
import { renderCt, sampleCtContrast, type CtContrast } from './ct-contrast';
import { DEFAULT_SIZE, makeGrid, type PhantomGrid } from './grid';
import { headMaskFromLabels } from './labels';
import { acquireMri, renderMriNoiseFree, sampleMriContrast, type MriContrast } from './mri-contrast';
import { rasterizeObjects, sampleObjects, type ObjectsModel, type ObjectsPlacement } from './objects';
import { deriveSeed, Rng, STREAM } from './rng';

/** Version of the generator's algorithm: bumped whenever the same seed would give other volumes. */
export const PHANTOM_GENERATOR_VERSION = 1;
/** Default cohort seed. */
export const DEFAULT_PHANTOM_SEED = 1;
/** Most patients a cohort may have (ids have three digits). */
export const MAX_PHANTOM_PATIENTS = 999;

/** Options of the phantom generator. */
export interface PhantomOptions {
  /**
   * Grid size [nx, ny, nz] in voxels (default 256 × 256 × 160, minimum 40 × 40 × 28, at most 512
   * per axis). The field of view is always 256 × 256 × 192 mm, so the spacing is 256/nx, 256/ny,
   * 192/nz mm (1 × 1 × 1.2 mm by default) and the anatomy keeps its physical size.
   */
  size?: Vec3;
  /** Cohort seed: any non-negative safe integer (default 1). */
  seed?: number;
}

/** PhantomOptions with every default filled in and validated. */
export interface ResolvedPhantomOptions {
  /** Grid size in voxels. */
  size: Vec3;
  /** Cohort seed. */
  seed: number;
}

/** Everything that was drawn for one patient (JSON-serialisable; recorded in phantom.json). */
export interface PhantomPatientParams {
  /** Head anatomy and pose. */
  head: HeadModel;
  /** Bounding box (world mm) of the head voxels. */
  headExtent: HeadExtent;
  /** Hardware around the head (CT only). */
  objects: ObjectsModel;
  /** Where the hardware ended up. */
  objectPlacement: ObjectsPlacement;
  /** Bias field components and head range. */
  biasField: BiasFieldModel;
  /** MRI contrast, gain and noise. */
  mri: MriContrast;
  /** CT HU table, bone variation and noise. */
  ct: CtContrast;
}

/** One generated patient: paired MRI/CT on the same grid plus ground truth. */
export interface PhantomPatient {
  /** Patient id, e.g. `brain_001`. */
  id: string;
  /** 1-based patient number (the number in the id). */
  index: number;
  /** T1-like MRI: integer-valued arbitrary units (WM ≈ 1000 × gain), bias field and Rician noise applied. */
  mri: Volume<Float32Array>;
  /** CT in HU. */
  ct: Volume<Int16Array>;
  /** True multiplicative bias field of the MRI (MRI ≈ Rician(mriNoiseFree · bias)). */
  bias: Volume<Float32Array>;
  /** Tissue and hardware labels (see LABEL / LABEL_TABLE). */
  labels: Volume<Uint8Array>;
  /** 1 for anatomy (labels 1–19), 0 for air and hardware. */
  headMask: Volume<Uint8Array>;
  /** The MRI before bias field and noise (with partial-volume smoothing); in memory only. */
  mriNoiseFree: Float32Array;
  /** Every drawn parameter. */
  params: PhantomPatientParams;
}

/** Validates options and fills in defaults; throws ConfigError naming the bad value. */
export function resolvePhantomOptions(options: PhantomOptions = {}): ResolvedPhantomOptions {
  const size = options.size ?? DEFAULT_SIZE;
  if (!Array.isArray(size) || size.length !== 3) {
    throw new ConfigError(`Phantom size must be three integers [nx, ny, nz], got ${JSON.stringify(size)}.`);
  }
  makeGrid(size); // validates the size (throws ConfigError with the minimum)
  const seed = options.seed ?? DEFAULT_PHANTOM_SEED;
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new ConfigError(`Phantom seed must be a non-negative integer (at most ${Number.MAX_SAFE_INTEGER}), got ${seed}.`);
  }
  return { size: [size[0], size[1], size[2]], seed };
}

/** Patient id of a 1-based patient number: brain_001 … brain_999. */
export function phantomPatientId(index: number): string {
  checkPatientIndex(index);
  return `brain_${String(index).padStart(3, '0')}`;
}

function checkPatientIndex(index: number): void {
  if (!Number.isInteger(index) || index < 1 || index > MAX_PHANTOM_PATIENTS) {
    throw new ConfigError(`Phantom patient number must be an integer from 1 to ${MAX_PHANTOM_PATIENTS}, got ${index}.`);
  }
}

function volume<T extends ArrayLike<number>>(data: T, grid: PhantomGrid): Volume<T> {
  const affine: Affine = grid.affine.map((row) => row.slice());
  return { data, dims: [...grid.dims], spacing: [...grid.spacing], affine };
}

/** Generates patient `index` (1-based) of the cohort described by `options`. */
export function generatePhantomPatient(index: number, options: PhantomOptions = {}): PhantomPatient {
  checkPatientIndex(index);
  const { size, seed } = resolvePhantomOptions(options);
  const grid = makeGrid(size);
  const stream = (id: number): Rng => new Rng(deriveSeed(seed, index, id));

  const head = sampleHeadModel(stream(STREAM.anatomy), grid);
  const { labels, extent } = rasterizeHead(head, grid);
  const headMask = headMaskFromLabels(labels);
  const objects = sampleObjects(stream(STREAM.objects), head, grid);
  const objectPlacement = rasterizeObjects(objects, head, extent, grid, labels);

  const biasField = sampleBiasField(stream(STREAM.biasField), head.centre);
  const bias = renderBiasField(biasField, grid, headMask);
  const mriContrast = sampleMriContrast(stream(STREAM.mriContrast));
  const mriNoiseFree = renderMriNoiseFree(labels, grid.dims, mriContrast);
  const mri = acquireMri(mriNoiseFree, bias, mriContrast, stream(STREAM.mriNoise));
  const ctContrast = sampleCtContrast(stream(STREAM.ctContrast));
  const ct = renderCt(labels, grid, ctContrast, stream(STREAM.ctNoise));

  return {
    id: phantomPatientId(index),
    index,
    mri: volume(mri, grid),
    ct: volume(ct, grid),
    bias: volume(bias, grid),
    labels: volume(labels, grid),
    headMask: volume(headMask, grid),
    mriNoiseFree,
    params: { head, headExtent: extent, objects, objectPlacement, biasField, mri: mriContrast, ct: ctContrast },
  };
}
