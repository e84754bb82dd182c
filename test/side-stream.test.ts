/**
 * The binding's side stream (scripts/tfjs-binding/side-stream.patch, used by src/model/conv16.ts
 * for --use_amp): set-up builds it in; a step with it gives byte-identical weights to a step
 * without it; dW and the kernels' casts go there and nothing more; kernel errors surface at the
 * sync and the stream recovers; JavaScript memory released on the side thread does not crash.
 * The step tests need a CPU with bf16 instructions (skipped elsewhere, saying why).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ampAvailability } from '../src/env/amp';
import { loadBackend } from '../src/env/backend';
import { rawBackend } from '../src/env/native-ops';
import { setSideStream, sideStreamAvailable, sideStreamBuilt, syncSideStream } from '../src/env/side-stream';
import { TF_BFLOAT16 } from '../src/model/conv16';
import { DEFAULT_MODEL_CONFIG, type ModelConfig } from '../src/model/config';
import { Pix2Pix } from '../src/model/pix2pix';
import { batch as batchOf } from './helpers/amp-compare';
import { growthOver, kernelsOf } from './helpers/kernel-spy';

const MODEL: ModelConfig = { ...DEFAULT_MODEL_CONFIG, imageSize: 32, ngf: 8, ndf: 8, dropout: 0 };
const ROUTE_FILE = path.join(__dirname, '..', 'node_modules', '@tensorflow', 'tfjs-node', 'deps', 'mri2ct-route.txt');
let skipBf16: string | false = false;

before(async () => {
  const b = await loadBackend({ request: 'tensorflow', warn: () => undefined });
  const a = ampAvailability(b.kind);
  skipBf16 = a.dtype === 'bfloat16' ? false : `bfloat16 not available here: ${a.reason}`;
});
after(() => setSideStream(undefined));

/** SHA-256 over every parameter's bytes, G then D. */
function weightsHash(m: Pix2Pix): string {
  const h = createHash('sha256');
  for (const [, v] of [...m.G, ...m.D]) h.update(Buffer.from((v.dataSync() as Float32Array).buffer));
  return h.digest('hex');
}

test('set-up built the binding with the side stream (every route but the prebuilt download)', () => {
  const route = fs.existsSync(ROUTE_FILE) ? fs.readFileSync(ROUTE_FILE, 'utf8').split('\n')[0]! : 'not recorded';
  if (route === 'download') return; // tfjs-node's prebuilt binary: conv16 runs dW in line
  const b = rawBackend('tensorflow');
  assert.equal(typeof b?.binding.executeOpSide, 'function', `binding from route '${route}' lacks executeOpSide: scripts/setup-tfjs.sh did not patch it`);
  assert.equal(typeof b?.binding.syncSideStream, 'function');
  assert.equal(sideStreamBuilt(b), true);
  setSideStream(undefined);
  assert.equal(sideStreamAvailable(b), true);
});

test('bf16 steps with the side stream give byte-identical weights and losses to steps without it', (t) => {
  if (skipBf16 !== false) return t.skip(skipBf16);
  const run = (side: boolean) => {
    setSideStream(side);
    const m = new Pix2Pix(MODEL, undefined, 11);
    m.convPrecision = 'bfloat16';
    const [mri, ct] = batchOf(MODEL, 12);
    const losses = [1, 2, 3].map(() => m.trainStep(mri, ct));
    const hash = weightsHash(m);
    tf.dispose([mri, ct]);
    m.dispose();
    return { losses, hash };
  };
  const off = run(false);
  const on = run(true);
  assert.deepEqual(on.losses, off.losses);
  assert.equal(on.hash, off.hash);
});

test('the side stream gets each needed dW once (none for D\'s constant copies) and the kernel casts; handles stay flat', (t) => {
  if (skipBf16 !== false) return t.skip(skipBf16);
  setSideStream(true);
  const m = new Pix2Pix(MODEL, undefined, 13);
  m.convPrecision = 'bfloat16';
  const [mri, ct] = batchOf(MODEL, 14);
  m.trainStep(mri, ct);
  const seen = kernelsOf(() => m.trainStep(mri, ct));
  const kernels = (p: Map<string, tf.Tensor>) => [...p].filter(([k, v]) => k.endsWith('/kernel') && v.rank === 4).length;
  const [g, d] = [kernels(m.G), kernels(m.D)];
  const side = seen.filter((k) => k.side === true);
  const count = (s: typeof seen, name: string, type: number) => s.filter((k) => k.name === name && k.type === type).length;
  // G's kernels once, D's for its two trained passes (real, fake); G's adversarial pass through
  // D's constant copies needs no dW.
  assert.equal(count(side, 'Conv2DBackpropFilter', TF_BFLOAT16), g + 2 * d);
  assert.equal(seen.filter((k) => k.name === 'Conv2DBackpropFilter' && k.side !== true).length, 0, 'a dW ran on the main thread');
  // Casts there: every kernel once to bf16 (D's copies share D's data), every dW back to float32.
  assert.equal(count(side, 'Cast', TF_BFLOAT16), g + d);
  assert.equal(count(side, 'Cast', 1), g + 2 * d);
  assert.deepEqual([...new Set(side.map((k) => k.name))].sort(), ['Cast', 'Conv2DBackpropFilter']);
  const growth = growthOver(() => {
    for (let i = 0; i < 3; i++) m.trainStep(mri, ct);
  });
  assert.deepEqual(growth, { tensors: 0, handles: 0 });
  tf.dispose([mri, ct]);
  m.dispose();
});

test('a kernel error on the side stream surfaces at the sync, and the stream runs again after it', () => {
  const b = rawBackend('tensorflow');
  if (b?.binding.executeOpSide === undefined) return;
  const ids = (ts: tf.Tensor[]) => b.getInputTensorIds(ts);
  const attrs = [
    { name: 'T', type: b.binding.TF_ATTR_TYPE, value: 1 },
    { name: 'strides', type: b.binding.TF_ATTR_INT, value: [1, 1, 1, 1] },
    { name: 'padding', type: b.binding.TF_ATTR_STRING, value: 'SAME' },
    { name: 'data_format', type: b.binding.TF_ATTR_STRING, value: 'NHWC' },
    { name: 'use_cudnn_on_gpu', type: b.binding.TF_ATTR_BOOL, value: true },
    { name: 'dilations', type: b.binding.TF_ATTR_INT, value: [1, 1, 1, 1] },
  ];
  const x = tf.ones([1, 8, 8, 3]);
  const dy = tf.ones([1, 8, 8, 5]);
  const wrongSizes = tf.tensor1d([3, 3, 4, 5], 'int32'); // x has 3 channels, not 4: fails when it runs
  const [bad] = b.binding.executeOpSide('Conv2DBackpropFilter', attrs, ids([x, wrongSizes, dy]), 1);
  assert.throws(() => syncSideStream(), /side stream: .*(channel|depth|shape|dimension)/i);
  b.binding.deleteTensor(bad!);
  const sizes = tf.tensor1d([3, 3, 3, 5], 'int32');
  const [good] = b.binding.executeOpSide('Conv2DBackpropFilter', attrs, ids([x, sizes, dy]), 1);
  syncSideStream();
  const dw = b.createOutputTensor({ id: good!, shape: [3, 3, 3, 5], dtype: 1 });
  // dW of ones over ones = how many output pixels each tap sees: all 8·8 at the centre tap.
  assert.equal(dw.dataSync()[(1 * 3 + 1) * 15], 64);
  tf.dispose([x, dy, wrongSizes, sizes, dw]);
});

test('JavaScript memory that a side op releases goes back to the JavaScript thread (no N-API call on the side thread)', () => {
  const b = rawBackend('tensorflow');
  const deferred = (b?.binding as { sideStreamDeferredReleases?: () => number } | undefined)?.sideStreamDeferredReleases;
  if (b?.binding.executeOpSide === undefined || deferred === undefined) return;
  const neg = [{ name: 'T', type: b.binding.TF_ATTR_TYPE, value: 1 }];
  const before = deferred();
  // Keep the stream busy (a few matrix products) so that the small ops below are still queued
  // when their inputs are disposed here.
  const m = tf.randomNormal([1024, 1024]);
  const mm = [{ name: 'T', type: b.binding.TF_ATTR_TYPE, value: 1 }, { name: 'transpose_a', type: b.binding.TF_ATTR_BOOL, value: false }, { name: 'transpose_b', type: b.binding.TF_ATTR_BOOL, value: false }];
  const busy = [0, 1, 2, 3].map(() => b.binding.executeOpSide!('MatMul', mm, b.getInputTensorIds([m, m]), 1)[0]!);
  const out: { id: number; n: number; first: number }[] = [];
  for (let i = 0; i < 40; i++) {
    // 16 disjoint views of one buffer, at float offsets j·(n + 17): n even makes their byte
    // offsets cover every residue mod 64, so one starts on a 64-byte boundary, which TensorFlow
    // borrows without a copy; its release is then the side thread's.
    const n = 256 + 2 * i;
    const buf = new ArrayBuffer(4 * 16 * (n + 17));
    for (let j = 0; j < 16; j++) {
      const view = new Float32Array(buf, 4 * j * (n + 17), n);
      for (let k = 0; k < n; k++) view[k] = k + i;
      const t = tf.tensor1d(view);
      const [id] = b.binding.executeOpSide('Neg', neg, b.getInputTensorIds([t]), 1);
      t.dispose(); // the side op now holds the last reference
      out.push({ id: id!, n, first: i });
    }
  }
  syncSideStream();
  for (const id of busy) b.binding.deleteTensor(id);
  m.dispose();
  assert.ok(deferred() > before, 'no release was handed back: the side thread never held the last reference to JavaScript memory, or released it itself');
  for (const o of out) {
    const r = b.createOutputTensor({ id: o.id, shape: [o.n], dtype: 1 });
    const v = r.dataSync();
    assert.equal(v[0], -o.first);
    assert.equal(v[o.n - 1], -(o.first + o.n - 1));
    r.dispose();
  }
});
