/**
 * The preprocessing pipeline end to end on real files: phantom NIfTI in, cache files and
 * metadata out, checked against the phantom's ground truth and read back through h5py/numpy;
 * one bad patient among good ones; skip/force; shards; parallel workers; a killed run.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { buildCache } from '../src/cache/build';
import { getCacheFormat } from '../src/cache/format';
import { listPatientMetadata, readCacheParams } from '../src/cache/metadata';
import { discoverSeedLayout } from '../src/dataset/discover';
import { readNifti, writeNifti } from '../src/io';
import { writePhantomCohort } from '../src/phantom';
import { resolvePreprocessParams } from '../src/preprocess/params';
import { runPythonJson } from './helpers/python';

const root = path.resolve(__dirname, '..');
let data = '';
const params = resolvePreprocessParams({ resize: { size: 64 } });

before(async () => {
  data = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-pp-'));
  await writePhantomCohort({ out: data, patients: 4, size: [96, 96, 64], seed: 3 });
});

const pairs = () => discoverSeedLayout(path.join(data, 'MRI'), path.join(data, 'CT')).pairs;

test('h5 cache: shapes, value ranges, metadata geometry, HU recoverable, readable by h5py', async () => {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-c-'));
  const r = await buildCache({ pairs: pairs(), cacheDir, format: 'h5', params, log: () => undefined });
  assert.equal(r.failed.length, 0, JSON.stringify(r.failed));
  assert.equal(r.built.length, 4);
  const metas = listPatientMetadata(cacheDir);
  assert.deepEqual(metas.map((m) => m.id), ['brain_001', 'brain_002', 'brain_003', 'brain_004']);
  const { format } = getCacheFormat('h5');
  for (const m of metas) {
    const c = await format.read(path.join(cacheDir, m.file), { verify: true });
    assert.deepEqual([...c.shape], [m.geometry.crop.size[2], 64, 64]);
    assert.ok(c.mri.every((v) => v >= 0 && v <= 1) && c.ct.every((v) => v >= 0 && v <= 1));
    // The crop box holds the whole true head mask (ground truth), within a voxel.
    const truth = await readNifti(path.join(data, 'truth', `${m.id}_head_mask.nii.gz`));
    const [nx, ny] = truth.dims;
    const { start, size } = m.geometry.crop;
    let outside = 0;
    let inside = 0;
    truth.data.forEach((v, i) => {
      if (v === 0) return;
      const x = i % nx;
      const y = Math.floor(i / nx) % ny;
      const z = Math.floor(i / (nx * ny));
      const inBox = x >= start[0] && x < start[0] + size[0] && y >= start[1] && y < start[1] + size[1] && z >= start[2] && z < start[2] + size[2];
      if (inBox) inside++;
      else outside++;
    });
    assert.ok(outside <= 0.001 * inside, `${m.id}: ${outside} head voxels outside the crop box`);
    // CT HU: the brightest cached CT values map back to skull HU (700–1800), air to ≈ −1000.
    const hu = (v: number) => m.normalization.ct.min + v * (m.normalization.ct.max - m.normalization.ct.min);
    let maxHu = -Infinity;
    for (const v of c.ct) maxHu = Math.max(maxHu, hu(v));
    assert.ok(maxHu > 700 && maxHu <= 1800 + 10, `${m.id}: max ${maxHu} HU`);
    assert.ok(Math.abs(hu(c.ct[0] ?? 0) + 1000) < 5, `${m.id}: corner ${hu(c.ct[0] ?? 0)} HU is air`);
  }
  const first = metas[0];
  assert.ok(first !== undefined);
  const py = runPythonJson<{ shape: number[]; chunks: number[]; compression: string; level: number; ctmax: number }>(`
import h5py, json, sys
with h5py.File(sys.argv[1], 'r') as f:
    d = f['ct']
    print(json.dumps({'shape': list(d.shape), 'chunks': list(d.chunks), 'compression': d.compression, 'level': d.compression_opts, 'ctmax': float(d[...].max())}))
`, [path.join(cacheDir, first.file)]);
  assert.deepEqual(py.shape, [first.shape[0], 64, 64]);
  assert.deepEqual(py.chunks, [1, 64, 64]);
  assert.equal(py.compression, 'gzip');
  assert.equal(py.level, 9);
  assert.equal(readCacheParams(cacheDir)?.format, 'h5');
});

test('one bad patient is reported and the others are cached; a rerun skips, --force rebuilds', async () => {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-c-'));
  const bad = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-bad-'));
  fs.writeFileSync(path.join(bad, 'broken.nii.gz'), 'not a nifti file');
  const good = await readNifti(pairs()[0]?.mri ?? '');
  const nan = Float32Array.from(good.data);
  nan[1234] = Number.NaN;
  await writeNifti(path.join(bad, 'nan.nii.gz'), { ...good, data: nan }, { datatype: 'float32' });
  await writeNifti(path.join(bad, 'flat.nii.gz'), { data: new Float32Array(96 * 96), dims: [96, 96, 1], spacing: good.spacing, affine: good.affine });
  const ct0 = pairs()[0]?.ct ?? '';
  const list = [...pairs().slice(0, 2), { id: 'broken', mri: path.join(bad, 'broken.nii.gz'), ct: ct0 },
    { id: 'nan', mri: path.join(bad, 'nan.nii.gz'), ct: ct0 }, { id: 'flat', mri: path.join(bad, 'flat.nii.gz'), ct: ct0 }];
  const r = await buildCache({ pairs: list, cacheDir, format: 'npy', params, log: () => undefined });
  assert.deepEqual(r.built.map((b) => b.id), ['brain_001', 'brain_002']);
  const errors = Object.fromEntries(r.failed.map((f) => [f.id, f.error]));
  assert.deepEqual(Object.keys(errors).sort(), ['broken', 'flat', 'nan']);
  assert.match(errors['broken'] ?? '', /broken\.nii\.gz/);
  assert.match(errors['nan'] ?? '', /nan\.nii\.gz has 1 NaN\/Inf voxel/);
  assert.match(errors['flat'] ?? '', /flat\.nii\.gz is 96×96×1: a 3D volume/);
  assert.ok(!fs.readdirSync(cacheDir).some((f) => /^(broken|nan|flat)/.test(f)), 'nothing written for the bad patients');
  const info = JSON.parse(fs.readFileSync(path.join(cacheDir, 'metadata', 'preprocessing_info.json'), 'utf8')) as { patients: { id: string; sourceSha256: { mri: string } }[]; versions: Record<string, string> };
  assert.deepEqual(info.patients.map((p) => p.id), ['brain_001', 'brain_002']);
  assert.match(info.patients[0]?.sourceSha256.mri ?? '', /^[0-9a-f]{64}$/);
  assert.equal(info.versions['mri2ct'], '0.1.0');
  const again = await buildCache({ pairs: list.slice(0, 2), cacheDir, format: 'npy', params, log: () => undefined });
  assert.deepEqual(again.skipped, ['brain_001', 'brain_002']);
  assert.equal(again.built.length, 0);
  const forced = await buildCache({ pairs: list.slice(0, 2), cacheDir, format: 'npy', params, force: true, log: () => undefined });
  assert.equal(forced.built.length, 2);
  const other = resolvePreprocessParams({ resize: { size: 32 } });
  const stale = await buildCache({ pairs: list.slice(0, 1), cacheDir, format: 'npy', params: other, log: () => undefined });
  assert.equal(stale.built.length, 1, 'entries built with other parameters are rebuilt');
});

test('shards split the cohort; two worker threads give the same cache as one thread', async () => {
  const one = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-c1-'));
  const two = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-c2-'));
  const s1 = await buildCache({ pairs: pairs(), cacheDir: one, format: 'npy', params, shard: { k: 1, n: 2 }, log: () => undefined });
  const s2 = await buildCache({ pairs: pairs(), cacheDir: one, format: 'npy', params, shard: { k: 2, n: 2 }, log: () => undefined });
  assert.deepEqual(s1.built.map((b) => b.id), ['brain_001', 'brain_003']);
  assert.deepEqual(s2.built.map((b) => b.id), ['brain_002', 'brain_004']);
  const w = await buildCache({ pairs: pairs(), cacheDir: two, format: 'npy', params, workers: 2, log: () => undefined });
  assert.equal(w.built.length, 4);
  const a = listPatientMetadata(one).map((m) => [m.id, m.checksum]);
  const b = listPatientMetadata(two).map((m) => [m.id, m.checksum]);
  assert.deepEqual(a, b);
});

test('a preprocess killed mid-run leaves no corrupt entry, and the rerun completes the cache', async () => {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-kill-'));
  const args = [path.join(root, 'dist/src/cli/main.js'), 'preprocess', '--mri_dir', path.join(data, 'MRI'), '--ct_dir', path.join(data, 'CT'),
    '--cache_dir', cacheDir, '--format', 'h5', '--image_size', '64'];
  const child = spawn(process.execPath, args, { stdio: 'ignore' });
  // Kill as soon as the first patient is committed, i.e. in the middle of the next ones.
  await new Promise<void>((resolve) => {
    const iv = setInterval(() => {
      if (listPatientMetadata(cacheDir).length >= 1 || child.exitCode !== null) {
        clearInterval(iv);
        child.kill('SIGKILL');
        resolve();
      }
    }, 20);
  });
  await new Promise((r) => child.once('exit', r));
  const { format } = getCacheFormat('h5');
  for (const m of listPatientMetadata(cacheDir)) await format.read(path.join(cacheDir, m.file), { verify: true });
  const r = await buildCache({ pairs: pairs(), cacheDir, format: 'h5', params, log: () => undefined });
  assert.equal(r.failed.length, 0);
  assert.equal(r.built.length + r.skipped.length, 4);
  assert.ok(r.skipped.length >= 1);
  assert.ok(!fs.readdirSync(cacheDir).some((f) => f.includes('.tmp-')), 'leftover temp files are cleaned up');
});
