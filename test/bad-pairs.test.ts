/**
 * Bad pairs are caught before they reach the cache (issue #11, part 7): `mri2ct preprocess` on a
 * seed-layout dataset built from the real scans in ../shared/scans, with one good pair (the MNI152
 * T1 + CT template) and one patient per defect: a 4D MRI, MRI and CT swapped between the folders,
 * a CT stored without its HU offset (+1024: air at +24), a CT in Cormack units (scct.nii), a
 * skull-stripped MRI (MR_Gd) with a CT on its grid, a constant MRI, and a brain-only atlas (spm152)
 * with the CT template (its mask is large enough but sits inside the CT's head). Each fails with its reason
 * and fix, the good patient is cached, the exit code is 1; `--volume 0` then takes the 4D file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { seedLayoutFromScans } from './helpers/scan-pairs';

const root = path.resolve(__dirname, '..');
const CLI = path.join(root, 'dist', 'src', 'cli', 'main.js');
let dir = '';

before(() => {
  dir = seedLayoutFromScans('mri2ct-badpairs-', `
t1, c = nib.load(T1), nib.load(CT)
shutil.copy(T1, f'{mr}/good.nii.gz'); shutil.copy(CT, f'{ct}/good.nii.gz')
a = t1.get_fdata().astype(np.float32)
nib.save(nib.Nifti1Image(np.stack([a, a * 1.01], -1), t1.affine), f'{mr}/fourd.nii.gz'); shutil.copy(CT, f'{ct}/fourd.nii.gz')
shutil.copy(CT, f'{mr}/swap.nii.gz'); shutil.copy(T1, f'{ct}/swap.nii.gz')
shutil.copy(T1, f'{mr}/offset.nii.gz')
nib.save(nib.Nifti1Image((c.get_fdata() + 1024).astype(np.int16), c.affine), f'{ct}/offset.nii.gz')
shutil.copy(T1, f'{mr}/cormack.nii.gz'); shutil.copy(f'{scans}/neurolabusc-Clinical/scct.nii', f'{ct}/cormack.nii')
g = nib.load(f'{scans}/niivue-demo-images/MR_Gd.nii.gz'); ga = g.get_fdata()
shutil.copy(f'{scans}/niivue-demo-images/MR_Gd.nii.gz', f'{mr}/stripped.nii.gz')
nib.save(nib.Nifti1Image(np.where(ga > 0, 40, -1000).astype(np.int16), g.affine), f'{ct}/stripped.nii.gz')
nib.save(nib.Nifti1Image(np.full(a.shape, 7, np.float32), t1.affine), f'{mr}/constant.nii.gz'); shutil.copy(CT, f'{ct}/constant.nii.gz')
shutil.copy(f'{scans}/niivue-demo-images/spm152.nii.gz', f'{mr}/brainonly.nii.gz'); shutil.copy(CT, f'{ct}/brainonly.nii.gz')
`);
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

function preprocess(...extra: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [CLI, 'preprocess', '--mri_dir', path.join(dir, 'MRI'), '--ct_dir', path.join(dir, 'CT'), '--cache_dir', path.join(dir, 'cache'), '--format', 'npy', '--image_size', '32', '--no-n4', ...extra], { encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

test('each bad pair fails with its reason and fix; the good one is cached; exit code 1', () => {
  const { status, out } = preprocess();
  assert.equal(status, 1, out);
  const failed = (id: string): string => out.split('\n').find((l) => l.includes(`FAILED ${id}:`)) ?? '';
  assert.match(failed('fourd'), /holds 2 volumes \(shape 91×109×91×2\).*--volume N/);
  assert.match(failed('swap'), /looks like a CT.*probably swapped/);
  assert.match(failed('offset'), /not near −1000 HU.*rescale intercept \(HU = value − 1024\)/);
  assert.match(failed('cormack'), /cormack\.nii does not look like a CT in HU.*Cormack/);
  assert.match(failed('stripped'), /looks skull-stripped \(brain only\)/);
  assert.match(failed('constant'), /is constant \(every voxel is 7\)/);
  // A brain-only atlas (1,750 ml: passes the volume check) is caught against its CT.
  assert.match(failed('brainonly'), /brainonly\.nii\.gz looks skull-stripped \(brain only\): the head mask lies inside the CT's body \(100% of it\) but has only 4\d% of the body's volume/);
  assert.equal(failed('good'), '');
  assert.match(out, /built 1, already cached 0, failed 7/);
  assert.ok(fs.existsSync(path.join(dir, 'cache', 'good.npy.d')) || fs.readdirSync(path.join(dir, 'cache')).some((f) => f.startsWith('good')));
  assert.ok(!fs.readdirSync(path.join(dir, 'cache')).some((f) => /^(fourd|swap|offset|cormack|stripped|constant|brainonly)/.test(f)), 'no cache entry for a bad pair');
});

test('--volume 0 takes the first volume of the 4D MRI', () => {
  const { out } = preprocess('--volume', '0');
  assert.equal(out.split('\n').find((l) => l.includes('FAILED fourd:')), undefined, out);
  assert.match(out, /built 1, already cached 1, failed 6/);
});
