/**
 * Times one pix2pix training step (G and D updates) on a backend. Used for the figures in
 * bench/README.md: tfjs-node vs the pure-JS backend, and tfjs-node vs Keras (bench/keras-reference).
 * Usage: node --import tsx bench/train-step/bench-train-step.ts [--backend tensorflow|cpu]
 *        [--size 256] [--ngf 64] [--batch 1] [--steps 10] [--warmup 2] [--adam auto|fused|tfjs]
 *        [--profile]
 * Prints one JSON line; --profile first prints where one step's time goes, per TensorFlow kernel
 * (tf.profile; ops run inside custom gradients are not listed one by one).
 * Synthetic data: the step's cost does not depend on the values.
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { loadBackend, parseBackendRequest } from '../../src/env/backend';
import { type AdamImplementation, DEFAULT_MODEL_CONFIG, Pix2Pix, resolveAdamImplementation } from '../../src/model';

/** Prints one step's kernel time per TensorFlow kernel, largest first. */
async function profileStep(step: () => void): Promise<void> {
  const t0 = performance.now();
  const info = await tf.profile(step);
  const wallMs = performance.now() - t0;
  const perKernel = new Map<string, { calls: number; ms: number }>();
  let totalMs = 0;
  for (const k of info.kernels) {
    const ms = Number(await k.kernelTimeMs);
    const e = perKernel.get(k.name) ?? { calls: 0, ms: 0 };
    e.calls += 1;
    e.ms += Number.isFinite(ms) ? ms : 0;
    totalMs += Number.isFinite(ms) ? ms : 0;
    perKernel.set(k.name, e);
  }
  console.log(`profiled step: ${wallMs.toFixed(0)} ms wall, ${info.kernels.length} kernel calls, ${totalMs.toFixed(0)} ms in listed kernels`);
  for (const [name, e] of [...perKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15)) {
    console.log(`  ${name.padEnd(24)} ${String(e.calls).padStart(5)} calls ${e.ms.toFixed(1).padStart(8)} ms`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backend: { type: 'string', default: 'tensorflow' },
      size: { type: 'string', default: '256' },
      ngf: { type: 'string', default: '64' },
      batch: { type: 'string', default: '1' },
      steps: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      adam: { type: 'string', default: 'auto' },
      profile: { type: 'boolean', default: false },
    },
  });
  const backend = await loadBackend({ request: parseBackendRequest(values.backend), warn: () => undefined });
  const size = Number(values.size);
  const ngf = Number(values.ngf);
  const batch = Number(values.batch);
  const adam = values.adam as AdamImplementation;
  if (!['auto', 'fused', 'tfjs'].includes(adam)) throw new Error(`--adam must be auto, fused or tfjs (got ${adam})`);
  const model = new Pix2Pix({ ...DEFAULT_MODEL_CONFIG, imageSize: size, ngf, ndf: ngf }, undefined, 0, adam);
  const x = tf.randomUniform([batch, size, size, 1], -1, 1) as tf.Tensor4D;
  const y = tf.randomUniform([batch, size, size, 1], -1, 1) as tf.Tensor4D;
  for (let i = 0; i < Number(values.warmup); i++) model.trainStep(x, y);
  if (values.profile === true) await profileStep(() => model.trainStep(x, y));
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
    backend: backend.kind, size, ngf, batch, steps, adam: resolveAdamImplementation(adam),
    s_per_step_mean: +mean.toFixed(4), s_per_step_median: +(times[Math.floor(times.length / 2)] ?? NaN).toFixed(4),
    params: model.paramCounts, tensors_after: tf.memory().numTensors,
  }));
}

void main();
