/**
 * `--batch_size auto` (src/train/auto-batch.ts) on CPU with a tiny model: real training steps at
 * growing batch sizes; without a limit the CPU cap (16) is chosen and said; under
 * MRI2CT_MEMORY_LIMIT_MB (set between the peaks a first run measured) a smaller batch is chosen,
 * the refused one says why, config.json records it, and the epoch runs with that batch; the
 * number of training slices bounds the probe.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';

import { loadBackend } from '../src/env/backend';
import { DEFAULT_MODEL_CONFIG } from '../src/model/config';
import { chooseBatchSize, isOutOfMemory, parseBatchSize } from '../src/train/auto-batch';
import { buildTinyCaches, type TinyCaches } from './helpers/tiny-cache';

const root = path.resolve(__dirname, '..');
const CLI = path.join(root, 'dist/src/cli/main.js');
let tiny: TinyCaches;
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-autobatch-'));

before(async () => {
  // 256² slices: a tiny model's memory per sample (tens of MB) stands well above RSS noise.
  tiny = await buildTinyCaches({ patients: 3, size: 256 });
});
after(() => {
  fs.rmSync(out, { recursive: true, force: true });
  fs.rmSync(tiny.root, { recursive: true, force: true });
});

interface Probe { batch: number; ok: boolean; peakMb?: number; reason?: string }

function trainAuto(dir: string, env: Record<string, string> = {}): { stdout: string; config: Record<string, unknown> & { batchSizeAuto: { probes: Probe[]; reason: string; cap: number; limitMb?: number; limitSource?: string } }; steps: number; slices: number } {
  const r = spawnSync(process.execPath, [CLI, 'train', '--cache_dir', tiny.caches.npy!, '--output_dir', dir, '--epochs', '1', '--ngf', '4', '--ndf', '4',
    '--batch_size', 'auto', '--log_every', '1', '--seed', '3', '--backend', 'tensorflow'], { cwd: root, encoding: 'utf8', env: { ...process.env, CUDA_VISIBLE_DEVICES: '-1', ...env } });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'logs', 'config.json'), 'utf8'));
  const steps = fs.readFileSync(path.join(dir, 'logs', 'metrics.jsonl'), 'utf8').trim().split('\n').filter((l) => JSON.parse(l).kind === 'step').length;
  const slices = Number(/(\d+) slices\), \d+ val/.exec(r.stdout)?.[1]);
  return { stdout: r.stdout, config, steps, slices };
}

describe('--batch_size auto', () => {
  let free: ReturnType<typeof trainAuto>;

  it('without a limit on CPU: probes 1…16 and takes the cap, saying so; the run uses it', () => {
    free = trainAuto(path.join(out, 'free'), { MRI2CT_MEMORY_LIMIT_MB: '' });
    const a = free.config.batchSizeAuto;
    assert.deepEqual(a.probes.map((p) => p.batch), [1, 2, 4, 8, 16]);
    assert.ok(a.probes.every((p) => p.ok && (p.peakMb ?? 0) > 0));
    assert.equal(free.config['batchSize'], 16);
    assert.match(free.stdout, /--batch_size auto: chose batch 16: every batch up to the cap of 16 on CPU/);
    assert.equal(free.steps, Math.ceil(free.slices / 16), `${free.steps} steps for ${free.slices} slices`);
    // Peak memory grows with the batch.
    const peaks = a.probes.map((p) => p.peakMb ?? 0);
    assert.ok(peaks[4]! - peaks[1]! > 100, `peaks ${peaks.map((p) => p.toFixed(0)).join(', ')} MB`);
  });

  it('under MRI2CT_MEMORY_LIMIT_MB: a smaller batch, the refused one says why, config.json and the epoch use it', () => {
    const peaks = free.config.batchSizeAuto.probes.map((p) => p.peakMb ?? 0);
    const limit = Math.round((peaks[1]! + peaks[3]!) / 2); // between batch 2's and batch 8's peaks
    const r = trainAuto(path.join(out, 'limited'), { MRI2CT_MEMORY_LIMIT_MB: String(limit) });
    const a = r.config.batchSizeAuto;
    const chosen = r.config['batchSize'] as number;
    assert.ok(chosen >= 1 && chosen < 8, `chose ${chosen} under ${limit} MB (free-run peaks ${peaks.map((p) => p.toFixed(0)).join(', ')} MB)`);
    assert.equal(a.limitMb, limit);
    assert.equal(a.limitSource, 'MRI2CT_MEMORY_LIMIT_MB');
    const last = a.probes[a.probes.length - 1]!;
    assert.equal(last.ok, false);
    assert.equal(last.batch, chosen * 2);
    assert.match(last.reason ?? '', new RegExp(`limit ${limit} MB`));
    for (const p of a.probes.slice(0, -1)) assert.ok(p.ok && (p.peakMb ?? Infinity) < limit, JSON.stringify(p));
    assert.match(r.stdout, new RegExp(`--batch_size auto: chose batch ${chosen}: batch ${chosen * 2} .*\\(limit ${limit} MB: MRI2CT_MEMORY_LIMIT_MB\\)`));
    assert.equal(r.steps, Math.ceil(r.slices / chosen), `${r.steps} steps for ${r.slices} slices at batch ${chosen}`);
  });

  it('never tries more than the training slices; parses auto; knows TensorFlow OOM messages', async () => {
    await loadBackend();
    const n = tf.memory().numTensors;
    const logs: string[] = [];
    const r = await chooseBatchSize({ model: { ...DEFAULT_MODEL_CONFIG, imageSize: 32, ngf: 4, ndf: 4 }, trainSlices: 3, backendKind: 'tensorflow', log: (m) => logs.push(m) });
    assert.deepEqual(r.probes.map((p) => p.batch), [1, 2]);
    assert.equal(r.batchSize, 2);
    assert.match(r.reason, /the 3 training slices/);
    assert.equal(tf.memory().numTensors, n, 'the probe left tensors behind');
    assert.equal(logs.length, 2);
    assert.equal(parseBatchSize('auto'), 'auto');
    assert.equal(parseBatchSize('12'), 12);
    assert.throws(() => parseBatchSize('0'), /whole number ≥ 1 or auto/);
    assert.ok(isOutOfMemory(new Error('OOM when allocating tensor with shape[16,64,256,256] and type float on /job:localhost/replica:0/task:0/device:GPU:0')));
    assert.ok(isOutOfMemory(new Error('Resource exhausted: Out of memory while trying to allocate 1073741824 bytes.')));
    assert.ok(!isOutOfMemory(new Error('Incompatible shapes: [4,1,32,32] vs. [4,1,16,16]')));
  });
});
