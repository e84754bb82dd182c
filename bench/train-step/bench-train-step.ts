/**
 * Times one pix2pix training step (G and D updates) on a backend. Used for the figures in
 * bench/README.md: tfjs-node vs the pure-JS backend, and tfjs-node vs Keras (bench/keras-reference).
 * Usage: node --import tsx bench/train-step/bench-train-step.ts [--backend tensorflow|cpu]
 *        [--size 256] [--ngf 64] [--batch 1] [--steps 10] [--warmup 2]
 * Prints one JSON line. Synthetic data: the step's cost does not depend on the values.
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { loadBackend, parseBackendRequest } from '../../src/env/backend';
import { DEFAULT_MODEL_CONFIG, Pix2Pix } from '../../src/model';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backend: { type: 'string', default: 'tensorflow' },
      size: { type: 'string', default: '256' },
      ngf: { type: 'string', default: '64' },
      batch: { type: 'string', default: '1' },
      steps: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
    },
  });
  const backend = await loadBackend({ request: parseBackendRequest(values.backend), warn: () => undefined });
  const size = Number(values.size);
  const ngf = Number(values.ngf);
  const batch = Number(values.batch);
  const model = new Pix2Pix({ ...DEFAULT_MODEL_CONFIG, imageSize: size, ngf, ndf: ngf });
  const x = tf.randomUniform([batch, size, size, 1], -1, 1) as tf.Tensor4D;
  const y = tf.randomUniform([batch, size, size, 1], -1, 1) as tf.Tensor4D;
  for (let i = 0; i < Number(values.warmup); i++) model.trainStep(x, y);
  const steps = Number(values.steps);
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    model.trainStep(x, y);
    times.push((performance.now() - t) / 1000);
  }
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  console.log(JSON.stringify({
    backend: backend.kind, size, ngf, batch, steps,
    s_per_step_mean: +mean.toFixed(4), s_per_step_median: +(times[Math.floor(times.length / 2)] ?? NaN).toFixed(4),
    params: model.paramCounts, tensors_after: tf.memory().numTensors,
  }));
}

void main();
