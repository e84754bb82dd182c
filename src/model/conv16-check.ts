/**
 * A start-up check of the 16-bit convolutions before a run trusts them (`--use_amp`): one small
 * conv and one transposed conv, forward and both gradients, in the chosen dtype against tf.js's
 * float32 ops on the same tensors. The float16 route has only ever run on TensorFlow's CPU half
 * kernels, so on a GPU (cuDNN) this is the first place it meets reality: an op that throws or
 * disagrees makes the run train in float32 and say why, instead of failing at its first step or
 * training on wrong gradients. Runs a few tiny ops; leaves no tensors behind; decides nothing else.
 */
import * as tf from '@tensorflow/tfjs';
import type { AmpDecision } from '../env/amp';
import { ampDecisionHere, type Conv16, conv2d16, conv2dTranspose16 } from './conv16';

/** Largest relative L2 error accepted per output (bf16 rounding is ~3e-3, half ~7e-4). */
const TOLERANCE: Record<Conv16, number> = { bfloat16: 2e-2, float16: 5e-3 };

function relError(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.div(tf.norm(tf.sub(a, b)), tf.add(tf.norm(b), 1e-12)).dataSync()[0] ?? NaN);
}

/** undefined when the dtype's convolutions work here; otherwise what went wrong (one line). */
export function checkConv16(dtype: Conv16): string | undefined {
  try {
    return tf.tidy(() => {
      const x = tf.randomUniform([1, 8, 8, 4], -1, 1, 'float32', 11) as tf.Tensor4D;
      const w = tf.randomUniform([4, 4, 4, 8], -0.3, 0.3, 'float32', 12) as tf.Tensor4D;
      const wt = tf.randomUniform([4, 4, 3, 4], -0.3, 0.3, 'float32', 13) as tf.Tensor4D;
      const cases: [string, (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor, (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor, tf.Tensor4D][] = [
        ['conv', (a, b) => conv2d16(a, b, 2, dtype), (a, b) => tf.conv2d(a, b, 2, 'same'), w],
        ['transposed conv', (a, b) => conv2dTranspose16(a, b, [1, 16, 16, 3], dtype), (a, b) => tf.conv2dTranspose(a, b, [1, 16, 16, 3], 2, 'same'), wt],
      ];
      for (const [name, f16, f32, weights] of cases) {
        const loss = (f: typeof f16) => (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(f(a as tf.Tensor4D, b as tf.Tensor4D)));
        const got = [f16(x, weights), ...tf.grads(loss(f16))([x, weights])];
        const want = [f32(x, weights), ...tf.grads(loss(f32))([x, weights])];
        const labels = ['output', 'input gradient', 'weight gradient'];
        for (let i = 0; i < 3; i++) {
          const e = relError(got[i]!, want[i]!);
          if (!(e <= TOLERANCE[dtype])) return `${dtype} ${name} ${labels[i]} differs from float32 by ${e.toExponential(1)} (relative; at most ${TOLERANCE[dtype]} expected)`;
        }
      }
      return undefined;
    });
  } catch (e) {
    return `${dtype} convolutions failed: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`;
  }
}

/** ampDecisionHere (./conv16), then the start-up check for a 16-bit choice: float32 if it fails. */
export function checkedAmpDecision(requested: boolean, cpuinfo?: string): AmpDecision {
  const d = ampDecisionHere(requested, cpuinfo);
  if (d.dtype === 'float32') return d;
  const problem = checkConv16(d.dtype);
  return problem === undefined ? d : { ...d, dtype: 'float32', reason: `${problem}; the start-up check failed, so training runs in float32` };
}
