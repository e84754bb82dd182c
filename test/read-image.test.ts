import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ImageFormatError, NiftiFormatError } from '../src/errors';
import { axisCodes, composeAffine, linearPart, type Mat3 } from '../src/io/nifti-affine';
import { readNifti } from '../src/io/nifti-read';
import { imageFileId, readImage, writeImage, type MedicalImage } from '../src/io/read-image';
import type { Affine } from '../src/io/volume';
import { runPythonJson } from './helpers/python';

const scans = path.resolve(__dirname, '..', '..', 'shared', 'scans');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-formats-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

/** The NIfTI files of ../shared/scans with shape, spacing and orientation from its README. */
const NIFTI_SCANS: [string, number[], number[] | undefined, string][] = [
  ['niivue-demo-images/register/MNI152_T1_2mm.nii.gz', [91, 109, 91], [2, 2, 2], 'LAS'],
  ['neurolabusc-Clinical/derived/scct_HU.nii.gz', [91, 109, 91], [2, 2, 2], 'LAS'],
  ['neurolabusc-Clinical/scct.nii', [91, 109, 91], [2, 2, 2], 'LAS'],
  ['neurolabusc-Clinical/scct_stripped.nii', [91, 109, 91], [2, 2, 2], 'LAS'],
  ['niivue-demo-images/chris_t1.nii.gz', [188, 256, 190], undefined, 'RAS'],
  ['niivue-demo-images/register/T1_head_ext2.nii.gz', [104, 150, 133], undefined, 'RAS'],
  ['VolumeRenderingData/seg3D/MR.nii.gz', [160, 232, 160], [1.0, 0.898, 0.898], 'RAS'],
  ['brainchop/public/t1_crop.nii.gz', [256, 256, 256], [1, 1, 1], 'LIA'],
  ['niivue-demo-images/MR_Gd.nii.gz', [], undefined, ''],
  ['VolumeRenderingData/stroke/T1.nii.gz', [], undefined, ''],
  ['niivue-demo-images/spm152.nii.gz', [207, 256, 215], [0.737, 0.737, 0.737], 'RAS'],
];

const maxAffineDiff = (a: Affine, b: Affine): number => Math.max(...a.flatMap((row, r) => row.map((v, c) => Math.abs(v - (b[r]?.[c] ?? NaN)))));

test('imageFileId names the id and format of every supported file name', () => {
  assert.deepEqual(imageFileId('p1.nii.gz'), { id: 'p1', format: 'nifti' });
  assert.deepEqual(imageFileId('p1.NII'), { id: 'p1', format: 'nifti' });
  assert.deepEqual(imageFileId('mr.mha'), { id: 'mr', format: 'metaimage' });
  assert.deepEqual(imageFileId('a.b.mhd'), { id: 'a.b', format: 'metaimage' });
  assert.deepEqual(imageFileId('ct.nrrd'), { id: 'ct', format: 'nrrd' });
  assert.deepEqual(imageFileId('ct.nhdr'), { id: 'ct', format: 'nrrd' });
  assert.deepEqual(imageFileId('1-001.dcm'), { id: '1-001', format: 'dicom' });
  for (const n of ['notes.txt', '.nii.gz', 'x.raw', 'x.zraw', 'x.nii.bz2']) assert.equal(imageFileId(n), undefined, n);
});

test('every NIfTI file of the shared scans reads with the shape, spacing and orientation nibabel gives', async () => {
  const files = NIFTI_SCANS.map(([f]) => path.join(scans, f));
  const ref = runPythonJson<Record<string, { shape: number[]; zooms: number[]; axcodes: string; affine: number[][] }>>(
    `
import sys, json, nibabel as nib
out = {}
for f in sys.argv[1:]:
    i = nib.load(f)
    out[f] = dict(shape=list(i.shape), zooms=[float(z) for z in i.header.get_zooms()[:3]], axcodes=''.join(nib.aff2axcodes(i.affine)), affine=i.affine.tolist())
print(json.dumps(out))`,
    files,
  );
  for (const [rel, shape, spacing, orientation] of NIFTI_SCANS) {
    const f = path.join(scans, rel);
    const img = await readImage(f, { informationOnly: true });
    const r = ref[f]!;
    assert.equal(img.format, 'nifti');
    assert.deepEqual(img.shape, r.shape, rel);
    assert.equal(img.orientation, r.axcodes, rel);
    assert.ok(maxAffineDiff(img.affine, r.affine) < 1e-4, rel);
    img.spacing.forEach((s, i) => assert.ok(Math.abs(s - r.zooms[i]!) < 1e-4, rel));
    assert.equal(img.volumeCount, 1);
    // ... and what the scans README says.
    if (shape.length > 0) assert.deepEqual(img.shape, shape, rel);
    if (spacing !== undefined) spacing.forEach((s, i) => assert.ok(Math.abs(img.spacing[i]! - s) < 5e-4, `${rel} spacing ${img.spacing}`));
    if (orientation !== '') assert.equal(img.orientation, orientation, rel);
  }
});

async function roundTrip(src: MedicalImage, name: string, compress?: boolean): Promise<MedicalImage> {
  const out = path.join(tmp, name);
  await writeImage(out, src, { datatype: src.datatype as 'int16', ...(compress !== undefined ? { compress } : {}) });
  const back = await readImage(out);
  assert.equal(back.datatype, src.datatype, name);
  assert.deepEqual(back.dims, src.dims, name);
  assert.ok(maxAffineDiff(back.affine, src.affine) < 1e-5, `${name}: affine ${JSON.stringify(back.affine)} vs ${JSON.stringify(src.affine)}`);
  assert.equal(back.orientation, src.orientation, name);
  let bad = 0;
  for (let i = 0; i < src.data.length; i++) if (back.data[i] !== src.data[i]) bad++;
  assert.equal(bad, 0, `${name}: ${bad} voxels differ`);
  return back;
}

test('MetaImage and NRRD round trips (itk-wasm) keep voxels and affine of LAS and LIA NIfTI sources', async () => {
  const mni = await readImage(path.join(scans, 'niivue-demo-images/register/MNI152_T1_2mm.nii.gz'));
  for (const [name, compress] of [['mni.mha', true], ['mni_raw.mha', false], ['mni.mhd', true], ['mni.nrrd', true], ['mni.nhdr', false]] as const) {
    await roundTrip(mni, name, compress);
  }
  assert.ok(fs.existsSync(path.join(tmp, 'mni.zraw')) || fs.existsSync(path.join(tmp, 'mni.raw')), 'the .mhd data file sits next to it');
  assert.ok(fs.readdirSync(tmp).every((f) => !f.includes('.tmp-')), 'no temporary files left behind');
  const lia = await readImage(path.join(scans, 'brainchop/public/t1_crop.nii.gz'));
  assert.equal(lia.orientation, 'LIA');
  await roundTrip(lia, 't1_crop.mha', false);
  await roundTrip(lia, 't1_crop.nrrd', false);
});

function rotation(ax: number, az: number): Mat3 {
  const [cx, sx, cz, sz] = [Math.cos(ax), Math.sin(ax), Math.cos(az), Math.sin(az)];
  const rx: Mat3 = [[1, 0, 0], [0, cx, -sx], [0, sx, cx]];
  const rz: Mat3 = [[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]];
  return rz.map((row) => [0, 1, 2].map((c) => row.reduce((s, v, k) => s + v * rx[k]![c]!, 0))) as Mat3;
}

test('an oblique LIA-like affine survives .mha/.nrrd, and the NRRD header states it in LPS', async () => {
  const src = await readImage(path.join(scans, 'VolumeRenderingData/seg3D/MR.nii.gz'));
  const r = rotation((25 * Math.PI) / 180, (-12 * Math.PI) / 180);
  const m = linearPart(src.affine);
  const rm = r.map((row) => [0, 1, 2].map((c) => row.reduce((s, v, k) => s + v * m[k]![c]!, 0))) as Mat3;
  // Permute to LIA-like storage: voxel axes (x, z, y) with y flipped.
  const lia = rm.map((row) => [-Math.abs(row[0]!) * Math.sign(row[0]! || 1), -row[2]!, row[1]!]) as Mat3;
  const affine = composeAffine(lia, [12.5, -30.25, 41]);
  // MR.nii.gz is uint8 × 2.008: round to integers stored as int16 so every format holds them exactly.
  const oblique = { ...src, data: Float32Array.from(src.data, Math.round), datatype: 'int16', affine, orientation: axisCodes(affine) };
  assert.equal(oblique.orientation, 'LIA');
  const niftiFile = path.join(tmp, 'oblique.nii.gz');
  await writeImage(niftiFile, oblique, { datatype: 'int16' });
  const viaNifti = await readNifti(niftiFile);
  for (const name of ['oblique.mha', 'oblique.nrrd']) await roundTrip(oblique, name);
  const mha = await readImage(path.join(tmp, 'oblique.mha'));
  assert.ok(maxAffineDiff(mha.affine, viaNifti.affine) < 1e-5);
  // Independent check of the RAS→LPS conversion: NRRD 'space directions' are the voxel axes in LPS.
  await writeImage(path.join(tmp, 'oblique_h.nhdr'), oblique, { datatype: 'int16', compress: false });
  const header = fs.readFileSync(path.join(tmp, 'oblique_h.nhdr'), 'latin1');
  assert.match(header, /space: left-posterior-superior/);
  const dirs = [...(/space directions: (.*)/.exec(header)?.[1] ?? '').matchAll(/\(([^)]*)\)/g)].map((g) => g[1]!.split(',').map(Number));
  const origin = (/space origin: \(([^)]*)\)/.exec(header)?.[1] ?? '').split(',').map(Number);
  for (let c = 0; c < 3; c++) {
    for (let row = 0; row < 3; row++) {
      const lps = (row < 2 ? -1 : 1) * oblique.affine[row]![c]!;
      assert.ok(Math.abs(dirs[c]![row]! - lps) < 1e-5, `space direction ${c}[${row}] ${dirs[c]![row]} vs ${lps}`);
    }
    assert.ok(Math.abs(origin[c]! - (c < 2 ? -1 : 1) * oblique.affine[c]![3]!) < 1e-5);
  }
});

test('bad paths and files fail with ImageFormatError naming the file and what to do', async () => {
  const txt = path.join(tmp, 'notes.txt');
  fs.writeFileSync(txt, 'hello');
  await assert.rejects(readImage(txt), (e: unknown) => e instanceof ImageFormatError && e.message.includes(txt) && /\.mha/.test(e.message));
  await assert.rejects(readImage(path.join(tmp, 'missing.mha')), (e: unknown) => e instanceof ImageFormatError && /does not exist/.test(e.message));
  const broken = path.join(tmp, 'broken.mha');
  fs.writeFileSync(broken, fs.readFileSync(path.join(tmp, 'mni_raw.mha')).subarray(0, 4000));
  await assert.rejects(readImage(broken), (e: unknown) => e instanceof ImageFormatError && e.message.includes(broken));
  await assert.rejects(readImage(path.join(scans, 'niivue-demo-images/dicom/1-001.dcm')), /Pass the folder/);
  await assert.rejects(readImage(path.join(scans, 'niivue-demo-images/register/MNI152_T1_2mm.nii.gz'), { volumeIndex: 1 }), NiftiFormatError);
  const mni = await readImage(path.join(tmp, 'mni.mha'), { informationOnly: true });
  assert.equal(mni.data.length, 0);
  assert.deepEqual(mni.shape, [91, 109, 91]);
  await assert.rejects(writeImage(path.join(tmp, 'x.png'), mni), /unknown extension/);
  const sheared = { ...mni, data: new Float32Array(91 * 109 * 91), affine: [[2, 1, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0], [0, 0, 0, 1]] };
  await assert.rejects(writeImage(path.join(tmp, 'sheared.mha'), sheared), /not orthogonal.*NIfTI/);
});
