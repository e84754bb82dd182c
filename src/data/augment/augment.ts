/**
 * Batch augmentation of MRI/CT training pairs as TensorFlow ops on the current backend (so on the
 * GPU under tfjs-node-gpu). Inputs are [B, H, W, C] batches in [0, 1] as stored in the cache.
 * Per call (one call per batch, so a new draw every epoch) and per sample:
 *  1. conversion to [-1, 1] (x*2 - 1), always;
 *  then, with probability augProb, the same random geometry for the MRI and the CT of the pair:
 *  2. rotation by U(-maxRotationDeg, +maxRotationDeg) about the image centre, bilinear,
 *     background -1;
 *  3. horizontal flip, 4. vertical flip (folded into the rotation's matrix: one resampling);
 *  5. intensity scaling by U(1 - intensityScale, 1 + intensityScale) in [-1, 1] space, MRI only
 *     unless scaleCt (same factor for both), clipped back to [-1, 1]. Being in [-1, 1] space,
 *     a factor f < 1 also lifts the background from -1 to -f (as specified).
 * MRI and CT are resampled with the same per-sample matrices; only the selected samples are
 * gathered, transformed and scattered back, so the others skip steps 2-5 entirely.
 * This module must not dispose its inputs, leak tensors (everything runs in tf.tidy), read image
 * data back to the host (only the host-made index/factor tensors cross), or use unseeded randomness
 * when a seed is given.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, PairMismatchError } from '../../errors';
import { createRng, randomSeed, validateSeed, type Rng } from './random';
import {
  geometryTransform,
  isIdentityTransform,
  projectiveTransform,
  transformRouteFor,
  type TransformRoute,
  type TransformRow,
} from './rotate';

/** Augmentation settings; every field is optional (defaults below). */
export interface AugmentOptions {
  /**
   * Probability that a sample is augmented at all (steps 2-5); a sample not selected only gets
   * the conversion to [-1, 1]. In [0, 1]; 0 makes `apply` exactly `toSigned`. Default 0.8.
   */
  augProb?: number;
  /**
   * Largest rotation in degrees; each augmented sample turns by an angle drawn uniformly in
   * [-maxRotationDeg, +maxRotationDeg] about the image centre. In [0, 180]; 0 disables rotation.
   * Default 15.
   */
  maxRotationDeg?: number;
  /**
   * Horizontal (left-right) flip of an augmented sample: a probability in [0, 1], or a boolean
   * (true = 0.5, false = 0, i.e. never). Default 0.5.
   */
  flipH?: number | boolean;
  /**
   * Vertical (top-bottom) flip of an augmented sample: a probability in [0, 1], or a boolean
   * (true = 0.5, false = 0). Default 0.5.
   */
  flipV?: number | boolean;
  /**
   * Relative intensity scaling of an augmented sample: factor drawn uniformly in
   * [1 - intensityScale, 1 + intensityScale], applied in [-1, 1] space and clipped back to
   * [-1, 1]. In [0, 1); 0 disables it. Default 0.1 (±10%).
   */
  intensityScale?: number;
  /**
   * Also scale the CT target (with the same factor as its MRI). Off by default: scaling the CT
   * corrupts its mapping to Hounsfield units. Default false.
   */
  scaleCt?: boolean;
  /**
   * Seed of the per-sample draws (a non-negative integer): the same seed gives the same
   * sequence of batches. Default: a fresh random seed (readable as `augmenter.seed`).
   */
  seed?: number;
}

/** AugmentOptions with defaults applied and probabilities as numbers. */
export interface ResolvedAugmentOptions {
  augProb: number;
  maxRotationDeg: number;
  flipHProb: number;
  flipVProb: number;
  intensityScale: number;
  scaleCt: boolean;
  seed: number;
}

export const AUGMENT_DEFAULTS = {
  augProb: 0.8,
  maxRotationDeg: 15,
  flipProb: 0.5,
  intensityScale: 0.1,
  scaleCt: false,
} as const;

/** What one sample got in one call. Identity values when `augmented` is false. */
export interface SampleDraw {
  /** Whether steps 2-5 were applied. */
  augmented: boolean;
  /** Rotation in degrees (positive: counter-clockwise as displayed). */
  angleDeg: number;
  flipH: boolean;
  flipV: boolean;
  /** Intensity factor applied to the MRI (and to the CT with scaleCt); 1 = none. */
  scale: number;
}

export interface AugmentedPair {
  mri: tf.Tensor4D;
  ct: tf.Tensor4D;
}

export interface Augmenter {
  /**
   * Augments one batch pair: MRI and CT [B, H, W, C] float32 in [0, 1] with the same B, H, W.
   * Returns new tensors in [-1, 1] (the caller disposes them); the inputs are not disposed.
   */
  apply(mri: tf.Tensor4D, ct: tf.Tensor4D): AugmentedPair;
  /** The options in force. */
  readonly options: Readonly<ResolvedAugmentOptions>;
  /** The seed of the draws (given or generated). */
  readonly seed: number;
  /** Per-sample draws of the latest `apply` call (empty before the first), for logs and tests. */
  readonly lastDraws: readonly SampleDraw[];
}

/** Step 1: [0, 1] -> [-1, 1] (x*2 - 1). Pure; returns a new float32 tensor. */
export function toSigned<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.sub(tf.mul(x, tf.scalar(2, 'float32')), tf.scalar(1, 'float32')) as T);
}

function probability(value: number | boolean | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value ? fallback : 0;
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new ConfigError(`augmentation option ${name} must be a probability in [0, 1] or a boolean (got ${value}).`);
  }
  return value;
}

function inRange(value: number | undefined, name: string, fallback: number, lo: number, hi: number, hiOpen: boolean): number {
  if (value === undefined) return fallback;
  const ok = Number.isFinite(value) && value >= lo && (hiOpen ? value < hi : value <= hi);
  if (!ok) {
    throw new ConfigError(`augmentation option ${name} must be in [${lo}, ${hi}${hiOpen ? ')' : ']'} (got ${value}).`);
  }
  return value;
}

/** Applies defaults and validates; throws ConfigError naming the bad field. */
export function resolveAugmentOptions(options: AugmentOptions = {}): ResolvedAugmentOptions {
  return {
    augProb: probability(options.augProb, 'augProb', AUGMENT_DEFAULTS.augProb),
    maxRotationDeg: inRange(options.maxRotationDeg, 'maxRotationDeg', AUGMENT_DEFAULTS.maxRotationDeg, 0, 180, false),
    flipHProb: probability(options.flipH, 'flipH', AUGMENT_DEFAULTS.flipProb),
    flipVProb: probability(options.flipV, 'flipV', AUGMENT_DEFAULTS.flipProb),
    intensityScale: inRange(options.intensityScale, 'intensityScale', AUGMENT_DEFAULTS.intensityScale, 0, 1, true),
    scaleCt: options.scaleCt ?? AUGMENT_DEFAULTS.scaleCt,
    seed: options.seed === undefined ? randomSeed() : validateSeed(options.seed, 'augmentation option seed'),
  };
}

/**
 * Draws the parameters of `batchSize` samples. Every sample consumes exactly five numbers
 * (selection, angle, flipH, flipV, scale), whatever the options, so a seed's stream does not
 * shift when an option is switched off.
 */
export function drawSamples(rng: Rng, batchSize: number, o: ResolvedAugmentOptions): SampleDraw[] {
  const draws: SampleDraw[] = [];
  for (let i = 0; i < batchSize; i++) {
    const augmented = rng.chance(o.augProb);
    const angle = rng.uniform(-o.maxRotationDeg, o.maxRotationDeg);
    const flipH = rng.chance(o.flipHProb);
    const flipV = rng.chance(o.flipVProb);
    const scale = rng.uniform(1 - o.intensityScale, 1 + o.intensityScale);
    draws.push(
      augmented
        ? { augmented, angleDeg: o.maxRotationDeg === 0 ? 0 : angle, flipH, flipV, scale: o.intensityScale === 0 ? 1 : scale }
        : { augmented, angleDeg: 0, flipH: false, flipV: false, scale: 1 },
    );
  }
  return draws;
}

const IDENTITY_DRAW: SampleDraw = { augmented: false, angleDeg: 0, flipH: false, flipV: false, scale: 1 };

function checkPair(mri: tf.Tensor, ct: tf.Tensor): void {
  for (const [name, t] of [['MRI', mri], ['CT', ct]] as const) {
    if (t.rank !== 4) throw new ConfigError(`augment: the ${name} batch must be [B, H, W, C] (got shape [${t.shape.join(', ')}]).`);
    if (t.dtype !== 'float32') throw new ConfigError(`augment: the ${name} batch must be float32 (got ${t.dtype}).`);
  }
  const [mb, mh, mw] = mri.shape;
  const [cb, ch, cw] = ct.shape;
  if (mb !== cb || mh !== ch || mw !== cw) {
    throw new PairMismatchError(
      `augment: MRI batch [${mri.shape.join(', ')}] and CT batch [${ct.shape.join(', ')}] differ in batch size or image size.`,
    );
  }
}

/**
 * Steps 2-5 for one image batch of the pair (MRI or CT, same draws and rows for both): only the
 * augmented samples are gathered, resampled (skipped when all their rows are the identity),
 * scaled and clipped if `scale`, then scattered back; the other samples are left bit-identical.
 * MRI and CT go through separate resampling calls rather than one 2-channel call: TensorFlow's
 * kernel costs the same per output element either way, and a channel concat/split would add two
 * full copies (measured in bench/augment).
 */
function augmentSubset(
  x: tf.Tensor4D,
  selectedIndex: tf.Tensor1D,
  rows: readonly TransformRow[],
  scales: readonly number[],
  scale: boolean,
  route: TransformRoute,
): tf.Tensor4D {
  const k = selectedIndex.shape[0];
  const all = k === x.shape[0];
  const needGeometry = rows.some((r) => !isIdentityTransform(r));
  const needScale = scale && scales.some((f) => f !== 1);
  if (k === 0 || (!needGeometry && !needScale)) return x;
  let sub = all ? x : tf.gather(x, selectedIndex);
  if (needGeometry) sub = projectiveTransform(sub, rows.flat(), { interpolation: 'bilinear', fillValue: -1, route });
  if (needScale) {
    const factor = tf.tensor4d(Float32Array.from(scales), [k, 1, 1, 1]);
    sub = tf.clipByValue(tf.mul<tf.Tensor4D>(sub, factor), -1, 1);
  }
  return all ? sub : tf.tensorScatterUpdate(x, tf.reshape(selectedIndex, [k, 1]), sub);
}

/** Creates an augmenter; each `apply` call draws new parameters from its seeded stream. */
export function createAugmenter(options: AugmentOptions = {}): Augmenter {
  const resolved = Object.freeze(resolveAugmentOptions(options));
  const rng = createRng(resolved.seed);
  let lastDraws: readonly SampleDraw[] = [];
  return {
    options: resolved,
    seed: resolved.seed,
    get lastDraws() {
      return lastDraws;
    },
    apply(mri: tf.Tensor4D, ct: tf.Tensor4D): AugmentedPair {
      checkPair(mri, ct);
      const [batch, height, width] = mri.shape;
      const route = transformRouteFor();
      const draws = drawSamples(rng, batch, resolved);
      lastDraws = Object.freeze(draws.map((d) => Object.freeze(d)));
      return tf.tidy(() => {
        const mriSigned = toSigned(mri);
        const ctSigned = toSigned(ct);
        const selected = draws.flatMap((d, i) => (d.augmented ? [i] : []));
        if (selected.length === 0) return { mri: mriSigned, ct: ctSigned };
        const chosen = selected.map((i) => draws[i] ?? IDENTITY_DRAW);
        const rows = chosen.map((d) => geometryTransform(d, height, width));
        const scales = chosen.map((d) => d.scale);
        const index = tf.tensor1d(selected, 'int32');
        return {
          mri: augmentSubset(mriSigned, index, rows, scales, true, route),
          ct: augmentSubset(ctSigned, index, rows, scales, resolved.scaleCt, route),
        };
      });
    },
  };
}
