/**
 * Real scans in any storage order and on any grid (issue #11, parts 1, 2, 5, 7), on the files of
 * ../shared/scans read in place:
 *  - the MNI152 T1 + CT template pair re-stored by nibabel (as_reoriented: same voxels, same world
 *    coordinates) as LAS, RAS, LIA and PSR preprocesses into bit-identical cache arrays (axial
 *    slices, 91 of them), and predict gives identical sCT values at the same world positions,
 *    written in each input's own storage order, shape and affine;
 *  - anisotropic in-plane voxels: a disc of 80 mm stays a disc in the cache (square in mm);
 *  - a CT on another (finer, shifted) grid than the MRI is resampled onto the MRI grid and gives
 *    the same cache as the pair on one grid, within interpolation error; a CT that does not
 *    overlap is refused;
 *  - head-mask plausibility on every real T1: whole heads pass, skull-stripped scans are refused.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { loadBackend } from '../src/env/backend';
import { PairMismatchError } from '../src/errors';
import { SctPredictor } from '../src/infer/predict';
import { readNifti } from '../src/io/nifti-read';
import { writeNifti } from '../src/io/nifti-write';
import { DEFAULT_MODEL_CONFIG, Pix2Pix } from '../src/model';
import { DEFAULT_OPTIMIZER } from '../src/model/pix2pix';
import { headMaskWithStats } from '../src/preprocess/head-mask';
import { loadVolume } from '../src/preprocess/load-pair';
import { paramsHash, PIPELINE_VERSION, resolvePreprocessParams } from '../src/preprocess/params';
import { MIN_HEAD_ML, preprocessMri, preprocessPatient, type PreprocessedPatient } from '../src/preprocess/pipeline';
import { resizeSlices } from '../src/preprocess/resize';
import { saveCheckpoint } from '../src/train/checkpoint';
import { runPython } from './helpers/python';

const SCANS = path.resolve(__dirname, '..', '..', 'shared', 'scans');
const MNI_T1 = path.join(SCANS, 'niivue-demo-images/register/MNI152_T1_2mm.nii.gz');
const MNI_CT = path.join(SCANS, 'neurolabusc-Clinical/derived/scct_HU.nii.gz');
const ORDERS = ['LAS', 'RAS', 'LIA', 'PSR'] as const;
const params = resolvePreprocessParams({ resize: { size: 32 } });

let dir = '';
const cached: Record<string, PreprocessedPatient> = {};

/** Re-stores `src` in storage order `codes` with nibabel (voxels permuted/flipped, world unchanged). */
const REORIENT = `
import sys, nibabel as nib
from nibabel.orientations import axcodes2ornt, io_orientation, ornt_transform
src, codes, out = sys.argv[1], sys.argv[2], sys.argv[3]
img = nib.load(src)
r = img.as_reoriented(ornt_transform(io_orientation(img.affine), axcodes2ornt(tuple(codes))))
assert ''.join(nib.aff2axcodes(r.affine)) == codes
nib.save(r, out)
`;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-orient-'));
  for (const codes of ORDERS) {
    runPython(REORIENT, [MNI_T1, codes, path.join(dir, `mr_${codes}.nii.gz`)]);
    runPython(REORIENT, [MNI_CT, codes, path.join(dir, `ct_${codes}.nii.gz`)]);
  }
  for (const codes of ORDERS) {
    cached[codes] = await preprocessPatient({ id: codes, mri: path.join(dir, `mr_${codes}.nii.gz`), ct: path.join(dir, `ct_${codes}.nii.gz`) }, params);
  }
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('the same scan in four storage orders gives bit-identical axial cache arrays', () => {
  const ref = cached['LAS'];
  assert.ok(ref !== undefined);
  // Axial slices: the canonical grid is the MNI grid (z = S last, 91 planes), cropped to the head box.
  assert.deepEqual(ref.geometry.dims, [91, 109, 91]);
  assert.equal(ref.shape[0], ref.geometry.crop.size[2]);
  assert.ok(ref.shape[0] >= 85 && ref.shape[0] <= 91, `${ref.shape[0]} axial slices`);
  for (const codes of ORDERS) {
    const p = cached[codes];
    assert.ok(p !== undefined);
    assert.deepEqual(p.shape, ref.shape, codes);
    assert.equal(p.source.mri.orientation, codes);
    assert.equal(p.geometry.orientation, 'RAS');
    assert.equal(p.geometry.reorientation?.original, codes);
    assert.equal(p.notes.some((n) => n.includes(`stored ${codes}, reoriented to RAS`)), codes !== 'RAS', `notes of ${codes}: ${p.notes.join(' | ')}`);
    for (const k of ['mri', 'ct', 'mask'] as const) {
      const a: ArrayLike<number> = ref[k];
      const b: ArrayLike<number> = p[k];
      let diff = 0;
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) diff++;
      assert.equal(diff, 0, `${k} of ${codes} differs from LAS in ${diff} of ${a.length} values`);
    }
    for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) assert.ok(Math.abs((p.geometry.affine[r]?.[c] ?? 0) - (ref.geometry.affine[r]?.[c] ?? 0)) < 1e-4, `${codes} canonical affine`);
  }
});

test('mixing storage orders between MRI and CT of one patient still pairs them on one grid', async () => {
  const p = await preprocessPatient({ id: 'mix', mri: path.join(dir, 'mr_LIA.nii.gz'), ct: path.join(dir, 'ct_PSR.nii.gz') }, params);
  assert.equal(p.source.ctResampled, false);
  assert.deepEqual(Array.from(p.ct), Array.from(cached['LAS']?.ct ?? []));
});

test('predict writes the sCT in each input\'s storage order, with identical values at the same world positions', async () => {
  const backend = await loadBackend();
  assert.ok(backend.kind !== undefined);
  const model = new Pix2Pix({ ...DEFAULT_MODEL_CONFIG, imageSize: 32, ngf: 4, ndf: 4 }, DEFAULT_OPTIMIZER, 5);
  const ckpt = path.join(dir, 'untrained.ckpt');
  const preprocess = { paramsHash: paramsHash(params), params, pipelineVersion: PIPELINE_VERSION };
  await saveCheckpoint(ckpt, model, { epoch: 0, step: 0, rngState: [0], bestValMaeHu: null, config: { model: model.config, preprocess } });
  model.dispose();
  const predictor = await SctPredictor.load(ckpt);
  try {
    for (const codes of ORDERS) {
      const r = await predictor.predictFile(path.join(dir, `mr_${codes}.nii.gz`), path.join(dir, `sct_${codes}.nii.gz`));
      assert.ok(!r.warnings.some((w) => /oblique|axial/.test(w)), r.warnings.join(' | '));
    }
  } finally {
    predictor.dispose();
  }
  // nibabel: each sCT has its MRI's shape, affine and axis codes; in canonical order all are equal.
  const out = JSON.parse(runPython(`
import sys, json, nibabel as nib, numpy as np
d = sys.argv[1]; orders = sys.argv[2].split(',')
ref = None; res = {}
for o in orders:
    mr = nib.load(f'{d}/mr_{o}.nii.gz'); s = nib.load(f'{d}/sct_{o}.nii.gz')
    c = nib.as_closest_canonical(s).get_fdata()
    if ref is None: ref = c
    res[o] = dict(shape=list(s.shape) == list(mr.shape), affine=bool(np.allclose(s.affine, mr.affine, atol=1e-4)),
                  codes=''.join(nib.aff2axcodes(s.affine)), same=int(np.sum(c != ref)), spread=float(c.max() - c.min()))
print(json.dumps(res))
`, [dir, ORDERS.join(',')])) as Record<string, { shape: boolean; affine: boolean; codes: string; same: number; spread: number }>;
  for (const codes of ORDERS) {
    const o = out[codes];
    assert.ok(o !== undefined);
    assert.ok(o.shape && o.affine, `${codes}: sCT shape/affine must be the MRI's`);
    assert.equal(o.codes, codes);
    assert.equal(o.same, 0, `${codes}: ${o.same} voxels differ from LAS at the same world position`);
    assert.ok(o.spread > 100, 'the sCT is not constant');
  }
});

test('anisotropic in-plane voxels: a disc stays a disc in the cache (slices square in mm)', () => {
  // 80 mm disc on a 1.0 × 0.5 mm grid of 160 × 240 voxels (160 × 120 mm).
  const dims: [number, number, number] = [160, 240, 2];
  const data = new Float32Array(dims[0] * dims[1] * dims[2]);
  for (let z = 0; z < 2; z++) {
    for (let y = 0; y < dims[1]; y++) {
      for (let x = 0; x < dims[0]; x++) if (Math.hypot((x - 79.5) * 1.0, (y - 119.5) * 0.5) < 40) data[x + dims[0] * (y + dims[1] * z)] = 1;
    }
  }
  const extent = (img: Float32Array, n: number): [number, number] => {
    let [x0, x1, y0, y1] = [n, -1, n, -1];
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) if ((img[x + n * y] ?? 0) > 0.5) [x0, x1, y0, y1] = [Math.min(x0, x), Math.max(x1, x), Math.min(y0, y), Math.max(y1, y)];
    return [x1 - x0 + 1, y1 - y0 + 1];
  };
  const r = resizeSlices({ data, dims }, { size: 128, interpolation: 'nearest', pixelSpacing: [1.0, 0.5] });
  const [w, h] = extent(r.data, 128);
  assert.ok(Math.abs(w - h) <= 1, `disc is ${w}×${h} px in the cache`);
  assert.ok(Math.abs(w - 80 / (r.geometry.pixelMm?.[0] ?? 0)) <= 1.5, `80 mm at ${r.geometry.pixelMm?.[0]} mm/px`);
  assert.ok(Math.abs((r.geometry.pixelMm?.[0] ?? 0) - (r.geometry.pixelMm?.[1] ?? 0)) < 0.01);
  // The old voxel-square resize would have squashed it to 2:1; the same call with square voxels does.
  const [w2, h2] = extent(resizeSlices({ data, dims }, { size: 128, interpolation: 'nearest' }).data, 128);
  assert.ok(h2 > 1.5 * w2 || w2 > 1.5 * h2, `voxel-square resize: ${w2}×${h2}`);
});

test('a CT on another grid is resampled onto the MRI grid; one that does not overlap is refused', async () => {
  // The CT template on a 1.5 mm grid, shifted by half a voxel and covering a different box (scipy).
  const moved = path.join(dir, 'ct_fine.nii.gz');
  const far = path.join(dir, 'ct_far.nii.gz');
  runPython(`
import sys, nibabel as nib, numpy as np
from scipy.ndimage import map_coordinates
src = nib.load(sys.argv[1]); a = src.get_fdata()
aff = np.diag([-1.5, 1.5, 1.5, 1.0]); aff[:3, 3] = [95.25, -130.75, -75.25]
shape = (124, 150, 118)
idx = np.indices(shape).reshape(3, -1)
world = aff[:3, :3] @ idx + aff[:3, 3:4]
vox = np.linalg.inv(src.affine)[:3, :3] @ world + np.linalg.inv(src.affine)[:3, 3:4]
v = map_coordinates(a, vox, order=1, mode='constant', cval=-1000).reshape(shape)
nib.save(nib.Nifti1Image(v.astype(np.float32), aff), sys.argv[2])
aff2 = aff.copy(); aff2[:3, 3] += [400, 0, 0]
nib.save(nib.Nifti1Image(v.astype(np.float32), aff2), sys.argv[3])
`, [MNI_CT, moved, far]);
  const p = await preprocessPatient({ id: 'fine', mri: path.join(dir, 'mr_LAS.nii.gz'), ct: moved }, params);
  assert.equal(p.source.ctResampled, true);
  assert.ok(p.notes.some((n) => /CT resampled onto the MRI grid/.test(n)), p.notes.join(' | '));
  const ref = cached['LAS'];
  assert.ok(ref !== undefined);
  assert.deepEqual(Array.from(p.mri), Array.from(ref.mri), 'the MRI half is untouched');
  let sum = 0;
  let n = 0;
  for (let i = 0; i < p.ct.length; i++) {
    if (ref.mask[i] !== 1) continue;
    sum += Math.abs((p.ct[i] ?? 0) - (ref.ct[i] ?? 0)) * 4024;
    n++;
  }
  assert.ok(n > 1000);
  assert.ok(sum / n < 25, `CT via a 1.5 mm grid differs by ${(sum / n).toFixed(1)} HU inside the head (two interpolations of a smooth template)`);
  await assert.rejects(preprocessPatient({ id: 'far', mri: path.join(dir, 'mr_LAS.nii.gz'), ct: far }, params), (e: unknown) => {
    assert.ok(e instanceof PairMismatchError);
    assert.match(e.message, /overlap by only 0%.*not a registered pair.*mri2ct register/s);
    return true;
  });
});

test('head mask plausibility on the real T1s: whole heads pass, skull-stripped scans are refused', async () => {
  const whole = ['niivue-demo-images/chris_t1.nii.gz', 'niivue-demo-images/register/T1_head_ext2.nii.gz', 'VolumeRenderingData/seg3D/MR.nii.gz', 'brainchop/public/t1_crop.nii.gz', 'niivue-demo-images/register/MNI152_T1_2mm.nii.gz'];
  for (const f of whole) {
    const v = await loadVolume(path.join(SCANS, f), f);
    const { stats } = headMaskWithStats(v, {});
    assert.ok(stats.volumeMl >= MIN_HEAD_ML && stats.volumeMl < 6000, `${f}: head mask ${stats.volumeMl.toFixed(0)} ml`);
  }
  const noN4 = resolvePreprocessParams({ resize: { size: 32 }, n4: { enabled: false } });
  for (const f of ['niivue-demo-images/MR_Gd.nii.gz', 'VolumeRenderingData/stroke/T1.nii.gz']) {
    const v = await loadVolume(path.join(SCANS, f), f);
    assert.throws(() => preprocessMri(v, noN4, { what: f }), /looks skull-stripped \(brain only\)/, f);
  }
  // The LIA FreeSurfer file is stored coronally; reoriented, its slices are axial (S axis last).
  const lia = await loadVolume(path.join(SCANS, 'brainchop/public/t1_crop.nii.gz'), 't1_crop');
  assert.equal(lia.source.orientation, 'LIA');
  assert.equal(lia.orientation, 'RAS');
  const raw = await readNifti(path.join(SCANS, 'brainchop/public/t1_crop.nii.gz'));
  // voxel (i, j, k) stored L-I-A sits at canonical R-A-S (255 − i, k, 255 − j)
  for (const [i, j, k] of [[10, 20, 30], [128, 100, 77], [200, 3, 250]] as const) {
    assert.equal(lia.data[(255 - i) + 256 * (k + 256 * (255 - j))], raw.data[i + 256 * (j + 256 * k)]);
  }
  await writeNifti(path.join(dir, 'lia_canonical.nii.gz'), lia);
  const codes = runPython(`import sys, nibabel as nib; print(''.join(nib.aff2axcodes(nib.load(sys.argv[1]).affine)))`, [path.join(dir, 'lia_canonical.nii.gz')]).trim();
  assert.equal(codes, 'RAS');
});
