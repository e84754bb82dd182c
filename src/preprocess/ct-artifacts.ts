/**
 * Step 3 of preprocessing: MRI-guided CT clean-up. The head mask (from the registered MRI) is
 * dilated by a few mm (a ball) and every CT voxel outside it becomes air: the couch, headrest,
 * immobilisation masks, cables and streaks outside the head disappear.
 * Must not change any voxel inside the dilated mask (values are copied bit for bit into a
 * Float32Array) and must not modify its inputs.
 */

import { PairMismatchError } from '../errors';
import type { Volume } from '../io/volume';
import { checkLength, checkNumber, checkSpacing, toFloat32 } from './arrays';
import { dilate } from './morphology';

/** Options of {@link removeCtArtifacts}. */
export interface CtArtifactOptions {
  /** Margin in mm added around the head mask before clearing (covers small MRI/CT
   * misregistration and the skin surface). Default 5. */
  dilateMm?: number;
  /** Value written outside the dilated mask, in HU. Default −1000 (air). */
  airHu?: number;
  /** Names the CT in error messages (e.g. "CT of patient 12"). */
  what?: string;
}

/** Default options of {@link removeCtArtifacts} (record them with the cache metadata). */
export const CT_ARTIFACT_DEFAULTS = { dilateMm: 5, airHu: -1000 } as const;

/** Result of {@link removeCtArtifacts}. */
export interface CtArtifactResult {
  /** The cleaned CT (new Float32Array data, same dims/spacing/affine). */
  volume: Volume<Float32Array>;
  /** Voxels whose value actually changed (outside the dilated mask and not already air). */
  changedVoxels: number;
  /** Voxels outside the dilated mask (set to air, whether or not they already were). */
  outsideVoxels: number;
  /** The dilated mask that was kept (0/1 per voxel). */
  keptMask: Uint8Array;
}

/** Sets every CT voxel outside the dilated head mask to air; see {@link CtArtifactOptions}. */
export function removeCtArtifacts(
  ct: Volume<ArrayLike<number>>,
  headMask: ArrayLike<number>,
  options: CtArtifactOptions = {},
): CtArtifactResult {
  const what = options.what ?? 'the CT';
  const dilateMm = checkNumber(options.dilateMm ?? CT_ARTIFACT_DEFAULTS.dilateMm, 'dilateMm', 0);
  const airHu = checkNumber(options.airHu ?? CT_ARTIFACT_DEFAULTS.airHu, 'airHu');
  const n = checkLength(ct.data, ct.dims, what);
  checkSpacing(ct.spacing, what);
  if (headMask.length !== n) {
    throw new PairMismatchError(
      `${what}: the head mask has ${headMask.length} voxels but the CT has ${n} ` +
        `(dims [${ct.dims.join(', ')}]); the MRI and CT must be registered to the same grid`,
    );
  }
  const keptMask = dilate(headMask, ct.dims, { radiusMm: dilateMm, spacing: ct.spacing, shape: 'ball' });
  const out = toFloat32(ct.data);
  const air = Math.fround(airHu);
  let changedVoxels = 0;
  let outsideVoxels = 0;
  for (let i = 0; i < n; i++) {
    if (keptMask[i] !== 0) continue;
    outsideVoxels++;
    if (out[i] !== air) changedVoxels++;
    out[i] = air;
  }
  return {
    volume: { data: out, dims: [...ct.dims], spacing: [...ct.spacing], affine: ct.affine.map((r) => r.slice()) },
    changedVoxels,
    outsideVoxels,
    keptMask,
  };
}
