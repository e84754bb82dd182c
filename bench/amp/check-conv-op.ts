/**
 * Issue #14: the shape the real --use_amp conv would take (README §4), checked in isolation:
 * conv2dBf16(x, w, stride) as a tf.customGrad op — float32 in and out, bf16 inside, the bf16
 * copies of x and w saved for the backward as opaque engine-tracked tensors (tf.js labels them
 * float32; their TF handles are bf16). Checks: values and gradients vs tf.conv2d, no tensor or
 * handle leak over repeated tf.grads, and f32 vs bf16 time of forward + backward per layer.
 *   node --import tsx bench/amp/check-conv-op.ts
 */
import * as tf from '@tensorflow/tfjs';
import { loadBackend, parseBackendRequest } from '../../src/env/backend';

const F = 1;
const BF = 14;
interface Attr { name: string; type: number; value: unknown }
interface Meta { id: number; shape: number[]; dtype: number }

async function main(): Promise<void> {
  await loadBackend({ request: parseBackendRequest('tensorflow'), warn: () => undefined });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const backend = tf.findBackend('tensorflow') as any;
  const b = backend.binding;
  const exec = (name: string, attrs: Attr[], ids: number[]): Meta => (b.executeOp(name, attrs, ids, 1) as Meta[])[0]!;
  const opaque = (m: Meta): tf.Tensor => {
    const dataId = {};
    backend.tensorMap.set(dataId, { shape: m.shape, dtype: m.dtype, id: m.id, values: null, refCount: 1 });
    return tf.engine().makeTensorFromTensorInfo({ dataId, shape: m.shape, dtype: 'float32' }, backend);
  };
  const idOf = (t: tf.Tensor): number => (backend.getInputTensorIds([t]) as number[])[0]!;
  const castAttrs = (s: number, d: number): Attr[] => [
    { name: 'SrcT', type: b.TF_ATTR_TYPE, value: s }, { name: 'DstT', type: b.TF_ATTR_TYPE, value: d }, { name: 'Truncate', type: b.TF_ATTR_BOOL, value: false }];
  const toBf = (t: tf.Tensor): tf.Tensor => opaque(exec('Cast', castAttrs(F, BF), [idOf(t)]));
  /** A bf16 result handle, cast to a float32 tf.js tensor; the bf16 handle is freed. */
  const toF = (m: Meta): tf.Tensor => {
    const f = exec('Cast', castAttrs(BF, F), [m.id]);
    b.deleteTensor(m.id);
    return backend.createOutputTensor(f);
  };
  const convAttrs = (stride: number): Attr[] => [
    { name: 'T', type: b.TF_ATTR_TYPE, value: BF },
    { name: 'strides', type: b.TF_ATTR_INT, value: [1, stride, stride, 1] },
    { name: 'padding', type: b.TF_ATTR_STRING, value: 'SAME' },
    { name: 'data_format', type: b.TF_ATTR_STRING, value: 'NHWC' },
    { name: 'use_cudnn_on_gpu', type: b.TF_ATTR_BOOL, value: true },
    { name: 'dilations', type: b.TF_ATTR_INT, value: [1, 1, 1, 1] },
  ];

  const conv2dBf16 = (stride: number) => tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, w, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    const xb = toBf(x);
    const wb = toBf(w);
    const y = toF(exec('Conv2D', convAttrs(stride), [idOf(xb), idOf(wb)]));
    save([xb, wb]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as [tf.Tensor, tf.Tensor];
        const dyb = toBf(dy);
        const xs = tf.tensor1d(sx.shape, 'int32');
        const ws = tf.tensor1d(sw.shape, 'int32');
        const dx = toF(exec('Conv2DBackpropInput', convAttrs(stride), [idOf(xs), idOf(sw), idOf(dyb)]));
        const dw = toF(exec('Conv2DBackpropFilter', convAttrs(stride), [idOf(sx), idOf(ws), idOf(dyb)]));
        tf.dispose([dyb, xs, ws]);
        return [dx, dw];
      },
    };
  }) as (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D;

  type Shape4 = [number, number, number, number];
  const layers: { name: string; x: Shape4; w: Shape4 }[] = [
    { name: 'enc2 128²×64→64²×128', x: [1, 128, 128, 64], w: [4, 4, 64, 128] },
    { name: 'enc3 64²×128→32²×256', x: [1, 64, 64, 128], w: [4, 4, 128, 256] },
    { name: 'enc4 32²×256→16²×512', x: [1, 32, 32, 256], w: [4, 4, 256, 512] },
  ];
  for (const L of layers) {
    const x = tf.randomNormal(L.x, 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal(L.w, 0, 0.05, 'float32', 2) as tf.Tensor4D;
    const dyT = tf.randomNormal([1, L.x[1]! / 2, L.x[2]! / 2, L.w[3]!], 0, 1, 'float32', 3);
    const lossOf = (f: (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D) => (xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(f(xx as tf.Tensor4D, ww as tf.Tensor4D), dyT));
    const ref = tf.grads(lossOf((a, k) => tf.conv2d(a, k, 2, 'same')));
    const amp = tf.grads(lossOf(conv2dBf16(2)));
    const rel = (a: tf.Tensor, c: tf.Tensor) => tf.tidy(() => Math.sqrt(tf.sum(tf.square(tf.sub(a, c))).dataSync()[0]! / tf.sum(tf.square(a)).dataSync()[0]!));
    const yr = tf.conv2d(x, w, 2, 'same');
    const ya = conv2dBf16(2)(x, w);
    const [gr, ga] = [ref([x, w]), amp([x, w])];
    const err = { y: rel(yr, ya), dx: rel(gr[0]!, ga[0]!), dw: rel(gr[1]!, ga[1]!) };
    tf.dispose([yr, ya, ...gr, ...ga]);
    // Leak check and timing, alternating.
    const n0 = tf.memory().numTensors;
    const d0 = backend.numDataIds();
    const tR: number[] = [];
    const tA: number[] = [];
    for (let i = 0; i < 12; i++) {
      for (const [g, arr] of (i % 2 === 0 ? [[ref, tR], [amp, tA]] : [[amp, tA], [ref, tR]]) as [typeof ref, number[]][]) {
        const t0 = performance.now();
        const out = g([x, w]);
        arr.push(performance.now() - t0);
        tf.dispose(out);
      }
    }
    const med = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
    console.log(JSON.stringify({
      layer: L.name, rel_l2_err: Object.fromEntries(Object.entries(err).map(([k, v]) => [k, +v.toPrecision(3)])),
      fwd_bwd_ms: { f32: +med(tR).toFixed(2), bf16_op: +med(tA).toFixed(2), ratio: +(med(tR) / med(tA)).toFixed(2) },
      leaked: { tensors: tf.memory().numTensors - n0, backend_data_ids: backend.numDataIds() - d0 },
    }));
    tf.dispose([x, w, dyT]);
  }
}

void main();
