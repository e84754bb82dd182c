/**
 * Small shared helpers for the preprocessing steps: numeric typed-array types, shape checks and
 * allocation of an array of the same kind as another one.
 * Must not contain any image-processing logic, and must not throw anything but ConfigError
 * (a wrong shape or option passed by the caller is a configuration/programming error).
 */

import { ConfigError } from '../errors';
import type { Vec3 } from '../io/volume';

/** Every typed array a volume's voxel data may be stored in. */
export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array;

/** Checks that dims are three positive integers and returns the voxel count. */
export function checkDims(dims: Vec3, what: string): number {
  if (dims.length !== 3 || !dims.every((d) => Number.isInteger(d) && d > 0)) {
    throw new ConfigError(`${what}: dims must be three positive integers, got [${dims.join(', ')}]`);
  }
  return dims[0] * dims[1] * dims[2];
}

/** Checks that an array holds exactly one value per voxel of dims and returns the voxel count. */
export function checkLength(data: ArrayLike<number>, dims: Vec3, what: string): number {
  const n = checkDims(dims, what);
  if (data.length !== n) {
    throw new ConfigError(
      `${what}: has ${data.length} values but dims [${dims.join(', ')}] need ${n}; ` +
        'pass the array that belongs to these dims',
    );
  }
  return n;
}

/** Checks that spacing holds three positive finite millimetre values. */
export function checkSpacing(spacing: Vec3, what: string): void {
  if (spacing.length !== 3 || !spacing.every((s) => Number.isFinite(s) && s > 0)) {
    throw new ConfigError(
      `${what}: voxel spacing must be three positive numbers (mm), got [${spacing.join(', ')}]`,
    );
  }
}

/** Checks that an option is a finite number (optionally ≥ min) and returns it. */
export function checkNumber(value: number, name: string, min = -Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    const bound = min === -Infinity ? '' : ` ≥ ${min}`;
    throw new ConfigError(`option ${name} must be a finite number${bound}, got ${String(value)}`);
  }
  return value;
}

/** A new zero-filled typed array of the same kind as `like` with n elements. */
export function allocLike<T extends NumericArray>(like: T, n: number): T {
  const ctor = like.constructor as new (length: number) => T;
  return new ctor(n);
}

/** Copies any array-like of numbers into a new Float32Array. */
export function toFloat32(data: ArrayLike<number>): Float32Array {
  return data instanceof Float32Array ? data.slice() : Float32Array.from(data);
}
