/**
 * The pair-level skull-stripping check for co-registered pairs: a brain-only MRI can pass the
 * head-mask volume check (a large brain, e.g. the spm152 atlas at 1,750 ml) but its mask then sits
 * inside the CT's body and fills well under its volume; CT clean-up would erase the skull outside
 * it. Counts voxels on the MRI grid (CT above −500 HU as the body: one pass, no morphology).
 * Registered pairs get the same reading in the registration verdict (register/quality.ts).
 * Must not modify volumes.
 */
import { Mri2ctError } from '../errors';
import { looksSkullStripped, maskOverlap, QUALITY_DEFAULTS, SKULL_STRIPPED, skullStrippedEvidence } from '../register/quality';

/** Throws when the head mask looks like a brain inside the CT's head; does nothing on other grids. */
export function checkNotSkullStripped(headMask: ArrayLike<number>, ct: ArrayLike<number>, what: { id: string; mri: string }): void {
  if (headMask.length !== ct.length) return;
  const body = new Uint8Array(ct.length);
  for (let i = 0; i < ct.length; i++) body[i] = (ct[i] as number) > QUALITY_DEFAULTS.bodyThresholdHu ? 1 : 0;
  const c = maskOverlap(headMask, body);
  if (looksSkullStripped(c)) {
    throw new Mri2ctError(
      `patient ${what.id}: the MRI ${what.mri} looks skull-stripped (brain only): ${skullStrippedEvidence(c)} ` +
        `(a whole head's mask has ${(SKULL_STRIPPED.maxVolumeRatio * 100).toFixed(0)}% or more). The pipeline needs the whole head (skull and scalp) ` +
        'to pair it with the CT, or CT clean-up erases the skull: use the MRI before brain extraction.',
    );
  }
}
