import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadBackend } from '../src/env/backend';
import { ConfigError } from '../src/errors';
import { DEFAULT_MODEL_CONFIG, type ModelConfig, type NamedTensor, Pix2Pix } from '../src/model';
import { discriminatorForward } from '../src/model/discriminator';
import { generatorForward } from '../src/model/generator';
import { adversarialLoss, l1Loss } from '../src/model/losses';

const tiny: ModelConfig = { ...DEFAULT_MODEL_CONFIG, imageSize: 32, ngf: 4, ndf: 4, dropout: 0 };

before(async () => {
  await loadBackend();
});

function pair(size: number, seed: number): [tf.Tensor4D, tf.Tensor4D] {
  const x = tf.randomUniform([2, size, size, 1], -1, 1, 'float32', seed) as tf.Tensor4D;
  const y = tf.tidy(() => tf.tanh(tf.mul(x, 1.5)) as tf.Tensor4D);
  return [x, y];
}

test('shapes: U-Net output matches the input size in [-1,1]; PatchGAN gives S/8 x S/8 logits', () => {
  const m = new Pix2Pix(tiny, undefined, 1);
  const [x, y] = pair(32, 1);
  const out = m.predict(x);
  assert.deepEqual(out.shape, [2, 32, 32, 1]);
  const v = out.dataSync();
  assert.ok(v.every((a) => a >= -1 && a <= 1));
  const logits = tf.tidy(() => discriminatorForward(x, y, m.D));
  assert.deepEqual(logits.shape, [2, 4, 4, 1]);
  tf.dispose([out, logits, x, y]);
  m.dispose();
});

test('pix2pix-256 has the published generator size (54.4M) and a 2.77M PatchGAN', () => {
  const m = new Pix2Pix(DEFAULT_MODEL_CONFIG, undefined, 0);
  const { G, D } = m.paramCounts;
  assert.ok(Math.abs(G - 54.41e6) < 0.05e6, `G ${G}`);
  assert.ok(Math.abs(D - 2.77e6) < 0.02e6, `D ${D}`);
  m.dispose();
});

test('one forward, one backward: each network gets exactly the gradients of its own loss', () => {
  const m = new Pix2Pix(tiny, { lr: 0, beta1: 0.5, beta2: 0.999 }, 3);
  const [x, y] = pair(32, 2);
  // Reference: the two losses differentiated separately, as textbook pix2pix does.
  const gRef = tf.variableGrads(() => {
    const fake = generatorForward(x, m.G, tiny, true);
    return tf.add(adversarialLoss(discriminatorForward(x, fake, m.D), 1, 'bce'), tf.mul(100, l1Loss(fake, y))) as tf.Scalar;
  }, [...m.G.values()]).grads;
  const fakeConst = tf.tidy(() => generatorForward(x, m.G, tiny, true));
  const dRef = tf.variableGrads(() => tf.mul(0.5, tf.add(
    adversarialLoss(discriminatorForward(x, y, m.D), 1, 'bce'),
    adversarialLoss(discriminatorForward(x, fakeConst, m.D), 0, 'bce'))) as tf.Scalar, [...m.D.values()]).grads;
  // Capture the gradients the combined step applies.
  const applied: tf.NamedTensorMap = {};
  for (const opt of [m.optG, m.optD]) {
    const orig = opt.applyGradients.bind(opt);
    opt.applyGradients = (g: Parameters<typeof m.optG.applyGradients>[0]) => {
      for (const { name, tensor } of g as NamedTensor[]) applied[name] = tf.clone(tensor);
      orig(g);
    };
  }
  m.trainStep(x, y);
  const ref = { ...gRef, ...dRef }; // keyed by the variables' tf.js names, like the applied ones
  assert.deepEqual(Object.keys(applied).sort(), Object.keys(ref).sort());
  for (const [k, g] of Object.entries(ref)) {
    const a = applied[k];
    assert.ok(a !== undefined);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(a, g))).dataSync()[0] ?? NaN);
    const scale = tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0] ?? NaN);
    assert.ok(diff <= 1e-4 * Math.max(scale, 1e-3), `${k}: max diff ${diff} vs scale ${scale}`);
  }
  tf.dispose([gRef, dRef, applied, fakeConst, x, y] as unknown as tf.Tensor[]);
  m.dispose();
});

test('training lowers the L1 loss on a fixed pair and leaks no tensors', () => {
  const m = new Pix2Pix(tiny, { lr: 2e-3, beta1: 0.5, beta2: 0.999 }, 5);
  const [x, y] = pair(32, 3);
  const first = m.trainStep(x, y);
  const n0 = tf.memory().numTensors;
  let last = first;
  for (let i = 0; i < 60; i++) last = m.trainStep(x, y);
  assert.equal(tf.memory().numTensors, n0, 'tensor count stays flat across steps');
  assert.ok(last.gL1 < 0.7 * first.gL1, `L1 ${first.gL1} -> ${last.gL1}`);
  assert.ok(Number.isFinite(last.d) && last.d > 0);
  tf.dispose([x, y]);
  m.dispose();
});

test('bad model sizes are refused with the reason', () => {
  assert.throws(() => new Pix2Pix({ ...tiny, imageSize: 100 }), (e: unknown) => e instanceof ConfigError && /power of two/.test(e.message));
  assert.throws(() => new Pix2Pix({ ...tiny, ngf: 0 }), ConfigError);
});

test('the fused and the pure-JS routes train the same model: same first-step losses, both lower L1', async () => {
  const [x, y] = pair(32, 7);
  const run = (): { first: number; last: number; firstG: number } => {
    const m = new Pix2Pix(tiny, { lr: 2e-3, beta1: 0.5, beta2: 0.999 }, 11);
    const first = m.trainStep(x, y);
    let last = first;
    for (let i = 0; i < 30; i++) last = m.trainStep(x, y);
    m.dispose();
    return { first: first.gL1, last: last.gL1, firstG: first.g };
  };
  const fused = run();
  assert.ok(fused.last < 0.8 * fused.first, `fused: L1 ${fused.first} -> ${fused.last}`);
  const previous = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    const js = run();
    // The first step's losses come before any update: the two routes compute the same function.
    assert.ok(Math.abs(js.first - fused.first) < 1e-4 * fused.first, `first L1: js ${js.first} vs fused ${fused.first}`);
    assert.ok(Math.abs(js.firstG - fused.firstG) < 1e-4 * fused.firstG, `first G loss: js ${js.firstG} vs fused ${fused.firstG}`);
    assert.ok(js.last < 0.8 * js.first, `pure JS: L1 ${js.first} -> ${js.last}`);
  } finally {
    await tf.setBackend(previous);
  }
  tf.dispose([x, y]);
});
