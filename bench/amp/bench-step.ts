/**
 * Issue #14, first whole-step measurement: the project's own pix2pix training step (src/model,
 * unchanged) with its three convolution kernels run in bfloat16, everything else in float32.
 * Bench-only: the node backend's executeSingleOutput is wrapped so that Conv2D,
 * Conv2DBackpropInput and Conv2DBackpropFilter with T=float get their float inputs cast to bf16,
 * run with T=bf16 (oneDNN's AVX512_BF16 kernels), and their output cast back to float32. So the
 * weights, Adam, the losses, instance norm, activations and all gradients outside the convs stay
 * float32 ("casts around each conv"). The wrapper is ./conv-bf16.ts. The same model runs
 * float32 and AMP steps alternately in one process; medians printed. Modes: f32 (unchanged), amp
 * (every conv casts its inputs), amp_cached (each float tensor is cast once per step and reused
 * by later convs of the step: weights, and activations shared by forward and dW).
 *   node --import tsx bench/amp/bench-step.ts [--size 256] [--ngf 64] [--batch 1] [--pairs 6 (rounds of f32, amp, amp_cached)] [--warmup 2]
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { loadBackend, parseBackendRequest } from '../../src/env/backend';
import { DEFAULT_MODEL_CONFIG, Pix2Pix } from '../../src/model';
import { amp, clearCastCache, installConvBf16 } from './conv-bf16';

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '256' },
      ngf: { type: 'string', default: '64' },
      batch: { type: 'string', default: '1' },
      pairs: { type: 'string', default: '6' },
      warmup: { type: 'string', default: '2' },
    },
  });
  await loadBackend({ request: parseBackendRequest('tensorflow'), warn: () => undefined });
  installConvBf16();
  const size = Number(values.size);
  const ngf = Number(values.ngf);
  const batch = Number(values.batch);
  const model = new Pix2Pix({ ...DEFAULT_MODEL_CONFIG, imageSize: size, ngf, ndf: ngf });
  const x = tf.randomUniform([batch, size, size, 1], -1, 1, 'float32', 1) as tf.Tensor4D;
  const y = tf.randomUniform([batch, size, size, 1], -1, 1, 'float32', 2) as tf.Tensor4D;
  type Mode = 'f32' | 'amp' | 'amp_cached';
  const step = (mode: Mode): { s: number; cpu: number; losses: ReturnType<Pix2Pix['trainStep']> } => {
    amp.on = mode !== 'f32';
    amp.cache = mode === 'amp_cached';
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const losses = model.trainStep(x, y);
    clearCastCache();
    const s = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    amp.on = false;
    return { s, cpu: (c.user + c.system) / 1e6, losses };
  };
  const modes: Mode[] = ['f32', 'amp', 'amp_cached'];
  for (let i = 0; i < Number(values.warmup); i++) for (const m of modes) step(m);
  const times: Record<Mode, number[]> = { f32: [], amp: [], amp_cached: [] };
  const cpu: Record<Mode, number[]> = { f32: [], amp: [], amp_cached: [] };
  const calls: Record<Mode, { convs: number; casts: number }> = { f32: { convs: 0, casts: 0 }, amp: { convs: 0, casts: 0 }, amp_cached: { convs: 0, casts: 0 } };
  const lossLog: string[] = [];
  const rounds = Number(values.pairs);
  for (let i = 0; i < rounds; i++) {
    // Rotate the order each round.
    for (let k = 0; k < modes.length; k++) {
      const m = modes[(i + k) % modes.length]!;
      amp.convCalls = 0;
      amp.casts = 0;
      const r = step(m);
      times[m].push(r.s);
      cpu[m].push(r.cpu);
      calls[m] = { convs: amp.convCalls, casts: amp.casts };
      lossLog.push(`${m} g=${r.losses.g.toFixed(3)} d=${r.losses.d.toFixed(3)}`);
    }
  }
  console.log(lossLog.join(' | '));
  const med = (m: Mode) => median(times[m]);
  console.log(JSON.stringify({
    size, ngf, batch, rounds,
    s: Object.fromEntries(modes.map((m) => [m, times[m].map((v) => +v.toFixed(3))])),
    median_s: Object.fromEntries(modes.map((m) => [m, +med(m).toFixed(3)])),
    ratio_f32_over: { amp: +(med('f32') / med('amp')).toFixed(3), amp_cached: +(med('f32') / med('amp_cached')).toFixed(3) },
    median_per_round_ratio_f32_over: {
      amp: +median(times.f32.map((v, i) => v / times.amp[i]!)).toFixed(3),
      amp_cached: +median(times.f32.map((v, i) => v / times.amp_cached[i]!)).toFixed(3),
    },
    // Process CPU seconds per step (all threads): less sensitive than wall time to other jobs
    // taking the cores, more to hyperthread/cache sharing.
    median_cpu_s: Object.fromEntries(modes.map((m) => [m, +median(cpu[m]).toFixed(3)])),
    cpu_ratio_f32_over: { amp: +(median(cpu.f32) / median(cpu.amp)).toFixed(3), amp_cached: +(median(cpu.f32) / median(cpu.amp_cached)).toFixed(3) },
    per_step_bf16_convs_and_input_casts: { amp: calls.amp, amp_cached: calls.amp_cached },
    tensors_after: tf.memory().numTensors,
  }));
}

void main();
