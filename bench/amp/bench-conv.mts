/**
 * Issue #14: float32 vs bfloat16 per op, raw TensorFlow kernels through the tfjs-node binding,
 * on the pix2pix generator's 256² layers (batch 1, ngf 64, 4×4 stride-2 SAME). For each layer:
 * Conv2D (forward), Conv2DBackpropInput (dx; also the transposed conv's forward) and
 * Conv2DBackpropFilter (dW), plus the element-wise/norm ops around a conv and the casts.
 * f32 and bf16 run alternately within each repeat (order flipped every repeat); medians printed.
 *   node_modules/.bin/tsx bench/amp/bench-conv.mts [--reps 7] [--inner 3] [--json out.json] [--all] [--convs-only]
 * (--all adds the U-Net's inner layers, 16² down to 1², and the mirrored decoder convs)
 */
import * as tf from '@tensorflow/tfjs-node';
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { A, cast, convAttrs, exec, free, ids, type Meta, TF_BFLOAT16 as BF, TF_FLOAT as F, TF_INT32 } from './raw.mjs';

interface Layer { name: string; h: number; cin: number; cout: number }
// x [1, h, h, cin] -> y [1, h/2, h/2, cout]. The decoder's transposed convs are the same three
// kernels with roles swapped (its forward = Conv2DBackpropInput of the mirrored conv).
const LAYERS: Layer[] = [
  { name: 'enc1 256²×1→128²×64', h: 256, cin: 1, cout: 64 },
  { name: 'out^T 256²×1↔128²×128', h: 256, cin: 1, cout: 128 },
  { name: 'enc2 128²×64→64²×128', h: 128, cin: 64, cout: 128 },
  { name: 'dec2^T 128²×64↔64²×256', h: 128, cin: 64, cout: 256 },
  { name: 'enc3 64²×128→32²×256', h: 64, cin: 128, cout: 256 },
  { name: 'enc4 32²×256→16²×512', h: 32, cin: 256, cout: 512 },
];
// --all: the rest of the U-Net (small spatial sizes, many channels), encoder and mirrored decoder.
const INNER: Layer[] = [
  { name: 'enc5 16²×512→8²×512', h: 16, cin: 512, cout: 512 },
  { name: 'enc6 8²×512→4²×512', h: 8, cin: 512, cout: 512 },
  { name: 'enc7 4²×512→2²×512', h: 4, cin: 512, cout: 512 },
  { name: 'enc8 2²×512→1²×512', h: 2, cin: 512, cout: 512 },
  { name: 'dec2^T 4²×512↔2²×1024', h: 4, cin: 512, cout: 1024 },
  { name: 'dec3^T 8²×512↔4²×1024', h: 8, cin: 512, cout: 1024 },
  { name: 'dec4^T 16²×512↔8²×1024', h: 16, cin: 512, cout: 1024 },
  { name: 'dec5^T 32²×256↔16²×1024', h: 32, cin: 256, cout: 1024 },
  { name: 'dec6^T 64²×128↔32²×512', h: 64, cin: 128, cout: 512 },
];

type Case = { label: string; run: (dt: number) => Meta[] };

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { reps: { type: 'string', default: '7' }, inner: { type: 'string', default: '3' }, json: { type: 'string' }, all: { type: 'boolean', default: false }, 'convs-only': { type: 'boolean', default: false } } });
  const reps = Number(values.reps);
  const inner = Number(values.inner);
  await tf.ready();
  const keep: Meta[] = [];
  /** A random tensor as handles in both dtypes: {[F]: id, [BF]: id}. */
  const both = (shape: number[], seed: number, scale = 1): Record<number, number> => {
    const t = tf.randomNormal(shape, 0, scale, 'float32', seed);
    const f = ids([t])[0]!;
    const b = cast(f, F, BF);
    keep.push(b);
    return { [F]: f, [BF]: b.id };
  };
  const i32 = (v: number[]) => ids([tf.tensor1d(v, 'int32')])[0]!;
  const cases: Case[] = [];
  let seed = 1;
  for (const L of values.all === true ? [...LAYERS, ...INNER] : LAYERS) {
    const o = L.h / 2;
    const x = both([1, L.h, L.h, L.cin], seed++);
    const w = both([4, 4, L.cin, L.cout], seed++, 0.05);
    const dy = both([1, o, o, L.cout], seed++);
    const xs = i32([1, L.h, L.h, L.cin]);
    const ws = i32([4, 4, L.cin, L.cout]);
    cases.push({ label: `${L.name} Conv2D`, run: (dt) => exec('Conv2D', convAttrs(dt, 2), [x[dt]!, w[dt]!]) });
    cases.push({ label: `${L.name} BackpropInput`, run: (dt) => exec('Conv2DBackpropInput', convAttrs(dt, 2), [xs, w[dt]!, dy[dt]!]) });
    cases.push({ label: `${L.name} BackpropFilter`, run: (dt) => exec('Conv2DBackpropFilter', convAttrs(dt, 2), [x[dt]!, ws, dy[dt]!]) });
  }
  const convCases = cases.length;
  // Element-wise and norm ops on a typical activation: [1, 128, 128, 64] (enc1's output).
  const shape = [1, 128, 128, 64];
  const a = both(shape, 100);
  const g = both(shape, 101);
  const bias = both([64], 102);
  const T = (dt: number) => A.type('T', dt);
  cases.push({ label: 'act 128²×64 BiasAdd', run: (dt) => exec('BiasAdd', [T(dt), A.str('data_format', 'NHWC')], [a[dt]!, bias[dt]!]) });
  cases.push({ label: 'act 128²×64 AddV2 (bias, broadcast)', run: (dt) => exec('AddV2', [T(dt)], [a[dt]!, bias[dt]!]) });
  cases.push({ label: 'act 128²×64 LeakyRelu', run: (dt) => exec('LeakyRelu', [T(dt), A.float('alpha', 0.2)], [a[dt]!]) });
  cases.push({ label: 'act 128²×64 LeakyReluGrad', run: (dt) => exec('LeakyReluGrad', [T(dt), A.float('alpha', 0.2)], [g[dt]!, a[dt]!]) });
  cases.push({ label: 'act 128²×64 Relu', run: (dt) => exec('Relu', [T(dt)], [a[dt]!]) });
  cases.push({ label: 'act 128²×64 Tanh', run: (dt) => exec('Tanh', [T(dt)], [a[dt]!]) });
  const ax = i32([1, 2]);
  cases.push({ label: 'act 128²×64 Sum over H,W (BiasAddGrad-like)', run: (dt) => exec('Sum', [T(dt), A.type('Tidx', TF_INT32), A.bool('keep_dims', false)], [g[dt]!, ax]) });
  const s = ids([tf.ones([64])])[0]!;
  const off = ids([tf.zeros([64])])[0]!;
  const empty = ids([tf.tensor1d([], 'float32')])[0]!;
  const bn = (dt: number) => [A.type('T', dt), A.type('U', F), A.float('epsilon', 1e-5), A.str('data_format', 'NHWC'), A.bool('is_training', true)];
  cases.push({ label: 'act 128²×64 FusedBatchNormV3 (U=f32)', run: (dt) => exec('FusedBatchNormV3', [...bn(dt), A.float('exponential_avg_factor', 1)], [a[dt]!, s, off, empty, empty], 6) });
  cases.push({
    label: 'act 128²×64 FusedBatchNormGradV3 (U=f32)',
    run: (dt) => {
      const fw = exec('FusedBatchNormV3', [...bn(dt), A.float('exponential_avg_factor', 1)], [a[dt]!, s, off, empty, empty], 6);
      free(...fw.slice(0, 3));
      const t0 = performance.now();
      const out = exec('FusedBatchNormGradV3', bn(dt), [g[dt]!, a[dt]!, s, ...fw.slice(3).map((m) => m.id)], 5);
      extraMs = performance.now() - t0;
      free(...fw.slice(3));
      return out;
    },
  });
  const perm = i32([1, 2, 0, 3]);
  cases.push({ label: 'act 128²×64 Transpose (B·C view)', run: (dt) => exec('Transpose', [T(dt), A.type('Tperm', TF_INT32)], [a[dt]!, perm]) });
  const axis3 = ids([tf.scalar(3, 'int32')])[0]!;
  cases.push({ label: 'act 128²×64 ConcatV2 (skip)', run: (dt) => exec('ConcatV2', [T(dt), A.int('N', 2), A.type('Tidx', TF_INT32)], [a[dt]!, g[dt]!, axis3]) });
  // Casts (only one dtype direction each; reported in the f32 column's place).
  const wBig = both([4, 4, 256, 512], 103);
  const castCases: Case[] = [
    { label: 'Cast f32→bf16 128²×64', run: () => exec('Cast', [A.type('SrcT', F), A.type('DstT', BF), A.bool('Truncate', false)], [a[F]!]) },
    { label: 'Cast bf16→f32 128²×64', run: () => exec('Cast', [A.type('SrcT', BF), A.type('DstT', F), A.bool('Truncate', false)], [a[BF]!]) },
    { label: 'Cast f32→bf16 4×4×256×512 weight', run: () => exec('Cast', [A.type('SrcT', F), A.type('DstT', BF), A.bool('Truncate', false)], [wBig[F]!]) },
  ];

  if (values['convs-only'] === true) { cases.length = convCases; castCases.length = 0; }
  let extraMs: number | undefined;
  const timeOnce = (c: Case, dt: number): number => {
    extraMs = undefined;
    const t0 = performance.now();
    const out = c.run(dt);
    const ms = performance.now() - t0;
    free(...out);
    return extraMs ?? ms;
  };
  // Warm-up: every case in both dtypes twice.
  for (const c of cases) for (let k = 0; k < 2; k++) { timeOnce(c, F); timeOnce(c, BF); }
  for (const c of castCases) { timeOnce(c, F); timeOnce(c, F); }
  const rows: { label: string; f32: number; bf16: number; ratio: number }[] = [];
  console.log(`${'op'.padEnd(48)} ${'f32 ms'.padStart(8)} ${'bf16 ms'.padStart(8)} ${'f32/bf16'.padStart(8)}`);
  for (const c of cases) {
    const tf32: number[] = [];
    const tbf: number[] = [];
    for (let r = 0; r < reps; r++) {
      const order = r % 2 === 0 ? [F, BF] : [BF, F];
      for (const dt of order) {
        const arr = dt === F ? tf32 : tbf;
        const ts: number[] = [];
        for (let k = 0; k < inner; k++) ts.push(timeOnce(c, dt));
        arr.push(Math.min(...ts));
      }
    }
    const row = { label: c.label, f32: median(tf32), bf16: median(tbf), ratio: median(tf32) / median(tbf) };
    rows.push(row);
    console.log(`${c.label.padEnd(48)} ${row.f32.toFixed(2).padStart(8)} ${row.bf16.toFixed(2).padStart(8)} ${row.ratio.toFixed(2).padStart(8)}`);
  }
  for (const c of castCases) {
    const ts: number[] = [];
    for (let r = 0; r < reps * inner; r++) ts.push(timeOnce(c, F));
    const row = { label: c.label, f32: median(ts), bf16: NaN, ratio: NaN };
    rows.push(row);
    console.log(`${c.label.padEnd(48)} ${row.f32.toFixed(2).padStart(8)}`);
  }
  const convRows = rows.filter((r) => /Conv2D|Backprop/.test(r.label));
  const sumF = convRows.reduce((s, r) => s + r.f32, 0);
  const sumB = convRows.reduce((s, r) => s + r.bf16, 0);
  console.log(`${'sum of the conv rows'.padEnd(48)} ${sumF.toFixed(1).padStart(8)} ${sumB.toFixed(1).padStart(8)} ${(sumF / sumB).toFixed(2).padStart(8)}`);
  if (values.json) writeFileSync(values.json, JSON.stringify({ reps, inner, rows, convSum: { f32: sumF, bf16: sumB } }, null, 1));
  free(...keep);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
