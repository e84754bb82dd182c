/**
 * Quality figures of a CT-to-MRI registration, on the MRI grid: the CT body mask (CT above a HU
 * threshold, holes filled per axial slice, largest component, holes filled in 3D), its Dice with
 * the MRI head mask, normalised mutual information of MRI and registered CT inside the head mask,
 * and the verdict against thresholds with the reasons spelled out.
 * Must not run registration or change the images.
 */

import { ConfigError } from '../errors';
import type { Vec3 } from '../io/volume';
import { fillHoles3d, fillHolesAxial, largestComponent } from '../preprocess/morphology';

/** Options of {@link judgeRegistration} (thresholds for a "poor" registration). */
export interface QualityThresholds {
  /** Smallest accepted Dice of MRI head mask vs CT body mask after registration. Default 0.85. */
  minDice?: number;
  /** Smallest accepted fraction of the MRI head mask inside the CT's field of view. Default 0.5. */
  minOverlap?: number;
  /** Largest plausible rotation about any axis, degrees (beyond: the optimiser ran away). Default 45. */
  maxRotationDegrees?: number;
  /** CT body threshold in HU. Default −500. */
  bodyThresholdHu?: number;
}

export const QUALITY_DEFAULTS = {
  minDice: 0.85,
  minOverlap: 0.5,
  maxRotationDegrees: 45,
  bodyThresholdHu: -500,
} as const satisfies Required<QualityThresholds>;

/**
 * A head mask this much inside the CT body and this small against it is a brain without skull and
 * scalp. Head mask / CT body volume measured: real whole-head T1s with the CT template 0.81–0.87
 * (body = CT above −500 HU) and 0.81–1.0 (body mask); phantom patients 1–12 0.75–0.84 (above −500
 * HU: the couch counts) and ~1.0 (body mask); the brain-only spm152 0.46. A brain large enough to
 * pass the 1,600 ml volume check sits in a head of ≳ 2,700 ml, i.e. ≤ 0.6. Read by the
 * registration verdict and by preprocess/skull-stripped.ts.
 */
export const SKULL_STRIPPED = { minInside: 0.95, maxVolumeRatio: 0.6 } as const;

/** The figures stored per patient. */
export interface RegistrationQuality {
  /** Dice of the MRI head mask and the registered CT's body mask. */
  dice: number;
  /** Normalised mutual information (H(MRI) + H(CT)) / H(MRI, CT) inside the head mask, 32×32 bins: 1 = independent, 2 = one determines the other. */
  nmi: number;
  /** Fraction of the MRI head mask inside the CT's field of view after registration. */
  overlap: number;
  /** False when a threshold is missed; `reasons` says which. */
  ok: boolean;
  reasons: string[];
  /** The poor overlap reads as a skull-stripped (brain-only) MRI rather than a failed registration. */
  skullStripped?: boolean;
}

/** The CT's body: voxels above `thresholdHu`, filled per axial slice, largest component, filled in 3D. */
export function ctBodyMask(ct: ArrayLike<number>, dims: Vec3, thresholdHu: number = QUALITY_DEFAULTS.bodyThresholdHu): Uint8Array {
  const n = dims[0] * dims[1] * dims[2];
  if (ct.length !== n) throw new ConfigError(`ctBodyMask: ${ct.length} values for dims ${dims.join('×')}`);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (ct[i] as number) > thresholdHu ? 1 : 0;
  const largest = largestComponent(fillHolesAxial(b, dims), dims, 6);
  return fillHoles3d(largest.mask, dims);
}

/** Voxel counts of two masks and of their overlap. */
function maskCounts(a: ArrayLike<number>, b: ArrayLike<number>, what: string): { na: number; nb: number; both: number } {
  if (a.length !== b.length) throw new ConfigError(`${what}: masks of ${a.length} and ${b.length} voxels`);
  let both = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = (a[i] as number) !== 0;
    const y = (b[i] as number) !== 0;
    if (x) na++;
    if (y) nb++;
    if (x && y) both++;
  }
  return { na, nb, both };
}

/** Dice coefficient 2|A∩B| / (|A| + |B|) of two masks (0 when both are empty). */
export function dice(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return maskOverlap(a, b).dice;
}

/** How an MRI head mask sits in a CT body mask on the same grid. */
export interface MaskOverlap {
  /** Dice of the two masks (0 when both are empty). */
  dice: number;
  /** Fraction of the head mask inside the body. */
  headInsideBody: number;
  /** The head mask's volume as a fraction of the body's. */
  headToBodyVolume: number;
}

/** Dice and containment of a head mask in a body mask, in one pass. */
export function maskOverlap(head: ArrayLike<number>, body: ArrayLike<number>): MaskOverlap {
  const { na: nh, nb, both } = maskCounts(head, body, 'maskOverlap');
  return { dice: nh + nb === 0 ? 0 : (2 * both) / (nh + nb), headInsideBody: nh === 0 ? 0 : both / nh, headToBodyVolume: nb === 0 ? Infinity : nh / nb };
}

type Containment = Pick<MaskOverlap, 'headInsideBody' | 'headToBodyVolume'>;

/** The head mask is a brain without skull and scalp ({@link SKULL_STRIPPED}). */
export function looksSkullStripped(c: Containment): boolean {
  return c.headInsideBody >= SKULL_STRIPPED.minInside && c.headToBodyVolume < SKULL_STRIPPED.maxVolumeRatio;
}

/** What that reading rests on, in words (the registration verdict and the pipeline's check). */
export function skullStrippedEvidence(c: Containment): string {
  return `the head mask lies inside the CT's body (${(c.headInsideBody * 100).toFixed(0)}% of it) but has only ${(c.headToBodyVolume * 100).toFixed(0)}% of the body's volume`;
}

/** Normalised mutual information of a and b over the mask (bins per axis over each one's range in the mask). */
export function normalizedMutualInformation(a: ArrayLike<number>, b: ArrayLike<number>, mask: ArrayLike<number>, bins = 32): number {
  let [amin, amax, bmin, bmax] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < mask.length; i++) {
    if ((mask[i] as number) === 0) continue;
    const x = a[i] as number;
    const y = b[i] as number;
    if (x < amin) amin = x;
    if (x > amax) amax = x;
    if (y < bmin) bmin = y;
    if (y > bmax) bmax = y;
  }
  if (!(amax > amin) || !(bmax > bmin)) return 1;
  const joint = new Float64Array(bins * bins);
  const sa = (bins - 1e-9) / (amax - amin);
  const sb = (bins - 1e-9) / (bmax - bmin);
  let total = 0;
  for (let i = 0; i < mask.length; i++) {
    if ((mask[i] as number) === 0) continue;
    const ia = Math.floor(((a[i] as number) - amin) * sa);
    const ib = Math.floor(((b[i] as number) - bmin) * sb);
    joint[ia * bins + ib]! += 1;
    total++;
  }
  const pa = new Float64Array(bins);
  const pb = new Float64Array(bins);
  let hab = 0;
  for (let i = 0; i < bins; i++) {
    for (let j = 0; j < bins; j++) {
      const p = (joint[i * bins + j] as number) / total;
      pa[i]! += p;
      pb[j]! += p;
      if (p > 0) hab -= p * Math.log(p);
    }
  }
  const h = (p: Float64Array): number => p.reduce((s, v) => (v > 0 ? s - v * Math.log(v) : s), 0);
  return hab > 0 ? (h(pa) + h(pb)) / hab : 1;
}

/** Applies the thresholds; every missed one adds a reason a user can act on. */
export function judgeRegistration(
  figures: { dice: number; nmi: number; overlap: number; maxAbsRotationDegrees: number; headInsideBody?: number; headToBodyVolume?: number },
  thresholds: QualityThresholds = {},
): RegistrationQuality {
  const t = { ...QUALITY_DEFAULTS, ...Object.fromEntries(Object.entries(thresholds).filter(([, v]) => v !== undefined)) };
  const reasons: string[] = [];
  let skullStripped = false;
  if (figures.overlap < t.minOverlap) {
    reasons.push(
      `only ${(figures.overlap * 100).toFixed(0)}% of the MRI head mask lies inside the CT's field of view after registration ` +
        `(minimum ${(t.minOverlap * 100).toFixed(0)}%): the CT does not cover the head`,
    );
  }
  if (figures.dice < t.minDice) {
    // A head mask that sits whole inside the CT's body yet fills well under its volume is a brain
    // without skull and scalp: the MRI was skull-stripped (the transform itself may be right).
    const c = { headInsideBody: figures.headInsideBody ?? 0, headToBodyVolume: figures.headToBodyVolume ?? Infinity };
    skullStripped = looksSkullStripped(c);
    reasons.push(
      `the MRI head mask and the registered CT body mask overlap poorly (Dice ${figures.dice.toFixed(3)}, minimum ${t.minDice}): ` +
        (skullStripped
          ? `${skullStrippedEvidence(c)}: the MRI looks skull-stripped (brain only); use the MRI before brain extraction`
          : 'the registration did not converge, or MRI and CT are not the same patient'),
    );
  }
  if (figures.maxAbsRotationDegrees > t.maxRotationDegrees) {
    reasons.push(
      `the registration rotated the CT by ${figures.maxAbsRotationDegrees.toFixed(1)}° (maximum ${t.maxRotationDegrees}°): ` +
        'the optimiser ran away; check the images, or pre-align the CT',
    );
  }
  return { dice: figures.dice, nmi: figures.nmi, overlap: figures.overlap, ok: reasons.length === 0, reasons, ...(skullStripped ? { skullStripped } : {}) };
}
