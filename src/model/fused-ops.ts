/**
 * Instance normalisation and ReLU / leaky ReLU for the networks, with their gradients, on
 * TensorFlow's own fused kernels when the backend can run them (tfjs-node, tfjs-node-gpu):
 *  - instance norm = FusedBatchNormV3 in training mode on a [1, H, W, B·C] view (per-sample,
 *    per-channel statistics over H, W), backward FusedBatchNormGradV3: two kernels instead of the
 *    thirty-odd element-wise and reduction ops tf.js's autodiff makes of the formula;
 *  - ReLU / leaky ReLU backward = ReluGrad / LeakyReluGrad (tf.js builds them from Step, Select,
 *    Greater, Fill and Multiply).
 * Elsewhere (pure-JS backend) the same functions use the plain tf.js formulas. Both routes compute
 * the same function (biased variance, ε inside the square root); test/fused-ops.test.ts compares
 * values and gradients. This module must not create parameters or know about networks.
 */
import * as tf from '@tensorflow/tfjs';
import { nativeBackend, type NativeBackend, type NativeOpAttr } from '../env/native-ops';

function typeAttrs(b: NativeBackend, names: string[]): NativeOpAttr[] {
  return names.map((name) => ({ name, type: b.binding.TF_ATTR_TYPE, value: b.binding.TF_FLOAT }));
}

function floatAttr(b: NativeBackend, name: string, value: number): NativeOpAttr {
  return { name, type: b.binding.TF_ATTR_FLOAT, value };
}

/** Instance norm by formula: (x - mean) / sqrt(var + eps) * scale + offset, stats over H, W. */
export function instanceNormFormula(x: tf.Tensor4D, scale: tf.Tensor, offset: tf.Tensor, eps: number): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, [1, 2], true);
  const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  return tf.add(tf.mul(normed, scale), offset);
}

/** Batch norm in training mode on [1, H, W, K] with per-channel scale/offset [K], fused kernels. */
function fusedNorm1(b: NativeBackend, eps: number): (x: tf.Tensor4D, scale: tf.Tensor1D, offset: tf.Tensor1D) => tf.Tensor4D {
  const attrs: NativeOpAttr[] = [
    ...typeAttrs(b, ['T', 'U']),
    floatAttr(b, 'epsilon', eps),
    { name: 'data_format', type: b.binding.TF_ATTR_STRING, value: 'NHWC' },
    { name: 'is_training', type: b.binding.TF_ATTR_BOOL, value: true },
  ];
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, scale, offset, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const empty = tf.tensor1d([], 'float32');
    const outs = b.executeMultipleOutputs(
      'FusedBatchNormV3',
      [...attrs, floatAttr(b, 'exponential_avg_factor', 1)],
      [x, scale, offset, empty, empty],
      6,
    );
    empty.dispose();
    const [y, batchMean, batchVar, r1, r2, r3] = outs as [tf.Tensor4D, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    batchMean.dispose();
    batchVar.dispose();
    save([x, scale, r1, r2, r3]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const grads = b.executeMultipleOutputs('FusedBatchNormGradV3', attrs, [dy, ...saved], 5);
        const [dx, dScale, dOffset, r4, r5] = grads as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        r4.dispose();
        r5.dispose();
        return [dx, dScale, dOffset];
      },
    };
  }) as (x: tf.Tensor4D, scale: tf.Tensor1D, offset: tf.Tensor1D) => tf.Tensor4D;
}

/**
 * Instance normalisation of x [B, H, W, C] over H, W per sample and channel, with learnable
 * per-channel scale and offset [C].
 */
export function instanceNorm(x: tf.Tensor4D, scale: tf.Tensor, offset: tf.Tensor, eps = 1e-5): tf.Tensor4D {
  const b = nativeBackend();
  if (b === undefined) return instanceNormFormula(x, scale, offset, eps);
  const [n, h, w, c] = x.shape;
  const norm = fusedNorm1(b, eps);
  if (n === 1) return norm(x, scale as tf.Tensor1D, offset as tf.Tensor1D);
  // (sample, channel) pairs become the channels of one image: [B, H, W, C] -> [1, H, W, B*C].
  const view = tf.reshape(tf.transpose(x, [1, 2, 0, 3]), [1, h, w, n * c]) as tf.Tensor4D;
  const y = norm(view, tf.tile(scale, [n]) as tf.Tensor1D, tf.tile(offset, [n]) as tf.Tensor1D);
  return tf.transpose(tf.reshape(y, [h, w, n, c]), [2, 0, 1, 3]) as tf.Tensor4D;
}

/** max(x, 0); backward through ReluGrad on the node backends. */
export function relu<T extends tf.Tensor>(x: T): T {
  const b = nativeBackend();
  if (b === undefined) return tf.relu(x);
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const value = tf.relu(input);
    save([input]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, [features]: tf.Tensor[]) =>
        b.executeSingleOutput('ReluGrad', typeAttrs(b, ['T']), [dy, features as tf.Tensor]),
    };
  });
  return f(x) as T;
}

/** x for x > 0, alpha·x otherwise; backward through LeakyReluGrad on the node backends. */
export function leakyRelu<T extends tf.Tensor>(x: T, alpha: number): T {
  const b = nativeBackend();
  if (b === undefined) return tf.leakyRelu(x, alpha);
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const value = tf.leakyRelu(input, alpha);
    save([input]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, [features]: tf.Tensor[]) =>
        b.executeSingleOutput('LeakyReluGrad', [...typeAttrs(b, ['T']), floatAttr(b, 'alpha', alpha)], [dy, features as tf.Tensor]),
    };
  });
  return f(x) as T;
}
