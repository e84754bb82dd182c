/**
 * Step 5 of preprocessing: linear intensity normalisation to [0, 1].
 * MRI: (v − low) / (high − low) with the clip range of step 4. CT: (hu − minHu) / (maxHu − minHu)
 * with the fixed HU window, so HU are recovered exactly by {@link denormalizeCt} (up to float32
 * rounding). The mapping is returned as a plain JSON-able object to store in the cache metadata.
 * Must not clip or clamp (steps 4 and 8) and must not modify its inputs.
 */

import { ConfigError, Mri2ctError } from '../errors';
import type { Volume } from '../io/volume';
import { checkNumber } from './arrays';
import { CT_CLIP_DEFAULTS } from './clip';

/** normalised = (value − low) / (high − low); value = low + normalised · (high − low). */
export interface LinearMapping {
  kind: 'linear';
  /** Value mapped to 0. */
  low: number;
  /** Value mapped to 1. */
  high: number;
}

/** A normalised volume and the mapping that produced it. */
export interface NormalizeResult {
  /** New Float32Array volume, same dims/spacing/affine. */
  volume: Volume<Float32Array>;
  mapping: LinearMapping;
}

/** The mapping low→0, high→1; throws when the range is empty. */
export function linearMapping(low: number, high: number, what = 'the image'): LinearMapping {
  checkNumber(low, 'low');
  checkNumber(high, 'high');
  if (!(high > low)) {
    throw new Mri2ctError(
      `cannot normalise ${what}: its intensity range is empty (low ${low} ≥ high ${high}); ` +
        'the image is constant inside the head: check the file and the head mask',
    );
  }
  return { kind: 'linear', low, high };
}

/** Applies a mapping to every value into a new Float32Array (computed in double precision). */
export function applyMapping(values: ArrayLike<number>, mapping: LinearMapping): Float32Array {
  checkMapping(mapping);
  const { low } = mapping;
  const inv = 1 / (mapping.high - mapping.low);
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = ((values[i] as number) - low) * inv;
  return out;
}

/** Inverts a mapping: original values from normalised ones, into a new Float32Array. */
export function invertMapping(values: ArrayLike<number>, mapping: LinearMapping): Float32Array {
  checkMapping(mapping);
  const { low } = mapping;
  const range = mapping.high - mapping.low;
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = low + (values[i] as number) * range;
  return out;
}

function checkMapping(mapping: LinearMapping): void {
  const { kind, low, high } = mapping;
  if (kind !== 'linear' || !Number.isFinite(low) || !Number.isFinite(high) || !(high > low)) {
    throw new ConfigError(`unusable intensity mapping ${JSON.stringify(mapping)}: need kind 'linear' and low < high`);
  }
}

function normalizeVolume(vol: Volume<ArrayLike<number>>, mapping: LinearMapping): NormalizeResult {
  return {
    volume: {
      data: applyMapping(vol.data, mapping),
      dims: [...vol.dims],
      spacing: [...vol.spacing],
      affine: vol.affine.map((r) => r.slice()),
    },
    mapping,
  };
}

/** MRI → [0, 1] by its clip range [low, high] (from clipMri). */
export function normalizeMri(mri: Volume<ArrayLike<number>>, low: number, high: number): NormalizeResult {
  return normalizeVolume(mri, linearMapping(low, high, 'the MRI'));
}

/** CT → [0, 1] by the HU window: (hu − minHu) / (maxHu − minHu). */
export function normalizeCt(
  ct: Volume<ArrayLike<number>>,
  minHu: number = CT_CLIP_DEFAULTS.minHu,
  maxHu: number = CT_CLIP_DEFAULTS.maxHu,
): NormalizeResult {
  return normalizeVolume(ct, linearMapping(minHu, maxHu, 'the CT'));
}

/** Normalised CT values → HU: minHu + v · (maxHu − minHu). */
export function denormalizeCt(
  values: ArrayLike<number>,
  minHu: number = CT_CLIP_DEFAULTS.minHu,
  maxHu: number = CT_CLIP_DEFAULTS.maxHu,
): Float32Array {
  return invertMapping(values, linearMapping(minHu, maxHu, 'the CT'));
}

/** The normalised value of one HU (e.g. air −1000, for padding CT slices). */
export function normalizedHu(
  hu: number,
  minHu: number = CT_CLIP_DEFAULTS.minHu,
  maxHu: number = CT_CLIP_DEFAULTS.maxHu,
): number {
  return Math.fround((hu - minHu) / (maxHu - minHu));
}
