/**
 * Small parsers for command-line values (integers, floats, size triples) that fail with a
 * ConfigError naming the flag. Parsing only; defaults live with each command.
 */
import { InvalidArgumentError } from 'commander';
import type { Vec3 } from '../io/volume';

export function intArg(name: string, min = -Infinity): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number${min > -Infinity ? ` ≥ ${min}` : ''} (got '${v}').`);
    return n;
  };
}

export function floatArg(name: string, min = -Infinity, max = Infinity): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a number in [${min}, ${max}] (got '${v}').`);
    return n;
  };
}

/** Collects three integers given as `--size X Y Z`. */
export function vec3Arg(name: string): (v: string, prev: number[] | undefined) => number[] {
  return (v: string, prev: number[] | undefined) => {
    const list = prev !== undefined && prev.length < 3 ? [...prev] : [];
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} takes three whole numbers X Y Z (got '${v}').`);
    list.push(n);
    return list;
  };
}

export function toVec3(name: string, v: number[] | undefined): Vec3 | undefined {
  if (v === undefined) return undefined;
  if (v.length !== 3) throw new InvalidArgumentError(`${name} takes three numbers X Y Z (got ${v.length}).`);
  return [v[0] ?? 0, v[1] ?? 0, v[2] ?? 0];
}

/** Commander keeps `--mri_dir` as `mri_dir`; our option interfaces are camelCase. */
export function camelize<T>(opts: Record<string, unknown>): T {
  return Object.fromEntries(Object.entries(opts).map(([k, v]) => [k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()), v])) as T;
}
