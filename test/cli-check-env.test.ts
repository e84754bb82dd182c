import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(__dirname, '..');
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [path.join(root, 'dist/src/cli/main.js'), ...args], { cwd: root, encoding: 'utf8' });

test('mri2ct check-env passes on a set-up machine and names the native backend', () => {
  const r = cli('check-env');
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /✅ Compute backend\s+tensorflow \(@tensorflow\/tfjs-node\)/);
  assert.match(r.stdout, /✅ nifti-reader-js/);
  assert.match(r.stdout, /✅ h5wasm/);
  assert.match(r.stdout, /✅ Jupyter \+ tslab kernel/);
  assert.match(r.stdout, /Verdict: ready/);
  // Whether --use_amp runs here, and in which dtype (src/env/amp.ts), follows /proc/cpuinfo.
  const bf16 = /\b(avx512_bf16|amx_bf16)\b/.test(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  assert.match(r.stdout, bf16 ? /✅ Mixed precision\s+--use_amp available: bfloat16/ : /✅ Mixed precision\s+--use_amp trains float32 here — this CPU has no bf16/);
  // Set-up builds the binding with the side stream (scripts/tfjs-binding/side-stream.patch).
  if (bf16) assert.match(r.stdout, /Mixed precision .*; weight gradients on the binding's side stream/);
});

test('MRI2CT_AMP_DTYPE=float16 check-env reports the float16 override', () => {
  const r = spawnSync(process.execPath, [path.join(root, 'dist/src/cli/main.js'), 'check-env'], { cwd: root, encoding: 'utf8', env: { ...process.env, MRI2CT_AMP_DTYPE: 'float16' } });
  assert.match(r.stdout, /✅ Mixed precision\s+--use_amp available: float16 — MRI2CT_AMP_DTYPE=float16: float16 convolutions with dynamic loss scaling on the CPU/);
});

test('mri2ct check-env --backend cpu flags the slow backend with its fix', () => {
  const r = cli('check-env', '--backend', 'cpu');
  assert.match(r.stdout, /⚠️ +Compute backend\s+cpu .*forced by --backend cpu/);
  assert.match(r.stdout, /100x slower/);
  assert.match(r.stdout, /Mixed precision\s+--use_amp trains float32 here — the pure-JS cpu backend has no bfloat16/);
});

test('a bad --backend is a clear error with exit code 2', () => {
  const r = cli('check-env', '--backend', 'wasm');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /ConfigError: --backend wasm is not offered.*Conv2DBackpropFilter/);
});

test('every command has --help', () => {
  const top = cli('--help');
  assert.equal(top.status, 0);
  const commands = [...top.stdout.matchAll(/^  ([a-z][a-z0-9-]+) /gm)].map((m) => m[1] ?? '').filter((c) => c !== 'help');
  assert.ok(commands.includes('check-env'));
  for (const c of commands) {
    const r = cli(c, '--help');
    assert.equal(r.status, 0, `${c} --help`);
    assert.match(r.stdout, new RegExp(`Usage: mri2ct ${c}`));
  }
});
