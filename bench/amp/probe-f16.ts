/**
 * Issue #14, float16: do TensorFlow 2.21's CPU kernels Cast, Conv2D, Conv2DBackpropInput and
 * Conv2DBackpropFilter exist for half (TF_HALF = 19) through the tfjs-node binding, how close
 * are they to float32, and how fast (forward + backward of one conv, float32 / bf16 / float16,
 * alternated in one process)? Bench only; prints one JSON line per shape.
 *   node --import tsx bench/amp/probe-f16.ts [--reps 3]
 */
import * as tf from '@tensorflow/tfjs';
import { loadBackend } from '../../src/env/backend';
import { type ConvPrecision, conv2d16, conv2dTranspose16 } from '../../src/model/conv16';

const reps = Number(process.argv[process.argv.indexOf('--reps') + 1] || 3);

function convFn(p: ConvPrecision, dy: tf.Tensor): (x: tf.Tensor, w: tf.Tensor) => tf.Scalar {
  return (x, w) => tf.sum(tf.mul(p === 'float32' ? tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same') : conv2d16(x as tf.Tensor4D, w as tf.Tensor4D, 2, p), dy));
}

const relErr = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => Math.sqrt(tf.sum(tf.square(tf.sub(a, b))).dataSync()[0]! / tf.sum(tf.square(b)).dataSync()[0]!));

async function main(): Promise<void> {
  await loadBackend({ request: 'tensorflow', warn: () => undefined });
  // Existence: forward, both backprops (conv2d16's gradFunc) and the transposed path, in half.
  tf.tidy(() => {
    const x = tf.randomNormal([1, 8, 8, 4], 0, 1, 'float32', 1);
    const w = tf.randomNormal([4, 4, 4, 8], 0, 0.1, 'float32', 2);
    const dy = tf.randomNormal([1, 4, 4, 8], 0, 1, 'float32', 3);
    const ref = tf.grads(convFn('float32', dy))([x, w]);
    const h = tf.grads(convFn('float16', dy))([x, w]);
    const xt = tf.randomNormal([1, 4, 4, 8], 0, 1, 'float32', 4) as tf.Tensor4D;
    const yt = conv2dTranspose16(xt, w as tf.Tensor4D, [1, 8, 8, 4], 'float16');
    const yr = tf.conv2dTranspose(xt, w as tf.Tensor4D, [1, 8, 8, 4], 2, 'same');
    console.log(JSON.stringify({ kernels: 'Cast, Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter (T=half) ran', relErr: { dx: relErr(h[0]!, ref[0]!), dw: relErr(h[1]!, ref[1]!), transposedY: relErr(yt, yr) } }));
  });
  for (const [n, s, ci, co] of [[1, 64, 64, 128], [1, 32, 128, 256]] as const) {
    const x = tf.randomNormal([n, s, s, ci], 0, 1, 'float32', 5);
    const w = tf.randomNormal([4, 4, ci, co], 0, 0.05, 'float32', 6);
    const dy = tf.randomNormal([n, s / 2, s / 2, co], 0, 1, 'float32', 7);
    const times: Record<string, number[]> = { float32: [], bfloat16: [], float16: [] };
    for (let r = 0; r < reps + 1; r++) {
      for (const p of ['float32', 'bfloat16', 'float16'] as const) {
        const t0 = performance.now();
        const g = tf.grads(convFn(p, dy))([x, w]);
        await g[1]!.data();
        if (r > 0) times[p]!.push((performance.now() - t0) / 1000);
        tf.dispose(g);
      }
    }
    const med = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
    const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, Number(med(v).toFixed(4))]));
    console.log(JSON.stringify({ shape: `x [${n},${s},${s},${ci}] w [4,4,${ci},${co}] stride 2, forward+backward`, medianSeconds: m, f16OverF32: Number((m['float16']! / m['float32']!).toFixed(1)), bf16OverF32: Number((m['bfloat16']! / m['float32']!).toFixed(2)) }));
    tf.dispose([x, w, dy]);
  }
}

void main();
