/**
 * TensorFlow's start-up log lines: hidden by default in a real CLI run (stderr a socket, as
 * Node's child_process gives), back with --verbose or MRI2CT_TF_VERBOSE=1; stderr is restored to
 * the very same open file (a `>log 2>&1` file keeps stdout and stderr in order); the fallback
 * without the native helper works through a real pipe.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(__dirname, '..');
const cli = path.join(root, 'dist/src/cli/main.js');
const TF_LINES = /absl::InitializeLog|oneDNN custom operations|This TensorFlow binary is optimized/;
const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete e['TF_CPP_MIN_LOG_LEVEL'];
  if (extra['MRI2CT_TF_VERBOSE'] === undefined) delete e['MRI2CT_TF_VERBOSE'];
  return e;
};
const dist = (m: string): string => JSON.stringify(path.join(root, 'dist/src', m));
// Loads the binding, runs a native op (the late "optimized to use ... CPU instructions" line
// has its chance too), then writes a line of its own to stdout and to stderr.
const script = (load: string): string => `
  const tf = require('@tensorflow/tfjs');
  Promise.resolve(${load}).then(async () => {
    await tf.setBackend('tensorflow');
    tf.matMul(tf.ones([4, 4]), tf.ones([4, 4])).dataSync();
    console.log('our stdout');
    console.error('our stderr');
  });`;
const VIA_BACKEND = script(`require(${dist('env/backend.js')}).loadBackend({ request: 'tensorflow' })`);
const VIA_FALLBACK = script(`require(${dist('env/quiet-tf.js')}).loadQuietly(() => require('@tensorflow/tfjs-node'), { fdDup: null })`);

test('a CLI run shows none of TensorFlow\'s start-up lines; --verbose shows them', () => {
  assert.ok(fs.existsSync(path.join(root, 'dist/native/os-helper.node')), 'scripts/build-native.sh built the helper');
  const quiet = spawnSync(process.execPath, [cli, 'check-env', '--backend', 'tensorflow'], { cwd: root, encoding: 'utf8', env: env() });
  assert.match(quiet.stdout, /✅ Compute backend\s+tensorflow/, quiet.stderr);
  assert.doesNotMatch(quiet.stderr, TF_LINES);

  const loud = spawnSync(process.execPath, [cli, 'check-env', '--backend', 'tensorflow', '--verbose'], { cwd: root, encoding: 'utf8', env: env() });
  assert.match(loud.stdout, /✅ Compute backend\s+tensorflow/);
  assert.match(loud.stderr, /oneDNN custom operations are on/);
});

test('stderr comes back as the same open file; MRI2CT_TF_VERBOSE=1 keeps the lines; the /proc fallback through a pipe', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-quiet-'));
  try {
    // `>log 2>&1`: one open file shared by stdout and stderr, written from offset 0.
    const log = path.join(tmp, 'run.log');
    const fd = fs.openSync(log, 'w');
    const r = spawnSync(process.execPath, ['-e', VIA_BACKEND], { cwd: root, env: env(), stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    assert.equal(r.status, 0, fs.readFileSync(log, 'utf8'));
    assert.equal(fs.readFileSync(log, 'utf8'), 'our stdout\nour stderr\n');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const loud = spawnSync(process.execPath, ['-e', VIA_BACKEND], { cwd: root, encoding: 'utf8', env: env({ MRI2CT_TF_VERBOSE: '1' }) });
  assert.match(loud.stderr, /oneDNN custom operations are on/);
  assert.match(loud.stderr, /This TensorFlow binary is optimized/);
  assert.match(loud.stderr, /our stderr\n$/);

  // Without the helper: stderr a real pipe (sh's |), reopened through /proc/self/fd.
  const piped = spawnSync('sh', ['-c', `"${process.execPath}" -e "$SCRIPT" 2>&1 >/dev/null | cat`], {
    cwd: root, encoding: 'utf8', env: env({ SCRIPT: VIA_FALLBACK }),
  });
  assert.equal(piped.status, 0, piped.stderr);
  assert.equal(piped.stdout, 'our stderr\n');
});
