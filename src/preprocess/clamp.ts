/**
 * Step 8 of preprocessing: clamp values to [0, 1] (float rounding and bilinear overshoot of
 * earlier steps must not leave values outside the model's range). NaN becomes 0.
 * Must not rescale: values already in [0, 1] are left bit for bit unchanged.
 */

import { ConfigError } from '../errors';
import { toFloat32 } from './arrays';

/** Options of {@link clamp01}. */
export interface ClampOptions {
  /** Clamp the given Float32Array itself instead of a copy. Default false. */
  inPlace?: boolean;
}

/**
 * Clamps every value to [0, 1] (NaN → 0). Returns a new Float32Array, or the same array when
 * `inPlace` is set (then the input must be a Float32Array).
 */
export function clamp01(values: ArrayLike<number>, options: ClampOptions = {}): Float32Array {
  if (options.inPlace === true && !(values instanceof Float32Array)) {
    throw new ConfigError('clamp01 inPlace needs a Float32Array; pass inPlace: false to get a clamped copy');
  }
  let out: Float32Array;
  if (options.inPlace === true) out = values as Float32Array;
  else out = toFloat32(values);
  clampInPlace(out);
  return out;
}

/** Clamps a Float32Array in place and returns how many values changed. */
export function clampInPlace(a: Float32Array): number {
  let changed = 0;
  for (let i = 0; i < a.length; i++) {
    const v = a[i] as number;
    if (v >= 0 && v <= 1) continue;
    a[i] = v > 1 ? 1 : 0; // also NaN → 0 (v > 1 is false for NaN)
    changed++;
  }
  return changed;
}
