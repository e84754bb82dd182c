/**
 * Benchmark of the batch augmentation (src/data/augment): augmented 256x256 MRI/CT slice pairs
 * per second at batch 8, 16 and 32 on the native backend (tfjs-node), its parts (toSigned only,
 * the bilinear resampling alone, 1- vs 2-channel calls), and the pure-JS 'cpu' route for
 * comparison. Prints a table with wall-clock rates and rates per CPU-second (the latter is less
 * sensitive to other processes on a shared machine; the load average is printed too).
 * Run: node --import tsx bench/augment/bench-augment.ts [--seconds 3] [--batches 8,16,32] [--no-js]
 * This script must not write files; it only measures and prints.
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { loadBackend } from '../../src/env/backend';
import { createAugmenter, geometryTransform, projectiveTransform, type AugmentOptions } from '../../src/data/augment';

interface Args {
  seconds: number;
  batches: number[];
  js: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { seconds: 3, batches: [8, 16, 32], js: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--seconds') args.seconds = Number(argv[++i]);
    else if (a === '--batches') args.batches = String(argv[++i]).split(',').map(Number);
    else if (a === '--no-js') args.js = false;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!(args.seconds > 0) || args.batches.some((b) => !Number.isInteger(b) || b < 1)) throw new Error('bad --seconds/--batches');
  return args;
}

interface Row {
  what: string;
  backend: string;
  batch: number;
  unit: string;
  wall: number;
  perCpu: number;
  util: number;
}

/** Waits for a result (a 1-element read; also completes pending GPU work) without copying it all. */
function sync(t: tf.Tensor): void {
  tf.tidy(() => tf.slice(t.reshape([-1]), [0], [1]).dataSync());
}

/** Runs `step` (which returns the tensors it made) for about `seconds`; `per` items per step. */
function measure(what: string, batch: number, unit: string, per: number, seconds: number, step: () => tf.Tensor[]): Row {
  for (let i = 0; i < 2; i++) {
    const w = step();
    w.forEach(sync);
    tf.dispose(w);
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let items = 0;
  while (performance.now() - t0 < seconds * 1000) {
    const out = step();
    out.forEach(sync);
    tf.dispose(out);
    items += per;
  }
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  return { what, backend: tf.getBackend(), batch, unit, wall: items / wallS, perCpu: items / cpuS, util: cpuS / wallS };
}

function printTable(rows: Row[]): void {
  const head = ['what', 'backend', 'batch', 'rate (wall)', 'per CPU-second', 'CPU util'];
  const body = rows.map((r) => [
    r.what,
    r.backend,
    String(r.batch),
    `${r.wall.toFixed(0)} ${r.unit}/s`,
    `${r.perCpu.toFixed(0)} ${r.unit}`,
    r.util.toFixed(2),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(line(b));
}

function pairBatch(batch: number, size = 256): [tf.Tensor4D, tf.Tensor4D] {
  return [tf.randomUniform([batch, size, size, 1], 0, 1, 'float32'), tf.randomUniform([batch, size, size, 1], 0, 1, 'float32')];
}

function augmentRow(what: string, batch: number, seconds: number, options: AugmentOptions): Row {
  const [mri, ct] = pairBatch(batch);
  const aug = createAugmenter({ seed: 1, ...options });
  const row = measure(what, batch, 'pairs', batch, seconds, () => {
    const out = aug.apply(mri, ct);
    return [out.mri, out.ct];
  });
  tf.dispose([mri, ct]);
  return row;
}

function rotationRows(batch: number, seconds: number): Row[] {
  const [mri, ct] = pairBatch(batch);
  const flat = Array.from({ length: batch }, (_, i) => geometryTransform({ angleDeg: -12 + i * 0.7, flipH: i % 2 === 0, flipV: i % 3 === 0 }, 256, 256)).flat();
  const opts = { fillValue: -1 } as const;
  const both = tf.concat([mri, ct], 3);
  const rows = [
    measure('bilinear resampling alone, 1 channel', batch, 'slices', batch, seconds, () => [projectiveTransform(mri, flat, opts)]),
    measure('resampling of a pair: 2 calls of 1 channel', batch, 'pairs', batch, seconds, () => [
      projectiveTransform(mri, flat, opts),
      projectiveTransform(ct, flat, opts),
    ]),
    measure('resampling of a pair: 1 call of 2 channels', batch, 'pairs', batch, seconds, () => [projectiveTransform(both, flat, opts)]),
    measure('  same + channel concat/split', batch, 'pairs', batch, seconds, () =>
      tf.tidy(() => tf.split(projectiveTransform(tf.concat([mri, ct], 3), flat, opts), 2, 3)),
    ),
  ];
  tf.dispose([mri, ct, both]);
  return rows;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const info = await loadBackend();
  const load0 = os.loadavg();
  console.log(
    `augmentation benchmark: backend ${info.kind} (${info.package}), ${os.cpus().length} CPUs, ` +
      `${args.seconds} s per row, load average at start ${load0.map((l) => l.toFixed(2)).join(' ')}`,
  );
  const rows: Row[] = [];
  for (const b of args.batches) {
    rows.push(augmentRow('augment, defaults (augProb 0.8)', b, args.seconds, {}));
    rows.push(augmentRow('augment, augProb 1 (every sample)', b, args.seconds, { augProb: 1 }));
  }
  const big = Math.max(...args.batches);
  rows.push(augmentRow('augment, augProb 0 (toSigned only)', big, args.seconds, { augProb: 0 }));
  rows.push(...rotationRows(big, args.seconds));
  if (args.js) {
    await tf.setBackend('cpu');
    try {
      rows.push(augmentRow('augment, defaults (augProb 0.8)', 8, args.seconds, {}));
      rows.push(augmentRow('augment, augProb 1 (every sample)', 8, args.seconds, { augProb: 1 }));
    } finally {
      await tf.setBackend(info.tfBackend);
    }
  }
  printTable(rows);
  console.log(`load average at end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (over ${os.cpus().length} CPUs)`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
