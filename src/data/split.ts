/**
 * Patient-level train/validation split: whole patients go to one side, never slices of one
 * patient to both. Seeded and reproducible, or given explicitly by validation ids. Pure.
 */
import { ConfigError } from '../errors';
import { mulberry32 } from '../util/random';

export interface SplitOptions {
  /** Fraction of patients for validation (default 0.2; at least 1 when there are ≥ 2 patients). */
  valFraction?: number;
  /** Explicit validation patient ids (overrides valFraction). */
  valIds?: string[];
  /** Seed of the shuffle (default 42). */
  seed?: number;
}

export interface PatientSplit { train: string[]; val: string[]; seed: number }

/** mulberry32: small, fast, seedable PRNG in [0, 1). */

/** Fisher–Yates shuffle in place with the given RNG. */
export function shuffleInPlace<T>(a: T[], rand: () => number): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i] as T;
    a[i] = a[j] as T;
    a[j] = t;
  }
  return a;
}

export function splitPatients(ids: string[], o: SplitOptions = {}): PatientSplit {
  const seed = o.seed ?? 42;
  const sorted = [...ids].sort();
  if (o.valIds !== undefined && o.valIds.length > 0) {
    const unknown = o.valIds.filter((v) => !sorted.includes(v));
    if (unknown.length > 0) throw new ConfigError(`--val_ids: ${unknown.join(', ')} not in the cache (it has ${sorted.join(', ')}).`);
    const val = sorted.filter((v) => o.valIds?.includes(v));
    const train = sorted.filter((v) => !val.includes(v));
    if (train.length === 0) throw new ConfigError('--val_ids leaves no patient for training.');
    return { train, val, seed };
  }
  const frac = o.valFraction ?? 0.2;
  if (!(frac >= 0 && frac < 1)) throw new ConfigError(`--val_fraction ${frac}: must be in [0, 1).`);
  if (sorted.length === 0) throw new ConfigError('no patients to split.');
  const nVal = sorted.length < 2 ? 0 : Math.min(sorted.length - 1, Math.max(frac > 0 ? 1 : 0, Math.round(sorted.length * frac)));
  const shuffled = shuffleInPlace([...sorted], mulberry32(seed));
  const val = shuffled.slice(0, nVal).sort();
  return { train: sorted.filter((v) => !val.includes(v)), val, seed };
}
