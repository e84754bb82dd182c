/**
 * Phantom cohort tests: option validation, determinism (same seed → identical volumes, patient i
 * alone = patient i in a cohort), anatomy on tiny grids (every tissue present, plausible volumes,
 * per-patient variation), the bias field (bounds, smoothness, multiplicative), MRI contrast and
 * noise, CT HU ranges, the CT-only hardware outside the head mask, and the files on disk (layout,
 * readNifti round trip, nibabel, byte-identical rewrites, stale files, progress events).
 * Tiny grids only (48×48×32, 96×96×64): the whole file runs in a few seconds.
 */

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';

import { ConfigError } from '../src/errors';
import { readNifti } from '../src/io/nifti-read';
import type { Vec3 } from '../src/io/volume';
import {
  BIAS_BOUNDS,
  CT_BOUNDS,
  CT_HU_RANGES,
  generatePhantomPatient,
  LABEL,
  LABEL_TABLE,
  MIN_SIZE,
  phantomPatientId,
  writePhantomCohort,
  type PhantomPatient,
  type PhantomProgressEvent,
} from '../src/phantom';
import { runPythonJson } from './helpers/python';

const TINY: Vec3 = [48, 48, 32];
const MEDIUM: Vec3 = [96, 96, 64];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-phantom-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const cache = new Map<string, PhantomPatient>();
/** Memoised generation (volumes are only read by the tests). */
function patient(index: number, seed: number, size: Vec3 = TINY): PhantomPatient {
  const key = `${index}/${seed}/${size.join('x')}`;
  let p = cache.get(key);
  if (p === undefined) {
    p = generatePhantomPatient(index, { seed, size });
    cache.set(key, p);
  }
  return p;
}

function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

interface Stats {
  n: number;
  mean: number;
  sd: number;
  min: number;
  max: number;
}

/** Statistics of `values` over the voxels where `select` holds. */
function stats(values: ArrayLike<number>, select: (i: number) => boolean): Stats {
  let n = 0;
  let s = 0;
  let s2 = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (!select(i)) continue;
    const v = values[i]!;
    n++;
    s += v;
    s2 += v * v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = s / n;
  return { n, mean, sd: Math.sqrt(Math.max(0, s2 / n - mean * mean)), min, max };
}

function labelStats(p: PhantomPatient, values: ArrayLike<number>, ...labels: number[]): Stats {
  const l = p.labels.data;
  return stats(values, (i) => labels.includes(l[i]!));
}

function count(mask: Uint8Array): number {
  let n = 0;
  for (const v of mask) n += v;
  return n;
}

function dice(a: Uint8Array, b: Uint8Array): number {
  let both = 0;
  for (let i = 0; i < a.length; i++) both += a[i]! & b[i]!;
  return (2 * both) / (count(a) + count(b));
}

/** Volume of the head mask in litres. */
function headLitres(p: PhantomPatient): number {
  const [sx, sy, sz] = p.headMask.spacing;
  return (count(p.headMask.data) * sx * sy * sz) / 1e6;
}

/** Calls fn(i, neighbourIndex, axis) for each voxel and its +1 neighbour along each axis. */
function forEachNeighbourPair(dims: Vec3, fn: (i: number, j: number, axis: number) => void): void {
  const [nx, ny, nz] = dims;
  const strides = [1, nx, nx * ny];
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        const i = x + nx * (y + ny * z);
        if (x + 1 < nx) fn(i, i + strides[0]!, 0);
        if (y + 1 < ny) fn(i, i + strides[1]!, 1);
        if (z + 1 < nz) fn(i, i + strides[2]!, 2);
      }
    }
  }
}

describe('options', () => {
  test('a grid below the minimum is a ConfigError naming the minimum', () => {
    assert.throws(
      () => generatePhantomPatient(1, { size: [16, 48, 32] }),
      (e: unknown) => e instanceof ConfigError && e.message.includes(MIN_SIZE.join('×')),
    );
    assert.throws(() => generatePhantomPatient(1, { size: [48.5, 48, 32] }), ConfigError);
    assert.throws(() => generatePhantomPatient(1, { size: [48, 48] as unknown as Vec3 }), ConfigError);
  });

  test('bad seeds, patient numbers and cohort options are ConfigErrors', async () => {
    assert.throws(() => generatePhantomPatient(1, { size: TINY, seed: -1 }), ConfigError);
    assert.throws(() => generatePhantomPatient(1, { size: TINY, seed: 1.5 }), ConfigError);
    assert.throws(() => generatePhantomPatient(0, { size: TINY }), ConfigError);
    assert.throws(() => generatePhantomPatient(1000, { size: TINY }), ConfigError);
    await assert.rejects(writePhantomCohort({ out: path.join(dir, 'bad'), patients: 0, size: TINY }), ConfigError);
    await assert.rejects(writePhantomCohort({ out: '', patients: 1, size: TINY }), ConfigError);
    await assert.rejects(
      writePhantomCohort({ out: path.join(dir, 'bad'), patients: 1, size: TINY, compressionLevel: 12 }),
      ConfigError,
    );
  });

  test('patient ids', () => {
    assert.equal(phantomPatientId(1), 'brain_001');
    assert.equal(phantomPatientId(42), 'brain_042');
    assert.equal(phantomPatientId(999), 'brain_999');
  });
});

describe('determinism', () => {
  test('same seed and patient → identical volumes; other seed or patient → different', () => {
    const a = patient(2, 5);
    const b = generatePhantomPatient(2, { seed: 5, size: TINY });
    for (const key of ['mri', 'ct', 'bias', 'labels', 'headMask'] as const) {
      assert.ok(bytesOf(a[key].data).equals(bytesOf(b[key].data)), `${key} differs between two runs`);
    }
    assert.deepEqual(a.params, b.params);
    const otherSeed = patient(2, 6);
    const otherPatient = patient(3, 5);
    for (const other of [otherSeed, otherPatient]) {
      for (const key of ['mri', 'ct', 'bias', 'labels'] as const) {
        assert.ok(!bytesOf(a[key].data).equals(bytesOf(other[key].data)), `${key} equal for different patients`);
      }
    }
  });
});

describe('anatomy', () => {
  test('grid, affine and head position', () => {
    const p = patient(1, 1);
    assert.deepEqual(p.mri.dims, TINY);
    assert.deepEqual(p.mri.spacing, [256 / 48, 256 / 48, 192 / 32]);
    for (const v of [p.ct, p.bias, p.labels, p.headMask]) {
      assert.deepEqual(v.dims, p.mri.dims);
      assert.deepEqual(v.affine, p.mri.affine);
    }
    const A = p.mri.affine;
    assert.deepEqual([A[0]![0], A[1]![1], A[2]![2], A[3]], [256 / 48, 256 / 48, 6, [0, 0, 0, 1]]);
    // the world origin is near the head centre
    const [nx, ny] = p.mri.dims;
    const c = [0, 0, 0];
    let n = 0;
    p.headMask.data.forEach((m, i) => {
      if (m === 0) return;
      const ijk = [i % nx, Math.floor(i / nx) % ny, Math.floor(i / (nx * ny))];
      for (let r = 0; r < 3; r++) c[r]! += A[r]![0]! * ijk[0]! + A[r]![1]! * ijk[1]! + A[r]![2]! * ijk[2]! + A[r]![3]!;
      n++;
    });
    for (const v of c) assert.ok(Math.abs(v / n) < 20, `head centroid ${c.map((x) => (x / n).toFixed(1))} mm`);
  });

  test('every tissue and hardware part is present on tiny grids', () => {
    const needed = LABEL_TABLE.filter((l) => l.value !== LABEL.EAR_CUSHION).map((l) => l.value);
    const cases: Array<[number, number, Vec3]> = [
      [1, 1, TINY], [2, 1, TINY], [3, 1, TINY], [1, 2, TINY], [2, 3, TINY],
      [1, 1, MIN_SIZE], [2, 4, MIN_SIZE], [3, 5, MIN_SIZE],
    ];
    for (const [index, seed, size] of cases) {
      const p = patient(index, seed, size);
      const present = new Set(p.labels.data);
      const missing = needed.filter((v) => !present.has(v));
      assert.deepEqual(missing, [], `patient ${index} seed ${seed} size ${size.join('x')} lacks labels ${missing}`);
      assert.ok([...present].every((v) => LABEL_TABLE.some((l) => l.value === v)), 'unknown label value');
    }
  });

  test('the head mask is exactly the anatomical labels', () => {
    const p = patient(1, 1);
    p.labels.data.forEach((l, i) => assert.equal(p.headMask.data[i], l >= 1 && l < 20 ? 1 : 0));
  });

  test('patients differ in size, shape and pose, with plausible head volumes', () => {
    const a = patient(1, 1);
    const b = patient(2, 1);
    const c = patient(3, 1);
    for (const p of [a, b, c]) {
      const litres = headLitres(p);
      assert.ok(litres > 1.8 && litres < 4.2, `${p.id}: head volume ${litres.toFixed(2)} L`);
    }
    assert.ok(dice(a.headMask.data, b.headMask.data) < 0.98, `dice ${dice(a.headMask.data, b.headMask.data)}`);
    assert.ok(dice(a.headMask.data, c.headMask.data) < 0.98);
    assert.notDeepEqual(a.params.head.rotationDeg, b.params.head.rotationDeg);
    for (const p of [a, b, c]) {
      assert.ok(p.params.head.rotationDeg.every((r) => Math.abs(r) <= 10));
      assert.ok(p.params.head.scale >= 0.9 && p.params.head.scale <= 1.1);
    }
  });
});

describe('bias field', () => {
  test('within the documented bounds', () => {
    for (const [index, seed] of [[1, 1], [2, 1], [3, 7]] as const) {
      const p = patient(index, seed);
      const head = stats(p.bias.data, (i) => p.headMask.data[i] === 1);
      const all = stats(p.bias.data, () => true);
      assert.ok(head.min >= BIAS_BOUNDS.headMin - BIAS_BOUNDS.step && head.max <= BIAS_BOUNDS.headMax + BIAS_BOUNDS.step);
      assert.ok(head.max / head.min > 1.4, `bias range over the head only ${head.min}–${head.max}`);
      assert.ok(all.min >= BIAS_BOUNDS.min && all.max <= BIAS_BOUNDS.max);
    }
  });

  test('smooth: small first and second differences of log(bias) inside the head', () => {
    for (const size of [TINY, MEDIUM]) {
      const p = patient(1, 1, size);
      const b = p.bias.data;
      const h = p.headMask.data;
      const sp = p.bias.spacing;
      const strides = [1, size[0], size[0] * size[1]];
      let maxSlope = 0;
      let maxCurvature = 0;
      forEachNeighbourPair(size, (i, j, axis) => {
        if (h[i] === 0 || h[j] === 0) return;
        maxSlope = Math.max(maxSlope, Math.abs(Math.log(b[j]! / b[i]!)) / sp[axis]!);
        const k = j + strides[axis]!;
        if (k < b.length && h[k] === 1) {
          const second = Math.log(b[k]!) - 2 * Math.log(b[j]!) + Math.log(b[i]!);
          maxCurvature = Math.max(maxCurvature, Math.abs(second) / sp[axis]! ** 2);
        }
      });
      assert.ok(maxSlope < 0.012, `max |d log b| ${maxSlope.toFixed(4)} per mm`); // ≤ 1.2 % per mm
      assert.ok(maxCurvature < 4e-4, `max |d² log b| ${maxCurvature.toExponential(2)} per mm²`);
    }
  });

  test('multiplicative: MRI / bias ≈ the noise-free image', () => {
    const p = patient(1, 1, MEDIUM);
    const wm = p.params.mri.intensities[LABEL.WHITE_MATTER]!;
    const bright = (i: number): boolean => p.headMask.data[i] === 1 && p.mriNoiseFree[i]! > 0.4 * wm;
    const corrected = stats(Float32Array.from(p.mri.data, (v, i) => v / (p.bias.data[i]! * p.mriNoiseFree[i]!)), bright);
    const raw = stats(Float32Array.from(p.mri.data, (v, i) => v / p.mriNoiseFree[i]!), bright);
    assert.ok(Math.abs(corrected.mean - 1) < 0.01, `mean MRI/(bias·truth) ${corrected.mean}`);
    assert.ok(corrected.sd < 0.08, `sd of MRI/(bias·truth) ${corrected.sd}`);
    assert.ok(raw.sd > 1.5 * corrected.sd, `sd before ${raw.sd} vs after dividing by the bias ${corrected.sd}`);
    // per-tissue coefficient of variation drops after dividing by the true field
    for (const label of [LABEL.WHITE_MATTER, LABEL.FAT]) {
      const before = labelStats(p, p.mri.data, label);
      const after = labelStats(p, Float32Array.from(p.mri.data, (v, i) => v / p.bias.data[i]!), label);
      assert.ok(after.sd / after.mean < 0.8 * (before.sd / before.mean), `label ${label}: CV ${before.sd / before.mean} → ${after.sd / after.mean}`);
    }
  });
});

describe('MRI', () => {
  test('T1 tissue ordering: fat > WM > GM > CSF; skull, sinus air and hardware dark', () => {
    for (const size of [TINY, MEDIUM]) {
      const p = patient(2, 1, size);
      const m = (...labels: number[]): number => labelStats(p, p.mri.data, ...labels).mean;
      const [fat, wm, gm, csf] = [m(LABEL.FAT), m(LABEL.WHITE_MATTER), m(LABEL.GREY_MATTER), m(LABEL.CSF)];
      assert.ok(fat > wm && wm > gm && gm > csf, `fat ${fat} WM ${wm} GM ${gm} CSF ${csf} (${size})`);
      assert.ok(m(LABEL.CORTICAL_BONE, LABEL.DIPLOE) < 0.6 * gm, `skull ${m(LABEL.CORTICAL_BONE, LABEL.DIPLOE)} vs GM ${gm}`);
      assert.ok(m(LABEL.SINUS_AIR) < 0.6 * gm);
      assert.ok(m(LABEL.VENTRICLE) < gm);
    }
    // before partial-volume blurring, cortical bone is the darkest tissue after air
    const t = patient(2, 1).params.mri.intensities;
    const order = [LABEL.SINUS_AIR, LABEL.CORTICAL_BONE, LABEL.CSF, LABEL.GREY_MATTER, LABEL.WHITE_MATTER, LABEL.FAT];
    order.slice(1).forEach((label, k) => assert.ok(t[label]! > t[order[k]!]!, `intensity of label ${label}`));
  });

  test('Rician noise at 2–3 % of WM; near zero outside the head and over the hardware', () => {
    for (const [index, seed] of [[1, 1], [2, 1], [3, 7]] as const) {
      const p = patient(index, seed);
      const c = p.params.mri;
      const wm = c.intensities[LABEL.WHITE_MATTER]!;
      assert.ok(c.noiseSigma / wm >= 0.02 && c.noiseSigma / wm <= 0.03);
      const hardware = stats(p.mri.data, (i) => p.labels.data[i]! >= 20);
      const sigma = hardware.mean / Math.sqrt(Math.PI / 2); // Rayleigh mean → σ
      assert.ok(Math.abs(sigma / c.noiseSigma - 1) < 0.15, `σ from hardware voxels ${sigma} vs ${c.noiseSigma}`);
      assert.ok(hardware.mean < 0.05 * wm);
      const outside = stats(p.mri.data, (i) => p.headMask.data[i] === 0);
      assert.ok(outside.mean < 0.06 * wm, `MRI outside the head ${outside.mean}`);
      assert.ok(Number.isInteger(p.mri.data[1234]!) && stats(p.mri.data, () => true).min >= 0);
    }
  });
});

describe('CT', () => {
  test('HU per tissue', () => {
    for (const [index, seed] of [[1, 1], [2, 1], [3, 7], [1, 9]] as const) {
      const p = patient(index, seed);
      const ct = p.ct.data;
      const s = (...labels: number[]): Stats => labelStats(p, ct, ...labels);
      const bone = s(LABEL.CORTICAL_BONE, LABEL.DIPLOE);
      assert.ok(bone.min >= 700 && bone.max <= 1800, `skull ${bone.min}..${bone.max}`);
      assert.ok(s(LABEL.CORTICAL_BONE).mean > s(LABEL.DIPLOE).mean + 300, 'cortical tables denser than diploë');
      const air = s(LABEL.AIR);
      assert.ok(Math.abs(air.mean + 1000) < 2 && air.sd >= 4 && air.sd <= 11, `air ${air.mean} ± ${air.sd}`);
      const sinus = s(LABEL.SINUS_AIR);
      assert.ok(sinus.min >= CT_BOUNDS.sinus.min && sinus.max <= CT_BOUNDS.sinus.max);
      for (const label of [LABEL.CSF, LABEL.GREY_MATTER, LABEL.WHITE_MATTER, LABEL.VENTRICLE]) {
        const t = s(label);
        assert.ok(t.mean > 0 && t.mean < 60, `brain label ${label}: ${t.mean}`);
        const [lo, hi] = CT_HU_RANGES[label === LABEL.VENTRICLE ? LABEL.CSF : label]!;
        assert.ok(t.mean > lo - 4 && t.mean < hi + 4);
      }
      const gm = s(LABEL.GREY_MATTER).mean;
      assert.ok(gm > s(LABEL.WHITE_MATTER).mean && gm > s(LABEL.CSF).mean, 'GM denser than WM and CSF');
      const fat = s(LABEL.FAT).mean;
      assert.ok(fat > -120 && fat < -80, `fat ${fat}`);
      const soft = s(LABEL.SKIN, LABEL.SOFT_TISSUE).mean;
      assert.ok(soft > 20 && soft < 70, `soft tissue ${soft}`);
      assert.ok(stats(ct, () => true).min >= CT_BOUNDS.all.min);
    }
  });
});

describe('hardware (CT only)', () => {
  test('dense voxels exist outside the head mask, never inside it, and keep a gap', () => {
    for (const [index, seed] of [[1, 1], [2, 1], [3, 7], [1, 9]] as const) {
      const p = patient(index, seed);
      const l = p.labels.data;
      const h = p.headMask.data;
      const ct = p.ct.data;
      const denseOutside = stats(ct, (i) => h[i] === 0 && ct[i]! > -500);
      assert.ok(denseOutside.n > 100, `${denseOutside.n} voxels > −500 HU outside the head`);
      // every dense voxel outside the head is hardware (air never reaches −500 HU)
      assert.equal(stats(ct, (i) => h[i] === 0 && ct[i]! > -500 && l[i]! < 20).n, 0);
      for (const label of [LABEL.HEADREST_FOAM, LABEL.HEADREST_SHELL, LABEL.COUCH, LABEL.POSITIONING_BAR]) {
        const t = labelStats(p, ct, label);
        assert.ok(t.n > 0 && t.min > -500, `hardware label ${label}: ${t.n} voxels, min ${t.min} HU`);
      }
      l.forEach((v, i) => {
        if (v >= 20) assert.equal(h[i], 0);
      });
      forEachNeighbourPair(p.labels.dims, (i, j) => {
        const touching = (l[i]! >= 20 && h[j] === 1) || (l[j]! >= 20 && h[i] === 1);
        assert.ok(!touching, `hardware voxel touches the head at ${i}/${j}`);
      });
    }
  });
});

describe('files', () => {
  test('writePhantomCohort: layout, round trip, nibabel, determinism, stale files, progress', async () => {
    const out = path.join(dir, 'cohort');
    const events: PhantomProgressEvent[] = [];
    const result = await writePhantomCohort({ out, patients: 3, seed: 11, size: TINY, onProgress: (e) => events.push(e) });
    assert.equal(result.patients.length, 3);
    assert.deepEqual(result.patients.map((f) => f.id), ['brain_001', 'brain_002', 'brain_003']);
    assert.deepEqual(events.map((e) => e.done), [0, 1, 2, 3]);
    assert.ok(events.every((e) => e.total === 3 && e.stage === 'phantom'));
    assert.equal(result.patients[1]!.mri, path.join(out, 'MRI', 'brain_002.nii.gz'));
    assert.equal(result.patients[1]!.ct, path.join(out, 'CT', 'brain_002.nii.gz'));
    assert.equal(result.patients[1]!.headMask, path.join(out, 'truth', 'brain_002_head_mask.nii.gz'));

    for (const files of result.patients) {
      const expected = generatePhantomPatient(Number(files.id.slice(6)), { seed: 11, size: TINY }); // alone = in cohort
      for (const [key, file, datatype] of [
        ['mri', files.mri, 'int16'],
        ['ct', files.ct, 'int16'],
        ['bias', files.bias, 'float32'],
        ['labels', files.labels, 'uint8'],
        ['headMask', files.headMask, 'uint8'],
      ] as const) {
        assert.ok(fs.existsSync(file), file);
        const img = await readNifti(file);
        const want = expected[key];
        assert.equal(img.datatype, datatype, file);
        assert.deepEqual(img.dims, want.dims);
        img.affine.forEach((row, r) => row.forEach((v, c) => assert.ok(Math.abs(v - want.affine[r]![c]!) < 1e-4, file)));
        assert.ok(img.data.every((v, i) => v === want.data[i]), `${file} differs from the in-memory patient`);
      }
    }

    const labelsJson = JSON.parse(fs.readFileSync(result.labelsJson, 'utf8')) as { labels: Array<{ value: number; name: string }> };
    assert.deepEqual(labelsJson.labels.map((l) => [l.value, l.name]), LABEL_TABLE.map((l) => [l.value, l.name]));
    const meta = JSON.parse(fs.readFileSync(result.phantomJson, 'utf8')) as {
      seed: number; patients: number; size: number[]; patientParams: Array<{ id: string }>;
    };
    assert.deepEqual([meta.seed, meta.patients, meta.size], [11, 3, TINY]);
    assert.deepEqual(meta.patientParams.map((p) => p.id), ['brain_001', 'brain_002', 'brain_003']);

    const py = runPythonJson<Array<{ shape: number[]; dtype: string; affine: number[][] }>>(
      [
        'import sys, json, nibabel as nib, numpy as np',
        'out = []',
        'for f in sys.argv[1:]:',
        '    im = nib.load(f); d = np.asanyarray(im.dataobj)',
        '    out.append({"shape": list(im.shape), "dtype": str(d.dtype), "affine": im.affine.tolist()})',
        'print(json.dumps(out))',
      ].join('\n'),
      [result.patients[0]!.mri, result.patients[0]!.ct, result.patients[0]!.bias, result.patients[0]!.labels, result.patients[0]!.headMask],
    );
    assert.deepEqual(py.map((f) => f.dtype), ['int16', 'int16', 'float32', 'uint8', 'uint8']);
    for (const f of py) {
      assert.deepEqual(f.shape, TINY);
      f.affine.forEach((row, r) => row.forEach((v, c) => assert.ok(Math.abs(v - patient(1, 11).mri.affine[r]![c]!) < 1e-4)));
    }

    // same options into another folder → byte-identical files
    const again = await writePhantomCohort({ out: path.join(dir, 'cohort-again'), patients: 3, seed: 11, size: TINY });
    for (let i = 0; i < 3; i++) {
      for (const key of ['mri', 'ct', 'bias', 'labels', 'headMask'] as const) {
        assert.ok(fs.readFileSync(result.patients[i]![key]).equals(fs.readFileSync(again.patients[i]![key])), key);
      }
    }
    assert.ok(fs.readFileSync(result.phantomJson).equals(fs.readFileSync(again.phantomJson)));

    // a smaller cohort over an older one removes the patients beyond the new count
    await writePhantomCohort({ out, patients: 1, seed: 11, size: TINY });
    assert.deepEqual(fs.readdirSync(path.join(out, 'MRI')), ['brain_001.nii.gz']);
    assert.deepEqual(fs.readdirSync(path.join(out, 'CT')), ['brain_001.nii.gz']);
    assert.ok(!fs.readdirSync(path.join(out, 'truth')).some((f) => f.startsWith('brain_002') || f.startsWith('brain_003')));
  });

  test('refuses to write into a folder holding another dataset, or over a file', async () => {
    const out = path.join(dir, 'foreign');
    fs.mkdirSync(path.join(out, 'MRI'), { recursive: true });
    fs.writeFileSync(path.join(out, 'MRI', 'subject_A.nii.gz'), 'not ours');
    await assert.rejects(writePhantomCohort({ out, patients: 1, size: TINY }), ConfigError);
    assert.deepEqual(fs.readdirSync(path.join(out, 'MRI')), ['subject_A.nii.gz']);
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, 'x');
    await assert.rejects(writePhantomCohort({ out: file, patients: 1, size: TINY }), ConfigError);
  });
});
