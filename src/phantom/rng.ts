/**
 * Seeded pseudo-random numbers for the phantom cohort: a small, fast, portable generator (sfc32,
 * seeded through a 32-bit integer hash) whose output depends only on its seed, never on the
 * platform, the clock or on other streams. Independent streams (one per patient and per purpose:
 * anatomy, bias field, MRI noise, CT noise, ...) come from deriveSeed(seed, ...keys), so that
 * generating patient 3 alone gives exactly the same volumes as generating it inside a cohort.
 * Must not use Math.random or any global/shared state.
 */

/** Murmur3's 32-bit finaliser: a bijective avalanche mix of a 32-bit integer. */
export function mix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Folds a non-negative safe integer (may exceed 2^32) into the hash state. */
function absorb(state: number, value: number): number {
  const lo = value >>> 0;
  const hi = Math.floor(value / 0x100000000) >>> 0;
  let h = mix32((state ^ lo) + 0x9e3779b9);
  h = mix32((h ^ hi) + 0x7f4a7c15);
  return h;
}

/**
 * A 32-bit seed derived from a base seed and any number of integer keys (patient index, stream
 * id, ...). Different key lists give statistically independent seeds.
 */
export function deriveSeed(seed: number, ...keys: number[]): number {
  let h = absorb(0x6a09e667, seed);
  for (const key of keys) h = absorb(h, key);
  return h;
}

/** Named stream ids, so each purpose of a patient draws from its own independent stream. */
export const STREAM = {
  anatomy: 1,
  objects: 2,
  biasField: 3,
  mriContrast: 4,
  mriNoise: 5,
  ctContrast: 6,
  ctNoise: 7,
} as const;

/** Seeded sfc32 generator with uniform, integer and normal draws. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare = 0;
  private hasSpare = false;

  /** @param seed any 32-bit integer (use deriveSeed to combine seeds and keys). */
  constructor(seed: number) {
    // | 0 keeps every state field an int32 (a uint32 above 2^31 would force slow double fields).
    this.a = mix32(seed ^ 0x243f6a88) | 0;
    this.b = mix32(seed ^ 0x85a308d3) | 0;
    this.c = mix32(seed ^ 0x13198a2e) | 0;
    this.d = 1;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** Next raw 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Uniform integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.uniform() * (hi - lo + 1));
  }

  /** +1 or -1 with equal probability. */
  sign(): number {
    return this.uniform() < 0.5 ? -1 : 1;
  }

  /**
   * Fills `out` with fast approximately-normal draws for noise images: one generator step per
   * value, looked up in a table of 65 536 equiprobable standard-normal quantiles (tails cut at
   * ±4.3σ, variance 0.9997). Generator state is kept in locals: several times faster than normal().
   */
  fillNoise(out: Float64Array | Float32Array): void {
    const table = normalQuantileTable();
    let a = this.a;
    let b = this.b;
    let c = this.c;
    let d = this.d;
    for (let i = 0; i < out.length; i++) {
      const t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) | 0;
      c = (c << 21) | (c >>> 11);
      c = (c + t) | 0;
      out[i] = table[t >>> 16]!;
    }
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
  }

  /** Standard normal draw (Marsaglia polar method; the second value is kept for the next call). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * f;
    this.hasSpare = true;
    return u * f;
  }
}

let quantiles: Float64Array | undefined;

/** Standard-normal quantiles at the midpoints (k + 0.5) / 65536 of 65 536 equal-probability bins. */
function normalQuantileTable(): Float64Array {
  if (quantiles === undefined) {
    quantiles = new Float64Array(65536);
    for (let k = 0; k < 65536; k++) quantiles[k] = inverseNormalCdf((k + 0.5) / 65536);
  }
  return quantiles;
}

/** Φ⁻¹(p) for 0 < p < 1 (Acklam's rational approximation, relative error < 1.2e-9). */
export function inverseNormalCdf(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const poly = (k: number[], x: number): number => k.reduce((acc, v) => acc * x + v, 0);
  const pLow = 0.02425;
  if (p < pLow) {
    const q = Math.sqrt(-2 * Math.log(p));
    return poly(c, q) / (poly(d, q) * q + 1);
  }
  if (p > 1 - pLow) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -poly(c, q) / (poly(d, q) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return (poly(a, r) * q) / (poly(b, r) * r + 1);
}
