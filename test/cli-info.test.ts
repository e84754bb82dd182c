import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import type { ImageDescription } from '../src/io/describe';

const root = path.resolve(__dirname, '..');
const scans = path.resolve(root, '..', 'shared', 'scans');
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [path.join(root, 'dist/src/cli/main.js'), 'info', ...args], { cwd: root, encoding: 'utf8' });

test('mri2ct info on an LIA NIfTI: shape, voxel size, storage and canonical orientation, units', () => {
  const r = cli(path.join(scans, 'brainchop/public/t1_crop.nii.gz'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Format +nifti, stored as uint8/);
  assert.match(r.stdout, /Shape +256 × 256 × 256/);
  assert.match(r.stdout, /Voxel size +1\.0000 × 1\.0000 × 1\.0000 mm/);
  assert.match(r.stdout, /Orientation +LIA \(storage\) → RAS \(canonical\): permute axes \(x, z, y\).*flip x.*flip y/);
  assert.match(r.stdout, /Obliquity +0\.00°/);
  assert.match(r.stdout, /Units \(guess\) +non-negative/);
  // what preprocessing would do: reorient without resampling; accepted as an MRI, refused as a CT
  assert.match(r.stdout, /Pipeline +stored LIA, reoriented to RAS .*no resampling/);
  assert.match(r.stdout, /as MRI +accepted/);
  assert.match(r.stdout, /as CT +refused: .*not a CT in HU/);
});

test('mri2ct info --json on the HU CT template guesses HU; the Cormack-unit CT is not HU', () => {
  const r = cli(path.join(scans, 'neurolabusc-Clinical/derived/scct_HU.nii.gz'), '--json');
  assert.equal(r.status, 0, r.stderr);
  const d = JSON.parse(r.stdout) as ImageDescription;
  assert.equal(d.units?.guess, 'HU');
  assert.equal(d.values?.min, -1024);
  assert.equal(d.values?.max, 770);
  assert.equal(d.storageOrientation, 'LAS');
  assert.deepEqual(d.reorientation, ['flip x (L→R)']);
  const v = (d as ImageDescription & { pipeline?: { asMri: string; asCt: string } }).pipeline;
  assert.match(v?.asMri ?? '', /refused: Hounsfield-like/);
  assert.match(v?.asCt ?? '', /^accepted/);
  const c = JSON.parse(cli(path.join(scans, 'neurolabusc-Clinical/scct.nii'), '--json').stdout) as ImageDescription;
  assert.notEqual(c.units?.guess, 'HU');
});

test('mri2ct info on DICOM folders: the Siemens series, and the GE series described with its refusal', () => {
  const s = cli(path.join(scans, 'niivue-demo-images/dicom'));
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stdout, /DICOM series +2 "t1_mpr_tra_gk_v4" MR, 120 slices/);
  assert.match(s.stdout, /Slice spacing +1\.500–1\.500 mm .*uniform/);
  assert.match(s.stdout, /ignored non-DICOM files: .*niivue-manifest\.txt/);
  const g = cli(path.join(scans, 'dcm_qa_ct/In/GE'), '--json');
  assert.equal(g.status, 0, g.stderr);
  const d = JSON.parse(g.stdout) as ImageDescription;
  assert.equal(d.dicom?.modality, 'CT');
  assert.equal(d.dicom?.uniformSpacing, false);
  assert.ok(Math.abs((d.dicom?.gantryTiltDegrees ?? 0) - 18.5) < 0.01);
  assert.match(d.refusal ?? '', /gantry tilt 18\.50°.*uneven slice spacing 1\.08–7\.00 mm.*dcm2niix/);
  assert.equal(d.values, undefined);
});

test('mri2ct info on a non-image file exits 2 with a clear message', () => {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-info-')), 'notes.txt');
  fs.writeFileSync(f, 'hello');
  const r = cli(f);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /ImageFormatError: .*notes\.txt: unknown image format.*\.nii\.gz, \.mha/);
  const m = cli(path.join(scans, 'nope.nii.gz'));
  assert.equal(m.status, 2);
  assert.match(m.stderr, /does not exist/);
});
