/**
 * N4 bias field correction (Tustison, Avants, Cook, Zheng, Egan, Yushkevich & Gee, "N4ITK:
 * Improved N3 Bias Correction", IEEE Transactions on Medical Imaging 29(6):1310–1320, 2010),
 * following ITK's N4BiasFieldCorrectionImageFilter::GenerateData iteration by iteration:
 *
 *   log image v = log(I) on the foreground; log field f = 0; lattice Φ = 0
 *   for each fitting level:
 *     repeat until max iterations or convergence <= threshold:
 *       u      = sharpen(v - f)                    histogram deconvolution, see sharpen.ts
 *       r      = (v - f) - u                       residual log bias
 *       Φ     += BSplineFit(r)                     one-level Lee et al. approximation on Φ's lattice
 *       f'     = Φ evaluated on the shrunk grid
 *       convergence = CV over the foreground of exp(f - f')   (CalculateConvergenceMeasurement)
 *       f      = f'
 *     refine Φ (spans doubled per axis) unless this was the last level
 *   corrected = I / exp(Φ at full resolution)
 *
 * Differences from ITK, all deliberate and documented:
 * - Fitting runs on a shrunk image like ANTs' N4BiasFieldCorrection, and the B-spline parametric
 *   domain is defined on the full-resolution grid (first to last voxel centre per axis), with
 *   each shrunk voxel placed where it came from (the picked voxel, or its block's centre). The fit
 *   and the full-resolution reconstruction therefore share one physical domain exactly. (ANTs
 *   instead maps the full-resolution extent onto the lattice fitted on the shrunk extent, which
 *   stretches the field by about (n - 1) / (n - factor) per axis.)
 * - shrinkMethod 'mean' (block averages, better for very noisy images) is offered besides ITK's
 *   subsampling (the default).
 * - Voxels that are not finite and positive never enter the fit (ITK keeps non-positive masked
 *   voxels in the "log" image as they are).
 * - Without a mask an Otsu foreground is used rather than every voxel (see mask.ts).
 */

import { ConfigError } from '../../errors';
import type { Vec3, Volume } from '../../io/volume';
import { buildAxisBasis, type AxisBasis } from './bspline-basis';
import { evaluateLatticeRows, SampleEvaluator } from './bspline-eval';
import { LatticeFitter } from './bspline-fit';
import { addLatticeInPlace, refineLattice, zeroLattice, type ControlPointLattice } from './lattice';
import { defaultForegroundMask } from './mask';
import { resolveN4Options, type N4Options } from './options';
import { samplesFromMask } from './samples';
import { Sharpener } from './sharpen';
import { shrinkImage } from './shrink';

/** Wall-clock time of the stages, in milliseconds. */
export interface N4Timing {
  /** Foreground mask (default Otsu mask or combining the given one with positivity). */
  maskMs: number;
  /** Shrinking the image and mask. */
  shrinkMs: number;
  /** The iterative fit on the shrunk image (all levels). */
  fitMs: number;
  /** Evaluating the field at full resolution and dividing. */
  reconstructMs: number;
  /** Everything. */
  totalMs: number;
}

/** Result of {@link n4BiasFieldCorrection}. */
export interface N4Result {
  /** The bias-corrected image at full resolution: image / biasField, same geometry as the input. */
  corrected: Volume;
  /**
   * The multiplicative bias field exp(logField) at full resolution. Its overall scale is
   * arbitrary (N4 fixes no mean), so `corrected` may be globally brighter or darker than the input.
   */
  biasField: Volume;
  /** The log bias field (the B-spline itself) at full resolution. */
  logField: Volume;
  /** Iterations run at each fitting level. */
  iterationsRun: number[];
  /** Last convergence measure of each fitting level (Infinity for a level that ran no iteration). */
  convergence: number[];
  /** Final control-point lattice of the log field (parametric domain: first to last voxel centre). */
  lattice: ControlPointLattice;
  /** Dimensions of the shrunk grid the fit ran on. */
  shrunkDims: Vec3;
  /** Foreground voxels used: at full resolution and on the shrunk grid. */
  foregroundVoxels: { full: number; shrunk: number };
  /** Intensity threshold of the default mask (undefined when a mask was given). */
  maskThreshold?: number;
  /** Stage timings. */
  timing: N4Timing;
}

function copyGeometry(image: Volume<ArrayLike<number>>, data: Float32Array): Volume {
  return {
    data,
    dims: [image.dims[0], image.dims[1], image.dims[2]],
    spacing: [image.spacing[0], image.spacing[1], image.spacing[2]],
    affine: image.affine.map((row) => [...row]),
  };
}

/** Per-axis bases of a set of positions for the given lattice, on the domain [0, n - 1]. */
function axesFor(
  positions: readonly [ArrayLike<number>, ArrayLike<number>, ArrayLike<number>],
  dims: Vec3,
  size: Vec3,
  order: number,
): [AxisBasis, AxisBasis, AxisBasis] {
  return [0, 1, 2].map((d) =>
    buildAxisBasis(positions[d] as ArrayLike<number>, 0, (dims[d] as number) - 1, size[d] as number, order),
  ) as [AxisBasis, AxisBasis, AxisBasis];
}

/**
 * ITK's CalculateConvergenceMeasurement: coefficient of variation (sample standard deviation /
 * mean, Welford's running update) of exp(before - after) over the foreground.
 */
function convergenceMeasure(before: Float64Array, after: Float64Array): number {
  const n = before.length;
  if (n < 2) return 0;
  let mu = 0;
  let m2 = 0;
  for (let i = 0; i < n; i++) {
    const p = Math.exp((before[i] as number) - (after[i] as number));
    const k = i + 1;
    const d = p - mu;
    mu += d / k;
    m2 += d * (p - mu);
  }
  return Math.sqrt(m2 / (n - 1)) / mu;
}

/**
 * Estimates and removes the smooth multiplicative intensity bias of an MR volume with N4.
 * Synchronous and pure (the input is not modified); any numeric voxel array is accepted, the
 * outputs are Float32Array volumes with the input's geometry. See {@link N4Options} for the
 * parameters; throws ConfigError for invalid options or when no usable foreground voxel exists.
 *
 * @example
 *   const { corrected, biasField } = n4BiasFieldCorrection(mri, { mask: headMask });
 */
export function n4BiasFieldCorrection(image: Volume<ArrayLike<number>>, options: N4Options = {}): N4Result {
  const tStart = performance.now();
  const opts = resolveN4Options(image, options);
  const progress = opts.onProgress;
  const dims: Vec3 = [image.dims[0], image.dims[1], image.dims[2]];
  const [nx, ny, nz] = dims;
  const total = nx * ny * nz;
  const data = image.data;

  // 1. Foreground: the given (or default) mask restricted to finite positive intensities.
  progress?.({ stage: 'mask', done: 0, total: 1 });
  let mask: Uint8Array;
  let maskThreshold: number | undefined;
  if (opts.mask === undefined) {
    const d = defaultForegroundMask(data);
    mask = d.mask;
    maskThreshold = d.threshold;
  } else {
    mask = new Uint8Array(total);
    const m = opts.mask;
    for (let i = 0; i < total; i++) {
      const v = data[i] as number;
      if (m[i] !== 0 && v > 0 && v < Infinity) mask[i] = 1;
    }
  }
  let foreground = 0;
  for (let i = 0; i < total; i++) foreground += mask[i] as number;
  if (foreground === 0) {
    throw new ConfigError(
      'N4 bias field correction: no foreground voxel with a finite positive intensity ' +
        '(check the mask, or the image is empty / not positive-valued)',
    );
  }
  const tMask = performance.now();
  progress?.({ stage: 'mask', done: 1, total: 1 });

  // 2. Shrink, then take logs on the shrunk foreground (compact, one entry per sample).
  progress?.({ stage: 'shrink', done: 0, total: 1 });
  const shrunk = shrinkImage(data, mask, dims, opts.shrinkFactor, opts.shrinkMethod);
  const samples = samplesFromMask(shrunk.mask, shrunk.dims);
  if (samples.count === 0) {
    throw new ConfigError(
      `N4 bias field correction: the foreground (${foreground} voxels) vanishes at shrink factor ` +
        `${opts.shrinkFactor}; use a smaller shrinkFactor or a larger mask`,
    );
  }
  const count = samples.count;
  const logInput = new Float64Array(count);
  for (let j = 0; j < count; j++) logInput[j] = Math.log(shrunk.data[samples.index[j] as number] as number);
  const tShrink = performance.now();
  progress?.({ stage: 'shrink', done: 1, total: 1 });

  // 3. The N4 iterations.
  const order = opts.splineOrder;
  let lattice = zeroLattice(opts.controlPoints, order);
  let logField = new Float64Array(count);
  let nextField = new Float64Array(count);
  const logUncorrected = logInput.slice();
  const sharpened = new Float64Array(count);
  const residual = new Float64Array(count);
  const sharpener = new Sharpener({
    bins: opts.histogramBins,
    fwhm: opts.biasFieldFwhm,
    wienerNoise: opts.wienerNoise,
  });
  const levels = opts.iterations.length;
  const totalIterations = opts.iterations.reduce((a, b) => a + b, 0);
  const iterationsRun: number[] = [];
  const convergence: number[] = [];
  let done = 0;

  for (let level = 0; level < levels; level++) {
    const maxIterations = opts.iterations[level] as number;
    const axes = axesFor(shrunk.positions, dims, lattice.size, order);
    const fitter = new LatticeFitter(samples, axes);
    const evaluator = new SampleEvaluator(samples, axes);
    let measure = Infinity;
    let it = 0;
    while (it < maxIterations && measure > opts.convergenceThreshold) {
      // Sharpen the current estimate of the uncorrected log image; the difference is the
      // residual log bias, which is smoothed by the B-spline fit and added to the lattice.
      sharpener.sharpen(logUncorrected, sharpened);
      for (let j = 0; j < count; j++) residual[j] = (logUncorrected[j] as number) - (sharpened[j] as number);
      addLatticeInPlace(lattice, fitter.fit(residual));
      evaluator.evaluate(lattice, nextField);
      measure = convergenceMeasure(logField, nextField);
      const swap = logField;
      logField = nextField;
      nextField = swap;
      for (let j = 0; j < count; j++) logUncorrected[j] = (logInput[j] as number) - (logField[j] as number);
      it++;
      done++;
      progress?.({
        stage: 'fit',
        done,
        total: totalIterations,
        message: `level ${level + 1}/${levels}, iteration ${it}/${maxIterations}, convergence ${measure.toPrecision(4)}`,
      });
    }
    done += maxIterations - it;
    iterationsRun.push(it);
    convergence.push(measure);
    // Between levels the lattice is refined: 2 (n - order) + order control points per axis.
    if (level < levels - 1) lattice = refineLattice(lattice);
  }
  const tFit = performance.now();

  // 4. Full-resolution reconstruction: every voxel centre on the same parametric domain.
  progress?.({ stage: 'reconstruct', done: 0, total: 1 });
  const fullPositions = [0, 1, 2].map((d) => {
    const p = new Float64Array(dims[d] as number);
    for (let i = 0; i < p.length; i++) p[i] = i;
    return p;
  }) as [Float64Array, Float64Array, Float64Array];
  const fullAxes = axesFor(fullPositions, dims, lattice.size, order);
  const logOut = new Float32Array(total);
  const biasOut = new Float32Array(total);
  const correctedOut = new Float32Array(total);
  evaluateLatticeRows(lattice, fullAxes, (row, values) => {
    const base = row * nx;
    for (let x = 0; x < nx; x++) {
      const lf = values[x] as number;
      const b = Math.exp(lf);
      const i = base + x;
      logOut[i] = lf;
      biasOut[i] = b;
      correctedOut[i] = (data[i] as number) / b;
    }
  });
  const tEnd = performance.now();
  progress?.({ stage: 'reconstruct', done: 1, total: 1 });

  const result: N4Result = {
    corrected: copyGeometry(image, correctedOut),
    biasField: copyGeometry(image, biasOut),
    logField: copyGeometry(image, logOut),
    iterationsRun,
    convergence,
    lattice,
    shrunkDims: shrunk.dims,
    foregroundVoxels: { full: foreground, shrunk: count },
    timing: {
      maskMs: tMask - tStart,
      shrinkMs: tShrink - tMask,
      fitMs: tFit - tShrink,
      reconstructMs: tEnd - tFit,
      totalMs: tEnd - tStart,
    },
  };
  if (maskThreshold !== undefined) result.maskThreshold = maskThreshold;
  return result;
}
