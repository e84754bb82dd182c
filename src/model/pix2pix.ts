/**
 * The pix2pix model: generator + discriminator parameters, their Adam optimisers, one training
 * step and inference. One generator forward per step feeds both losses: the discriminator sees
 * it through a stop-gradient, and the generator's adversarial term sees the discriminator through
 * constant copies of its weights, so a single backward pass gives each network only its own
 * gradients. Under float16 convolutions the two losses are scaled by their own dynamic loss
 * scales (./loss-scale; one per optimiser, as Keras), and a network whose gradients are not
 * finite skips its Adam update. No data loading, logging or checkpoint files here.
 */
import * as tf from '@tensorflow/tfjs';
import { type AdamImplementation, type AdamLike, createAdam, type NamedTensor } from './adam';
import { syncSideStream } from '../env/side-stream';
import { type ConvPrecision, withConvPrecision, withPrefetchedKernels } from './conv16';
import { type ModelConfig, validateModelConfig } from './config';
import { allFinite, DynamicLossScale } from './loss-scale';
import { createDiscriminatorParams, discriminatorForward } from './discriminator';
import { createGeneratorParams, generatorForward } from './generator';
import { adversarialLoss, l1Loss, stopGradient } from './losses';
import { constantCopies, countParams, disposeParams, newModelScope, type ParamMap } from './params';

export type { NamedTensor } from './adam';

export interface OptimizerConfig {
  /** Adam learning rate (pix2pix: 2e-4). */
  lr: number;
  /** Adam beta1 (pix2pix: 0.5). */
  beta1: number;
  /** Adam beta2 (0.999). */
  beta2: number;
}

export const DEFAULT_OPTIMIZER: OptimizerConfig = { lr: 2e-4, beta1: 0.5, beta2: 0.999 };
/** Adam's ε (Keras's default). */
export const ADAM_EPSILON = 1e-7;

/** Losses of one step, as numbers. */
export interface StepLosses {
  gAdv: number;
  gL1: number;
  /** gAdv + lambdaL1 * gL1 */
  g: number;
  d: number;
}

export class Pix2Pix {
  readonly G: ParamMap;
  readonly D: ParamMap;
  readonly optG: AdamLike;
  readonly optD: AdamLike;
  /**
   * Precision of the convolutions in trainStep/predict: 'bfloat16' is --use_amp on a CPU with bf16
   * instructions, 'float16' on a GPU (with loss scaling; see src/env/amp.ts); weights and
   * everything else stay float32.
   */
  convPrecision: ConvPrecision = 'float32';
  /**
   * The dynamic loss scales of float16 training (created with the defaults on the first float16
   * step unless set before, e.g. by the trainer from a checkpoint); unused in float32/bfloat16.
   */
  lossScale: DynamicLossScale | undefined;

  /**
   * `adam`: which Adam implementation ('auto': TensorFlow's fused kernel on the node backends,
   * tf.js's own elsewhere; see ./adam).
   */
  constructor(
    readonly config: ModelConfig,
    readonly optimizer: OptimizerConfig = DEFAULT_OPTIMIZER,
    seed = 0,
    adam: AdamImplementation = 'auto',
  ) {
    validateModelConfig(config);
    const scope = newModelScope();
    this.G = createGeneratorParams(config, seed * 2 + 1, scope);
    this.D = createDiscriminatorParams(config, seed * 2 + 2, scope);
    const adamConfig = { lr: optimizer.lr, beta1: optimizer.beta1, beta2: optimizer.beta2, epsilon: ADAM_EPSILON };
    this.optG = createAdam(adamConfig, adam);
    this.optD = createAdam(adamConfig, adam);
  }

  get paramCounts(): { G: number; D: number } {
    return { G: countParams(this.G), D: countParams(this.D) };
  }

  /**
   * One step on a batch: mri and ct [B, S, S, 1] in [-1, 1]. Updates D and G; returns losses.
   * `readLosses: false` skips the device→host read (the returned numbers are then NaN), except
   * in float16, whose finite check reads the losses along with it anyway.
   */
  trainStep(mri: tf.Tensor4D, ct: tf.Tensor4D, readLosses = true): StepLosses {
    const { config } = this;
    const ls = this.convPrecision === 'float16' ? (this.lossScale ??= new DynamicLossScale()) : undefined;
    const dConst = constantCopies(this.D);
    let parts: tf.Tensor1D | undefined;
    try {
      const kernels = [...this.G, ...dConst].filter(([k, v]) => k.endsWith('/kernel') && v.rank === 4).map(([, v]) => v);
      const { value, grads } = withConvPrecision(this.convPrecision, () => withPrefetchedKernels(kernels, () => tf.variableGrads(() => {
        const fake = generatorForward(mri, this.G, config, true);
        const dReal = discriminatorForward(mri, ct, this.D);
        const dFake = discriminatorForward(mri, stopGradient(fake), this.D);
        const dLoss = tf.mul(0.5, tf.add(adversarialLoss(dReal, 1, config.ganMode), adversarialLoss(dFake, 0, config.ganMode)));
        const gAdv = adversarialLoss(discriminatorForward(mri, fake, dConst), 1, config.ganMode);
        const gL1 = l1Loss(fake, ct);
        const gLoss = tf.add(gAdv, tf.mul(config.lambdaL1, gL1));
        parts = tf.keep(tf.stack([gAdv, gL1, gLoss, dLoss]) as tf.Tensor1D);
        if (ls !== undefined) return tf.add(tf.mul(gLoss, ls.scale('G')), tf.mul(dLoss, ls.scale('D'))) as tf.Scalar;
        return tf.add(gLoss, dLoss) as tf.Scalar;
      })));
      // D's constant copies share D's data: gone now, so that D's Adam updates in place too.
      disposeParams(dConst);
      // With the side stream (./conv16), dW of the first layers may still be running: D's updates
      // go first, then G's last layer first, each Adam op waiting only for its own gradient.
      if (ls !== undefined) {
        tf.dispose(value);
        const losses = this.applyScaled(grads, parts!, ls);
        syncSideStream();
        return losses;
      }
      this.optD.applyGradients(pick(grads, this.D), { lastFirst: true });
      this.optG.applyGradients(pick(grads, this.G), { lastFirst: true });
      tf.dispose([value, ...Object.values(grads)]);
      syncSideStream();
      const v = readLosses && parts !== undefined ? parts.dataSync() : new Float32Array(4).fill(NaN);
      return { gAdv: v[0] ?? NaN, gL1: v[1] ?? NaN, g: v[2] ?? NaN, d: v[3] ?? NaN };
    } catch (e) {
      syncSideStream({ quiet: true }); // nothing left running, and the stream takes ops again
      throw e;
    } finally {
      parts?.dispose();
      disposeParams(dConst); // a no-op unless the step threw before the update
    }
  }

  /**
   * float16: unscales each network's gradients, checks them with one reduction per network (read
   * with the losses in one device→host transfer), applies Adam where finite, updates the scales.
   * Disposes `grads`.
   */
  private applyScaled(grads: tf.NamedTensorMap, parts: tf.Tensor1D, ls: DynamicLossScale): StepLosses {
    const nets = [['D', this.D, this.optD], ['G', this.G, this.optG]] as const;
    let unscaled: NamedTensor[][] = [];
    try {
      unscaled = nets.map(([net, params]) => pick(grads, params).map((g) => ({ name: g.name, tensor: tf.mul(g.tensor, 1 / ls.scale(net)) })));
      const read = tf.tidy(() => tf.concat([parts, tf.cast(tf.stack(unscaled.map((u) => allFinite(u.map((g) => g.tensor)))), 'float32')]));
      const v = read.dataSync();
      read.dispose();
      for (const [i, [net, , opt]] of nets.entries()) {
        const finite = v[4 + i] === 1;
        if (finite) opt.applyGradients(unscaled[i]!, { lastFirst: true });
        ls.update(net, finite);
      }
      return { gAdv: v[0] ?? NaN, gL1: v[1] ?? NaN, g: v[2] ?? NaN, d: v[3] ?? NaN };
    } finally {
      tf.dispose([...Object.values(grads), ...unscaled.flat().map((g) => g.tensor)]);
    }
  }

  /** Sets the learning rate of both optimisers (for schedules). */
  setLearningRate(lr: number): void {
    for (const opt of [this.optG, this.optD]) opt.learningRate = lr;
  }

  /** sCT for mri [B, S, S, 1] in [-1, 1] (no dropout). The caller disposes the result. */
  predict(mri: tf.Tensor4D): tf.Tensor4D {
    return withConvPrecision(this.convPrecision, () => tf.tidy(() => generatorForward(mri, this.G, this.config, false)));
  }

  dispose(): void {
    disposeParams(this.G);
    disposeParams(this.D);
    this.optG.dispose();
    this.optD.dispose();
  }
}

function pick(grads: tf.NamedTensorMap, params: ParamMap): NamedTensor[] {
  const out: NamedTensor[] = [];
  for (const v of params.values()) {
    const g = grads[v.name];
    if (g === undefined) throw new Error(`internal: no gradient for ${v.name}`);
    out.push({ name: v.name, tensor: g });
  }
  return out;
}
