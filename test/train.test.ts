/**
 * Training end to end on a tiny real cache (phantom → real preprocessing → npy, 32×32 slices,
 * ngf/ndf 4): the files a run leaves (checkpoints, sample PNGs, metrics, config), flat tensor
 * count, resume against an uninterrupted run, an incompatible resume, a real SIGKILL of the CLI
 * (also while a checkpoint is being written) followed by `--resume`, and `--use_amp`.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { createCanvas, loadImage } from 'canvas';
import { ampAvailability } from '../src/env/amp';
import { CacheLoader } from '../src/data/loader';
import { type BackendInfo, loadBackend } from '../src/env/backend';
import { CheckpointError } from '../src/errors';
import { DEFAULT_MODEL_CONFIG, type ModelConfig, Pix2Pix } from '../src/model';
import { loadCheckpoint, readCheckpointState, resolveCheckpointPath } from '../src/train/checkpoint';
import { type EpochRecord, readMetrics } from '../src/train/metrics-log';
import { train, type TrainOptions } from '../src/train/trainer';
import { isTempArtifact } from '../src/util/atomic-write';
import { buildTinyCaches, removeTemp, type TinyCaches } from './helpers/tiny-cache';

const root = path.resolve(__dirname, '..');
const CLI = path.join(root, 'dist', 'src', 'cli', 'main.js');
const MODEL: ModelConfig = { ...DEFAULT_MODEL_CONFIG, imageSize: 32, ngf: 4, ndf: 4, dropout: 0 };
/** What the CLI builds for --ngf 4 --ndf 4 on 32² slices. */
const CLI_MODEL: ModelConfig = { ...DEFAULT_MODEL_CONFIG, imageSize: 32, ngf: 4, ndf: 4 };

let tiny: TinyCaches;
let cache = '';
let backend: BackendInfo;
const temps: string[] = [];

function tmp(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `mri2ct-${prefix}-`));
  temps.push(d);
  return d;
}

before(async () => {
  backend = await loadBackend();
  tiny = await buildTinyCaches({ formats: ['npy'], patients: 5, grid: [64, 64, 40], size: 32 });
  cache = tiny.caches.npy ?? '';
  if (!fs.existsSync(CLI)) {
    // The test runner builds dist/ first; when this file runs alone on a fresh checkout, build it.
    const r = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
    assert.ok(fs.existsSync(CLI), `building dist/ failed (tsc exit ${r.status})`);
  }
});

after(() => {
  removeTemp(tiny?.root);
  for (const t of temps) removeTemp(t);
});

const openLoader = (seed: number, batchSize = 8): Promise<CacheLoader> => CacheLoader.open(cache, { batchSize, seed, augment: { augProb: 0.8 } });

function options(outputDir: string, epochs: number, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    outputDir,
    epochs,
    model: MODEL,
    optimizer: { lr: 2e-4, beta1: 0.5, beta2: 0.999 },
    saveFreq: 1,
    valFreq: 1,
    logEverySteps: 5,
    seed: 9,
    tfjsNode: backend.nodeModule,
    log: () => undefined,
    onEpoch: () => undefined,
    ...extra,
  };
}

const epochRecords = (outputDir: string): EpochRecord[] =>
  readMetrics(path.join(outputDir, 'logs', 'metrics.jsonl')).filter((r): r is EpochRecord => r.kind === 'epoch');

/** Decodes a PNG with canvas; returns its size and the standard deviation of its grey levels. */
async function pngStats(file: string): Promise<{ width: number; height: number; std: number }> {
  const buf = fs.readFileSync(file);
  assert.ok(buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), `${file} is not a PNG`);
  const img = await loadImage(buf);
  const c = createCanvas(img.width, img.height);
  const ctx = c.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const px = ctx.getImageData(0, 0, img.width, img.height).data;
  let sum = 0;
  let sq = 0;
  const n = px.length / 4;
  for (let i = 0; i < px.length; i += 4) {
    const g = ((px[i] ?? 0) + (px[i + 1] ?? 0) + (px[i + 2] ?? 0)) / 3;
    sum += g;
    sq += g * g;
  }
  return { width: img.width, height: img.height, std: Math.sqrt(Math.max(0, sq / n - (sum / n) ** 2)) };
}

test('a short run leaves checkpoints, real sample PNGs, metrics.jsonl and config.json; tensor count flat across epochs', async () => {
  const out = tmp('train');
  const loader = await openLoader(9);
  const tensors: number[] = [];
  const summaries: string[] = [];
  const r = await train(loader, options(out, 3, {
    onEpoch: (_rec, summary) => {
      tensors.push(tf.memory().numTensors);
      summaries.push(summary);
    },
  }));
  assert.equal(tensors.length, 3);
  assert.equal(tensors[2], tensors[0], `tensors after epochs 1..3: ${tensors.join(', ')}`);
  assert.match(summaries[2] ?? '', /^Epoch 3\/3 \| train G [\d.]+ D [\d.]+ L1 [\d.]+ \| val L1 [\d.]+ \| val MAE [\d.]+ HU/);

  const ck = path.join(out, 'checkpoints');
  assert.deepEqual(fs.readdirSync(ck).sort(), ['best_model.ckpt', 'epoch_1.ckpt', 'epoch_2.ckpt', 'epoch_3.ckpt', 'last.ckpt']);
  assert.equal(readCheckpointState(path.join(ck, 'last.ckpt')).epoch, 3);
  assert.equal(readCheckpointState(path.join(ck, 'epoch_2.ckpt')).epoch, 2);
  const best = readCheckpointState(path.join(ck, 'best_model.ckpt'));
  assert.equal(best.bestValMaeHu, r.bestValMaeHu);
  for (const f of fs.readdirSync(ck)) {
    const m = new Pix2Pix(MODEL, undefined, 1);
    await loadCheckpoint(path.join(ck, f), m);
    m.dispose();
  }

  const samples = fs.readdirSync(path.join(out, 'samples')).sort();
  assert.deepEqual(samples, ['epoch_001.png', 'epoch_002.png', 'epoch_003.png', 'latest.png']);
  const png = await pngStats(path.join(out, 'samples', 'epoch_003.png'));
  assert.ok(png.width >= 4 * 32 && png.height >= 32, `sample grid ${png.width}×${png.height}`);
  assert.ok(png.std > 10, `sample grid looks blank (grey-level std ${png.std.toFixed(2)})`);

  const recs = epochRecords(out);
  assert.deepEqual(recs.map((x) => x.epoch), [1, 2, 3]);
  for (const x of recs) {
    assert.ok(typeof x.valMaeHu === 'number' && Number.isFinite(x.valMaeHu) && x.valMaeHu > 0, `epoch ${x.epoch}: valMaeHu ${x.valMaeHu}`);
    assert.ok(Number.isFinite(x.trainG) && Number.isFinite(x.trainD) && Number.isFinite(x.trainL1));
  }
  assert.equal(recs[2]?.step, 3 * loader.batchesPerEpoch());
  const steps = readMetrics(path.join(out, 'logs', 'metrics.jsonl')).filter((x) => x.kind === 'step');
  assert.ok(steps.length >= 3 && steps.every((x) => x.step % 5 === 0));
  const config = JSON.parse(fs.readFileSync(path.join(out, 'logs', 'config.json'), 'utf8')) as { model: ModelConfig; epochs: number; split: { val: string[] } };
  assert.deepEqual(config.model, MODEL);
  assert.equal(config.epochs, 3);
  assert.deepEqual(config.split.val, loader.split.val);
  r.model.dispose();
});

test('resume: 2 epochs then --resume to 4 matches an uninterrupted 4-epoch run; metrics hold epochs 1..4 once; an incompatible resume is refused', async () => {
  const full = tmp('full');
  const a = await train(await openLoader(9), options(full, 4));
  const split = tmp('split');
  const b1 = await train(await openLoader(9), options(split, 2));
  b1.model.dispose();
  const logs: string[] = [];
  const b2 = await train(await openLoader(9), options(split, 4, { resume: true, log: (m) => logs.push(m) }));
  assert.ok(logs.some((l) => /^resumed from .*last: epoch 2, step \d+/.test(l)), logs.join('\n'));
  assert.deepEqual(b2.epochs.map((x) => x.epoch), [3, 4], 'the resumed run must start at epoch 3');
  for (const e of [3, 4]) {
    const x = a.epochs.find((r) => r.epoch === e);
    const y = b2.epochs.find((r) => r.epoch === e);
    assert.ok(x !== undefined && y !== undefined);
    assert.equal(y.step, x.step);
    // Bit-exact (README): same weights, Adam state (incl. its running β^t), shuffles and augmentation.
    for (const k of ['trainG', 'trainD', 'trainL1', 'valL1', 'valMaeHu'] as const) {
      assert.equal(y[k], x[k], `epoch ${e} ${k}: uninterrupted ${x[k]} vs resumed ${y[k]}`);
    }
  }
  for (const [name, v] of [...a.model.G, ...a.model.D]) {
    const w = b2.model.G.get(name) ?? b2.model.D.get(name);
    assert.ok(w !== undefined);
    assert.ok(Buffer.from((await v.data() as Float32Array).buffer).equals(Buffer.from((await w.data() as Float32Array).buffer)), `${name} differs after resume`);
  }
  // Resumed where the cache no longer fits the memory budget (streamed through the LRU, whose
  // default order is 'patient-blocks'): the run keeps its in-memory order and stays exact.
  const splitStreamed = tmp('split-streamed');
  (await train(await openLoader(9), options(splitStreamed, 2))).model.dispose();
  const streamed = await CacheLoader.open(cache, { batchSize: 8, seed: 9, augment: { augProb: 0.8 }, maxCacheMem: 1 });
  assert.equal(streamed.reader.inMemory, false);
  assert.equal(streamed.dataOrder, 'patient-blocks');
  const logsStreamed: string[] = [];
  const c2 = await train(streamed, options(splitStreamed, 4, { resume: true, log: (m) => logsStreamed.push(m) }));
  assert.ok(logsStreamed.some((l) => /data order: keeping the resumed run's 'shuffle'/.test(l)), logsStreamed.join('\n'));
  for (const e of [3, 4]) {
    const x = a.epochs.find((r) => r.epoch === e);
    const y = c2.epochs.find((r) => r.epoch === e);
    assert.ok(x !== undefined && y !== undefined);
    for (const k of ['trainG', 'trainD', 'trainL1', 'valL1', 'valMaeHu'] as const) {
      assert.equal(y[k], x[k], `streamed resume, epoch ${e} ${k}: uninterrupted ${x[k]} vs resumed ${y[k]}`);
    }
  }
  c2.model.dispose();

  const recs = epochRecords(split);
  assert.deepEqual(recs.map((x) => x.epoch), [1, 2, 3, 4]);
  const steps = readMetrics(path.join(split, 'logs', 'metrics.jsonl')).filter((x) => x.kind === 'step').map((x) => x.step);
  assert.deepEqual(steps, [...new Set(steps)].sort((p, q) => p - q), 'step records duplicated or out of order');
  a.model.dispose();
  b2.model.dispose();

  // Another --ngf against these checkpoints: a CheckpointError that says what differs; the run's logs stay.
  const configBefore = fs.readFileSync(path.join(split, 'logs', 'config.json'), 'utf8');
  const metricsBefore = fs.readFileSync(path.join(split, 'logs', 'metrics.jsonl'), 'utf8');
  const n = tf.memory().numTensors;
  await assert.rejects(train(await openLoader(9), options(split, 6, { resume: true, model: { ...MODEL, ngf: 8 } })), (e: unknown) => {
    assert.ok(e instanceof CheckpointError, String(e));
    assert.match(e.message, /last\.ckpt/);
    assert.match(e.message, /ngf: checkpoint 4 ≠ requested 8/);
    assert.match(e.message, /--ngf/);
    return true;
  });
  assert.equal(tf.memory().numTensors, n, 'the refused model leaked its tensors');
  assert.equal(fs.readFileSync(path.join(split, 'logs', 'config.json'), 'utf8'), configBefore, 'config.json was overwritten by a refused resume');
  assert.equal(fs.readFileSync(path.join(split, 'logs', 'metrics.jsonl'), 'utf8'), metricsBefore);
});

// ---------------------------------------------------------------------------------------------
// The CLI, as a separate process.

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Runs the CLI to the end. */
function cli(args: string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', reject);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const trainArgs = (out: string, epochs: number): string[] =>
  ['train', '--cache_dir', cache, '--output_dir', out, '--epochs', String(epochs), '--ngf', '4', '--ndf', '4', '--batch_size', '4', '--save_freq', '1', '--seed', '3'];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Starts a 50-epoch CLI run and SIGKILLs it once last.ckpt exists and another epoch runs:
 * 'write' kills as soon as a checkpoint temp file appears (mid-write), 'random' after a random delay.
 */
async function killRun(out: string, mode: 'write' | 'random'): Promise<{ how: string }> {
  const ck = path.join(out, 'checkpoints');
  const p = spawn(process.execPath, [CLI, ...trainArgs(out, 50)], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => p.on('close', () => r()));
  let dead = false;
  void exited.then(() => (dead = true));
  const last = path.join(ck, 'last.ckpt');
  const t0 = Date.now();
  const deadline = t0 + 60_000;
  while (!fs.existsSync(last)) {
    assert.ok(!dead, `the training run exited before its first checkpoint:\n${stderr}`);
    assert.ok(Date.now() < deadline, 'no last.ckpt after 60 s');
    await sleep(20);
  }
  let how = '';
  if (mode === 'random') {
    const ms = 100 + Math.floor(Math.random() * 1500);
    await sleep(ms);
    how = `${ms} ms after the first last.ckpt`;
  } else {
    // Watch the directory: kill as soon as a checkpoint temp file shows up (the next epoch's saves),
    // and at worst right after last.ckpt changes again.
    const mtime0 = fs.statSync(last).mtimeMs;
    how = await new Promise<string>((resolve) => {
      const watcher = fs.watch(ck, (_ev, name) => {
        if (name !== null && isTempArtifact(String(name)) && fs.existsSync(path.join(ck, String(name)))) {
          p.kill('SIGKILL');
          watcher.close();
          clearInterval(poll);
          resolve(`while writing ${String(name)}`);
        }
      });
      const poll = setInterval(() => {
        let m = mtime0;
        try {
          m = fs.statSync(last).mtimeMs;
        } catch {
          /* being replaced */
        }
        if (m !== mtime0 || Date.now() > deadline || dead) {
          p.kill('SIGKILL');
          watcher.close();
          clearInterval(poll);
          resolve(m !== mtime0 ? 'right after last.ckpt changed' : 'at the deadline');
        }
      }, 2);
    });
  }
  p.kill('SIGKILL');
  await exited;
  assert.equal(p.signalCode, 'SIGKILL', `the run ended by itself before the kill:\n${stderr}`);
  return { how };
}

/** After a kill: every .ckpt loads, nothing else but unmistakable temp files; returns the saved epoch. */
async function checkCheckpointsAfterKill(out: string): Promise<number> {
  const ck = path.join(out, 'checkpoints');
  const names = fs.readdirSync(ck);
  const ckpts = names.filter((f) => f.endsWith('.ckpt'));
  assert.ok(ckpts.includes('last.ckpt'), names.join(', '));
  for (const f of names) {
    if (f.endsWith('.ckpt')) {
      const m = new Pix2Pix(CLI_MODEL, undefined, 1);
      const st = await loadCheckpoint(path.join(ck, f), m); // throws on a torn or corrupt file
      m.dispose();
      assert.ok(st.epoch >= 1);
    } else {
      // Leftovers of the killed write: hidden, not *.ckpt, so no loader takes them for checkpoints.
      assert.ok(isTempArtifact(f) && f.startsWith('.') && !/\.ckpt$/.test(f), `unexpected file ${f} in checkpoints/`);
    }
  }
  assert.equal(resolveCheckpointPath(out), path.join(ck, 'last.ckpt'));
  assert.equal(resolveCheckpointPath(path.join(ck, 'last')), path.join(ck, 'last.ckpt'));
  const saved = readCheckpointState(path.join(ck, 'last.ckpt')).epoch;
  // No epoch_N beyond the one last.ckpt holds is promised, but none may claim a later epoch than written.
  for (const f of ckpts) assert.ok(readCheckpointState(path.join(ck, f)).epoch <= saved + 1);
  return saved;
}

async function resumeAndFinish(out: string, saved: number): Promise<void> {
  const r = await cli([...trainArgs(out, saved + 1), '--resume']);
  assert.equal(r.code, 0, `resume failed:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, new RegExp(`resumed from .*last: epoch ${saved}, step \\d+`));
  const epochs = [...r.stdout.matchAll(/^Epoch (\d+)\/(\d+) \|/gm)].map((m) => Number(m[1]));
  assert.deepEqual(epochs, [saved + 1], `the resumed run's epochs: ${epochs.join(', ')}`);
  assert.match(r.stdout, /best validation MAE [\d.]+ HU/);
  assert.equal(readCheckpointState(path.join(out, 'checkpoints', 'last.ckpt')).epoch, saved + 1);
  assert.deepEqual(epochRecords(out).map((x) => x.epoch), Array.from({ length: saved + 1 }, (_, i) => i + 1));
  const left = fs.readdirSync(path.join(out, 'checkpoints')).filter((f) => !f.endsWith('.ckpt'));
  assert.deepEqual(left, [], 'the resumed run should clean up the killed run\'s temp files');
}

test('kill -9 of `mri2ct train` (mid-epoch, and while a checkpoint is written): every checkpoint loads, --resume continues and finishes', async (t) => {
  for (const mode of ['write', 'random'] as const) {
    const out = tmp(`kill-${mode}`);
    const { how } = await killRun(out, mode);
    const saved = await checkCheckpointsAfterKill(out);
    const temps = fs.readdirSync(path.join(out, 'checkpoints')).filter((f) => !f.endsWith('.ckpt'));
    t.diagnostic(`${mode}: killed ${how}; last.ckpt holds epoch ${saved}; temp files left: ${temps.length}`);
    await resumeAndFinish(out, saved);
  }
});

test('resume of an --use_amp run is exact: 1 epoch then resume to 2 equals 2 uninterrupted AMP epochs', async (t) => {
  const amp = ampAvailability(backend.kind);
  if (amp.dtype !== 'bfloat16') return t.skip(`AMP not available here: ${amp.reason}`);
  const ampOpts = (out: string, epochs: number, extra: Partial<TrainOptions> = {}): TrainOptions => options(out, epochs, { useAmp: true, ...extra });
  const full = tmp('amp-full');
  const a = await train(await openLoader(9), ampOpts(full, 2));
  const split = tmp('amp-split');
  (await train(await openLoader(9), ampOpts(split, 1))).model.dispose();
  const b = await train(await openLoader(9), ampOpts(split, 2, { resume: true }));
  assert.equal(a.model.convPrecision, 'bfloat16');
  assert.equal(b.model.convPrecision, 'bfloat16');
  const x = a.epochs.find((r) => r.epoch === 2);
  const y = b.epochs.find((r) => r.epoch === 2);
  assert.ok(x !== undefined && y !== undefined);
  for (const k of ['trainG', 'trainD', 'trainL1', 'valL1', 'valMaeHu'] as const) assert.equal(y[k], x[k], `epoch 2 ${k}: uninterrupted ${x[k]} vs resumed ${y[k]}`);
  for (const [name, v] of [...a.model.G, ...a.model.D]) {
    const w = b.model.G.get(name) ?? b.model.D.get(name);
    assert.ok(w !== undefined);
    const [p, q] = [(await v.data()) as Float32Array, (await w.data()) as Float32Array];
    assert.ok(Buffer.from(p.buffer, p.byteOffset, p.byteLength).equals(Buffer.from(q.buffer, q.byteOffset, q.byteLength)), `${name} differs after the AMP resume`);
  }
  const cfg = JSON.parse(fs.readFileSync(path.join(split, 'logs', 'config.json'), 'utf8')) as { amp: unknown };
  assert.deepEqual(cfg.amp, { requested: true, ...amp });
  a.model.dispose();
  b.model.dispose();
});

test('--use_amp says once what it does, records it in config.json, and keeps float32 weights', async () => {
  const out = tmp('amp');
  const r = await cli([...trainArgs(out, 1), '--use_amp']);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.equal(`${r.stdout}\n${r.stderr}`.split('--use_amp:').length - 1, 1, `the --use_amp line must appear once:\n${r.stdout}`);
  const expected = ampAvailability('tensorflow');
  const cfg = JSON.parse(fs.readFileSync(path.join(out, 'logs', 'config.json'), 'utf8')) as { amp: { requested: boolean; dtype: string; reason: string } };
  assert.deepEqual(cfg.amp, { requested: true, ...expected });
  assert.match(r.stdout, expected.dtype === 'bfloat16' ? /--use_amp: convolutions in bfloat16/ : /--use_amp: training in float32: /);
  assert.match(r.stdout, /^Epoch 1\/1 \| train G [\d.]+ D [\d.]+ L1 [\d.]+ \| val L1/m);
  // The checkpoint holds float32 weights and Adam moments (only Adam's step counter is int32).
  const file = path.join(out, 'checkpoints', 'last.ckpt');
  const buf = fs.readFileSync(file);
  const header = JSON.parse(buf.toString('utf8', 16, 16 + buf.readUInt32LE(12))) as { tensors: { name: string; dtype: string }[] };
  const nonFloat = header.tensors.filter((x) => x.dtype !== 'float32').map((x) => x.name);
  assert.deepEqual(nonFloat.sort(), ['optD:iter', 'optG:iter']);
  assert.ok(header.tensors.some((x) => x.name.startsWith('param:')));
  const m = new Pix2Pix(CLI_MODEL, undefined, 1);
  await loadCheckpoint(file, m);
  for (const v of [...m.G.values(), ...m.D.values()]) assert.equal(v.dtype, 'float32');
  m.dispose();
});
