/**
 * What TensorFlow's copy-on-write costs ResourceApplyAdam: one 8 M-float parameter updated with a
 * read of the resource alive (what FusedAdam left behind before it learnt to update in place:
 * the tf.js Variable held that read, so the kernel copied the buffer first) and without one
 * (src/model/adam.ts `updateInPlace`). Alternating blocks of 8 updates, median ms each.
 *   node --import tsx bench/amp/adam-alias.ts [--floats 8388608] [--blocks 3]
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { loadBackend } from '../../src/env/backend';
import { nativeBackend } from '../../src/env/native-ops';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { floats: { type: 'string', default: String(8 * 1024 * 1024) }, blocks: { type: 'string', default: '3' } } });
  await loadBackend({ request: 'tensorflow', warn: () => undefined });
  const be = nativeBackend()!;
  const b = be.binding as unknown as { TF_ATTR_TYPE: number; TF_ATTR_STRING: number; TF_ATTR_SHAPE: number; TF_ATTR_BOOL: number; TF_FLOAT: number };
  const dt = { name: 'dtype', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT };
  const n = Number(values.floats);
  let c = 0;
  const resource = (): tf.Tensor => tf.keep(be.executeSingleOutput('VarHandleOp', [
    { name: 'container', type: b.TF_ATTR_STRING, value: '' },
    { name: 'shared_name', type: b.TF_ATTR_STRING, value: `adam_alias_${process.pid}_${c++}` },
    dt, { name: 'shape', type: b.TF_ATTR_SHAPE, value: [n] },
  ], []));
  const assign = (h: tf.Tensor, v: tf.Tensor): void => void be.executeMultipleOutputs('AssignVariableOp', [dt, { name: 'validate_shape', type: b.TF_ATTR_BOOL, value: true }], [h, v], 0);
  const [h, m, v] = [resource(), resource(), resource()];
  tf.tidy(() => {
    assign(h, tf.randomNormal([n]));
    assign(m, tf.zeros([n]));
    assign(v, tf.zeros([n]));
  });
  const g = tf.randomNormal([n]);
  const scalars = [tf.scalar(0.5), tf.scalar(0.999), tf.scalar(1e-3), tf.scalar(0.5), tf.scalar(0.999), tf.scalar(1e-7)];
  const attrs = [
    { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    { name: 'use_locking', type: b.TF_ATTR_BOOL, value: false },
    { name: 'use_nesterov', type: b.TF_ATTR_BOOL, value: false },
  ];
  const out: Record<string, number[]> = { alias: [], none: [] };
  for (let block = 0; block < Number(values.blocks); block++) {
    for (const mode of ['alias', 'none'] as const) {
      const ts: number[] = [];
      for (let i = 0; i < 8; i++) {
        const alias = mode === 'alias' ? be.executeSingleOutput('ReadVariableOp', [dt], [h]) : undefined;
        const t0 = performance.now();
        be.executeMultipleOutputs('ResourceApplyAdam', attrs, [h, m, v, ...scalars, g], 0);
        ts.push(performance.now() - t0);
        alias?.dispose();
      }
      ts.sort((p, q) => p - q);
      out[mode]!.push(+ts[4]!.toFixed(2));
    }
  }
  console.log(JSON.stringify({ floats: n, median_ms_with_alias: out.alias, median_ms_without: out.none }));
}

void main();
