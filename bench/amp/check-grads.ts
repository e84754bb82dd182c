/**
 * Issue #14: how far the conv-only bf16 step (./conv-bf16.ts) is from float32 numerically.
 * Same model, same batch: the generator's L1 loss and the discriminator's loss on real pairs, and
 * their gradients w.r.t. every parameter, computed with amp off and on. Prints the loss
 * difference and, per network, the relative L2 norm of the gradient difference
 * (‖g_amp − g_f32‖ / ‖g_f32‖, over all parameters) and the worst single tensor's (often the bias
 * of a conv followed by instance norm, whose exact gradient is 0: only rounding is left) and the
 * worst conv kernel's.
 *   node --import tsx bench/amp/check-grads.ts [--size 256] [--ngf 64]
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { loadBackend, parseBackendRequest } from '../../src/env/backend';
import { DEFAULT_MODEL_CONFIG, Pix2Pix } from '../../src/model';
import { discriminatorForward } from '../../src/model/discriminator';
import { generatorForward } from '../../src/model/generator';
import { adversarialLoss, l1Loss } from '../../src/model/losses';
import { amp, installConvBf16 } from './conv-bf16';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { size: { type: 'string', default: '256' }, ngf: { type: 'string', default: '64' } } });
  await loadBackend({ request: parseBackendRequest('tensorflow'), warn: () => undefined });
  installConvBf16();
  const size = Number(values.size);
  const ngf = Number(values.ngf);
  const config = { ...DEFAULT_MODEL_CONFIG, imageSize: size, ngf, ndf: ngf };
  const model = new Pix2Pix(config);
  const x = tf.randomUniform([1, size, size, 1], -1, 1, 'float32', 1) as tf.Tensor4D;
  const y = tf.randomUniform([1, size, size, 1], -1, 1, 'float32', 2) as tf.Tensor4D;
  const run = (on: boolean, f: () => tf.Scalar) => {
    amp.on = on;
    const r = tf.variableGrads(f);
    amp.on = false;
    return r;
  };
  const report = (label: string, f: () => tf.Scalar) => {
    const a = run(false, f);
    const b = run(true, f);
    let num = 0;
    let den = 0;
    let worst = { name: '', rel: 0 };
    let worstKernel = { name: '', rel: 0 };
    for (const [name, ga] of Object.entries(a.grads)) {
      const gb = b.grads[name]!;
      const d = tf.tidy(() => tf.sum(tf.square(tf.sub(gb, ga))).dataSync()[0]!);
      const n = tf.tidy(() => tf.sum(tf.square(ga)).dataSync()[0]!);
      num += d;
      den += n;
      const rel = Math.sqrt(d / Math.max(n, 1e-30));
      if (rel > worst.rel) worst = { name, rel };
      if (name.endsWith('/kernel') && rel > worstKernel.rel) worstKernel = { name, rel };
    }
    const la = a.value.dataSync()[0]!;
    const lb = b.value.dataSync()[0]!;
    console.log(JSON.stringify({
      loss: label, f32: +la.toPrecision(6), amp: +lb.toPrecision(6), rel_loss_diff: +(Math.abs(lb - la) / Math.abs(la)).toPrecision(3),
      grad_rel_l2_all: +Math.sqrt(num / den).toPrecision(3), worst_tensor: worst.name, worst_rel_l2: +worst.rel.toPrecision(3),
      worst_kernel: worstKernel.name, worst_kernel_rel_l2: +worstKernel.rel.toPrecision(3),
    }));
    tf.dispose([a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads)]);
  };
  report('G L1 (dropout off)', () => l1Loss(generatorForward(x, model.G, config, false), y));
  report('D adversarial on real pair', () => adversarialLoss(discriminatorForward(x, y, model.D), 1, config.ganMode));
}

void main();
