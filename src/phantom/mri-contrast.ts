/**
 * T1-weighted MRI contrast of the phantom: maps tissue labels to noise-free, bias-free
 * intensities (arbitrary scanner units, white matter ≈ 1000 × a per-patient gain in [0.85, 1.15]:
 * fat > WM > GM > CSF; bone, air and all hardware dark), blurs them slightly (separable [1 2 1]/4
 * kernel: partial volume at tissue borders), then multiplies by the bias field and adds Rician
 * noise (σ = 2–3 % of WM). The stored MRI is integer-valued (written as int16).
 * Must not: see the CT's hardware (labels ≥ 20 are 0 signal here), or touch files.
 */

import { LABEL, LABEL_VALUE_COUNT } from './labels';
import { addRicianNoise } from './noise';
import type { Rng } from './rng';
import type { Vec3 } from '../io/volume';

/** Nominal T1 intensities per label (WM = 1000) before the per-patient gain and jitter. */
export const NOMINAL_T1: Readonly<Record<number, number>> = {
  [LABEL.AIR]: 0,
  [LABEL.SKIN]: 700,
  [LABEL.FAT]: 1350,
  [LABEL.CORTICAL_BONE]: 60,
  [LABEL.DIPLOE]: 320,
  [LABEL.CSF]: 220,
  [LABEL.GREY_MATTER]: 620,
  [LABEL.WHITE_MATTER]: 1000,
  [LABEL.VENTRICLE]: 200,
  [LABEL.SINUS_AIR]: 0,
  [LABEL.EYE]: 180,
  [LABEL.SOFT_TISSUE]: 480,
};

/** Largest stored MRI value (int16). */
export const MRI_MAX_VALUE = 32767;

/** One patient's MRI contrast (JSON-serialisable). */
export interface MriContrast {
  /** Global scanner gain applied to every tissue. */
  gain: number;
  /** Noise-free intensity per label value (index = label; hardware labels are 0). */
  intensities: number[];
  /** Rician noise σ in stored units. */
  noiseSigma: number;
  /** σ as a fraction of the white-matter intensity. */
  noiseFraction: number;
}

/** Samples gain (0.85–1.15), per-tissue jitter (±5 %) and noise (2–3 % of WM). */
export function sampleMriContrast(rng: Rng): MriContrast {
  const gain = rng.range(0.85, 1.15);
  const intensities = new Array<number>(LABEL_VALUE_COUNT).fill(0);
  for (const [label, value] of Object.entries(NOMINAL_T1)) {
    intensities[Number(label)] = value * gain * rng.range(0.95, 1.05);
  }
  intensities[LABEL.WHITE_MATTER] = NOMINAL_T1[LABEL.WHITE_MATTER]! * gain;
  const noiseFraction = rng.range(0.02, 0.03);
  return { gain, intensities, noiseSigma: noiseFraction * intensities[LABEL.WHITE_MATTER]!, noiseFraction };
}

/** One pass of the [1 2 1]/4 kernel along an axis (edges clamped), from src into dst. */
function blurAxis(src: Float32Array, dst: Float32Array, dims: Vec3, axis: 0 | 1 | 2): void {
  const [nx, ny, nz] = dims;
  const stride = axis === 0 ? 1 : axis === 1 ? nx : nx * ny;
  const n = dims[axis];
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      const row = nx * (y + ny * z);
      for (let x = 0; x < nx; x++) {
        const i = row + x;
        const pos = axis === 0 ? x : axis === 1 ? y : z;
        const prev = pos > 0 ? src[i - stride]! : src[i]!;
        const next = pos < n - 1 ? src[i + stride]! : src[i]!;
        dst[i] = 0.25 * prev + 0.5 * src[i]! + 0.25 * next;
      }
    }
  }
}

/** Noise-free, bias-free T1 intensities with partial-volume smoothing. */
export function renderMriNoiseFree(labels: Uint8Array, dims: Vec3, contrast: MriContrast): Float32Array {
  const lut = Float32Array.from(contrast.intensities);
  const a = new Float32Array(labels.length);
  for (let i = 0; i < labels.length; i++) a[i] = lut[labels[i]!]!;
  const b = new Float32Array(labels.length);
  blurAxis(a, b, dims, 0);
  blurAxis(b, a, dims, 1);
  blurAxis(a, b, dims, 2);
  return b;
}

/** Acquired MRI: round(Rician(noiseFree · bias)). */
export function acquireMri(noiseFree: Float32Array, bias: Float32Array, contrast: MriContrast, rng: Rng): Float32Array {
  const signal = new Float32Array(noiseFree.length);
  for (let i = 0; i < signal.length; i++) signal[i] = noiseFree[i]! * bias[i]!;
  return addRicianNoise(signal, contrast.noiseSigma, rng, { min: 0, max: MRI_MAX_VALUE });
}
