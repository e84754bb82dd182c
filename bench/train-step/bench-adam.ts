/**
 * The Adam update alone, on the parameters of the 256² pix2pix (G 54.4 M + D 2.8 M): tf.js's Adam
 * (14 element-wise ops per parameter) vs the fused ResourceApplyAdam route of src/model/adam.ts,
 * both through the model's own optimisers, so the fused figure includes the copy-on-write of the
 * weights the tf.js Variables still alias. Run back to back in one process.
 * Usage: node --import tsx bench/train-step/bench-adam.ts [--steps 5] [--size 256] [--ngf 64]
 * Prints one JSON line. This script must not write files.
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { loadBackend } from '../../src/env/backend';
import { type AdamImplementation, DEFAULT_MODEL_CONFIG, Pix2Pix } from '../../src/model';

function msPerUpdate(adam: AdamImplementation, size: number, ngf: number, steps: number): { ms: number; params: number } {
  const model = new Pix2Pix({ ...DEFAULT_MODEL_CONFIG, imageSize: size, ngf, ndf: ngf }, undefined, 0, adam);
  const all = [...model.G.values(), ...model.D.values()];
  const grads = all.map((v) => ({ name: v.name, tensor: tf.randomNormal(v.shape, 0, 1e-3) }));
  const gG = grads.slice(0, model.G.size);
  const gD = grads.slice(model.G.size);
  const update = (): void => {
    model.optG.applyGradients(gG);
    model.optD.applyGradients(gD);
    tf.tidy(() => tf.slice(tf.reshape(all[0] as tf.Tensor, [-1]), [0], [1]).dataSync()); // wait for the backend
  };
  update(); // creates the optimiser state
  update();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) update();
  const ms = (performance.now() - t0) / steps;
  const params = all.reduce((n, v) => n + v.size, 0);
  tf.dispose(grads.map((g) => g.tensor));
  model.dispose();
  return { ms, params };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      steps: { type: 'string', default: '5' },
      size: { type: 'string', default: '256' },
      ngf: { type: 'string', default: '64' },
    },
  });
  await loadBackend({ warn: () => undefined });
  const [size, ngf, steps] = [Number(values.size), Number(values.ngf), Number(values.steps)];
  const tfjs = msPerUpdate('tfjs', size, ngf, steps);
  const fused = msPerUpdate('fused', size, ngf, steps);
  console.log(JSON.stringify({
    size, ngf, steps, params: tfjs.params,
    tfjs_ms_per_update: +tfjs.ms.toFixed(1), fused_ms_per_update: +fused.ms.toFixed(1), ratio: +(tfjs.ms / fused.ms).toFixed(2),
  }));
}

void main();
