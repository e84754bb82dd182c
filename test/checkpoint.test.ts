import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadBackend } from '../src/env/backend';
import { CheckpointError } from '../src/errors';
import { DEFAULT_MODEL_CONFIG, type ModelConfig, Pix2Pix } from '../src/model';
import { loadCheckpoint, readCheckpointState, saveCheckpoint } from '../src/train/checkpoint';

const cfg: ModelConfig = { ...DEFAULT_MODEL_CONFIG, imageSize: 32, ngf: 4, ndf: 4, dropout: 0 };
const opt = { lr: 1e-3, beta1: 0.5, beta2: 0.999 };
const state = (epoch: number) => ({ epoch, step: epoch * 10, rngState: [1, 2, 3], bestValMaeHu: 123.5, config: { model: cfg, lr: opt.lr } });

before(async () => {
  await loadBackend();
});

function batch(): [tf.Tensor4D, tf.Tensor4D] {
  const x = tf.randomUniform([1, 32, 32, 1], -1, 1, 'float32', 9) as tf.Tensor4D;
  return [x, tf.tidy(() => tf.neg(x) as tf.Tensor4D)];
}

test('a resumed model continues exactly where the saved one was (weights and Adam state)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-ckpt-'));
  const [x, y] = batch();
  const a = new Pix2Pix(cfg, opt, 1);
  for (let i = 0; i < 3; i++) a.trainStep(x, y);
  const file = path.join(dir, 'last.ckpt');
  await saveCheckpoint(file, a, state(3));
  assert.deepEqual(fs.readdirSync(dir), ['last.ckpt'], 'no temp files left');
  const b = new Pix2Pix(cfg, opt, 99);
  const restored = await loadCheckpoint(path.join(dir, 'last'), b);
  assert.equal(restored.epoch, 3);
  assert.equal(restored.bestValMaeHu, 123.5);
  assert.deepEqual(restored.rngState, [1, 2, 3]);
  for (let i = 0; i < 3; i++) {
    const la = a.trainStep(x, y);
    const lb = b.trainStep(x, y);
    assert.ok(Math.abs(la.g - lb.g) < 1e-4 * Math.abs(la.g), `step ${i}: ${la.g} vs ${lb.g}`);
    assert.ok(Math.abs(la.d - lb.d) < 1e-4 * Math.abs(la.d));
  }
  assert.equal(readCheckpointState(file).step, 30);
  a.dispose();
  b.dispose();
  tf.dispose([x, y]);
});

test('corrupt, truncated, foreign and incompatible checkpoints are refused with the file named', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-ckpt-'));
  const m = new Pix2Pix(cfg, opt, 1);
  const file = path.join(dir, 'epoch_1.ckpt');
  await saveCheckpoint(file, m, state(1));
  const bytes = fs.readFileSync(file);

  const corrupt = path.join(dir, 'corrupt.ckpt');
  const c = Buffer.from(bytes);
  c[c.length - 5] = (c[c.length - 5] ?? 0) ^ 0xff;
  fs.writeFileSync(corrupt, c);
  await assert.rejects(loadCheckpoint(corrupt, m), (e: unknown) => e instanceof CheckpointError && e.message.includes(corrupt) && /checksum/.test(e.message));

  const truncated = path.join(dir, 'truncated.ckpt');
  fs.writeFileSync(truncated, bytes.subarray(0, bytes.length >> 1));
  await assert.rejects(loadCheckpoint(truncated, m), (e: unknown) => e instanceof CheckpointError && /truncated/.test(e.message));

  const foreign = path.join(dir, 'foreign.ckpt');
  fs.writeFileSync(foreign, 'hello');
  await assert.rejects(loadCheckpoint(foreign, m), /not an mri2ct checkpoint/);

  const wider = new Pix2Pix({ ...cfg, ngf: 8 }, opt, 1);
  await assert.rejects(loadCheckpoint(file, wider), (e: unknown) => e instanceof CheckpointError && /ngf: checkpoint 4 ≠ requested 8/.test(e.message));
  await assert.rejects(loadCheckpoint(path.join(dir, 'missing'), m), /not found/);
  m.dispose();
  wider.dispose();
});
