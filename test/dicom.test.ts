import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ImageFormatError } from '../src/errors';
import { parseDicomHeader } from '../src/io/dicom-header';
import { readNifti } from '../src/io/nifti-read';
import { readImage } from '../src/io/read-image';
import { runPythonJson, PYTHON } from './helpers/python';
import { compareInWorld } from './helpers/world-compare';

const scans = path.resolve(__dirname, '..', '..', 'shared', 'scans');
const SIEMENS = path.join(scans, 'niivue-demo-images', 'dicom');
const GE = path.join(scans, 'dcm_qa_ct', 'In', 'GE');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-dicom-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

let siemensRead: ReturnType<typeof readImage> | undefined;
/** The Siemens series, read once for the tests that need it. */
const siemens = (): ReturnType<typeof readImage> => (siemensRead ??= readImage(SIEMENS));

function dcm2niix(folder: string, name: string): string {
  const out = fs.mkdtempSync(path.join(tmp, 'd2n-'));
  execFileSync('dcm2niix', ['-z', 'n', '-o', out, '-f', name, folder], { stdio: 'ignore' });
  return out;
}

test('our DICOM header parser agrees with pydicom on every slice of both series', () => {
  const files = [...fs.readdirSync(SIEMENS).filter((f) => f.endsWith('.dcm')).map((f) => path.join(SIEMENS, f)), ...fs.readdirSync(GE).map((f) => path.join(GE, f))];
  const ref = runPythonJson<Record<string, { pos: number[]; iop: number[]; uid: string; rows: number; cols: number; ps: number[]; slope: number | null; inter: number | null; tilt: number | null }>>(
    `
import sys, json, pydicom
out = {}
for f in sys.argv[1:]:
    d = pydicom.dcmread(f, stop_before_pixels=True)
    g = lambda k: float(d.get(k)) if d.get(k) is not None else None
    out[f] = dict(pos=[float(v) for v in d.ImagePositionPatient], iop=[float(v) for v in d.ImageOrientationPatient],
                  uid=str(d.SeriesInstanceUID), rows=int(d.Rows), cols=int(d.Columns), ps=[float(v) for v in d.PixelSpacing],
                  slope=g('RescaleSlope'), inter=g('RescaleIntercept'), tilt=g('GantryDetectorTilt'))
print(json.dumps(out))`,
    files,
  );
  for (const f of files) {
    const h = parseDicomHeader(fs.readFileSync(f), f);
    const r = ref[f]!;
    assert.deepEqual(h.position, r.pos, f);
    assert.deepEqual(h.orientation, r.iop, f);
    assert.equal(h.seriesInstanceUid, r.uid);
    assert.deepEqual([h.rows, h.columns], [r.rows, r.cols]);
    assert.deepEqual(h.pixelSpacing, r.ps);
    assert.equal(h.rescaleSlope ?? null, r.slope);
    assert.equal(h.rescaleIntercept ?? null, r.inter);
    assert.equal(h.gantryTilt ?? null, r.tilt);
  }
});

test('Siemens series: same voxels and affine as dcm2niix, manifest ignored, LPS 512×512×120', async () => {
  const img = await siemens();
  assert.equal(img.format, 'dicom');
  assert.deepEqual(img.dims, [512, 512, 120]);
  assert.equal(img.orientation, 'LPS');
  assert.deepEqual(img.spacing.map((s) => +s.toFixed(5)), [0.41016, 0.41016, 1.5]);
  assert.equal(img.dicom?.sliceCount, 120);
  assert.equal(img.dicom?.uniformSpacing, true);
  assert.ok((img.dicom?.gantryTiltDegrees ?? 1) < 1e-6);
  assert.deepEqual(img.dicom?.ignoredFiles.map((f) => path.basename(f)), ['niivue-manifest.txt']);
  const out = dcm2niix(SIEMENS, 'siemens');
  const ref = await readNifti(path.join(out, 'siemens.nii'));
  const c = compareInWorld(img, ref);
  assert.ok(c.gridError < 1e-3, `grids differ by ${c.gridError} voxels`);
  assert.equal(c.compared, 512 * 512 * 120, 'every voxel maps into the dcm2niix volume');
  assert.equal(c.mismatches, 0, `max diff ${c.maxAbsDiff}`);
  // The affines agree once dcm2niix's storage order is undone: A_ours == A_ref · P.
  const p = [...c.map, [0, 0, 0, 1]];
  for (let r = 0; r < 3; r++) {
    for (let col = 0; col < 4; col++) {
      const v = [0, 1, 2, 3].reduce((s, k) => s + (ref.affine[r]?.[k] ?? 0) * (p[k]?.[col] ?? 0), 0);
      assert.ok(Math.abs(v - (img.affine[r]?.[col] ?? 0)) < 1e-3, `affine[${r}][${col}] ${img.affine[r]?.[col]} vs dcm2niix ${v}`);
    }
  }
});

test('Siemens series: slices in normal order with pydicom pixel values (first, middle, last)', async () => {
  const img = await siemens();
  const files = img.dicom?.files ?? [];
  const picks = [0, 60, 119];
  const bin = path.join(tmp, 'slices.f32');
  execFileSync(PYTHON, ['-c', `
import sys, numpy as np, pydicom
np.concatenate([pydicom.dcmread(f).pixel_array.astype(np.float32).ravel() for f in sys.argv[2:]]).tofile(sys.argv[1])`, bin, ...picks.map((i) => files[i]!)]);
  const ref = new Float32Array(fs.readFileSync(bin).buffer.slice(0));
  const n = 512 * 512;
  picks.forEach((z, k) => {
    for (let i = 0; i < n; i++) assert.equal(img.data[z * n + i], ref[k * n + i], `slice ${z} voxel ${i}`);
  });
  // Sorted along the normal: z of each slice's position increases by 1.5 mm.
  const zs = files.map((f) => parseDicomHeader(fs.readFileSync(f), f).position?.[2] ?? NaN);
  zs.slice(1).forEach((v, i) => assert.ok(Math.abs(v - zs[i]! - 1.5) < 1e-4));
});

test('RescaleSlope/Intercept are applied once (files renamed in reverse order, slope 2, intercept -1024)', async () => {
  const dir = path.join(tmp, 'rescaled');
  fs.mkdirSync(dir);
  const src = ['1-010.dcm', '1-011.dcm', '1-012.dcm', '1-013.dcm'].map((f) => path.join(SIEMENS, f));
  const bin = path.join(tmp, 'rescaled.f32');
  execFileSync(PYTHON, ['-c', `
import sys, os, numpy as np, pydicom
out, bin, files = sys.argv[1], sys.argv[2], sys.argv[3:]
vals = []
for i, f in enumerate(files):
    d = pydicom.dcmread(f); d.RescaleSlope = 2; d.RescaleIntercept = -1024
    d.save_as(os.path.join(out, 'z%02d.dcm' % (len(files) - i)))
    vals.append((d.pixel_array.astype(np.float64) * 2 - 1024).astype(np.float32).ravel())
np.concatenate(vals).tofile(bin)`, dir, bin, ...src]);
  const img = await readImage(dir);
  assert.equal(img.dicom?.rescaleSlope, 2);
  assert.equal(img.dicom?.rescaleIntercept, -1024);
  assert.deepEqual(img.dicom?.files.map((f) => path.basename(f)), ['z04.dcm', 'z03.dcm', 'z02.dcm', 'z01.dcm']);
  const ref = new Float32Array(fs.readFileSync(bin).buffer.slice(0));
  assert.equal(img.data.length, ref.length);
  let bad = 0;
  for (let i = 0; i < ref.length; i++) if (img.data[i] !== ref[i]) bad++;
  assert.equal(bad, 0);
});

test('GE series (tilt 18.5°, spacing 1.08–7.0 mm) is refused with what was found and what to do', async () => {
  await assert.rejects(readImage(GE), (err: unknown) => {
    assert.ok(err instanceof ImageFormatError);
    assert.match(err.message, /gantry tilt 18\.50°/);
    assert.match(err.message, /uneven slice spacing 1\.08–7\.00 mm/);
    assert.match(err.message, /dcm2niix/);
    assert.ok(err.message.includes(GE));
    return true;
  });
  const info = await readImage(GE, { informationOnly: true });
  assert.equal(info.dicom?.sliceCount, 28);
  assert.equal(info.dicom?.gantryTiltTag, 18.5);
  assert.ok(Math.abs((info.dicom?.gantryTiltDegrees ?? 0) - 18.5) < 0.01, 'tilt measured from the positions matches the tag');
  assert.equal(info.dicom?.uniformSpacing, false);
  // The advice works: dcm2niix writes the tilt-corrected, equalised volume.
  const out = dcm2niix(GE, 'ge');
  assert.ok(fs.existsSync(path.join(out, 'ge_Tilt_Eq_1.nii')));
});

test('a folder with two series is an error listing both; the series option picks one', async () => {
  const dir = path.join(tmp, 'two-series');
  fs.mkdirSync(dir);
  for (const f of ['1-001.dcm', '1-002.dcm', '1-003.dcm']) fs.copyFileSync(path.join(SIEMENS, f), path.join(dir, f));
  for (const f of ['01.dcm', '02.dcm']) fs.copyFileSync(path.join(GE, f), path.join(dir, `ge-${f}`));
  fs.writeFileSync(path.join(dir, 'README.txt'), 'not dicom');
  await assert.rejects(readImage(dir), /holds 2 DICOM series:[\s\S]*t1_mpr_tra_gk_v4.*3 files[\s\S]*CT, 2 files/);
  const uid = parseDicomHeader(fs.readFileSync(path.join(SIEMENS, '1-001.dcm')), '').seriesInstanceUid ?? '';
  const img = await readImage(dir, { series: uid });
  assert.deepEqual(img.dims, [512, 512, 3]);
  assert.equal(img.dicom?.otherSeries.length, 1);
  assert.deepEqual(img.dicom?.ignoredFiles.map((f) => path.basename(f)), ['README.txt']);
  await assert.rejects(readImage(path.join(scans, 'niivue-demo-images', 'register')), /holds no DICOM files/);
});
