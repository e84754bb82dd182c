/**
 * Puts predicted cache-space CT slices back into the MRI's original voxel grid: undo the
 * pad-to-square + resize of each axial slice (bilinear, unresizeSlices), map [0,1] back to HU with
 * the CT window the model was trained with, paste the cropped box into the full volume, and set
 * every voxel outside the head mask to air. The inverse of steps 5–7 of preprocessing, with the
 * geometry preprocessMri recorded for this MRI.
 * Must not: run the model, read or write files.
 */
import { ConfigError } from '../errors';
import { uncropArray } from '../preprocess/crop';
import type { PatientGeometry } from '../preprocess/pipeline';
import { unresizeSlices } from '../preprocess/resize';

/** Options of {@link restoreCtToOriginalGrid}. */
export interface RestoreOptions {
  /** CT window of the model: value v in [0,1] ↔ HU = minHu + v·(maxHu − minHu). */
  ctWindow: { minHu: number; maxHu: number };
  /** Head mask on the original grid (0/1); voxels outside it become `airHu`. Optional. */
  headMask?: ArrayLike<number>;
  /** HU of air (outside the crop box and the head). Default −1000. */
  airHu?: number;
}

/**
 * Cache-space slices [slices, S, S] in [0,1] (x fastest) → HU volume on the original grid
 * (geometry.dims, x fastest), values within the CT window.
 */
export function restoreCtToOriginalGrid(slices01: ArrayLike<number>, geometry: PatientGeometry, options: RestoreOptions): Float32Array {
  const { minHu, maxHu } = options.ctWindow;
  if (!(maxHu > minHu)) throw new ConfigError(`CT window ${minHu}..${maxHu} HU is empty`);
  const air = options.airHu ?? -1000;
  const g = geometry.slices;
  const expected = g.size * g.size * g.slices;
  if (slices01.length !== expected) {
    throw new ConfigError(`restore: ${slices01.length} values do not match ${g.slices} slices of ${g.size}×${g.size}`);
  }
  const cropped = unresizeSlices(slices01, g, { interpolation: 'bilinear' });
  const span = maxHu - minHu;
  for (let i = 0; i < cropped.length; i++) {
    const v = cropped[i] as number;
    const c = v >= 0 ? (v <= 1 ? v : 1) : 0; // also NaN → 0
    cropped[i] = minHu + c * span;
  }
  const full = uncropArray(cropped, geometry.crop, geometry.dims, air);
  const mask = options.headMask;
  if (mask !== undefined) {
    if (mask.length !== full.length) throw new ConfigError(`restore: head mask has ${mask.length} voxels, the volume ${full.length}`);
    for (let i = 0; i < full.length; i++) if (!(Number(mask[i]) > 0)) full[i] = air;
  }
  return full;
}
