/**
 * Inference end to end on a tiny real cache (phantom 64×64×40 → real preprocessing → 32² slices)
 * and a tiny model trained one epoch: the checkpoint carries its preprocessing; predict applies
 * exactly the cached preprocessing, and its sCT, read back by nibabel, has the MRI's shape and
 * affine, HU within [−1024, 3000] and air outside the head; an oblique (rotated) affine
 * round-trips with the same voxels; the geometry undo is exact at scale 1; bad inputs give clear
 * errors; the CLI's predict + evaluate (folder form, CSV) and evaluate's metrics of a perfect
 * prediction (MAE 0, PSNR ∞, SSIM 1).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { getCacheFormat } from '../src/cache/format';
import { readCacheParams, readPatientMetadata } from '../src/cache/metadata';
import { CacheLoader } from '../src/data/loader';
import { type BackendInfo, loadBackend } from '../src/env/backend';
import { CheckpointError, Mri2ctError } from '../src/errors';
import { evaluatePredictions } from '../src/infer/evaluate';
import { predictionPaths, SctPredictor } from '../src/infer/predict';
import { restoreCtToOriginalGrid } from '../src/infer/restore';
import { readNifti } from '../src/io/nifti-read';
import { writeNifti } from '../src/io/nifti-write';
import type { Affine, Vec3 } from '../src/io/volume';
import { DEFAULT_MODEL_CONFIG, type ModelConfig, Pix2Pix } from '../src/model';
import { cropVolume } from '../src/preprocess/crop';
import { normalizeCt } from '../src/preprocess/normalize';
import type { PatientGeometry } from '../src/preprocess/pipeline';
import { resizeSlices } from '../src/preprocess/resize';
import { readCheckpointState, saveCheckpoint } from '../src/train/checkpoint';
import { train } from '../src/train/trainer';
import { runPython } from './helpers/python';
import { buildTinyCaches, removeTemp, type TinyCaches } from './helpers/tiny-cache';

const root = path.resolve(__dirname, '..');
const CLI = path.join(root, 'dist', 'src', 'cli', 'main.js');
const MODEL: ModelConfig = { ...DEFAULT_MODEL_CONFIG, imageSize: 32, ngf: 4, ndf: 4 };

let tiny: TinyCaches;
let cache = '';
let backend: BackendInfo;
let ckpt = '';
let valId = '';
let predictor: SctPredictor;
const temps: string[] = [];

function tmp(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `mri2ct-${prefix}-`));
  temps.push(d);
  return d;
}

const mriOf = (id: string): string => path.join(tiny.data, 'MRI', `${id}.nii.gz`);
const ctOf = (id: string): string => path.join(tiny.data, 'CT', `${id}.nii.gz`);

before(async () => {
  backend = await loadBackend();
  tiny = await buildTinyCaches({ formats: ['npy'], patients: 4, grid: [64, 64, 40], size: 32 });
  cache = tiny.caches.npy ?? '';
  const loader = await CacheLoader.open(cache, { batchSize: 8, seed: 3, augment: { augProb: 0.5 } });
  const out = tmp('predict-run');
  const r = await train(loader, {
    outputDir: out, epochs: 1, model: MODEL, optimizer: { lr: 1e-3, beta1: 0.5, beta2: 0.999 }, saveFreq: 1, valFreq: 1, logEverySteps: 10, seed: 3,
    tfjsNode: backend.nodeModule, log: () => undefined, onEpoch: () => undefined,
  });
  r.model.dispose();
  ckpt = path.join(r.checkpointsDir, 'best_model.ckpt');
  valId = loader.split.val[0] ?? '';
  assert.ok(valId !== '');
  predictor = await SctPredictor.load(ckpt);
  const distPredict = path.join(root, 'dist', 'src', 'cli', 'commands', 'predict.js');
  if (!fs.existsSync(distPredict)) {
    // The test runner builds dist/ first; when this file runs alone on a stale checkout, build it.
    const b = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
    assert.ok(fs.existsSync(distPredict), `building dist/ failed (tsc exit ${b.status})`);
  }
});

after(() => {
  predictor?.dispose();
  removeTemp(tiny?.root);
  for (const t of temps) removeTemp(t);
});

/** nibabel's view of files: shape, affine, dtype, value range (of the first), per file. */
function nibabel(files: string[]): { shape: number[]; affine: number[][]; dtype: string; min: number; max: number }[] {
  const script = `
import json, sys
import nibabel as nib, numpy as np
out = []
for f in sys.argv[1:]:
    img = nib.load(f)
    d = np.asanyarray(img.dataobj)
    out.append({'shape': list(img.shape), 'affine': img.affine.tolist(), 'dtype': str(img.get_data_dtype()), 'min': float(d.min()), 'max': float(d.max())})
print(json.dumps(out))`;
  return JSON.parse(runPython(script, files)) as ReturnType<typeof nibabel>;
}

test('the checkpoint carries the cache\'s preprocessing parameters (params.json) and the cache dir', () => {
  const st = readCheckpointState(ckpt);
  const cfg = st.config as Record<string, unknown>;
  const pj = readCacheParams(cache);
  assert.ok(pj !== undefined);
  assert.deepEqual(cfg['preprocess'], pj);
  assert.equal(cfg['cacheDir'], path.resolve(cache));
  assert.equal(predictor.preprocessing.source, `checkpoint ${ckpt}`);
  assert.deepEqual(predictor.params, pj.params);
});

test('predict: exactly the cached preprocessing; nibabel reads the sCT with the MRI\'s shape and affine; HU in range; air outside the head', async () => {
  const out = tmp('predict-one');
  const sctFile = path.join(out, 'sct.nii.gz');
  const maskFile = path.join(out, 'mask.nii.gz');
  const events: string[] = [];
  const r = await predictor.predictFile(mriOf(valId), sctFile, { maskPath: maskFile, onProgress: (e) => events.push(`${e.stage} ${e.done}/${e.total}`) });
  assert.equal(r.id, valId);
  assert.ok(events.some((e) => e.startsWith(`${valId}: preprocess`)));
  const batches = events.filter((e) => e.startsWith(`${valId}: sCT`));
  assert.ok(batches.length >= 2 && batches.at(-1)?.endsWith(`/${r.preprocessed.shape[0]}`) === true, batches.join('; '));

  // the model saw what training saw: the cached MRI of this patient (uint16-quantised there)
  const p = await predictor.predict(await readNifti(mriOf(valId)), { id: valId });
  const meta = readPatientMetadata(cache, valId);
  assert.ok(meta !== undefined);
  const cached = await getCacheFormat(meta.format).format.read(path.join(cache, meta.file));
  assert.deepEqual(p.cacheSpace.shape, cached.shape);
  let worst = 0;
  for (let i = 0; i < cached.mri.length; i++) worst = Math.max(worst, Math.abs((cached.mri[i] ?? 0) - (p.cacheSpace.mri[i] ?? 0)));
  assert.ok(worst <= 8e-6, `cached vs predict-time MRI differ by ${worst}`);
  assert.deepEqual(p.preprocessed.geometry, meta.geometry);
  assert.deepEqual([...p.cacheSpace.mask], [...cached.mask].map((v) => (v > 0.5 ? 1 : 0)));

  const [sct, mri, mask] = nibabel([sctFile, mriOf(valId), maskFile]);
  assert.deepEqual(sct?.shape, mri?.shape);
  assert.deepEqual(sct?.affine, mri?.affine);
  assert.deepEqual(mask?.affine, mri?.affine);
  assert.equal(sct?.dtype, 'int16');
  assert.ok(sct !== undefined && sct.min >= -1024 && sct.max <= 3000, `sCT range ${sct?.min}..${sct?.max}`);

  const back = await readNifti(sctFile);
  const m = await readNifti(maskFile);
  let inside = 0;
  let notAir = 0;
  for (let i = 0; i < back.data.length; i++) {
    if (m.data[i] === 0) assert.equal(back.data[i], -1000, `voxel ${i} outside the head is not air`);
    else {
      inside++;
      if (back.data[i] !== -1000) notAir++;
    }
  }
  assert.ok(inside > 1000 && notAir > 0.5 * inside, `${notAir} of ${inside} head voxels are not air`);
  assert.deepEqual([...m.data], [...p.mask.data]);
});

/** Rotation about x by a, then about z by b, applied to the affine's linear part and translation. */
function rotateAffine(A: Affine, a: number, b: number): Affine {
  const rx = [[1, 0, 0], [0, Math.cos(a), -Math.sin(a)], [0, Math.sin(a), Math.cos(a)]];
  const rz = [[Math.cos(b), -Math.sin(b), 0], [Math.sin(b), Math.cos(b), 0], [0, 0, 1]];
  const mul = (p: number[][], q: number[][]): number[][] => p.map((row) => q[0]!.map((_, c) => row.reduce((s, v, k) => s + v * q[k]![c]!, 0)));
  const R = mul(rz, rx);
  const M = mul(R, A.slice(0, 3).map((r) => r.slice(0, 4)));
  return [...M.map((r, i) => [r[0]!, r[1]!, r[2]!, r[3]! + [5, -7, 12][i]!]), [0, 0, 0, 1]];
}

test('an MRI with an oblique affine round-trips: same affine and shape in the sCT, same voxels as unrotated', async () => {
  const out = tmp('predict-oblique');
  const mri = await readNifti(mriOf(valId));
  const affine = rotateAffine(mri.affine, 0.35, -0.5);
  const obliqueFile = path.join(out, 'oblique_mr.nii.gz');
  await writeNifti(obliqueFile, { data: mri.data, dims: mri.dims, spacing: mri.spacing, affine }, { datatype: 'float32' });
  const a = await predictor.predictFile(obliqueFile, path.join(out, 'oblique_sct.nii.gz'));
  const [sct, input] = nibabel([a.sctPath, obliqueFile]);
  assert.deepEqual(sct?.shape, input?.shape);
  assert.deepEqual(sct?.affine, input?.affine);
  assert.ok(Math.abs((input?.affine[0]?.[1] ?? 0)) > 0.5, 'the affine really is oblique');
  // predict works in voxel space: the same voxels with the same voxel sizes give the same sCT
  // (the rotated float32 affine's column norms differ from the original spacing in the 8th digit,
  // which can move the crop margin by a voxel, so the straight MRI gets the oblique one's sizes)
  const oblique = await readNifti(obliqueFile);
  const b = await predictor.predict({ ...mri, spacing: oblique.spacing }, { id: valId });
  assert.deepEqual(a.mask.data, b.mask.data);
  assert.deepEqual(a.sct.data, b.sct.data);
});

test('undoing crop, pad and resize is exact at scale 1, with air outside the box and the head', () => {
  const dims: Vec3 = [20, 14, 6];
  const hu = Float32Array.from({ length: 20 * 14 * 6 }, (_, i) => -1000 + ((i * 37) % 3500));
  const vol = { data: hu, dims, spacing: [1, 1, 2] as Vec3, affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 2, 0], [0, 0, 0, 1]] };
  const box = { start: [2, 3, 1] as Vec3, size: [15, 9, 4] as Vec3 };
  const norm = normalizeCt(vol).volume;
  const c = cropVolume(norm, box);
  const r = resizeSlices(c, { size: 15, padValue: 0 }); // padded square 15 → 15: scale 1
  const mask = Uint8Array.from(hu, (_, i) => (i % 7 === 0 ? 0 : 1));
  const geometry: PatientGeometry = { dims, spacing: vol.spacing, affine: vol.affine, orientation: 'RAS', crop: box, slices: r.geometry };
  const back = restoreCtToOriginalGrid(r.data, geometry, { ctWindow: { minHu: -1024, maxHu: 3000 }, headMask: mask });
  for (let z = 0, i = 0; z < 6; z++) {
    for (let y = 0; y < 14; y++) {
      for (let x = 0; x < 20; x++, i++) {
        const inBox = x >= 2 && x < 17 && y >= 3 && y < 12 && z >= 1 && z < 5;
        const want = inBox && mask[i] === 1 ? Math.min(3000, hu[i]!) : -1000;
        assert.ok(Math.abs(back[i]! - want) < 2e-3, `voxel ${x},${y},${z}: ${back[i]} vs ${want}`);
      }
    }
  }
});

test('bad inputs give clear errors: 2D image, 4D, a CT instead of an MRI, a constant image, no or unusable checkpoints', async () => {
  const out = tmp('predict-bad');
  const mri = await readNifti(mriOf(valId));
  const flat = path.join(out, 'flat2d.nii.gz');
  await writeNifti(flat, { data: mri.data.subarray(0, 64 * 64), dims: [64, 64, 1], spacing: mri.spacing, affine: mri.affine });
  await assert.rejects(predictor.predictFile(flat, path.join(out, 'x.nii.gz')), (e: unknown) => e instanceof Mri2ctError && /3D volume .* not a 2D image/.test(e.message));
  await assert.rejects(predictor.predictFile(ctOf(valId), path.join(out, 'x.nii.gz')), (e: unknown) => e instanceof Mri2ctError && /looks like a CT/.test(e.message));
  const constant = path.join(out, 'constant.nii.gz');
  await writeNifti(constant, { ...mri, data: new Float32Array(mri.data.length).fill(7) });
  await assert.rejects(predictor.predictFile(constant, path.join(out, 'x.nii.gz')), (e: unknown) => e instanceof Mri2ctError && /constant/.test(e.message));
  const fourD = path.join(out, 'four_d.nii');
  runPython(`
import sys, numpy as np, nibabel as nib
nib.save(nib.Nifti1Image(np.ones((16, 16, 8, 3), np.float32), np.eye(4)), sys.argv[1])`, [fourD]);
  await assert.rejects(predictor.predictFile(fourD, path.join(out, 'x.nii.gz')), (e: unknown) => e instanceof Mri2ctError && /3 volumes/.test(e.message));
  assert.equal(fs.existsSync(path.join(out, 'x.nii.gz')), false, 'nothing written for bad inputs');

  await assert.rejects(SctPredictor.load(path.join(out, 'nope')), (e: unknown) => e instanceof CheckpointError && /not found/.test(e.message));
  // an older checkpoint: no preprocessing recorded, no cache named
  const model = new Pix2Pix(MODEL);
  const old = path.join(out, 'old.ckpt');
  await saveCheckpoint(old, model, { epoch: 1, step: 1, rngState: [0], bestValMaeHu: null, config: { model: MODEL } });
  await assert.rejects(SctPredictor.load(old), (e: unknown) => e instanceof CheckpointError && /cannot tell how .* preprocessed/.test(e.message) && /--cache_dir/.test(e.message));
  const withCache = await SctPredictor.load(old, { cacheDir: cache });
  assert.equal(withCache.preprocessing.source, path.join(cache, 'metadata', 'params.json'));
  withCache.dispose();
  // a model of another slice size than its preprocessing
  const other = path.join(out, 'other.ckpt');
  const big = new Pix2Pix({ ...MODEL, imageSize: 64 });
  await saveCheckpoint(other, big, { epoch: 1, step: 1, rngState: [0], bestValMaeHu: null, config: { model: big.config, cacheDir: cache } });
  await assert.rejects(SctPredictor.load(other), (e: unknown) => e instanceof CheckpointError && /64² slices but its preprocessing .* 32²/.test(e.message));
  model.dispose();
  big.dispose();
});

test('evaluate: the CT itself as prediction scores MAE 0, PSNR ∞, SSIM 1; the baseline is worse', async () => {
  const pred = tmp('eval-perfect');
  fs.copyFileSync(ctOf(valId), path.join(pred, `${valId}.nii.gz`));
  const r = await evaluatePredictions({ predDir: pred, ctDir: path.join(tiny.data, 'CT'), mriDir: path.join(tiny.data, 'MRI') });
  assert.deepEqual(r.failed, []);
  const p = r.patients[0];
  assert.ok(p !== undefined);
  assert.equal(p.sct.maeHu, 0);
  assert.equal(p.sct.psnrDb, Infinity);
  assert.ok(Math.abs(p.sct.ssim - 1) < 1e-9);
  assert.match(p.maskSource, /head mask of/);
  assert.ok(p.baseline.maeHu > 50 && p.baseline.psnrDb < 40 && p.baseline.ssim < 1, JSON.stringify(p.baseline));
  // missing CT: reported, not thrown
  fs.copyFileSync(ctOf(valId), path.join(pred, 'stranger.nii.gz'));
  const r2 = await evaluatePredictions({ predDir: pred, ctDir: path.join(tiny.data, 'CT'), mriDir: path.join(tiny.data, 'MRI') });
  assert.equal(r2.patients.length, 1);
  assert.match(r2.failed[0]?.error ?? '', /no CT for prediction/);
  // a prediction off the CT's grid (one slice short; moved 1 mm): reported with the difference
  const ct = await readNifti(ctOf(valId));
  const [nx, ny, nz] = ct.dims;
  const offGrid: [string, Parameters<typeof writeNifti>[1], RegExp][] = [
    ['short', { ...ct, data: ct.data.subarray(0, nx * ny * (nz - 1)), dims: [nx, ny, nz - 1] }, /sizes \d+×\d+×\d+ and \d+×\d+×\d+ differ/],
    ['moved', { ...ct, affine: ct.affine.map((row, i) => row.map((v, j) => (i === 0 && j === 3 ? v + 1 : v))) }, /affines differ \(row 0, column 3: /],
  ];
  for (const [name, image, why] of offGrid) {
    const dir = tmp(`eval-${name}`);
    await writeNifti(path.join(dir, `${valId}.nii.gz`), image);
    const r3 = await evaluatePredictions({ predDir: dir, ctDir: path.join(tiny.data, 'CT'), mriDir: path.join(tiny.data, 'MRI') });
    assert.equal(r3.patients.length, 0, name);
    assert.match(r3.failed[0]?.error ?? '', /not on the same voxel grid: /, name);
    assert.match(r3.failed[0]?.error ?? '', why, name);
  }
});

test('CLI: predict a folder, then evaluate it (CSV with the baseline, summary table)', () => {
  const out = tmp('cli-predict');
  const mriDir = tmp('cli-mri');
  for (const id of tiny.ids.slice(0, 2)) fs.copyFileSync(mriOf(id), path.join(mriDir, `${id}.nii.gz`));
  const p = spawnSync(process.execPath, [CLI, 'predict', '--checkpoint', ckpt.replace(/\.ckpt$/, ''), '--mri', mriDir, '--out', out, '--batch_size', '16'], { encoding: 'utf8' });
  assert.equal(p.status, 0, p.stderr + p.stdout);
  assert.match(p.stdout, /preprocessing from checkpoint/);
  for (const id of tiny.ids.slice(0, 2)) {
    const f = predictionPaths(out, id);
    assert.ok(fs.existsSync(f.sct) && fs.existsSync(f.mask), `${id}: ${f.sct}`);
  }
  const e = spawnSync(process.execPath, [CLI, 'evaluate', '--pred_dir', out, '--ct_dir', path.join(tiny.data, 'CT')], { encoding: 'utf8' });
  assert.equal(e.status, 0, e.stderr + e.stdout);
  assert.match(e.stdout, /MAE \[HU\]\s+\d+\.\d ± \d+\.\d\s+\d+\.\d ± \d+\.\d/);
  assert.match(e.stdout, /bulk density/);
  const csv = fs.readFileSync(path.join(out, 'evaluation.csv'), 'utf8').trim().split('\n');
  assert.equal(csv.length, 3);
  assert.ok(csv[1]!.startsWith(`${tiny.ids[0]},`) && csv[1]!.includes(path.join(out, 'masks')), csv[1]);
  // clear CLI errors
  const bad = spawnSync(process.execPath, [CLI, 'predict', '--checkpoint', path.join(out, 'missing'), '--mri', mriDir, '--out', out], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /CheckpointError: checkpoint .* not found/);
});
