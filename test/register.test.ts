/**
 * Rigid CT-to-MRI registration (src/register): on a small phantom patient (64×64×48, 4 mm; MRI and
 * CT aligned by construction) the CT is moved by a known rigid transform onto another grid and
 * registered back (target registration error over the head surface); refused pairs (no overlap,
 * no body in the CT); the poor-quality verdict; the transform file round trip; and the same
 * registration inside a worker thread (how the cache builder runs preprocessing), and the
 * `mri2ct register` command end to end.
 */

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { execFileSync, spawnSync } from 'node:child_process';

import { RegistrationError } from '../src/errors';
import { readNifti } from '../src/io/nifti-read';
import { writeNifti } from '../src/io/nifti-write';
import { applyAffine, identityAffine, invertAffine, rigidAffine } from '../src/io/affine-math';
import type { Affine, Vec3, Volume } from '../src/io/volume';
import { generatePhantomPatient } from '../src/phantom/generate';
import { resolvePreprocessParams } from '../src/preprocess/params';
import { preprocessPatient } from '../src/preprocess/pipeline';
import { resampleToGrid } from '../src/preprocess/resample-grid';
import { judgeRegistration } from '../src/register/quality';
import { PoorRegistrationError, registerCtToMri, type RegisterOptions } from '../src/register/register';
import { readTransformRecord, rigidRecord, writeTransformRecord } from '../src/register/transform-record';
import { buildCache, formatBuildSummary } from '../src/cache/build';
import { readPatientMetadata } from '../src/cache/metadata';
import { buildSummaryHtml } from '../src/notebook/summary-tables';

const deg = Math.PI / 180;
const tmp = mkdtempSync(path.join(tmpdir(), 'register-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Fast settings for a 4 mm case. */
const FAST: RegisterOptions = { resolutions: 3, iterations: 120, spatialSamples: 1024 };

const patient = generatePhantomPatient(1, { size: [64, 64, 48] });
const mri = patient.mri;
const mask = patient.headMask.data;
const ct: Volume<Float32Array> = { ...patient.ct, data: Float32Array.from(patient.ct.data) };
const centre = applyAffine(mri.affine, [31.5, 31.5, 23.5]);

/** The CT moved by W (moved(q) = ct(W q)) onto a 3.6 mm grid of 72×72×56 with its own origin. */
function movedCt(W: Affine): Volume<Float32Array> {
  const affine: Affine = [
    [3.6, 0, 0, centre[0] - 35.5 * 3.6 + 1.7],
    [0, 3.6, 0, centre[1] - 35.5 * 3.6 - 2.3],
    [0, 0, 3.6, centre[2] - 27.5 * 3.6 + 0.9],
    [0, 0, 0, 1],
  ];
  const grid = { dims: [72, 72, 56] as Vec3, affine };
  return { data: resampleToGrid(ct, grid, { interpolation: 'linear', fill: -1000, worldTransform: W }), dims: grid.dims, spacing: [3.6, 3.6, 3.6], affine };
}

/** Mean / max distance between a(p) and b(p) over the head mask's surface voxels. */
function surfaceTre(a: Affine, b: Affine): { mean: number; max: number } {
  const [nx, ny, nz] = mri.dims;
  const on = (x: number, y: number, z: number): boolean => x >= 0 && y >= 0 && z >= 0 && x < nx && y < ny && z < nz && mask[x + nx * (y + ny * z)] === 1;
  let [sum, max, n] = [0, 0, 0];
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        if (!on(x, y, z) || (on(x - 1, y, z) && on(x + 1, y, z) && on(x, y - 1, z) && on(x, y + 1, z) && on(x, y, z - 1) && on(x, y, z + 1))) continue;
        const p = applyAffine(mri.affine, [x, y, z]);
        const q = applyAffine(a, p);
        const r = applyAffine(b, p);
        const d = Math.hypot(q[0] - r[0], q[1] - r[1], q[2] - r[2]);
        sum += d;
        max = Math.max(max, d);
        n++;
      }
    }
  }
  assert.ok(n > 1000, `only ${n} surface points`);
  return { mean: sum / n, max };
}

// Rotations about every axis (a wrong Euler order or LPS sign shows up as millimetres of error).
const W = rigidAffine([7 * deg, -6 * deg, 8 * deg], [9, -11, 7], centre);
const TRUTH = invertAffine(W);

describe('registerCtToMri', () => {
  let recovered: Awaited<ReturnType<typeof registerCtToMri>> | undefined;

  it('recovers a known rigid motion on another grid (TRE over the head surface)', async () => {
    const before = surfaceTre(identityAffine(), TRUTH);
    assert.ok(before.mean > 10, `the motion should be large: ${before.mean} mm`);
    const r = await registerCtToMri(mri, movedCt(W), mask, { ...FAST, what: 'phantom 1' });
    recovered = r;
    const e = surfaceTre(r.transform.matrix, TRUTH);
    // 4 mm MRI voxels, 3.6 mm CT voxels: a quarter of a voxel on average.
    console.log(`phantom 64×64×48: TRE mean ${e.mean.toFixed(3)} mm, max ${e.max.toFixed(3)} mm, Dice ${r.quality.dice.toFixed(3)}, ${r.seconds.toFixed(2)} s`);
    assert.ok(e.mean < 1.0 && e.max < 2.0, `TRE mean ${e.mean.toFixed(3)} mm, max ${e.max.toFixed(3)} mm`);
    assert.equal(r.quality.ok, true, r.quality.reasons.join('; '));
    assert.ok(r.quality.dice > 0.9, `Dice ${r.quality.dice}`);
    assert.equal(r.ctOnMri.length, mri.data.length);
    // The registered CT matches the original CT inside the head far better than the unregistered one.
    const naive = resampleToGrid(movedCt(W), mri, { interpolation: 'linear', fill: -1000 });
    let [errReg, errNaive] = [0, 0];
    for (let i = 0; i < mask.length; i++) {
      if (mask[i] !== 1) continue;
      errReg += Math.abs((r.ctOnMri[i] as number) - (ct.data[i] as number));
      errNaive += Math.abs((naive[i] as number) - (ct.data[i] as number));
    }
    assert.ok(errReg < errNaive / 2, `mean |ΔHU| registered ${errReg} vs unregistered ${errNaive}`);
  });

  it('refuses a CT that does not overlap the MRI when told to trust the headers', async () => {
    // Same voxels, header 400 mm away.
    const moved = movedCt(W);
    const far = { ...moved, affine: moved.affine.map((row, r) => row.map((v, c) => (r === 0 && c === 3 ? v + 400 : v))) };
    await assert.rejects(registerCtToMri(mri, far, mask, { ...FAST, initialize: 'header' }), (e: unknown) => {
      assert.ok(e instanceof RegistrationError);
      assert.match(e.message, /0\.0% of the MRI head lies inside the CT's field of view.*do not overlap/);
      return true;
    });
  });

  it('registers on block-averaged images when elastixSpacingMm asks for coarser voxels (world positions kept)', async () => {
    // 4 mm MRI and 3.6 mm CT averaged over 2×2×2 blocks (8 mm, 7.2 mm): still within a voxel.
    const r = await registerCtToMri(mri, movedCt(W), mask, { ...FAST, resolutions: 2, elastixSpacingMm: 8, what: 'phantom 1' });
    const e = surfaceTre(r.transform.matrix, TRUTH);
    console.log(`phantom 64×64×48 on 8 mm blocks: TRE mean ${e.mean.toFixed(3)} mm, max ${e.max.toFixed(3)} mm`);
    assert.ok(e.mean < 1.5 && e.max < 3.0, `TRE mean ${e.mean.toFixed(3)} mm, max ${e.max.toFixed(3)} mm`);
  });

  it('refuses an empty CT window or a negative elastix voxel size before running elastix', async () => {
    await assert.rejects(registerCtToMri(mri, movedCt(W), mask, { ...FAST, ctWindowHu: [500, 500] }), (e: unknown) => e instanceof RegistrationError && /ctWindowHu/.test(e.message));
    await assert.rejects(registerCtToMri(mri, movedCt(W), mask, { ...FAST, elastixSpacingMm: -1 }), (e: unknown) => e instanceof RegistrationError && /elastixSpacingMm/.test(e.message));
  });

  it('refuses a CT without a body', async () => {
    const blank = { ...ct, data: new Float32Array(ct.data.length).fill(-1000) };
    await assert.rejects(registerCtToMri(mri, blank, mask, FAST), (e: unknown) => e instanceof RegistrationError && /no body/.test(e.message));
  });

  it('reports, with reasons, a result that misses the quality thresholds', () => {
    const q = judgeRegistration({ dice: 0.6, nmi: 1.05, overlap: 0.3, maxAbsRotationDegrees: 70 });
    assert.equal(q.ok, false);
    assert.equal(q.reasons.length, 3);
    assert.match(q.reasons.join('\n'), /field of view.*\n.*Dice 0\.600.*\n.*rotated the CT by 70\.0°/);
    assert.equal(judgeRegistration({ dice: 0.95, nmi: 1.1, overlap: 1, maxAbsRotationDegrees: 3 }).ok, true);
    // A poor Dice with the head mask inside the CT body and much smaller: read as skull-stripped.
    const stripped = judgeRegistration({ dice: 0.63, nmi: 1.04, overlap: 1, maxAbsRotationDegrees: 1, headInsideBody: 0.99, headToBodyVolume: 0.46 });
    assert.match(stripped.reasons.join('\n'), /inside the CT's body \(99% of it\) but has only 46% of the body's volume: the MRI looks skull-stripped/);
    assert.equal(stripped.skullStripped, true);
    const shifted = judgeRegistration({ dice: 0.63, nmi: 1.04, overlap: 1, maxAbsRotationDegrees: 1, headInsideBody: 0.7, headToBodyVolume: 0.9 });
    assert.match(shifted.reasons.join('\n'), /did not converge, or MRI and CT are not the same patient/);
    assert.equal(shifted.skullStripped, undefined);
  });

  it('a brain-only atlas MRI (spm152, real) with the CT template: the transform is found, the verdict names the skull-stripped MRI', { timeout: 120_000 }, async () => {
    const scans = path.resolve(__dirname, '..', '..', 'shared', 'scans');
    const spm = path.join(scans, 'niivue-demo-images', 'spm152.nii.gz');
    const hu = path.join(scans, 'neurolabusc-Clinical', 'derived', 'scct_HU.nii.gz');
    const cli = path.resolve(__dirname, '../dist/src/cli/main.js');
    const r = spawnSync(process.execPath, [cli, 'register', '--fixed', spm, '--moving', hu, '--out', path.join(tmp, 'ct_on_spm.nii.gz'), '--transform', path.join(tmp, 'spm.json')], { encoding: 'utf8' });
    const out = `${r.stdout}${r.stderr}`;
    assert.match(out, /POOR registration/, out);
    assert.match(out, /the head mask lies inside the CT's body \(\d+% of it\) but has only \d+% of the body's volume: the MRI looks skull-stripped \(brain only\)/, out);
    // Both templates are in MNI space: the transform is near the identity (the 2 mm pair's ~0.7° / 0.6 mm offset).
    const t = readTransformRecord(path.join(tmp, 'spm.json'));
    const rot = [t.rotationDegrees.x, t.rotationDegrees.y, t.rotationDegrees.z];
    const tr = [t.translationMm.x, t.translationMm.y, t.translationMm.z];
    assert.ok(rot.every((d) => Math.abs(d) < 2) && tr.every((m) => Math.abs(m) < 2), `transform ${JSON.stringify(t.rotationDegrees)} ${JSON.stringify(t.translationMm)}`);
  });

  it('writes and reads back the transform file; rejects edited or non-rigid ones', () => {
    assert.ok(recovered !== undefined, 'needs the recovery test');
    const file = path.join(tmp, 't.json');
    writeTransformRecord(file, recovered.transform);
    const back = readTransformRecord(file);
    assert.deepEqual(back, recovered.transform);
    // The elastix parameter maps travel with it.
    assert.equal(back.elastix?.parameterMap.Transform?.[0], 'EulerTransform');
    assert.equal(back.elastix?.transformParameterMap.TransformParameters?.length, 6);
    // The readable angles and translation give the matrix, and the matrix maps MRI to CT world.
    const again = rigidRecord(
      [back.rotationDegrees.x * deg, back.rotationDegrees.y * deg, back.rotationDegrees.z * deg],
      [back.translationMm.x, back.translationMm.y, back.translationMm.z],
      [back.centerMm.x, back.centerMm.y, back.centerMm.z],
    );
    for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) assert.ok(Math.abs(again.matrix[r]![c]! - back.matrix[r]![c]!) < 1e-9);
    const edited = JSON.parse(readFileSync(file, 'utf8'));
    edited.rotationDegrees.x += 1;
    writeFileSync(file, JSON.stringify(edited));
    assert.throws(() => readTransformRecord(file), /do not give "matrix"/);
    const sheared = JSON.parse(JSON.stringify(back));
    sheared.matrix[0][1] += 0.1;
    writeFileSync(file, JSON.stringify(sheared));
    assert.throws(() => readTransformRecord(file), /not orthonormal/);
  });

  it('runs inside a worker thread and gives the same transform (fixed seed)', async () => {
    assert.ok(recovered !== undefined, 'needs the recovery test');
    const moved = movedCt(W);
    const script = `
      const { parentPort, workerData } = require('node:worker_threads');
      const { registerCtToMri } = require(${JSON.stringify(path.resolve(__dirname, '../dist/src/register/register.js'))});
      registerCtToMri(workerData.mri, workerData.ct, workerData.mask, workerData.options)
        .then((r) => parentPort.postMessage({ matrix: r.transform.matrix }), (e) => parentPort.postMessage({ error: String(e) }));
    `;
    const worker = new Worker(script, { eval: true, workerData: { mri, ct: moved, mask, options: { ...FAST, what: 'phantom 1' } } });
    const msg = await new Promise<{ matrix?: Affine; error?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    assert.equal(msg.error, undefined);
    assert.deepEqual(msg.matrix, recovered.transform.matrix);
  });

  it('mri2ct register writes the CT on the MRI grid and a readable transform', async () => {
    const [mrFile, ctFile, outFile, tFile] = ['mr.nii.gz', 'ct.nii.gz', 'ct_on_mr.nii.gz', 't.json'].map((f) => path.join(tmp, f)) as [string, string, string, string];
    await writeNifti(mrFile, mri);
    await writeNifti(ctFile, movedCt(W));
    const cli = path.resolve(__dirname, '../dist/src/cli/main.js');
    const stdout = execFileSync(process.execPath, [cli, 'register', '--fixed', mrFile, '--moving', ctFile, '--out', outFile, '--transform', tFile, '--iterations', '120', '--samples', '1024', '--resolutions', '3'], { encoding: 'utf8' });
    assert.match(stdout, /rotation \(deg, about x, y, z\)/);
    const out = await readNifti(outFile);
    assert.deepEqual(out.dims, mri.dims);
    const t = readTransformRecord(tFile);
    assert.equal(t.quality?.ok, true);
    const e = surfaceTre(t.matrix, TRUTH);
    assert.ok(e.mean < 1.5 && e.max < 3, `CLI TRE mean ${e.mean.toFixed(3)} mm, max ${e.max.toFixed(3)} mm`);
    // --elastix_spacing and the CT window reach elastix: another (still right) transform.
    const t2File = path.join(tmp, 't2.json');
    execFileSync(process.execPath, [cli, 'register', '--fixed', mrFile, '--moving', ctFile, '--out', outFile, '--transform', t2File, '--iterations', '120', '--samples', '1024', '--resolutions', '2', '--elastix_spacing', '8', '--ct_min_hu', '-800', '--ct_max_hu', '1500'], { encoding: 'utf8' });
    const t2 = readTransformRecord(t2File);
    const e2 = surfaceTre(t2.matrix, TRUTH);
    assert.ok(e2.mean < 1.5 && e2.max < 3, `CLI on 8 mm blocks: TRE mean ${e2.mean.toFixed(3)} mm, max ${e2.max.toFixed(3)} mm`);
    assert.notDeepEqual(t2.matrix, t.matrix);
    const bad = spawnSync(process.execPath, [cli, 'register', '--fixed', mrFile, '--moving', ctFile, '--out', outFile, '--ct_min_hu', '500', '--ct_max_hu', '500'], { encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /--ct_min_hu \(500\) must be below --ct_max_hu \(500\)/);
  });
});

describe('preprocess --register rigid', () => {
  it('registers a moved CT before the CT steps: the cache CT matches the aligned pair far better than header alignment', async () => {
    const dir = path.join(tmp, 'pipeline');
    const mr = path.join(dir, 'mr.nii.gz');
    const aligned = path.join(dir, 'ct_aligned.nii.gz');
    const moved = path.join(dir, 'ct_moved.nii.gz');
    await writeNifti(mr, mri, { datatype: 'float32' });
    await writeNifti(aligned, ct, { datatype: 'float32' });
    await writeNifti(moved, movedCt(W), { datatype: 'float32' });
    const base = { resize: { size: 32 }, n4: { enabled: false } };
    const ref = await preprocessPatient({ id: 'p', mri: mr, ct: aligned }, resolvePreprocessParams(base));
    const header = await preprocessPatient({ id: 'p', mri: mr, ct: moved }, resolvePreprocessParams(base));
    const reg = await preprocessPatient({ id: 'p', mri: mr, ct: moved }, resolvePreprocessParams({ ...base, register: { method: 'rigid' } }));
    assert.ok(reg.registration !== undefined && reg.registration.quality.ok, JSON.stringify(reg.registration?.quality));
    assert.ok(reg.notes.some((n) => /CT registered to the MRI \(rigid/.test(n)), reg.notes.join(' | '));
    assert.equal(header.registration, undefined);
    const mae = (p: typeof ref): number => {
      let [s, n] = [0, 0];
      for (let i = 0; i < p.ct.length; i++) if (ref.mask[i] === 1) { s += Math.abs((p.ct[i] ?? 0) - (ref.ct[i] ?? 0)) * 4024; n++; }
      return s / n;
    };
    const [eHeader, eReg] = [mae(header), mae(reg)];
    assert.ok(eReg < 0.5 * eHeader, `registered ${eReg.toFixed(1)} HU vs header-aligned ${eHeader.toFixed(1)} HU from the aligned pair's cache`);
    assert.throws(() => resolvePreprocessParams({ register: { method: 'affine' as 'rigid' } }), /--register affine: use none/);
  });

  it('a brain-only MRI (spm152, real) refused after registration asks for the MRI before brain extraction, not for a re-pairing', { timeout: 120_000 }, async () => {
    const scans = path.resolve(__dirname, '..', '..', 'shared', 'scans');
    const spm = path.join(scans, 'niivue-demo-images', 'spm152.nii.gz');
    const hu = path.join(scans, 'neurolabusc-Clinical', 'derived', 'scct_HU.nii.gz');
    const params = resolvePreprocessParams({ resize: { size: 64 }, n4: { enabled: false }, register: { method: 'rigid' } });
    await assert.rejects(preprocessPatient({ id: 'spm', mri: spm, ct: hu }, params), (e: unknown) => {
      assert.ok(e instanceof PoorRegistrationError, String(e));
      assert.equal(e.registration.quality.skullStripped, true);
      assert.match(e.message, /looks skull-stripped \(brain only\).*use the MRI before brain extraction\)\. .*spm152\.nii\.gz has no skull or scalp to register the CT by\./s);
      assert.doesNotMatch(e.message, /same patient|--init centroids/);
      return true;
    });
  });

  it('the preprocessing summary shows registration columns from the metadata, — for a patient not registered', async () => {
    const dir = path.join(tmp, 'summary');
    const files = { mr: path.join(dir, 'mr.nii.gz'), aligned: path.join(dir, 'ct_aligned.nii.gz'), moved: path.join(dir, 'ct_moved.nii.gz') };
    await writeNifti(files.mr, mri, { datatype: 'float32' });
    await writeNifti(files.aligned, ct, { datatype: 'float32' });
    await writeNifti(files.moved, movedCt(W), { datatype: 'float32' });
    const base = { resize: { size: 32 }, n4: { enabled: false } };
    const regCache = path.join(dir, 'cache_reg');
    const withReg = await buildCache({
      pairs: [{ id: 'moved', mri: files.mr, ct: files.moved }], cacheDir: regCache, format: 'npy',
      params: resolvePreprocessParams({ ...base, register: { method: 'rigid' } }), log: () => {},
    });
    const plain = await buildCache({
      pairs: [{ id: 'plain', mri: files.mr, ct: files.aligned }], cacheDir: path.join(dir, 'cache_plain'), format: 'npy',
      params: resolvePreprocessParams(base), log: () => {},
    });
    assert.equal(withReg.built.length, 1, JSON.stringify(withReg.failed));
    // Without registration: no registration columns.
    const plainText = formatBuildSummary(plain);
    assert.doesNotMatch(plainText, /verdict|NMI|rot max/);

    const meta = readPatientMetadata(regCache, 'moved')?.registration;
    assert.ok(meta !== undefined, 'metadata/moved.json has no registration');
    const rot = meta.transform.rotationDegrees;
    const tr = meta.transform.translationMm;
    const expected = [
      Math.max(Math.abs(rot.x), Math.abs(rot.y), Math.abs(rot.z)).toFixed(1),
      Math.hypot(tr.x, tr.y, tr.z).toFixed(1),
      meta.quality.dice.toFixed(3),
      meta.quality.nmi.toFixed(3),
      meta.seconds.toFixed(1),
      'ok',
    ];
    // The known motion: ~8° and a translation of several mm.
    assert.ok(Math.abs(Number(expected[0]) - 8) < 1.5, `rotation ${expected[0]}°`);
    assert.ok(Number(expected[1]) > 5, `translation ${expected[1]} mm`);

    const mixed = { ...withReg, built: [...withReg.built, ...plain.built] };
    const lines = formatBuildSummary(mixed).split('\n');
    const header = lines[0]!.trim().split(/\s{2,}/);
    assert.deepEqual(header.slice(-6), ['rot max°', 'trans mm', 'Dice', 'NMI', 'reg s', 'verdict']);
    const row = (id: string): string[] => {
      const l = lines.find((x) => x.startsWith(`${id} `));
      assert.ok(l !== undefined, `no row for ${id}:\n${lines.join('\n')}`);
      return l.trim().split(/\s+/);
    };
    assert.equal(row('moved').length, header.length);
    assert.deepEqual(row('moved').slice(-6), expected);
    assert.deepEqual(row('plain').slice(-6), ['—', '—', '—', '—', '—', '—']);
    assert.match(lines.join('\n'), /registration \(--register rigid\): rot max°/);
    // The notebook's HTML table shows the same cells.
    const html = buildSummaryHtml(mixed);
    for (const c of [...expected, 'verdict']) assert.ok(html.includes(`>${c}<`), `HTML lacks ${c}`);
  });
});
