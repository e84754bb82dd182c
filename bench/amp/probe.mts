/**
 * Issue #14 feasibility: can bfloat16 TFE tensors live between raw ops through the tfjs-node
 * binding (no binding patch)? Prints each step's outcome, exact error texts included.
 *   node_modules/.bin/tsx bench/amp/probe.mts
 */
import * as tf from '@tensorflow/tfjs-node';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { A, backend, binding, cast, castAttrs, convAttrs, errText, exec, free, ids, opaque, TF_BFLOAT16 as BF, TF_FLOAT as F, TF_INT32, tfDtype } from './raw.mjs';

const require = createRequire(import.meta.url);

function line(label: string, value: unknown): void {
  console.log(`${label.padEnd(58)} ${typeof value === 'string' ? value : JSON.stringify(value)}`);
}

function maxRel(a: Float32Array, b: Float32Array): { maxAbs: number; relToMaxAbs: number } {
  let maxAbs = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return { maxAbs: Number(maxAbs.toPrecision(3)), relToMaxAbs: Number((maxAbs / scale).toPrecision(3)) };
}

async function main(): Promise<void> {
  await tf.ready();
  const route = readFileSync(require.resolve('@tensorflow/tfjs-node/package.json').replace(/package\.json$/, 'deps/mri2ct-route.txt'), 'utf8').split(/\r?\n/)[0];
  line('tfjs-node / binding built by (deps/mri2ct-route.txt)', `${tf.version['tfjs-node']} / ${route}`);
  line('binding exports TF_BFLOAT16?', String(binding.TF_BFLOAT16));
  const x = tf.randomNormal([1, 64, 64, 8], 0, 1, 'float32', 1);
  const w = tf.randomNormal([4, 4, 8, 16], 0, 0.1, 'float32', 2);

  // --- A: the backend's own entry point (what src/env/native-ops.ts uses) -------------------
  const before = backend.numDataIds();
  try {
    const t = backend.executeSingleOutput('Cast', castAttrs(F, BF), [x]);
    line('A executeSingleOutput(Cast f32->bf16)', `OK dtype=${t.dtype}`);
  } catch (e) {
    line('A executeSingleOutput(Cast f32->bf16) throws', errText(e));
  }
  line('A   backend data ids leaked by that throw', backend.numDataIds() - before);

  // --- B: binding.executeOp on raw ids ----------------------------------------------------------
  const [xId, wId] = ids([x, w]);
  const xb = cast(xId!, F, BF);
  line('B binding.executeOp(Cast f32->bf16) metadata', xb);
  try {
    binding.tensorDataSync(xb.id);
    line('B binding.tensorDataSync(bf16 handle)', 'OK');
  } catch (e) {
    line('B binding.tensorDataSync(bf16 handle) throws', errText(e));
  }
  const wb = cast(wId!, F, BF);
  const yb = exec('Conv2D', convAttrs(BF, 2), [xb.id, wb.id])[0]!;
  line('B Conv2D(T=bf16) metadata', yb);
  const yf = cast(yb.id, BF, F);
  line('B Cast bf16->f32 metadata', yf);
  const got = binding.tensorDataSync(yf.id) as Float32Array;
  const ref = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same');
  line('B round trip vs f32 conv (max |diff|, / max |ref|)', maxRel(got, ref.dataSync() as Float32Array));
  // Mixed-dtype input: bf16 Conv2D given a float32 filter.
  try {
    exec('Conv2D', convAttrs(BF, 2), [xb.id, wId!]);
    line('B Conv2D(T=bf16, f32 filter)', 'OK (unexpected)');
  } catch (e) {
    line('B Conv2D(T=bf16, f32 filter) throws', errText(e));
  }
  free(xb, wb, yb, yf);

  // --- C: opaque tf.js tensors (engine-tracked, labelled float32) ------------------------------
  const n0 = tf.memory().numTensors;
  const nd0 = backend.numDataIds();
  const out = tf.tidy(() => {
    const xo = opaque(exec('Cast', castAttrs(F, BF), ids([x]))[0]!);
    const wo = opaque(exec('Cast', castAttrs(F, BF), ids([w]))[0]!);
    const yo = opaque(exec('Conv2D', convAttrs(BF, 2), ids([xo, wo]))[0]!);
    line('C opaque conv output: tf.js dtype / TF dtype', `${yo.dtype} / ${tfDtype(yo)}`);
    try {
      yo.dataSync();
    } catch (e) {
      line('C   dataSync() on it throws', errText(e));
    }
    try {
      tf.add(yo, 1).dispose();
    } catch (e) {
      line('C   tf.add(it, 1) throws', errText(e));
    }
    return opaque(exec('Cast', castAttrs(BF, F), ids([yo]))[0]!);
  });
  line('C after tidy: tensors kept / data ids kept', `${tf.memory().numTensors - n0} / ${backend.numDataIds() - nd0} (1 = the returned f32)`);
  line('C round trip vs f32 conv', maxRel(out.dataSync() as Float32Array, ref.dataSync() as Float32Array));
  out.dispose();
  ref.dispose();

  // --- D: which ops have bf16 CPU kernels in this TF -------------------------------------------
  const probe = (label: string, build: () => Meta[] | void): void => {
    try {
      const ms = build();
      line(`D ${label}`, `OK${ms ? ' -> dtypes ' + ms.map((m) => m.dtype).join(',') : ''}`);
      if (ms) free(...ms);
    } catch (e) {
      line(`D ${label}`, `FAIL: ${errText(e).split('\n')[0]}`);
    }
  };
  type Meta = ReturnType<typeof exec>[number];
  const mk = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);
  const a4 = mk([2, 32, 32, 16], 3);
  const g4 = mk([2, 32, 32, 16], 4);
  const c16 = mk([16], 5);
  const a4b = cast(ids([a4])[0]!, F, BF);
  const g4b = cast(ids([g4])[0]!, F, BF);
  const c16b = cast(ids([c16])[0]!, F, BF);
  const c16f = ids([c16])[0]!;
  const T = (t: number) => A.type('T', t);
  probe('Conv2D T=bf16', () => exec('Conv2D', convAttrs(BF, 2), [a4b.id, cast(ids([mk([4, 4, 16, 8], 6)])[0]!, F, BF).id]));
  const inSizes = ids([tf.tensor1d([2, 32, 32, 16], 'int32')])[0]!;
  const fSizes = ids([tf.tensor1d([4, 4, 16, 8], 'int32')])[0]!;
  const fb = cast(ids([mk([4, 4, 16, 8], 7)])[0]!, F, BF);
  const dyb = cast(ids([mk([2, 16, 16, 8], 8)])[0]!, F, BF);
  probe('Conv2DBackpropInput T=bf16', () => exec('Conv2DBackpropInput', convAttrs(BF, 2), [inSizes, fb.id, dyb.id]));
  probe('Conv2DBackpropFilter T=bf16', () => exec('Conv2DBackpropFilter', convAttrs(BF, 2), [a4b.id, fSizes, dyb.id]));
  probe('BiasAdd T=bf16', () => exec('BiasAdd', [T(BF), A.str('data_format', 'NHWC')], [a4b.id, c16b.id]));
  probe('BiasAddGrad T=bf16', () => exec('BiasAddGrad', [T(BF), A.str('data_format', 'NHWC')], [g4b.id]));
  for (const op of ['AddV2', 'Sub', 'Mul', 'RealDiv', 'Maximum', 'SquaredDifference']) {
    probe(`${op} T=bf16 (broadcast [16])`, () => exec(op, [T(BF)], [a4b.id, c16b.id]));
  }
  for (const op of ['Relu', 'Tanh', 'Sigmoid', 'Abs', 'Sign', 'Neg', 'Exp', 'Log1p', 'Softplus', 'ZerosLike', 'OnesLike']) {
    probe(`${op} T=bf16`, () => exec(op, [T(BF)], [a4b.id]));
  }
  probe('LeakyRelu T=bf16', () => exec('LeakyRelu', [T(BF), A.float('alpha', 0.2)], [a4b.id]));
  probe('ReluGrad T=bf16', () => exec('ReluGrad', [T(BF)], [g4b.id, a4b.id]));
  probe('LeakyReluGrad T=bf16', () => exec('LeakyReluGrad', [T(BF), A.float('alpha', 0.2)], [g4b.id, a4b.id]));
  probe('TanhGrad T=bf16', () => exec('TanhGrad', [T(BF)], [a4b.id, g4b.id]));
  probe('SigmoidGrad T=bf16', () => exec('SigmoidGrad', [T(BF)], [a4b.id, g4b.id]));
  const ax = ids([tf.tensor1d([1, 2], 'int32')])[0]!;
  for (const op of ['Sum', 'Mean', 'Max']) {
    probe(`${op} T=bf16 over [1,2]`, () => exec(op, [T(BF), A.type('Tidx', TF_INT32), A.bool('keep_dims', true)], [a4b.id, ax]));
  }
  const perm = ids([tf.tensor1d([1, 2, 0, 3], 'int32')])[0]!;
  probe('Transpose T=bf16', () => exec('Transpose', [T(BF), A.type('Tperm', TF_INT32)], [a4b.id, perm]));
  const shp = ids([tf.tensor1d([1, 32, 32, 32], 'int32')])[0]!;
  probe('Reshape T=bf16', () => exec('Reshape', [T(BF), A.type('Tshape', TF_INT32)], [a4b.id, shp]));
  const axis3 = ids([tf.scalar(3, 'int32')])[0]!;
  probe('ConcatV2 T=bf16', () => exec('ConcatV2', [T(BF), A.int('N', 2), A.type('Tidx', TF_INT32)], [a4b.id, g4b.id, axis3]));
  const mult = ids([tf.tensor1d([2], 'int32')])[0]!;
  probe('Tile T=bf16', () => exec('Tile', [T(BF), A.type('Tmultiples', TF_INT32)], [c16b.id, mult]));
  const begin = ids([tf.tensor1d([0, 0, 0, 0], 'int32')])[0]!;
  const size = ids([tf.tensor1d([2, 32, 32, 8], 'int32')])[0]!;
  probe('Slice T=bf16', () => exec('Slice', [T(BF), A.type('Index', TF_INT32)], [a4b.id, begin, size]));
  const pads = ids([tf.tensor2d([[0, 0], [1, 1], [1, 1], [0, 0]], [4, 2], 'int32')])[0]!;
  probe('Pad T=bf16', () => exec('Pad', [T(BF), A.type('Tpaddings', TF_INT32)], [a4b.id, pads]));
  const boolT = ids([tf.greater(a4, 0)])[0]!;
  probe('SelectV2 T=bf16', () => exec('SelectV2', [T(BF)], [boolT, a4b.id, g4b.id]));
  probe('Cast bool->bf16', () => exec('Cast', castAttrs(binding.TF_BOOL, BF), [boolT]));
  probe('AddN T=bf16', () => exec('AddN', [T(BF), A.int('N', 2)], [a4b.id, g4b.id]));
  // Instance norm on a [1, H, W, K] view as the project does: x bf16, scale/offset/stats f32.
  const x1b = cast(ids([mk([1, 32, 32, 32], 9)])[0]!, F, BF);
  const dy1b = cast(ids([mk([1, 32, 32, 32], 10)])[0]!, F, BF);
  const s32 = ids([tf.ones([32])])[0]!;
  const o32 = ids([tf.zeros([32])])[0]!;
  const empty = ids([tf.tensor1d([], 'float32')])[0]!;
  const bnAttrs = (t: number) => [A.type('T', t), A.type('U', F), A.float('epsilon', 1e-5), A.str('data_format', 'NHWC'), A.bool('is_training', true)];
  let saved: Meta[] = [];
  probe('FusedBatchNormV3 T=bf16 U=f32 training', () => {
    const outs = exec('FusedBatchNormV3', [...bnAttrs(BF), A.float('exponential_avg_factor', 1)], [x1b.id, s32, o32, empty, empty], 6);
    saved = outs.slice(3);
    free(...outs.slice(0, 3));
    return undefined;
  });
  if (saved.length === 3) {
    line('D   its outputs y,mean,var,r1,r2,r3 dtypes', 'y=bf16, stats f32 (checked: see dtypes below)');
    probe('FusedBatchNormGradV3 T=bf16 U=f32', () => exec('FusedBatchNormGradV3', bnAttrs(BF), [dy1b.id, x1b.id, s32, ...saved.map((m) => m.id)], 5));
  }
  probe('FusedBatchNormV3 outputs (dtypes)', () => exec('FusedBatchNormV3', [...bnAttrs(BF), A.float('exponential_avg_factor', 1)], [x1b.id, s32, o32, empty, empty], 6));
  probe('Conv2DBackpropInput as upconv fwd T=bf16 (out 2x)', () => {
    const osz = ids([tf.tensor1d([2, 64, 64, 8], 'int32')])[0]!;
    const k = cast(ids([mk([4, 4, 8, 16], 11)])[0]!, F, BF); // [k, k, outC, inC]
    return exec('Conv2DBackpropInput', convAttrs(BF, 2), [osz, k.id, a4b.id]);
  });
  probe('_FusedConv2D BiasAdd,LeakyRelu T=bf16 (eager)', () =>
    exec('_FusedConv2D', [...convAttrs(BF, 2), A.int('num_args', 1), { name: 'fused_ops', type: binding.TF_ATTR_STRING, value: ['BiasAdd', 'LeakyRelu'] }, A.float('epsilon', 0), A.float('leakyrelu_alpha', 0.2)],
      [a4b.id, fb.id, cast(ids([mk([8], 12)])[0]!, F, BF).id]));
  probe('ResourceApplyAdam stays f32 (not probed in bf16)', () => undefined);
  free(a4b, g4b, c16b, x1b, dy1b, fb, dyb, ...saved);
  void c16f;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
