/**
 * The preprocessing parameters (every step's settings, with the usual defaults), their
 * validation and their hash. The hash is stored in each cache file: a cache built with other
 * parameters is stale. Parameters only; the steps live in their own modules.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../errors';

/** Bump when the pipeline's output changes for the same parameters. */
export const PIPELINE_VERSION = 3; // 3: N4 shrinks on ITK's voxel grid for sides not a multiple of 4
/**
 * Version of the rigid registration's settings (src/register/elastix.ts), hashed only into caches
 * built with `--register rigid`, so a change there rebuilds registered caches and no others.
 * 2: 3 levels, 250 iterations × 2048 samples, recursive pyramids (was 4 × 400 × 4096, smoothing).
 */
export const REGISTRATION_VERSION = 2;

export interface PreprocessParams {
  n4: {
    /** Run N4 at all (default true). */
    enabled: boolean;
    shrinkFactor: number;
    iterations: number[];
    convergenceThreshold: number;
    splineOrder: number;
    controlPoints: number;
  };
  headMask: { otsuFraction: number; closingMm: number };
  ctArtifacts: { dilateMm: number; airHu: number };
  clip: { mriLowPercentile: number; mriHighPercentile: number; ctMinHu: number; ctMaxHu: number };
  crop: { marginMm: number };
  resize: { size: number };
  /** Rigid CT-to-MRI registration before the CT steps (absent: the pair is taken as co-registered). */
  register?: { method: 'rigid' };
}

export const DEFAULT_PREPROCESS_PARAMS: PreprocessParams = {
  n4: { enabled: true, shrinkFactor: 4, iterations: [50, 50, 50, 50], convergenceThreshold: 0.001, splineOrder: 3, controlPoints: 4 },
  headMask: { otsuFraction: 0.85, closingMm: 4 },
  ctArtifacts: { dilateMm: 5, airHu: -1000 },
  clip: { mriLowPercentile: 0.5, mriHighPercentile: 99.5, ctMinHu: -1024, ctMaxHu: 3000 },
  crop: { marginMm: 8 },
  resize: { size: 256 },
};

/** Deep-merges overrides onto the defaults and validates the result. */
export function resolvePreprocessParams(overrides: DeepPartial<PreprocessParams> = {}): PreprocessParams {
  const d = DEFAULT_PREPROCESS_PARAMS;
  const p: PreprocessParams = {
    n4: { ...d.n4, ...overrides.n4, iterations: [...(overrides.n4?.iterations ?? d.n4.iterations)].map(Number) },
    headMask: { ...d.headMask, ...overrides.headMask },
    ctArtifacts: { ...d.ctArtifacts, ...overrides.ctArtifacts },
    clip: { ...d.clip, ...overrides.clip },
    crop: { ...d.crop, ...overrides.crop },
    resize: { ...d.resize, ...overrides.resize },
  };
  const reg = overrides.register?.method as string | undefined;
  if (reg !== undefined && reg !== 'rigid') throw new ConfigError(`--register ${reg}: use none (pairs already co-registered) or rigid.`);
  if (reg === 'rigid') p.register = { method: 'rigid' };
  const s = p.resize.size;
  if (!Number.isInteger(s) || s < 16 || s > 1024) throw new ConfigError(`--image_size ${s}: must be a whole number in 16..1024 (256 for real data).`);
  if (!(p.clip.ctMinHu < p.clip.ctMaxHu)) throw new ConfigError(`CT window ${p.clip.ctMinHu}..${p.clip.ctMaxHu} HU is empty: --ct_min_hu must be below --ct_max_hu.`);
  if (!(p.clip.mriLowPercentile >= 0 && p.clip.mriLowPercentile < p.clip.mriHighPercentile && p.clip.mriHighPercentile <= 100)) {
    throw new ConfigError(`MRI clip percentiles ${p.clip.mriLowPercentile}/${p.clip.mriHighPercentile}: need 0 ≤ low < high ≤ 100.`);
  }
  if (!(p.crop.marginMm >= 0)) throw new ConfigError(`crop margin ${p.crop.marginMm} mm must be ≥ 0.`);
  return p;
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends (infer U)[] ? U[] : T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** Stable JSON (sorted keys) of any JSON value. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Hash of the parameters and the pipeline version (and, when registering, the registration's; 16 hex digits). */
export function paramsHash(p: PreprocessParams): string {
  const versions = p.register !== undefined ? { v: PIPELINE_VERSION, rv: REGISTRATION_VERSION } : { v: PIPELINE_VERSION };
  return createHash('sha256').update(canonicalJson({ ...versions, p })).digest('hex').slice(0, 16);
}
