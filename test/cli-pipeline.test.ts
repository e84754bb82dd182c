/**
 * The pipeline commands as a user runs them: `mri2ct phantom`, `mri2ct preprocess` (summary table,
 * exit code 1 when a patient fails, the 'pt' alias note), `mri2ct cache-speed` (its table), and
 * `mri2ct run --check_env`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(__dirname, '..');
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [path.join(root, 'dist/src/cli/main.js'), ...args], { cwd: root, encoding: 'utf8' });

test('phantom → preprocess (pt alias) → cache-speed, and a failing patient gives exit code 1', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-cli-'));
  const data = path.join(tmp, 'data');
  const ph = cli('phantom', '--out', data, '--patients', '3', '--size', '64', '64', '40', '--seed', '5');
  assert.equal(ph.status, 0, ph.stderr);
  assert.match(ph.stdout, /phantom: 3 patients \(64×64×40 voxels, seed 5\)/);
  const cache = path.join(tmp, 'cache');
  const pp = cli('preprocess', '--mri_dir', path.join(data, 'MRI'), '--ct_dir', path.join(data, 'CT'), '--cache_dir', cache, '--format', 'pt', '--image_size', '32');
  assert.equal(pp.status, 0, pp.stdout + pp.stderr);
  assert.match(pp.stdout, /note: cache format 'pt' .* using 'npy'/);
  assert.match(pp.stdout, /patient\s+slices\s+read\s+n4\s+mask/);
  assert.match(pp.stdout, /built 3, already cached 0, failed 0/);
  const again = cli('preprocess', '--mri_dir', path.join(data, 'MRI'), '--ct_dir', path.join(data, 'CT'), '--cache_dir', cache, '--format', 'npy', '--image_size', '32');
  assert.match(again.stdout, /built 0, already cached 3, failed 0/);

  const speed = cli('cache-speed', '--cache_dir', cache, '--batch_size', '8');
  assert.equal(speed.status, 0, speed.stderr);
  for (const row of [/cache\s+npy, 3 patients/, /full load\s+[\d.]+ s/, /batches, no augmentation\s+\d+ slice pairs\/s/, /batches, augmented\s+\d+ slice pairs\/s/, /peak memory \(RSS\)\s+\d+ MiB/]) {
    assert.match(speed.stdout, row);
  }

  fs.writeFileSync(path.join(data, 'MRI', 'brain_099.nii.gz'), 'garbage');
  fs.copyFileSync(path.join(data, 'CT', 'brain_001.nii.gz'), path.join(data, 'CT', 'brain_099.nii.gz'));
  const bad = cli('preprocess', '--mri_dir', path.join(data, 'MRI'), '--ct_dir', path.join(data, 'CT'), '--cache_dir', cache, '--format', 'npy', '--image_size', '32');
  assert.equal(bad.status, 1);
  assert.match(bad.stdout, /failed 1/);
  assert.match(bad.stdout, /FAILED brain_099: .*brain_099\.nii\.gz/);
});

test('run --check_env only checks the environment', () => {
  const r = cli('run', '--check_env');
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Verdict: ready/);
  assert.doesNotMatch(r.stdout, /== 2\/4 data ==/);
});
