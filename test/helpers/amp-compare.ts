/**
 * Shared measurements of the AMP tests (test/amp.test.ts for bfloat16, test/amp-f16.test.ts for
 * float16): a random tiny batch, relative L2 errors, the 16-bit convs against tf.conv2d /
 * tf.conv2dTranspose, and the pix2pix objective's loss and gradients in one precision. They only
 * measure; the tests hold the bounds.
 */
import * as tf from '@tensorflow/tfjs';
import { type Conv16, type ConvPrecision, conv2d16, conv2dTranspose16, withConvPrecision } from '../../src/model/conv16';
import type { ModelConfig } from '../../src/model/config';
import { discriminatorForward } from '../../src/model/discriminator';
import { generatorForward } from '../../src/model/generator';
import { adversarialLoss, l1Loss } from '../../src/model/losses';
import { Pix2Pix } from '../../src/model/pix2pix';

/** An mri, ct pair [2, S, S, 1] in (-1, 1). */
export function batch(model: ModelConfig, seed: number): [tf.Tensor4D, tf.Tensor4D] {
  const s = model.imageSize;
  return [tf.tanh(tf.randomNormal([2, s, s, 1], 0, 1, 'float32', seed)) as tf.Tensor4D, tf.tanh(tf.randomNormal([2, s, s, 1], 0, 1, 'float32', seed + 1)) as tf.Tensor4D];
}

/** ‖a − b‖ / ‖b‖. */
export const relErr = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => Math.sqrt(tf.sum(tf.square(tf.sub(a, b))).dataSync()[0]! / Math.max(tf.sum(tf.square(b)).dataSync()[0]!, 1e-30)));

/**
 * Relative errors of conv2d16 / conv2dTranspose16 in `dtype` against tf.js's float32 convs:
 * values and both gradients (x [2,16,16,8], w [4,4,8,16], stride 2; transposed back).
 */
export function convErrors(dtype: Conv16): { name: string; err: number }[] {
  return tf.tidy(() => {
    const out: { name: string; err: number }[] = [];
    const w = tf.randomNormal([4, 4, 8, 16], 0, 0.1, 'float32', 2) as tf.Tensor4D;
    const cases = [
      { name: 'conv2d', x: tf.randomNormal([2, 16, 16, 8], 0, 1, 'float32', 1), dy: tf.randomNormal([2, 8, 8, 16], 0, 1, 'float32', 3),
        ref: (a: tf.Tensor4D, k: tf.Tensor4D) => tf.conv2d(a, k, 2, 'same'), amp: (a: tf.Tensor4D, k: tf.Tensor4D) => conv2d16(a, k, 2, dtype) },
      { name: 'conv2dTranspose', x: tf.randomNormal([2, 8, 8, 16], 0, 1, 'float32', 4), dy: tf.randomNormal([2, 16, 16, 8], 0, 1, 'float32', 5),
        ref: (a: tf.Tensor4D, k: tf.Tensor4D) => tf.conv2dTranspose(a, k, [2, 16, 16, 8], 2, 'same'), amp: (a: tf.Tensor4D, k: tf.Tensor4D) => conv2dTranspose16(a, k, [2, 16, 16, 8], dtype) },
    ];
    for (const c of cases) {
      const f = (conv: typeof c.ref) => (a: tf.Tensor, k: tf.Tensor) => tf.sum(tf.mul(conv(a as tf.Tensor4D, k as tf.Tensor4D), c.dy));
      const x = c.x as tf.Tensor4D;
      out.push({ name: `${c.name} y`, err: relErr(c.amp(x, w), c.ref(x, w)) });
      const ref = tf.grads(f(c.ref))([x, w]);
      const amp = tf.grads(f(c.amp))([x, w]);
      for (const [i, g] of ['dx', 'dw'].entries()) out.push({ name: `${c.name} ${g}`, err: relErr(amp[i]!, ref[i]!) });
    }
    return out;
  });
}

/**
 * Loss and gradients of the whole pix2pix objective (G: L1 + adversarial; D: real/fake) on fixed
 * weights in `precision`; the loss is multiplied by `scale` before the backward and the gradients
 * divided by it after (float16's loss scaling; 1 for the others).
 */
export function lossAndGrads(m: Pix2Pix, mri: tf.Tensor4D, ct: tf.Tensor4D, precision: ConvPrecision, scale = 1): { loss: number; grads: tf.NamedTensorMap } {
  return withConvPrecision(precision, () => {
    const { value, grads } = tf.variableGrads(() => {
      const fake = generatorForward(mri, m.G, m.config, true);
      const dReal = discriminatorForward(mri, ct, m.D);
      const dFake = discriminatorForward(mri, fake, m.D);
      const d = tf.add(adversarialLoss(dReal, 1, 'bce'), adversarialLoss(dFake, 0, 'bce'));
      const loss = tf.add(d, tf.mul(100, l1Loss(fake, ct))) as tf.Scalar;
      return scale === 1 ? loss : tf.mul(loss, scale) as tf.Scalar;
    });
    const loss = value.dataSync()[0]! / scale;
    value.dispose();
    if (scale === 1) return { loss, grads };
    const out: tf.NamedTensorMap = {};
    for (const [k, g] of Object.entries(grads)) out[k] = tf.mul(g, 1 / scale);
    tf.dispose(Object.values(grads));
    return { loss, grads: out };
  });
}

/**
 * `amp` against `ref`: the relative loss error, the gradient error over all parameters, and per
 * variable (largest first), leaving out variables whose reference gradient is negligible (conv
 * biases before an instance norm have a true gradient of ~0: only rounding left). Disposes both gradient maps.
 */
export function gradientErrors(ref: { loss: number; grads: tf.NamedTensorMap }, amp: { loss: number; grads: tf.NamedTensorMap }): { lossErr: number; overall: number; worst: [string, number][] } {
  let num = 0;
  let den = 0;
  const worst: [string, number][] = [];
  for (const [name, g] of Object.entries(ref.grads)) {
    const [d2, n2] = tf.tidy(() => [tf.sum(tf.square(tf.sub(amp.grads[name]!, g))).dataSync()[0]!, tf.sum(tf.square(g)).dataSync()[0]!]);
    num += d2;
    den += n2;
    if (Math.sqrt(n2) > 1e-3) worst.push([name, Math.sqrt(d2 / n2)]);
  }
  worst.sort((p, q) => q[1] - p[1]);
  tf.dispose([...Object.values(ref.grads), ...Object.values(amp.grads)]);
  return { lossErr: Math.abs(amp.loss - ref.loss) / Math.abs(ref.loss), overall: Math.sqrt(num / den), worst };
}

/**
 * One pix2pix step's loss and gradients in `precision` (loss scale `scale`) against float32 on
 * the same fresh model (seed) and batch (seed + 4); logs the figures as one JSON line.
 */
export function stepVsFloat32(model: ModelConfig, seed: number, precision: Conv16, scale = 1): { lossErr: number; overall: number; worst: [string, number][] } {
  const m = new Pix2Pix(model, undefined, seed);
  const [mri, ct] = batch(model, seed + 4);
  const f = lossAndGrads(m, mri, ct, 'float32');
  const h = lossAndGrads(m, mri, ct, precision, scale);
  const e = gradientErrors(f, h);
  console.log(JSON.stringify({ precision, scale, loss_f32: f.loss, loss_amp: h.loss, lossErr: e.lossErr, overall: e.overall, worst: e.worst.slice(0, 3) }));
  tf.dispose([mri, ct]);
  m.dispose();
  return e;
}
