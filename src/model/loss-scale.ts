/**
 * Dynamic loss scaling for float16 convolutions (issue #14), with Keras LossScaleOptimizer
 * semantics, one scale per optimiser (pix2pix: one for G, one for D; see Pix2Pix.trainStep):
 * the loss is multiplied by the scale before the backward, the gradients are divided by it after;
 * if any gradient of a network is inf/NaN its Adam update is skipped and its scale halved (never
 * below 1, tf.keras 2's floor), and after `growthInterval` (2000) consecutive finite steps the
 * scale doubles. Scales stay powers of two, so scaling and unscaling are exact in float32.
 * The state is plain numbers (no tensors), saved in the checkpoint header so a resume is exact.
 * This module only holds the state and builds the finite check; it applies no updates itself.
 * bfloat16 needs none of this (float32's exponent range).
 */
import * as tf from '@tensorflow/tfjs';

export interface LossScaleOptions {
  /** Initial scale (Keras: 2^15). A power of two. */
  initialScale?: number;
  /** Consecutive finite steps before the scale doubles (Keras: 2000). */
  growthInterval?: number;
}

/** The state of one network's scale. */
export interface ScaleState {
  scale: number;
  /** Finite steps since the last change of the scale. */
  goodSteps: number;
  /** Steps skipped (inf/NaN gradients) since the run started, resumes included. */
  skipped: number;
}

/** What a checkpoint header keeps (absent in float32/bf16 runs and in older checkpoints). */
export interface LossScaleState {
  growthInterval: number;
  G: ScaleState;
  D: ScaleState;
}

export type Net = 'G' | 'D';

export const DEFAULT_INITIAL_SCALE = 2 ** 15;
export const DEFAULT_GROWTH_INTERVAL = 2000;

function checkPowerOfTwo(v: number, what: string): void {
  if (!(v > 0) || !Number.isFinite(v) || 2 ** Math.round(Math.log2(v)) !== v) throw new Error(`${what} ${v}: must be a power of two (exact scaling)`);
}

export class DynamicLossScale {
  readonly growthInterval: number;
  private readonly nets: Record<Net, ScaleState>;

  constructor(options: LossScaleOptions = {}) {
    const initial = options.initialScale ?? DEFAULT_INITIAL_SCALE;
    checkPowerOfTwo(initial, 'loss scale');
    this.growthInterval = options.growthInterval ?? DEFAULT_GROWTH_INTERVAL;
    if (!Number.isInteger(this.growthInterval) || this.growthInterval < 1) throw new Error(`loss-scale growth interval ${this.growthInterval}: must be a whole number ≥ 1`);
    this.nets = { G: { scale: initial, goodSteps: 0, skipped: 0 }, D: { scale: initial, goodSteps: 0, skipped: 0 } };
  }

  scale(net: Net): number {
    return this.nets[net].scale;
  }

  skipped(net: Net): number {
    return this.nets[net].skipped;
  }

  /** Records one step of `net`: finite → counts towards growth; else skipped, scale halved. */
  update(net: Net, finite: boolean): void {
    const s = this.nets[net];
    if (!finite) {
      s.skipped += 1;
      s.goodSteps = 0;
      s.scale = Math.max(1, s.scale / 2);
      return;
    }
    s.goodSteps += 1;
    if (s.goodSteps >= this.growthInterval) {
      s.scale *= 2;
      s.goodSteps = 0;
    }
  }

  state(): LossScaleState {
    return { growthInterval: this.growthInterval, G: { ...this.nets.G }, D: { ...this.nets.D } };
  }

  /** Restores a checkpoint's state (the growth interval stays this run's). */
  restore(st: LossScaleState): void {
    for (const net of ['G', 'D'] as const) {
      const s = st[net];
      checkPowerOfTwo(s.scale, `checkpoint loss scale of ${net}`);
      this.nets[net] = { scale: s.scale, goodSteps: s.goodSteps, skipped: s.skipped };
    }
  }
}

/**
 * A scalar bool tensor: whether every element of `grads` is finite. One reduction on the backend
 * (per-tensor sums, their sum, isFinite: inf/NaN anywhere propagates into the total; a float32
 * overflow of a sum of finite values, ≥ 3e38, also counts as non-finite, which is right to skip).
 */
export function allFinite(grads: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => tf.isFinite(grads.length === 1 ? tf.sum(grads[0]!) : tf.addN(grads.map((g) => tf.sum(g)))) as tf.Scalar);
}
