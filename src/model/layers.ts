/**
 * The few building blocks pix2pix needs, as plain functions of tensors and parameters:
 * 4×4 convolution, transposed convolution, instance normalisation (on fused kernels where the
 * backend has them, see ./fused-ops), ReLU and leaky ReLU. Under withConvPrecision('bfloat16' | 'float16')
 * (--use_amp) the convolutions run in 16 bits (./conv16); otherwise tf.conv2d as always. No parameter creation and no
 * state here (ParamBuilder creates parameters; the networks wire blocks together).
 */
import * as tf from '@tensorflow/tfjs';
import { conv2d16, conv2dTranspose16, convPrecision } from './conv16';
import { instanceNorm as fusedInstanceNorm } from './fused-ops';
export { leakyRelu, relu } from './fused-ops';

export type Params = Map<string, tf.Tensor>;

export function param(p: Params, name: string): tf.Tensor {
  const t = p.get(name);
  if (t === undefined) throw new Error(`missing parameter ${name}`);
  return t;
}

/** 2D convolution + bias, 'same' padding. */
export function conv(x: tf.Tensor4D, p: Params, name: string, stride: number): tf.Tensor4D {
  const w = param(p, `${name}/kernel`) as tf.Tensor4D;
  const b = param(p, `${name}/bias`) as tf.Tensor1D;
  const prec = convPrecision();
  if (prec !== 'float32') return tf.add(conv2d16(x, w, stride, prec), b);
  return tf.add(tf.conv2d(x, w, stride, 'same'), b);
}

/** Transposed 2D convolution with stride 2 (doubles H and W) + bias. Kernel [k, k, outC, inC]. */
export function upconv(x: tf.Tensor4D, p: Params, name: string): tf.Tensor4D {
  const w = param(p, `${name}/kernel`) as tf.Tensor4D;
  const b = param(p, `${name}/bias`) as tf.Tensor1D;
  const [n, h, wd] = x.shape;
  const outC = w.shape[2];
  const prec = convPrecision();
  if (prec !== 'float32') return tf.add(conv2dTranspose16(x, w, [n, h * 2, wd * 2, outC], prec), b);
  return tf.add(tf.conv2dTranspose(x, w, [n, h * 2, wd * 2, outC], 2, 'same'), b);
}

/** Instance normalisation over H, W per sample and channel, with learnable scale and offset. */
export function instanceNorm(x: tf.Tensor4D, p: Params, name: string, eps = 1e-5): tf.Tensor4D {
  return fusedInstanceNorm(x, param(p, `${name}/scale`), param(p, `${name}/offset`), eps);
}
