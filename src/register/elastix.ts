/**
 * Runs rigid registration with elastix (the @itk-wasm/elastix WebAssembly build, Node entry
 * point, loaded through importEsm because it is ESM-only): Euler transform, Advanced Mattes mutual
 * information, multi-resolution recursive (downsampling) pyramids, adaptive stochastic gradient
 * descent (defaults: 3 levels × 250 iterations × 2048 random samples; bench/README.md). Returns
 * the optimised transform as ITK gives it (LPS, angles in radians, centre of rotation) plus the
 * parameter maps used and returned.
 * Must not resample images (resample-grid.ts does, for one code path) and must not judge quality.
 * This wasm build has no fixed-mask input (its CLI takes --fixed, --moving and initial transforms
 * only), so the caller restricts the fixed image to the head by cropping it.
 */

import { Mri2ctError } from '../errors';
import type { Vec3, Volume } from '../io/volume';
import { importEsm } from '../util/esm';
import { parseNumbers, volumeToItkImage, type ItkImage } from './itk-image';

/** An elastix parameter map: every value a list of strings. */
export type ParameterMap = Record<string, string[]>;

/** Options of the elastix run (all have defaults; see {@link ELASTIX_DEFAULTS}). */
export interface ElastixRigidOptions {
  /** Levels of the smoothing pyramid (coarse to fine). */
  resolutions?: number;
  /** Optimiser iterations per level. */
  iterations?: number;
  /** Random samples per iteration for the metric. */
  spatialSamples?: number;
  /** Histogram bins of Mattes mutual information. */
  histogramBins?: number;
  /** Seed of elastix's random sampler (runs are reproducible for a given seed). */
  seed?: number;
  /**
   * elastix parameters set on top of ours (e.g. `{ FixedImagePyramidSchedule: ['4', ...] }`), for
   * experiments and benchmarks; unchecked, elastix reports bad values.
   */
  parameterOverrides?: ParameterMap;
}

/** The numeric options, all given. */
type ElastixNumbers = Required<Omit<ElastixRigidOptions, 'parameterOverrides'>>;

/** Defaults of {@link ElastixRigidOptions}. */
export const ELASTIX_DEFAULTS = {
  resolutions: 3,
  iterations: 250,
  spatialSamples: 2048,
  histogramBins: 32,
  seed: 20240601,
} as const satisfies ElastixNumbers;

/** The optimised Euler transform, in ITK's convention. */
export interface ElastixRigidResult {
  /** Rotation angles about LPS x, y, z (radians), ITK Euler3D order (R = Rz·Rx·Ry). */
  anglesLps: Vec3;
  /** Translation in LPS mm. */
  translationLps: Vec3;
  /** Centre of rotation in LPS mm. */
  centerLps: Vec3;
  /** The parameter map elastix ran with. */
  parameterMap: ParameterMap;
  /** The transform parameter map elastix returned (TransformParameters, CenterOfRotationPoint, ...). */
  transformParameterMap: ParameterMap;
  /** Wall time of the elastix call, seconds. */
  seconds: number;
}

interface ElastixModule {
  defaultParameterMapNode(transformName: string, options?: { numberOfResolutions?: number }): Promise<{ parameterMap: ParameterMap }>;
  elastixNode(
    parameterObject: ParameterMap[],
    options: { fixed?: ItkImage; moving?: ItkImage },
  ): Promise<{ transformParameterObject: ParameterMap[] }>;
}

/** Loads @itk-wasm/elastix once per process (or worker thread). */
export function loadElastix(): Promise<ElastixModule> {
  return importEsm<ElastixModule>('@itk-wasm/elastix');
}

function resolve(options: ElastixRigidOptions): ElastixNumbers {
  const o: Record<string, number> = { ...ELASTIX_DEFAULTS };
  for (const k of Object.keys(ELASTIX_DEFAULTS)) {
    const v = (options as Record<string, unknown>)[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Mri2ctError(`registration option ${k} must be a positive integer, got ${String(v)}`);
    o[k] = v;
  }
  return o as ElastixNumbers;
}

/** The rigid parameter map: elastix's default "rigid" map with our choices on top. */
export async function rigidParameterMap(options: ElastixRigidOptions = {}): Promise<ParameterMap> {
  const o = resolve(options);
  const elastix = await loadElastix();
  const { parameterMap } = await elastix.defaultParameterMapNode('rigid', { numberOfResolutions: o.resolutions });
  return {
    ...parameterMap,
    Transform: ['EulerTransform'],
    Metric: ['AdvancedMattesMutualInformation'],
    NumberOfHistogramBins: [String(o.histogramBins)],
    // Recursive pyramids: the coarse levels are downsampled, not only smoothed, copies (cheap to
    // build at 1 mm), and the finest level is the image itself.
    FixedImagePyramid: ['FixedRecursiveImagePyramid'],
    MovingImagePyramid: ['MovingRecursiveImagePyramid'],
    Optimizer: ['AdaptiveStochasticGradientDescent'],
    MaximumNumberOfIterations: [String(o.iterations)],
    NumberOfSpatialSamples: [String(o.spatialSamples)],
    ImageSampler: ['RandomCoordinate'],
    NewSamplesEveryIteration: ['true'],
    AutomaticScalesEstimation: ['true'],
    AutomaticTransformInitialization: ['false'],
    RandomSeed: [String(o.seed)],
    // The moving image is resampled by resample-grid.ts from the returned transform.
    WriteResultImage: ['false'],
    DefaultPixelValue: ['-1000'],
    ...(options.parameterOverrides ?? {}),
  };
}

/**
 * Registers `moving` to `fixed`: the result maps fixed-world points to moving-world points (ITK
 * LPS). Throws Mri2ctError (with elastix's message) when elastix fails, e.g. when too few samples
 * fall inside both images.
 */
export async function elastixRigid(
  fixed: Volume<ArrayLike<number>>,
  moving: Volume<ArrayLike<number>>,
  options: ElastixRigidOptions & { what?: string } = {},
): Promise<ElastixRigidResult> {
  const what = options.what ?? 'the image pair';
  const parameterMap = await rigidParameterMap(options);
  const elastix = await loadElastix();
  const t0 = performance.now();
  let out: { transformParameterObject: ParameterMap[] };
  try {
    out = await elastix.elastixNode([parameterMap], {
      fixed: volumeToItkImage(fixed, 'fixed'),
      moving: volumeToItkImage(moving, 'moving'),
    });
  } catch (cause) {
    const detail = String(cause instanceof Error ? cause.message : cause).split('\n').filter((l) => l.trim() !== '').slice(-3).join(' ');
    throw new Mri2ctError(
      `elastix could not register ${what}: ${detail || 'the pipeline failed without a message'}; ` +
        'check that the two images show the same head and overlap in world coordinates',
      { cause },
    );
  }
  const seconds = (performance.now() - t0) / 1000;
  const tp = out.transformParameterObject[out.transformParameterObject.length - 1];
  if (tp === undefined) throw new Mri2ctError(`elastix returned no transform for ${what}`);
  const params = parseNumbers(tp.TransformParameters, 6, 'TransformParameters');
  const center = parseNumbers(tp.CenterOfRotationPoint, 3, 'CenterOfRotationPoint');
  if ((tp.ComputeZYX?.[0] ?? 'false') !== 'false') throw new Mri2ctError('elastix returned a ZYX Euler transform; only the default (ComputeZYX false) is supported');
  return {
    anglesLps: [params[0], params[1], params[2]] as Vec3,
    translationLps: [params[3], params[4], params[5]] as Vec3,
    centerLps: center as Vec3,
    parameterMap,
    transformParameterMap: tp,
    seconds,
  };
}
