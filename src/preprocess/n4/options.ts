/**
 * Options of {@link n4BiasFieldCorrection}, their defaults (those of ITK's
 * N4BiasFieldCorrectionImageFilter as ANTs and SimpleITK users run it) and their validation.
 */

import { ConfigError } from '../../errors';
import type { Vec3, Volume } from '../../io/volume';
import type { ShrinkMethod } from './shrink';

/** A progress report of {@link n4BiasFieldCorrection}. */
export interface N4ProgressEvent {
  /** 'mask' | 'shrink' | 'fit' | 'reconstruct'. */
  stage: 'mask' | 'shrink' | 'fit' | 'reconstruct';
  /** Units of work done in this stage (for 'fit': iterations run so far, all levels). */
  done: number;
  /** Units of work of the stage (for 'fit': the sum of the maximum iterations of all levels). */
  total: number;
  /** Human-readable detail, e.g. level, iteration and convergence value. */
  message?: string;
}

/** Options of N4 bias field correction. Every field is optional. */
export interface N4Options {
  /**
   * Foreground mask, one byte per voxel in the image's voxel order; non-zero = use the voxel to
   * estimate the field. Voxels whose intensity is not a finite positive number are always left
   * out (N4 works on log intensities). Default: finite positive voxels brighter than half of
   * Otsu's threshold of all positive intensities (separates a head from the air around it and
   * keeps most of it; pass a mask for skull-stripped images). The field is estimated from the foreground but applied to
   * the whole volume.
   */
  mask?: Uint8Array;
  /**
   * Integer downsampling factor applied on every axis before fitting (ANTs' `--shrink-factor`).
   * The field is smooth, so fitting on a shrunk image costs little accuracy. Default 4.
   */
  shrinkFactor?: number;
  /**
   * How the image is shrunk. 'subsample' (default) keeps one voxel per factor^3 block, like ITK's
   * ShrinkImageFilter in ANTs' N4: pure-tissue intensities, so sharp histogram peaks. 'mean'
   * averages the foreground voxels of each block: much less noise but partial-volume mixtures
   * between tissues. On synthetic heads 'subsample' is better at usual MR noise levels (WM
   * SNR ~ 30) and 'mean' clearly better for very noisy images (WM SNR ~ 12), where N4 on
   * subsampled voxels (ITK's included) fails to recover the field.
   */
  shrinkMethod?: ShrinkMethod;
  /**
   * Maximum number of iterations per fitting level; its length is the number of levels, and the
   * control-point lattice is refined (spans doubled) between consecutive levels. Default
   * [50, 50, 50, 50].
   */
  iterations?: number[];
  /**
   * A level stops early once the coefficient of variation of exp(change of the log field) over
   * the foreground of the shrunk image drops to this value or below (ITK's
   * CalculateConvergenceMeasurement). Default 0.001.
   */
  convergenceThreshold?: number;
  /** Degree of the B-spline modelling the log field, 1–7. Default 3 (cubic). */
  splineOrder?: number;
  /**
   * Control points per axis at the first (coarsest) level, one number for all axes or one per
   * axis; each must exceed splineOrder. Level l has 2^l * (n - order) + order of them.
   * Default 4 (with a cubic spline: a single polynomial patch at the first level).
   */
  controlPoints?: number | Vec3;
  /** Number of bins of the log-intensity histogram that is sharpened. Default 200. */
  histogramBins?: number;
  /**
   * Full width at half maximum of the Gaussian modelling the blur of the log-intensity histogram
   * by the residual bias field. Default 0.15.
   */
  biasFieldFwhm?: number;
  /** Noise term of the Wiener deconvolution of that Gaussian. Default 0.01. */
  wienerNoise?: number;
  /** Called synchronously as the work progresses. */
  onProgress?: (event: N4ProgressEvent) => void;
}

/** Options with every default filled in. */
export interface ResolvedN4Options {
  mask: Uint8Array | undefined;
  shrinkFactor: number;
  shrinkMethod: ShrinkMethod;
  iterations: number[];
  convergenceThreshold: number;
  splineOrder: number;
  controlPoints: Vec3;
  histogramBins: number;
  biasFieldFwhm: number;
  wienerNoise: number;
  onProgress: ((event: N4ProgressEvent) => void) | undefined;
}

/** ITK's usual N4 settings (as run by ANTs' N4BiasFieldCorrection with `-s 4 -c [50x50x50x50,0.001]`). */
export const N4_DEFAULTS = {
  shrinkFactor: 4,
  shrinkMethod: 'subsample' as ShrinkMethod,
  iterations: [50, 50, 50, 50] as readonly number[],
  convergenceThreshold: 0.001,
  splineOrder: 3,
  controlPoints: 4,
  histogramBins: 200,
  biasFieldFwhm: 0.15,
  wienerNoise: 0.01,
} as const;

const MAX_LEVELS = 10;
const MAX_ORDER = 7;

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

function fail(what: string): never {
  throw new ConfigError(`N4 bias field correction: ${what}`);
}

/** Validates the image and the options and fills in defaults. Throws ConfigError. */
export function resolveN4Options(image: Volume<ArrayLike<number>>, options: N4Options = {}): ResolvedN4Options {
  const dims = image.dims;
  if (!Array.isArray(dims) || dims.length !== 3 || !dims.every((d) => isInt(d) && d >= 1)) {
    fail(`image dims must be three positive integers, got ${JSON.stringify(dims)}`);
  }
  const n = dims[0] * dims[1] * dims[2];
  if (image.data.length !== n) {
    fail(`image has ${image.data.length} voxels but dims ${dims.join('×')} need ${n}`);
  }

  const o = options;
  const shrinkFactor = o.shrinkFactor ?? N4_DEFAULTS.shrinkFactor;
  if (!isInt(shrinkFactor) || shrinkFactor < 1 || shrinkFactor > 64) {
    fail(`shrinkFactor must be an integer from 1 to 64, got ${String(shrinkFactor)}`);
  }
  const shrinkMethod = o.shrinkMethod ?? N4_DEFAULTS.shrinkMethod;
  if (shrinkMethod !== 'mean' && shrinkMethod !== 'subsample') {
    fail(`shrinkMethod must be 'mean' or 'subsample', got ${String(shrinkMethod)}`);
  }

  const iterations = o.iterations ?? [...N4_DEFAULTS.iterations];
  if (!Array.isArray(iterations) || iterations.length < 1 || iterations.length > MAX_LEVELS) {
    fail(`iterations must be an array with one entry per fitting level (1 to ${MAX_LEVELS} levels)`);
  }
  for (const it of iterations) {
    if (!isInt(it) || it < 0) fail(`iterations must be non-negative integers, got ${JSON.stringify(iterations)}`);
  }

  const convergenceThreshold = o.convergenceThreshold ?? N4_DEFAULTS.convergenceThreshold;
  if (typeof convergenceThreshold !== 'number' || !(convergenceThreshold >= 0) || !Number.isFinite(convergenceThreshold)) {
    fail(`convergenceThreshold must be a finite number >= 0, got ${String(convergenceThreshold)}`);
  }

  const splineOrder = o.splineOrder ?? N4_DEFAULTS.splineOrder;
  if (!isInt(splineOrder) || splineOrder < 1 || splineOrder > MAX_ORDER) {
    fail(`splineOrder must be an integer from 1 to ${MAX_ORDER}, got ${String(splineOrder)}`);
  }

  const cpIn = o.controlPoints ?? N4_DEFAULTS.controlPoints;
  const controlPoints: Vec3 = typeof cpIn === 'number' ? [cpIn, cpIn, cpIn] : (cpIn as Vec3);
  if (!Array.isArray(controlPoints) || controlPoints.length !== 3) {
    fail(`controlPoints must be a number or three numbers, got ${JSON.stringify(cpIn)}`);
  }
  for (const c of controlPoints) {
    if (!isInt(c) || c <= splineOrder || c > 1024) {
      fail(`controlPoints must be integers greater than splineOrder (${splineOrder}), got ${JSON.stringify(cpIn)}`);
    }
  }
  // The finest lattice must stay reasonable (2^(levels-1) (n - order) + order per axis).
  for (const c of controlPoints) {
    const finest = Math.pow(2, iterations.length - 1) * (c - splineOrder) + splineOrder;
    if (finest > 4096) fail(`controlPoints ${c} with ${iterations.length} levels gives ${finest} control points per axis`);
  }

  const histogramBins = o.histogramBins ?? N4_DEFAULTS.histogramBins;
  if (!isInt(histogramBins) || histogramBins < 2 || histogramBins > 65536) {
    fail(`histogramBins must be an integer from 2 to 65536, got ${String(histogramBins)}`);
  }
  const biasFieldFwhm = o.biasFieldFwhm ?? N4_DEFAULTS.biasFieldFwhm;
  if (typeof biasFieldFwhm !== 'number' || !(biasFieldFwhm > 0) || !Number.isFinite(biasFieldFwhm)) {
    fail(`biasFieldFwhm must be a finite number > 0, got ${String(biasFieldFwhm)}`);
  }
  const wienerNoise = o.wienerNoise ?? N4_DEFAULTS.wienerNoise;
  if (typeof wienerNoise !== 'number' || !(wienerNoise > 0) || !Number.isFinite(wienerNoise)) {
    fail(`wienerNoise must be a finite number > 0, got ${String(wienerNoise)}`);
  }

  const mask = o.mask;
  if (mask !== undefined) {
    if (!(mask instanceof Uint8Array)) fail('mask must be a Uint8Array');
    if (mask.length !== n) fail(`mask has ${mask.length} voxels but the image has ${n}`);
  }
  const onProgress = o.onProgress;
  if (onProgress !== undefined && typeof onProgress !== 'function') fail('onProgress must be a function');

  return {
    mask,
    shrinkFactor,
    shrinkMethod,
    iterations: [...iterations],
    convergenceThreshold,
    splineOrder,
    controlPoints: [controlPoints[0], controlPoints[1], controlPoints[2]],
    histogramBins,
    biasFieldFwhm,
    wienerNoise,
    onProgress,
  };
}
