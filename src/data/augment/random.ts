/**
 * Seeded pseudo-random numbers for the per-sample augmentation draws (angle, flips, intensity
 * factor, whether a sample is augmented at all). The draws are a handful of numbers per batch, so
 * they are made on the host and only the resulting per-sample parameters go to the backend.
 * Generator: sfc32 (128-bit state), seeded from a 53-bit integer through splitmix32; the same seed
 * gives the same sequence on every platform and Node version.
 * This module must not touch tensors or any global random state (no Math.random when seeded).
 */
import { randomFillSync } from 'node:crypto';
import { ConfigError } from '../../errors';

/** A deterministic stream of uniform numbers. */
export interface Rng {
  /** The seed this stream started from. */
  readonly seed: number;
  /** Uniform in [0, 1), 32 bits of resolution. */
  next(): number;
  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** True with probability p (p <= 0 never, p >= 1 always; one number is consumed either way). */
  chance(p: number): boolean;
}

/** splitmix32 step: spreads a seed's bits over a 32-bit word. */
function splitmix32(state: number): [word: number, next: number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [z >>> 0, next];
}

/** Checks that a seed is usable: a finite, non-negative safe integer. */
export function validateSeed(seed: number, what = 'seed'): number {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new ConfigError(`${what} must be a non-negative integer (got ${String(seed)}).`);
  }
  return seed;
}

/** A fresh seed from the OS entropy source (for unseeded augmenters; report it to reproduce). */
export function randomSeed(): number {
  const words = new Uint32Array(2);
  randomFillSync(words);
  // 53 bits: 21 from the first word, 32 from the second.
  return ((words[0] ?? 0) & 0x1fffff) * 0x100000000 + (words[1] ?? 0);
}

/** Creates an sfc32 stream from a seed (a non-negative safe integer). */
export function createRng(seed: number): Rng {
  validateSeed(seed);
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 0x100000000) >>> 0;
  let s = lo ^ Math.imul(hi, 0x27d4eb2d);
  let a: number, b: number, c: number;
  [a, s] = splitmix32(s);
  [b, s] = splitmix32(s ^ hi);
  [c, s] = splitmix32(s);
  let d = 1; // counter
  const nextU32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  // Discard the first outputs: sfc32 mixes its state over ~12 rounds.
  for (let i = 0; i < 12; i++) nextU32();
  const next = (): number => nextU32() / 0x100000000;
  return {
    seed,
    next,
    uniform: (lo2, hi2) => lo2 + (hi2 - lo2) * next(),
    chance: (p) => next() < p,
  };
}
