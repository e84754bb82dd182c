import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadBackend, parseBackendRequest, resetBackendForTests, SLOW_BACKEND_WARNING } from '../src/env/backend';
import { BackendError, ConfigError } from '../src/errors';

const root = path.resolve(__dirname, '..');

test('falls back to the pure-JS backend with a loud warning when no native package loads', async () => {
  resetBackendForTests();
  const warnings: string[] = [];
  const tried: string[] = [];
  const info = await loadBackend({
    loader: (name) => {
      tried.push(name);
      throw new Error(`no ${name}`);
    },
    warn: (m) => warnings.push(m),
  });
  assert.deepEqual(tried, ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']);
  assert.equal(info.kind, 'cpu');
  assert.equal(info.slow, true);
  assert.equal(tf.getBackend(), 'cpu');
  assert.match(info.reason, /tfjs-node-gpu unavailable.*tfjs-node unavailable/);
  assert.deepEqual(warnings, [SLOW_BACKEND_WARNING]);
  assert.match(SLOW_BACKEND_WARNING, /100x slower/);
  resetBackendForTests();
});

test('auto picks native tfjs-node here (GPU package absent) and refuses a later switch', async () => {
  resetBackendForTests();
  const info = await loadBackend();
  assert.equal(info.kind, 'tensorflow');
  assert.equal(tf.getBackend(), 'tensorflow');
  assert.equal(info.slow, false);
  assert.match(info.reason, /tfjs-node-gpu unavailable/);
  await assert.rejects(loadBackend({ request: 'cpu' }), BackendError);
  resetBackendForTests();
});

test('--backend tensorflow-gpu refuses a binding on the CPU instead of falling back (no GPU here)', async () => {
  resetBackendForTests();
  await assert.rejects(
    loadBackend({ request: 'tensorflow-gpu' }),
    (err: unknown) => err instanceof BackendError && /no GPU here/.test(err.message) && /--backend auto/.test(err.message),
  );
  resetBackendForTests();
});

test('a forced native backend that cannot load is an error naming the package and the fix', async () => {
  resetBackendForTests();
  await assert.rejects(
    loadBackend({ request: 'tensorflow', loader: (name) => { throw new Error(`no ${name}`); } }),
    (err: unknown) => err instanceof BackendError && /tfjs-node-gpu unavailable/.test(err.message) && /setup\.sh/.test(err.message),
  );
  resetBackendForTests();
});

test('--backend values: aliases, and wasm is refused with the reason', () => {
  assert.equal(parseBackendRequest('gpu'), 'tensorflow-gpu');
  assert.equal(parseBackendRequest('node'), 'tensorflow');
  assert.equal(parseBackendRequest('cpu'), 'cpu');
  assert.throws(() => parseBackendRequest('wasm'), (e: unknown) => e instanceof ConfigError && /Conv2DBackpropFilter/.test(e.message));
  assert.throws(() => parseBackendRequest('webgpu'), ConfigError);
});

test('a real process without the native binding warns loudly on stderr and still computes', () => {
  const script = `
    const { loadBackend } = require('./src/env/backend');
    const tf = require('@tensorflow/tfjs');
    loadBackend().then((b) => { console.log(JSON.stringify({ kind: b.kind, sum: tf.tensor([1, 2, 3]).sum().dataSync()[0] })); });`;
  const r = spawnSync(process.execPath, ['-r', path.join(root, 'test/helpers/block-native-tf.cjs'), '--import', 'tsx', '-e', script], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop() ?? ''), { kind: 'cpu', sum: 6 });
  assert.match(r.stderr, /WARNING: no native TensorFlow backend.*\n.*100x slower/);
});
