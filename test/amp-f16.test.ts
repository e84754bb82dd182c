/**
 * --use_amp in float16 (issue #14's GPU route), tested on TensorFlow's CPU half kernels through
 * tfjs-node (MRI2CT_AMP_DTYPE=float16 where a train() run is involved): the decision, the
 * dynamic loss scale, the half convs and one step against float32, skipped steps leaving weights
 * and Adam byte-identical, scale growth, leaks, and a float16 train() run resumed exactly.
 * Never run on a GPU. Tiny models (32², ngf = ndf = 8 or 4).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { CacheLoader } from '../src/data/loader';
import { AMP_DTYPE_ENV, ampAvailability, ampLogLine, decideAmp } from '../src/env/amp';
import { type BackendInfo, loadBackend } from '../src/env/backend';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../src/model/config';
import { sideStreamAvailable } from '../src/env/side-stream';
import { TF_HALF } from '../src/model/conv16';
import { checkConv16 } from '../src/model/conv16-check';
import { nativeBackend } from '../src/env/native-ops';
import { allFinite, DynamicLossScale } from '../src/model/loss-scale';
import { Pix2Pix } from '../src/model/pix2pix';
import { loadCheckpoint, readCheckpointState } from '../src/train/checkpoint';
import { type EpochRecord, readMetrics, type StepRecord } from '../src/train/metrics-log';
import { train, type TrainOptions } from '../src/train/trainer';
import { batch as batchOf, convErrors, stepVsFloat32 } from './helpers/amp-compare';
import { growthOver, kernelsOf } from './helpers/kernel-spy';
import { buildTinyCaches, removeTemp, type TinyCaches } from './helpers/tiny-cache';

const MODEL: ModelConfig = { ...DEFAULT_MODEL_CONFIG, imageSize: 32, ngf: 8, ndf: 8, dropout: 0 };
let backend: BackendInfo;
let tiny: TinyCaches | undefined;
const temps: string[] = [];

before(async () => {
  backend = await loadBackend({ request: 'tensorflow', warn: () => undefined });
});

after(() => {
  removeTemp(tiny?.root);
  for (const t of temps) removeTemp(t);
});

const batch = (seed: number) => batchOf(MODEL, seed);

test('decision: GPU → float16, bf16 CPU → bfloat16, MRI2CT_AMP_DTYPE overrides on native backends only', () => {
  const bf16 = 'flags\t\t: fpu avx2 avx512_bf16\n';
  const plain = 'flags\t\t: fpu avx2\n';
  assert.equal(ampAvailability('tensorflow-gpu', plain, '').dtype, 'float16');
  assert.equal(ampAvailability('tensorflow', bf16, '').dtype, 'bfloat16');
  assert.equal(ampAvailability('tensorflow', plain, '').dtype, 'float32');
  const f16cpu = ampAvailability('tensorflow', bf16, 'float16');
  assert.equal(f16cpu.dtype, 'float16');
  assert.match(f16cpu.reason, /^MRI2CT_AMP_DTYPE=float16: float16 convolutions with dynamic loss scaling on the CPU/);
  assert.equal(ampAvailability('tensorflow-gpu', plain, 'bfloat16').dtype, 'bfloat16');
  assert.equal(ampAvailability('tensorflow', plain, 'bfloat16').dtype, 'bfloat16');
  assert.equal(ampAvailability('tensorflow-gpu', plain, 'float32').dtype, 'float32');
  assert.equal(ampAvailability('cpu', bf16, 'float16').dtype, 'float32');
  assert.deepEqual(ampAvailability('tensorflow', bf16, 'fp16'), { dtype: 'float32', reason: 'MRI2CT_AMP_DTYPE=fp16 is not one of float16, bfloat16, float32' });
  assert.equal(decideAmp(false, 'tensorflow-gpu', plain, 'float16').dtype, 'float32');
  const before = process.env[AMP_DTYPE_ENV];
  try {
    process.env[AMP_DTYPE_ENV] = 'float16';
    assert.equal(ampAvailability('tensorflow', plain).dtype, 'float16');
  } finally {
    if (before === undefined) delete process.env[AMP_DTYPE_ENV];
    else process.env[AMP_DTYPE_ENV] = before;
  }
  assert.match(ampLogLine(decideAmp(true, 'tensorflow-gpu', plain, '')), /^--use_amp: convolutions in float16 \(.*never run on a GPU\)\); .*steps with inf\/NaN gradients skipped\)$/);
});

test('DynamicLossScale: halves on inf/NaN (floor 1), doubles after the growth interval, per network; state round-trips', () => {
  const d = new DynamicLossScale();
  assert.equal(d.scale('G'), 32768);
  assert.equal(d.growthInterval, 2000);
  d.update('G', false);
  assert.deepEqual(d.state(), { growthInterval: 2000, G: { scale: 16384, goodSteps: 0, skipped: 1 }, D: { scale: 32768, goodSteps: 0, skipped: 0 } });
  const s = new DynamicLossScale({ initialScale: 4, growthInterval: 3 });
  for (const f of [true, true, false, true, true]) s.update('D', f);
  assert.deepEqual(s.state().D, { scale: 2, goodSteps: 2, skipped: 1 }, 'a skip resets the count towards growth');
  s.update('D', true);
  assert.deepEqual(s.state().D, { scale: 4, goodSteps: 0, skipped: 1 });
  for (let i = 0; i < 5; i++) s.update('G', false);
  assert.equal(s.scale('G'), 1, 'never below 1');
  const r = new DynamicLossScale({ growthInterval: 3 });
  r.restore(s.state());
  assert.deepEqual(r.state(), s.state());
  assert.throws(() => new DynamicLossScale({ initialScale: 3 }), /power of two/);
  assert.throws(() => new DynamicLossScale({ growthInterval: 0 }), /growth interval/);
  assert.throws(() => r.restore({ ...s.state(), G: { scale: 0.3, goodSteps: 0, skipped: 0 } }), /power of two/);
});

test('allFinite: one backend reduction that sees NaN, +inf, -inf and inf-inf anywhere', () => {
  tf.tidy(() => {
    const ok = [tf.ones([3, 3]), tf.fill([1000], 1e30)];
    const read = (ts: tf.Tensor[]) => allFinite(ts).dataSync()[0] === 1;
    assert.equal(read(ok), true);
    assert.equal(read([...ok, tf.tensor([1, NaN, 2])]), false);
    assert.equal(read([...ok, tf.tensor([Infinity])]), false);
    assert.equal(read([tf.tensor([-Infinity, 1])]), false);
    assert.equal(read([tf.tensor([Infinity]), tf.tensor([-Infinity])]), false);
  });
});

test('float16 conv ops match tf.conv2d / tf.conv2dTranspose (values and gradients, < 5e-3; measured 5e-4..7e-4)', () => {
  for (const { name, err } of convErrors('float16')) assert.ok(err < 5e-3, `${name}: ${err}`);
});

test('one float16 step (loss scale 2^10) vs float32 on the same weights and batch: loss rel err < 1e-4, gradient rel err overall < 0.15, per variable < 0.35', () => {
  const { lossErr, overall, worst } = stepVsFloat32(MODEL, Number(process.env['AMP_TEST_SEED'] ?? 2), 'float16', 2 ** 10);
  // Measured (seeds 1, 2, 3, 7; bf16 for comparison 2.4e-5..4.5e-5 / 0.06..0.18 / 0.16..0.31):
  // loss rel err 6e-7..6e-6, overall 0.005..0.072, worst variable 0.093..0.17 (norm offsets).
  assert.ok(lossErr < 1e-4, `loss rel err ${lossErr}`);
  assert.ok(overall < 0.15, `overall gradient rel err ${overall}`);
  assert.ok(worst[0]![1] < 0.35, `worst variable ${worst[0]![0]}: ${worst[0]![1]}`);
  assert.ok(overall > 0, 'float16 must differ from float32 at all (else the half path did not run)');
});

/** Every parameter and every piece of Adam state, as bytes. */
async function snapshot(m: Pix2Pix): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const put = async (name: string, t: tf.Tensor) => {
    const a = (await t.data()) as Float32Array | Int32Array;
    out.set(name, Buffer.from(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength)));
  };
  for (const [name, v] of [...m.G, ...m.D]) await put(`param:${name}`, v);
  for (const [tag, opt] of [['G', m.optG], ['D', m.optD]] as const) {
    const ws = await opt.getWeights();
    for (const w of ws) await put(`${tag}:${w.name.replace(/^[^/]+\//, '')}`, w.tensor);
    tf.dispose(ws.filter((w) => !(w.tensor instanceof tf.Variable)).map((w) => w.tensor));
    await put(`${tag}:accBeta1`, opt.accBeta1);
    await put(`${tag}:accBeta2`, opt.accBeta2);
  }
  return out;
}

test('an absurd loss scale (2^40) overflows: the step is skipped (weights and Adam byte-identical), the scales halve, the count says so', async () => {
  const m = new Pix2Pix(MODEL, undefined, 5);
  const [mri, ct] = batch(11);
  m.trainStep(mri, ct); // float32 step first, so Adam's moments are not all zero
  m.convPrecision = 'float16';
  m.lossScale = new DynamicLossScale({ initialScale: 2 ** 40 });
  const s0 = await snapshot(m);
  const l = m.trainStep(mri, ct);
  assert.ok(Number.isFinite(l.g) && Number.isFinite(l.d), 'the reported losses are the unscaled, finite ones');
  const s1 = await snapshot(m);
  assert.equal(s1.size, s0.size);
  for (const [k, v] of s0) assert.ok(v.equals(s1.get(k)!), `${k} changed in a skipped step`);
  assert.deepEqual(m.lossScale.state(), { growthInterval: 2000, G: { scale: 2 ** 39, goodSteps: 0, skipped: 1 }, D: { scale: 2 ** 39, goodSteps: 0, skipped: 1 } });
  tf.dispose([mri, ct]);
  m.dispose();
});

test('growth: with interval 2 and no overflow, the scales double every 2 steps and Adam runs', async () => {
  const m = new Pix2Pix(MODEL, undefined, 6);
  m.convPrecision = 'float16';
  m.lossScale = new DynamicLossScale({ initialScale: 2 ** 6, growthInterval: 2 });
  const [mri, ct] = batch(13);
  const s0 = await snapshot(m);
  for (let i = 0; i < 5; i++) m.trainStep(mri, ct);
  assert.deepEqual(m.lossScale.state(), { growthInterval: 2, G: { scale: 2 ** 8, goodSteps: 1, skipped: 0 }, D: { scale: 2 ** 8, goodSteps: 1, skipped: 0 } });
  const s1 = await snapshot(m);
  assert.ok(!s0.get('param:G/enc1/kernel')!.equals(s1.get('param:G/enc1/kernel')!), 'G was not updated');
  assert.ok(!s0.get('param:D/c1/kernel')!.equals(s1.get('param:D/c1/kernel')!), 'D was not updated');
  tf.dispose([mri, ct]);
  m.dispose();
});

test('a float16 step runs half Conv2D/BackpropInput/BackpropFilter and Casts only; tensor and handle counts stay flat (skipped steps included)', () => {
  const m = new Pix2Pix(MODEL, undefined, 4);
  m.convPrecision = 'float16';
  m.lossScale = new DynamicLossScale({ initialScale: 2 ** 18 }); // G overflows for a few steps at this size, D does not
  const [mri, ct] = batch(9);
  const seen = kernelsOf(() => m.trainStep(mri, ct));
  const convs = ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'];
  for (const c of convs) {
    assert.ok(seen.some((k) => k.name === c && k.type === TF_HALF), `no half ${c}`);
    assert.ok(!seen.some((k) => k.name === c && k.type === 1), `a float32 ${c} ran`);
  }
  assert.deepEqual([...new Set(seen.filter((k) => k.type === TF_HALF).map((k) => k.name))].sort(), [...convs, 'Cast', ...(sideStreamAvailable() ? ['Shape'] : [])].sort()); // Shape: filter_sizes for the side stream's dW
  const growth = growthOver(() => {
    for (let i = 0; i < 4; i++) m.trainStep(mri, ct);
    tf.dispose(m.predict(mri));
  });
  assert.deepEqual(growth, { tensors: 0, handles: 0 }, 'tensors or backend handles leaked');
  assert.ok(m.lossScale.skipped('G') + m.lossScale.skipped('D') > 0, 'expected some skipped steps at 2^18');
  tf.dispose([mri, ct]);
  m.dispose();
});

const TRAIN_MODEL: ModelConfig = { ...MODEL, ngf: 4, ndf: 4 };

function options(outputDir: string, epochs: number, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    outputDir, epochs, model: TRAIN_MODEL, optimizer: { lr: 2e-4, beta1: 0.5, beta2: 0.999 }, saveFreq: 1, valFreq: 1, logEverySteps: 1, seed: 9,
    useAmp: true, lossScale: { initialScale: 2 ** 22, growthInterval: 3 }, log: () => undefined, onEpoch: () => undefined, ...extra,
  };
}

function tmp(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `mri2ct-${prefix}-`));
  temps.push(d);
  return d;
}

/** Runs fn with MRI2CT_AMP_DTYPE set (restored afterwards). */
async function withAmpDtype<T>(dtype: string, fn: () => Promise<T>): Promise<T> {
  const before = process.env[AMP_DTYPE_ENV];
  process.env[AMP_DTYPE_ENV] = dtype;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env[AMP_DTYPE_ENV];
    else process.env[AMP_DTYPE_ENV] = before;
  }
}

async function sameWeights(a: Pix2Pix, b: Pix2Pix, what: string): Promise<void> {
  for (const [name, v] of [...a.G, ...a.D]) {
    const w = b.G.get(name) ?? b.D.get(name);
    const [p, q] = [(await v.data()) as Float32Array, (await w!.data()) as Float32Array];
    assert.ok(Buffer.from(p.buffer, p.byteOffset, p.byteLength).equals(Buffer.from(q.buffer, q.byteOffset, q.byteLength)), `${name} differs (${what})`);
  }
}

test('train() in float16: skipped steps in metrics.jsonl, the epoch line and the checkpoint; 1 epoch + resume = 2 uninterrupted epochs, bit for bit; checkpoints cross float16/float32', async () => {
  assert.notEqual(backend.kind, 'cpu');
  tiny = await buildTinyCaches({ formats: ['npy'], patients: 3, grid: [48, 48, 28], size: 32 });
  const open = () => CacheLoader.open(tiny!.caches.npy!, { batchSize: 8, seed: 9, augment: { augProb: 0.8 } });
  await withAmpDtype('float16', async () => {
    const full = tmp('f16-full');
    const logs: string[] = [];
    const a = await train(await open(), options(full, 2, { onEpoch: (_r, s) => logs.push(s), log: (m) => logs.push(m) }));
    assert.equal(a.model.convPrecision, 'float16');
    assert.ok(logs.some((l) => /^--use_amp: convolutions in float16 \(MRI2CT_AMP_DTYPE=float16/.test(l)), logs.join('\n'));
    const e1 = a.epochs[0]!;
    assert.ok(e1.f16 !== undefined && e1.f16.skippedG + e1.f16.skippedD > 0, `2^22 should overflow at first: ${JSON.stringify(e1.f16)}`);
    assert.match(logs.find((l) => l.startsWith('Epoch 1/2'))!, new RegExp(`\\| float16: G ${e1.f16.skippedG}, D ${e1.f16.skippedD} steps skipped \\(inf/NaN gradients\\), loss scale G ${e1.f16.scaleG}, D ${e1.f16.scaleD} \\|`));
    const steps = readMetrics(path.join(full, 'logs', 'metrics.jsonl')).filter((r): r is StepRecord => r.kind === 'step');
    assert.ok(steps.length > 0 && steps.every((r) => r.f16 !== undefined));
    assert.equal(steps.filter((r) => r.epoch === 1).at(-1)!.f16!.totalSkippedG, e1.f16.skippedG);
    const ep = readMetrics(path.join(full, 'logs', 'metrics.jsonl')).filter((r): r is EpochRecord => r.kind === 'epoch');
    assert.deepEqual(ep.map((r) => r.f16), a.epochs.map((r) => r.f16));
    const cfg = JSON.parse(fs.readFileSync(path.join(full, 'logs', 'config.json'), 'utf8')) as { amp: { dtype: string; lossScale: unknown } };
    assert.equal(cfg.amp.dtype, 'float16');
    assert.deepEqual(cfg.amp.lossScale, { initialScale: 2 ** 22, growthInterval: 3 });
    assert.deepEqual(readCheckpointState(path.join(full, 'checkpoints', 'last.ckpt')).lossScale, a.model.lossScale!.state());

    const split = tmp('f16-split');
    (await train(await open(), options(split, 1))).model.dispose();
    const b = await train(await open(), options(split, 2, { resume: true }));
    const [x, y] = [a.epochs[1]!, b.epochs[0]!];
    assert.equal(y.epoch, 2);
    for (const k of ['trainG', 'trainD', 'trainL1', 'valL1', 'valMaeHu'] as const) assert.equal(y[k], x[k], `epoch 2 ${k}: uninterrupted ${x[k]} vs resumed ${y[k]}`);
    assert.deepEqual(y.f16, x.f16);
    assert.deepEqual(b.model.lossScale!.state(), a.model.lossScale!.state());
    await sameWeights(a.model, b.model, 'float16 resume');

    // The float16 checkpoint loads into a float32 model (float32 weights, same bytes)...
    const plain = new Pix2Pix(TRAIN_MODEL, undefined, 1);
    await loadCheckpoint(path.join(full, 'checkpoints', 'last.ckpt'), plain);
    await sameWeights(a.model, plain, 'float16 checkpoint loaded without AMP');
    plain.dispose();
    a.model.dispose();
    b.model.dispose();
  });
  // ...and a float32 run's checkpoint (no lossScale in its header) resumes in float16 from the initial scale.
  const f32 = tmp('f32-then-f16');
  (await train(await open(), options(f32, 1, { useAmp: false }))).model.dispose();
  assert.equal(readCheckpointState(path.join(f32, 'checkpoints', 'last.ckpt')).lossScale, undefined);
  const c = await withAmpDtype('float16', async () => train(await open(), options(f32, 2, { resume: true })));
  assert.equal(c.model.convPrecision, 'float16');
  assert.ok(Number.isFinite(c.epochs[0]!.trainG));
  assert.ok(c.epochs[0]!.f16 !== undefined && c.epochs[0]!.f16.totalSkippedG === c.epochs[0]!.f16.skippedG, 'a fresh scale: no earlier skips');
  c.model.dispose();
});

test('start-up check: the 16-bit convs pass it here; when they throw (a GPU whose half kernels fail, simulated) the run trains in float32 and says why', async () => {
  assert.equal(checkConv16('float16'), undefined);
  assert.equal(checkConv16('bfloat16'), undefined);
  // Sabotage: the binding refuses every op with T=half, as a broken cuDNN half path would.
  type Binding = { executeOp: (n: string, a: { name: string; value: unknown }[], i: number[], k: number) => unknown };
  const nb = nativeBackend() as unknown as { binding: Binding };
  const real = nb.binding;
  const fake = Object.create(real) as Binding;
  Object.defineProperty(fake, 'executeOp', {
    value: (n: string, a: { name: string; value: unknown }[], i: number[], k: number): unknown => {
      if (a.some((x) => (x.name === 'T' || x.name === 'DstT') && x.value === TF_HALF)) throw new Error(`Invalid TF_Status: 12\nMessage: no half kernel for ${n} (simulated)`);
      return real.executeOp(n, a, i, k);
    },
  });
  nb.binding = fake;
  try {
    assert.match(checkConv16('float16') ?? '', /^float16 convolutions failed: Invalid TF_Status: 12$/);
    tiny ??= await buildTinyCaches({ formats: ['npy'], patients: 3, grid: [48, 48, 28], size: 32 });
    const dir = tmp('f16-broken');
    const logs: string[] = [];
    const r = await withAmpDtype('float16', async () => train(await CacheLoader.open(tiny!.caches.npy!, { batchSize: 8, seed: 9 }), options(dir, 1, { log: (m) => logs.push(m) })));
    assert.equal(r.model.convPrecision, 'float32');
    assert.ok(Number.isFinite(r.epochs[0]!.trainG));
    assert.ok(logs.some((l) => /^--use_amp: training in float32: float16 convolutions failed: .*the start-up check failed, so training runs in float32/.test(l)), logs.join('\n'));
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'logs', 'config.json'), 'utf8')) as { amp: { dtype: string; reason: string } };
    assert.equal(cfg.amp.dtype, 'float32');
    assert.match(cfg.amp.reason, /start-up check failed/);
    r.model.dispose();
  } finally {
    nb.binding = real;
  }
});
