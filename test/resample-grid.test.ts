/**
 * resampleToGrid and fovOverlap (src/preprocess/resample-grid.ts) on a real scan
 * (../shared/scans/niivue-demo-images/register/T1_head_ext2.nii.gz, 104×150×133, 1.6 mm):
 * identity is bit-exact, trilinear and nearest agree with scipy.ndimage.map_coordinates / a
 * numpy reference (the file read by nibabel) on an oblique target grid with a rigid world
 * transform, fill outside the field of view, and the overlap fraction.
 */

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';

import { applyAffine, multiplyAffines, rigidAffine } from '../src/io/affine-math';
import { readNifti } from '../src/io/nifti-read';
import type { Affine, Vec3 } from '../src/io/volume';
import { fovOverlap, resampleToGrid } from '../src/preprocess/resample-grid';
import { runPython } from './helpers/python';

const SCANS = path.resolve(__dirname, '..', '..', 'shared', 'scans');
const T1 = path.join(SCANS, 'niivue-demo-images', 'register', 'T1_head_ext2.nii.gz');
const deg = Math.PI / 180;

const tmp = mkdtempSync(path.join(tmpdir(), 'resample-grid-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** An oblique target grid: rotated 20°/−15°/10°, 2.3 × 1.9 × 2.1 mm, centred near the head. */
function obliqueGrid(center: Vec3): { dims: Vec3; affine: Affine } {
  const dims: Vec3 = [70, 84, 66];
  const r = rigidAffine([20 * deg, -15 * deg, 10 * deg], [0, 0, 0]);
  const s = [2.3, 1.9, 2.1];
  const lin = [0, 1, 2].map((i) => [0, 1, 2].map((j) => (r[i]?.[j] ?? 0) * (s[j] ?? 1)));
  const affine: Affine = [[...lin[0]!, 0], [...lin[1]!, 0], [...lin[2]!, 0], [0, 0, 0, 1]];
  // Put the grid centre on `center`.
  const c = applyAffine(affine, [(dims[0] - 1) / 2, (dims[1] - 1) / 2, (dims[2] - 1) / 2]);
  for (let i = 0; i < 3; i++) affine[i]![3] = center[i]! - c[i]!;
  return { dims, affine };
}

describe('resampleToGrid on a real scan', async () => {
  const t1 = await readNifti(T1);

  it('copies values bit-exactly onto the same grid (linear and nearest)', () => {
    for (const interpolation of ['linear', 'nearest'] as const) {
      const out = resampleToGrid(t1, t1, { interpolation, fill: -1 });
      assert.equal(out.length, t1.data.length);
      let diff = 0;
      for (let i = 0; i < out.length; i++) if (out[i] !== t1.data[i]) diff++;
      assert.equal(diff, 0, `${interpolation}: ${diff} voxels differ`);
    }
  });

  it('shifts by whole voxels exactly and fills outside the field of view', () => {
    // Target grid = moving grid moved by +3 voxels along x: target voxel x reads moving voxel x+3.
    const shifted = t1.affine.map((row) => [...row]);
    for (let r = 0; r < 3; r++) shifted[r]![3] = (shifted[r]![3] ?? 0) + 3 * (t1.affine[r]![0] ?? 0);
    const out = resampleToGrid(t1, { dims: t1.dims, affine: shifted }, { interpolation: 'linear', fill: -1000 });
    const [nx, ny] = t1.dims;
    for (const [x, y, z] of [[0, 70, 60], [50, 20, 100], [nx - 4, ny - 1, 0]] as Vec3[]) {
      const i = x + nx * (y + ny * z);
      assert.equal(out[i], t1.data[i + 3]);
    }
    for (const [y, z] of [[0, 0], [70, 60]]) {
      for (let x = nx - 3; x < nx; x++) assert.equal(out[x + nx * (y! + ny * z!)], -1000);
    }
  });

  it('agrees with scipy map_coordinates (order 1) and a numpy nearest reference on an oblique grid', () => {
    const centre = applyAffine(t1.affine, [t1.dims[0] / 2, t1.dims[1] / 2, t1.dims[2] / 2]);
    const target = obliqueGrid(centre);
    const world = rigidAffine([4 * deg, -7 * deg, 9 * deg], [6, -11, 14], centre);
    const linear = resampleToGrid(t1, target, { interpolation: 'linear', fill: -1000, worldTransform: world });
    const nearest = resampleToGrid(t1, target, { interpolation: 'nearest', fill: -1000, worldTransform: world });
    const spec = path.join(tmp, 'spec.json');
    writeFileSync(spec, JSON.stringify({ file: T1, dims: target.dims, affine: target.affine, world, out: tmp }));
    runPython(
      `
import json, sys, numpy as np, nibabel as nib
from scipy.ndimage import map_coordinates
s = json.load(open(sys.argv[1]))
img = nib.load(s['file']); data = img.get_fdata(dtype=np.float64)
m = np.linalg.inv(img.affine) @ np.array(s['world']) @ np.array(s['affine'])
nx, ny, nz = s['dims']
x, y, z = np.meshgrid(np.arange(nx), np.arange(ny), np.arange(nz), indexing='ij')
pts = np.stack([x.ravel(), y.ravel(), z.ravel(), np.ones(x.size)])
c = (m @ pts)[:3]
lin = map_coordinates(data, c, order=1, mode='constant', cval=-1000.0, prefilter=False)
shape = np.array(data.shape)[:, None]
inside = np.all((c >= -0.5) & (c < shape - 0.5), axis=0)
idx = np.clip(np.floor(c + 0.5).astype(int), 0, shape - 1)
near = np.where(inside, data[idx[0], idx[1], idx[2]], -1000.0)
# Fortran order: x fastest, as our arrays.
lin.reshape(nx, ny, nz).ravel(order='F').astype(np.float32).tofile(s['out'] + '/linear.f32')
near.reshape(nx, ny, nz).ravel(order='F').astype(np.float32).tofile(s['out'] + '/nearest.f32')
`,
      [spec],
    );
    const refLinear = new Float32Array(readFileSync(path.join(tmp, 'linear.f32')).buffer.slice(0));
    const refNearest = new Float32Array(readFileSync(path.join(tmp, 'nearest.f32')).buffer.slice(0));
    assert.equal(refLinear.length, linear.length);
    let maxDiff = 0;
    let filled = 0;
    let nearMismatch = 0;
    for (let i = 0; i < linear.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs((linear[i] as number) - (refLinear[i] as number)));
      if (linear[i] === -1000) filled++;
      if (nearest[i] !== refNearest[i]) nearMismatch++;
    }
    assert.ok(maxDiff < 1e-3, `trilinear differs from scipy by up to ${maxDiff}`);
    // The oblique grid is larger than the head's box in places: some voxels must be filled,
    // most must not.
    assert.ok(filled > 0 && filled < linear.length / 2, `${filled} filled voxels`);
    // Ties at exactly .5 could round differently; there are none on this oblique grid.
    assert.equal(nearMismatch, 0, `${nearMismatch} nearest-neighbour voxels differ from numpy`);
  });

  it('fovOverlap: full on itself, partial when shifted, zero far away, through a mask', () => {
    assert.equal(fovOverlap(t1, t1), 1);
    const shift = (mm: number): Affine => multiplyAffines([[1, 0, 0, mm], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], t1.affine);
    // Shifting b by a quarter of a's x extent leaves three quarters of a inside b.
    const extentX = t1.dims[0] * t1.spacing[0];
    const quarter = fovOverlap(t1, { dims: t1.dims, affine: shift(extentX / 4) });
    assert.ok(Math.abs(quarter - 0.75) < 0.02, `overlap ${quarter}`);
    assert.equal(fovOverlap(t1, { dims: t1.dims, affine: shift(2 * extentX) }), 0);
    // b moved by a quarter of the extent along voxel x covers x in [nx/4, 5nx/4): a mask of the
    // voxels x < nx/2 keeps half of its voxels inside.
    const mask = new Uint8Array(t1.data.length);
    const [nx] = t1.dims;
    for (let i = 0; i < mask.length; i++) mask[i] = i % nx < nx / 2 ? 1 : 0;
    const sign = Math.sign(t1.affine[0]![0]!);
    const half = fovOverlap(t1, { dims: t1.dims, affine: shift((sign * extentX) / 4) }, mask);
    assert.ok(Math.abs(half - 0.5) < 0.03, `masked overlap ${half}`);
  });
});
