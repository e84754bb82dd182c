/**
 * Where a training step's time goes, per TensorFlow op: wraps the tfjs-node binding's executeOp
 * (every kernel tf.js runs on the node backend, and the raw bf16 ops, pass through it; execution
 * is synchronous, so the wall time around the call is the op's), sums per op name and dtype, and
 * reports the rest of the step as JS/engine overhead. Bench-only; changes no model code. It
 * turns the side stream (src/model/conv16.ts) off: with it, dW runs beside the main thread's ops
 * and a per-call wall clock would charge its time to whichever op waits for it.
 *   node --import tsx bench/amp/op-profile.ts [--size 256] [--ngf 64] [--batch 1] [--steps 4] [--warmup 2] [--mode f32|amp] [--by-shape]
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { loadBackend } from '../../src/env/backend';
import { DEFAULT_MODEL_CONFIG, Pix2Pix } from '../../src/model';
import { nativeBackend } from '../../src/env/native-ops';
import { setSideStream } from '../../src/env/side-stream';

interface Attr { name: string; type: number; value: unknown }

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    size: { type: 'string', default: '256' }, ngf: { type: 'string', default: '64' }, batch: { type: 'string', default: '1' },
    steps: { type: 'string', default: '4' }, 'by-shape': { type: 'boolean', default: false }, warmup: { type: 'string', default: '2' }, mode: { type: 'string', default: 'amp' },
  } });
  await loadBackend({ request: 'tensorflow', warn: () => undefined });
  setSideStream(false);
  const [size, ngf, batch] = [values.size, values.ngf, values.batch].map(Number) as [number, number, number];
  const model = new Pix2Pix({ ...DEFAULT_MODEL_CONFIG, imageSize: size, ngf, ndf: ngf }, undefined, 0);
  model.convPrecision = values.mode === 'amp' ? 'bfloat16' : 'float32';
  const x = tf.randomUniform([batch, size, size, 1], -1, 1) as tf.Tensor4D;
  const y = tf.randomUniform([batch, size, size, 1], -1, 1) as tf.Tensor4D;
  type Binding = { executeOp: (n: string, a: Attr[], i: number[], k: number) => unknown };
  const backend = nativeBackend() as unknown as { binding: Binding };
  const real = backend.binding;
  const orig = real.executeOp.bind(real);
  // The binding's properties are read-only: the backend gets a proxy whose executeOp is timed.
  const binding: Binding = Object.create(real) as Binding;
  backend.binding = binding;
  const acc = new Map<string, { ms: number; n: number }>();
  let on = false;
  const byShape = values['by-shape'] === true;
  Object.defineProperty(binding, 'executeOp', { value: (name: string, attrs: Attr[], ids: number[], k: number): unknown => {
    if (!on) return orig(name, attrs, ids, k);
    const t0 = performance.now();
    const r = orig(name, attrs, ids, k);
    const dt = performance.now() - t0;
    const T = attrs.find((a) => a.name === 'T' || a.name === 'DstT');
    const out = (r as { shape: number[] }[])[0]?.shape ?? [];
    const key = `${name}${T !== undefined ? `:${String(T.value)}` : ''}${byShape && name.startsWith('Conv2D') ? ` ->[${out.join(',')}]` : ''}`;
    const e = acc.get(key) ?? { ms: 0, n: 0 };
    e.ms += dt; e.n++;
    acc.set(key, e);
    return r;
  } });
  for (let i = 0; i < Number(values.warmup); i++) model.trainStep(x, y);
  const steps = Number(values.steps);
  on = true;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) model.trainStep(x, y);
  const wall = (performance.now() - t0) / steps;
  on = false;
  const rows = [...acc.entries()].map(([k, v]) => ({ op: k, ms: v.ms / steps, n: v.n / steps })).sort((a, b) => b.ms - a.ms);
  const opSum = rows.reduce((s, r) => s + r.ms, 0);
  console.log(`mode ${values.mode}: ${wall.toFixed(1)} ms/step, ops ${opSum.toFixed(1)} ms (${rows.reduce((s, r) => s + r.n, 0)} ops), rest (JS, engine) ${(wall - opSum).toFixed(1)} ms; load ${(await import('node:os')).loadavg()[0]!.toFixed(1)}`);
  for (const r of rows.slice(0, byShape ? 60 : 30)) console.log(`${r.op.padEnd(34)} ${r.ms.toFixed(1).padStart(7)} ms ${String(r.n).padStart(5)}×`);
}
void main();
