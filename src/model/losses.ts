/**
 * pix2pix losses: adversarial (BCE with logits, or LSGAN's least squares) and L1, plus a
 * stop-gradient. Pure tensor functions; call them inside a tape or tf.tidy.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './config';

/** Mean adversarial loss of patch logits against an all-`target` label (1 real, 0 fake). */
export function adversarialLoss(logits: tf.Tensor, target: 0 | 1, mode: ModelConfig['ganMode']): tf.Scalar {
  const labels = target === 1 ? tf.onesLike(logits) : tf.zerosLike(logits);
  if (mode === 'lsgan') return tf.mean(tf.squaredDifference(logits, labels));
  // BCE with logits, numerically stable: max(z,0) - z*y + log(1 + exp(-|z|))
  return tf.mean(tf.add(tf.sub(tf.relu(logits), tf.mul(logits, labels)), tf.softplus(tf.neg(tf.abs(logits)))));
}

export function l1Loss(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.mean(tf.abs(tf.sub(a, b)));
}

/** Identity in the forward pass, zero gradient in the backward pass. */
export const stopGradient = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor4D) => tf.Tensor4D;
