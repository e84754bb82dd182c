import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadBackend } from '../src/env/backend';
import { nativeBackend } from '../src/env/native-ops';
import { instanceNorm, instanceNormFormula, leakyRelu, relu } from '../src/model/fused-ops';

before(async () => {
  await loadBackend();
});

after(async () => {
  await tf.setBackend('tensorflow');
});

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] ?? NaN);
}

for (const n of [1, 3]) {
  test(`instance norm on the fused kernels equals the formula, values and gradients (batch ${n})`, () => {
    assert.ok(nativeBackend() !== undefined, 'the tests run on tfjs-node');
    tf.tidy(() => {
      const x = tf.randomNormal([n, 9, 7, 5], 2, 3, 'float32', 1) as tf.Tensor4D;
      const scale = tf.randomNormal([5], 1, 0.2, 'float32', 2);
      const offset = tf.randomNormal([5], 0, 1, 'float32', 3);
      const dy = tf.randomNormal([n, 9, 7, 5], 0, 1, 'float32', 4);
      const fused = (a: tf.Tensor, s: tf.Tensor, o: tf.Tensor): tf.Tensor => tf.sum(tf.mul(instanceNorm(a as tf.Tensor4D, s, o), dy));
      const formula = (a: tf.Tensor, s: tf.Tensor, o: tf.Tensor): tf.Tensor =>
        tf.sum(tf.mul(instanceNormFormula(a as tf.Tensor4D, s, o, 1e-5), dy));
      const y = instanceNorm(x, scale, offset);
      assert.deepEqual(y.shape, x.shape);
      assert.ok(maxDiff(y, instanceNormFormula(x, scale, offset, 1e-5)) < 1e-5);
      // Per sample and channel: mean = offset, std = |scale| (the statistics are per instance).
      const { mean } = tf.moments(y, [1, 2]);
      assert.ok(maxDiff(mean, tf.broadcastTo(offset, [n, 5])) < 1e-5);
      const gf = tf.grads(fused)([x, scale, offset]);
      const gr = tf.grads(formula)([x, scale, offset]);
      ['x', 'scale', 'offset'].forEach((what, i) => {
        const a = gf[i];
        const b = gr[i];
        assert.ok(a !== undefined && b !== undefined);
        const scaleOf = tf.max(tf.abs(b)).dataSync()[0] ?? 1;
        assert.ok(maxDiff(a, b) <= 1e-4 * Math.max(1, scaleOf), `d/d${what}: ${maxDiff(a, b)}`);
      });
    });
  });
}

test('ReLU and leaky ReLU backward on the native kernels equal tf.js, including at 0', () => {
  tf.tidy(() => {
    const x = tf.tensor([-2, -0.5, 0, 0, 0.5, 3, -1e-8, 1e-8], [2, 4]);
    const dy = tf.tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 4]);
    const g = (f: (t: tf.Tensor) => tf.Tensor): tf.Tensor => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), dy)))(x);
    assert.deepEqual(Array.from(g(relu).dataSync()), Array.from(g(tf.relu).dataSync()));
    assert.deepEqual(Array.from(g((t) => leakyRelu(t, 0.2)).dataSync()), Array.from(g((t) => tf.leakyRelu(t, 0.2)).dataSync()));
    assert.deepEqual(Array.from(relu(x).dataSync()), Array.from(tf.relu(x).dataSync()));
    assert.deepEqual(Array.from(leakyRelu(x, 0.2).dataSync()), Array.from(tf.leakyRelu(x, 0.2).dataSync()));
  });
});

test('on the pure-JS backend the same functions use the formulas', async () => {
  await tf.setBackend('cpu');
  assert.equal(nativeBackend(), undefined);
  tf.tidy(() => {
    const x = tf.randomNormal([2, 4, 4, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const s = tf.ones([3]);
    const o = tf.zeros([3]);
    assert.ok(maxDiff(instanceNorm(x, s, o), instanceNormFormula(x, s, o, 1e-5)) === 0);
    const g = tf.grad((t: tf.Tensor) => tf.sum(leakyRelu(t, 0.2)))(x);
    assert.ok(maxDiff(g, tf.where(tf.greater(x, 0), tf.onesLike(x), tf.fill(x.shape, 0.2))) === 0);
  });
  await tf.setBackend('tensorflow');
});
