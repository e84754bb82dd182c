/**
 * Acquisition noise for the phantom: Rician noise for MRI magnitude images (the magnitude of the
 * signal plus complex Gaussian noise, so background air becomes Rayleigh-distributed, never
 * negative) and additive Gaussian noise for CT. Plain chunked loops over typed arrays drawing from
 * the seeded Rng's fast noise stream (Rng.fillNoise); results are rounded to integers (what a
 * scanner stores) and clamped to the given range.
 * Must not: know about tissues, allocate per voxel, or use any other randomness than the Rng given.
 */

import type { Rng } from './rng';

/** Inclusive value range of an output volume. */
export interface ClampRange {
  /** Smallest stored value. */
  min: number;
  /** Largest stored value. */
  max: number;
}

const CHUNK = 1 << 15;

/**
 * Rician magnitude: out[i] = round(|signal[i] + σ·(n₁ + i·n₂)|), clamped to `range`.
 * `out` may be `signal` itself.
 */
export function addRicianNoise(signal: Float32Array, sigma: number, rng: Rng, range: ClampRange, out: Float32Array = signal): Float32Array {
  const noise = new Float64Array(2 * CHUNK);
  for (let start = 0; start < signal.length; start += CHUNK) {
    const end = Math.min(signal.length, start + CHUNK);
    rng.fillNoise(noise);
    for (let i = start, k = 0; i < end; i++, k += 2) {
      const re = signal[i]! + sigma * noise[k]!;
      const im = sigma * noise[k + 1]!;
      let m = Math.round(Math.sqrt(re * re + im * im));
      if (m < range.min) m = range.min;
      else if (m > range.max) m = range.max;
      out[i] = m;
    }
  }
  return out;
}

/** Gaussian noise: out[i] = round(values[i] + σ·n), clamped to `range`. */
export function addGaussianNoise(values: Float32Array, sigma: number, rng: Rng, range: ClampRange, out: Int16Array): Int16Array {
  const noise = new Float64Array(CHUNK);
  for (let start = 0; start < values.length; start += CHUNK) {
    const end = Math.min(values.length, start + CHUNK);
    rng.fillNoise(noise);
    for (let i = start, k = 0; i < end; i++, k++) {
      let v = Math.round(values[i]! + sigma * noise[k]!);
      if (v < range.min) v = range.min;
      else if (v > range.max) v = range.max;
      out[i] = v;
    }
  }
  return out;
}
