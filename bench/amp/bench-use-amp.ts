/**
 * --use_amp as shipped (src/model/conv16.ts via Pix2Pix.convPrecision): step time float32 vs
 * AMP on one model, alternating every pair (the machine is shared: only back-to-back ratios
 * count), or one mode only (`--mode f32|amp`) for its peak RSS in a process of its own.
 *   node --import tsx bench/amp/bench-use-amp.ts [--size 256] [--ngf 64] [--batch 1] [--pairs 8] [--warmup 2] [--mode alt|f32|amp] [--side on|off|compare]
 * --side: AMP's dW convs on the binding's side stream (on, the default where the binding has it),
 * off, or compare: a third mode, AMP without the side stream, in every round (`amp_noside`).
 * The AMP dtype is ampAvailability's: bfloat16 on a bf16 CPU, float16 with MRI2CT_AMP_DTYPE=float16
 * (CPU half kernels, with the default dynamic loss scale).
 * Prints one JSON line (medians in s/step, median process CPU s/step (user + sys, all threads), median of per-pair f32/amp ratios, peak RSS in MiB).
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { ampAvailability } from '../../src/env/amp';
import { loadBackend } from '../../src/env/backend';
import { type ConvPrecision, DEFAULT_MODEL_CONFIG, Pix2Pix } from '../../src/model';
import { setSideStream, sideStreamAvailable } from '../../src/env/side-stream';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '256' }, ngf: { type: 'string', default: '64' }, batch: { type: 'string', default: '1' },
      pairs: { type: 'string', default: '8' }, warmup: { type: 'string', default: '2' }, mode: { type: 'string', default: 'alt' }, side: { type: 'string', default: 'on' },
    },
  });
  const b = await loadBackend({ request: 'tensorflow', warn: () => undefined });
  const avail = ampAvailability(b.kind);
  const amp = avail.dtype;
  if (amp === 'float32') throw new Error(`AMP not available: ${avail.reason}`);
  const [size, ngf, batch, pairs] = [values.size, values.ngf, values.batch, values.pairs].map(Number) as [number, number, number, number];
  const model = new Pix2Pix({ ...DEFAULT_MODEL_CONFIG, imageSize: size, ngf, ndf: ngf }, undefined, 0);
  const x = tf.randomUniform([batch, size, size, 1], -1, 1) as tf.Tensor4D;
  const y = tf.randomUniform([batch, size, size, 1], -1, 1) as tf.Tensor4D;
  type Mode = ConvPrecision | 'amp_noside';
  const ampModes: Mode[] = values.side === 'compare' ? [amp, 'amp_noside'] : [amp];
  const modes: Mode[] = values.mode === 'f32' ? ['float32'] : values.mode === 'amp' ? ampModes : ['float32', ...ampModes];
  const cpu: Record<string, number[]> = Object.fromEntries(modes.map((m) => [m, []]));
  let timing = false;
  const step = (p: Mode): number => {
    setSideStream(p === 'amp_noside' || values.side === 'off' ? false : undefined);
    model.convPrecision = p === 'amp_noside' ? amp : p;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    model.trainStep(x, y);
    const wall = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    if (timing) cpu[p]!.push((c.user + c.system) / 1e6); // process CPU s (all threads), as keras-reference's cpu_s_per_step
    return wall;
  };
  for (let i = 0; i < Number(values.warmup); i++) for (const p of modes) step(p);
  const t: Record<string, number[]> = Object.fromEntries(modes.map((m) => [m, []]));
  timing = true;
  const ratios: number[] = [];
  const sideRatios: number[] = [];
  for (let i = 0; i < pairs; i++) {
    const order = i % 2 === 0 ? modes : [...modes].reverse();
    const r: Record<string, number> = {};
    for (const p of order) r[p] = step(p);
    for (const p of modes) t[p]!.push(r[p]!);
    if (modes.includes('float32') && modes.includes(amp)) ratios.push(r['float32']! / r[amp]!);
    if (modes.includes('amp_noside')) sideRatios.push(r['amp_noside']! / r[amp]!);
  }
  const med = (a: number[]): number => (a.length === 0 ? NaN : [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!);
  console.log(JSON.stringify({
    size, ngf, batch, pairs, mode: values.mode, ampDtype: amp, cpuFlags: avail.reason,
    sideStream: values.side === 'off' ? false : sideStreamAvailable(),
    s_per_step: Object.fromEntries(modes.map((m) => [m === 'float32' ? 'f32' : m === amp ? 'amp' : m, +med(t[m]!).toFixed(3)])),
    cpu_s_per_step: Object.fromEntries(modes.map((m) => [m === 'float32' ? 'f32' : m === amp ? 'amp' : m, +med(cpu[m]!).toFixed(3)])),
    ratio_of_medians: modes.includes('float32') && modes.includes(amp) ? +(med(t['float32']!) / med(t[amp]!)).toFixed(2) : null,
    median_pair_ratio: +med(ratios).toFixed(2),
    ...(sideRatios.length > 0 ? { median_noside_over_side: +med(sideRatios).toFixed(2) } : {}),
    peak_rss_mib: Math.round(process.resourceUsage().maxRSS / 1024),
    ...(model.lossScale !== undefined ? { f16_loss_scale: model.lossScale.state() } : {}),
    loadavg: +(await import('node:os')).loadavg()[0]!.toFixed(1),
  }));
}

void main();
