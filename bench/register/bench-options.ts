/**
 * Registration options shared by the bench/register scripts: the command-line flags
 * --iterations/--samples/--resolutions and --previous-defaults (the defaults before 2026-12-02:
 * 4 levels × 400 iterations × 4096 samples, smoothing pyramids), as RegisterOptions.
 * Must not run registration.
 */
import type { RegisterOptions } from '../../src/register/register';

/** The registration defaults before 2026-12-02, for side-by-side timings. */
export const PREVIOUS_DEFAULTS: RegisterOptions = {
  resolutions: 4,
  iterations: 400,
  spatialSamples: 4096,
  parameterOverrides: { FixedImagePyramid: ['FixedSmoothingImagePyramid'], MovingImagePyramid: ['MovingSmoothingImagePyramid'] },
};

/** parseArgs option specs of the flags. */
export const REGISTER_FLAGS = {
  iterations: { type: 'string' },
  samples: { type: 'string' },
  resolutions: { type: 'string' },
  'previous-defaults': { type: 'boolean', default: false },
} as const;

/** RegisterOptions from the parsed flags (explicit numbers override --previous-defaults). */
export function registerOptionsFromFlags(v: { iterations?: string; samples?: string; resolutions?: string; 'previous-defaults'?: boolean }): RegisterOptions {
  const o: RegisterOptions = v['previous-defaults'] === true ? { ...PREVIOUS_DEFAULTS } : {};
  if (v.iterations !== undefined) o.iterations = Number(v.iterations);
  if (v.samples !== undefined) o.spatialSamples = Number(v.samples);
  if (v.resolutions !== undefined) o.resolutions = Number(v.resolutions);
  return o;
}
