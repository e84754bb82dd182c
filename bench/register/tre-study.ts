/**
 * Registration accuracy study on the atlas pair (MNI152 T1 2 mm and the HU CT template, same grid,
 * aligned by construction): the CT is moved by random rigid transforms (rotations up to ±R° about
 * each axis, translations up to ±T mm) and written onto a different grid (1.8 mm, other origin and
 * size, so the header does not give the motion away), then registered back to the MRI. Target
 * registration error over the head-mask surface: |T_est(p) − T_true(p)| for every surface voxel p.
 * Usage: node --import tsx bench/register/tre-study.ts [--cases 10] [--seed 1] [--rot 10] [--trans 15]
 *   [--iterations N] [--samples N] [--resolutions N] [--previous-defaults] [--mri PATH]
 * --mri replaces the atlas MRI (same grid as the CT template), e.g. the MRI made symmetric by
 * template-symmetry.py; --cases 0 registers only the unmoved pair.
 * Prints a table per case and one JSON line. Writes nothing.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';

import { applyAffine, identityAffine, invertAffine, multiplyAffines, rigidAffine } from '../../src/io/affine-math';
import { readNifti } from '../../src/io/nifti-read';
import type { Affine, Vec3 } from '../../src/io/volume';
import { headMask } from '../../src/preprocess/head-mask';
import { resampleToGrid } from '../../src/preprocess/resample-grid';
import { registerCtToMri } from '../../src/register/register';
import { mulberry32 } from '../../src/util/random';
import { REGISTER_FLAGS, registerOptionsFromFlags } from './bench-options';

const SCANS = path.resolve(__dirname, '..', '..', '..', 'shared', 'scans');

/** World points of the mask's surface voxels (on, with a 6-neighbour off or at the border). */
export function surfacePoints(mask: Uint8Array, dims: Vec3, affine: Affine): Vec3[] {
  const [nx, ny, nz] = dims;
  const pts: Vec3[] = [];
  const at = (x: number, y: number, z: number): number => (x < 0 || y < 0 || z < 0 || x >= nx || y >= ny || z >= nz ? 0 : (mask[x + nx * (y + ny * z)] as number));
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        if (!at(x, y, z)) continue;
        if (at(x - 1, y, z) && at(x + 1, y, z) && at(x, y - 1, z) && at(x, y + 1, z) && at(x, y, z - 1) && at(x, y, z + 1)) continue;
        pts.push(applyAffine(affine, [x, y, z]));
      }
    }
  }
  return pts;
}

/** Mean and max of |a(p) − b(p)| over the points. */
export function tre(a: Affine, b: Affine, pts: Vec3[]): { mean: number; max: number } {
  let sum = 0;
  let max = 0;
  for (const p of pts) {
    const q = applyAffine(a, p);
    const r = applyAffine(b, p);
    const d = Math.hypot(q[0] - r[0], q[1] - r[1], q[2] - r[2]);
    sum += d;
    max = Math.max(max, d);
  }
  return { mean: sum / pts.length, max };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      cases: { type: 'string', default: '10' },
      seed: { type: 'string', default: '1' },
      rot: { type: 'string', default: '10' },
      trans: { type: 'string', default: '15' },
      ...REGISTER_FLAGS,
      mri: { type: 'string' },
    },
  });
  const mri = await readNifti(values.mri ?? path.join(SCANS, 'niivue-demo-images/register/MNI152_T1_2mm.nii.gz'));
  const ct = await readNifti(path.join(SCANS, 'neurolabusc-Clinical/derived/scct_HU.nii.gz'));
  const mask = headMask(mri, { what: 'MNI152_T1_2mm' });
  const surface = surfacePoints(mask, mri.dims, mri.affine);
  const centre = applyAffine(mri.affine, [(mri.dims[0] - 1) / 2, (mri.dims[1] - 1) / 2, (mri.dims[2] - 1) / 2]);
  // The moved CT's grid: 1.8 mm, LAS like the atlas, 110×130×110 voxels, origin off by (3.3, −4.1, 2.7) mm.
  const grid = {
    dims: [110, 130, 110] as Vec3,
    affine: [
      [-1.8, 0, 0, centre[0] + 54.5 * 1.8 + 3.3],
      [0, 1.8, 0, centre[1] - 64.5 * 1.8 - 4.1],
      [0, 0, 1.8, centre[2] - 54.5 * 1.8 + 2.7],
      [0, 0, 0, 1],
    ],
  };
  const opts = registerOptionsFromFlags(values);
  // The unmoved pair's own optimum T0 (the atlas pair is aligned by construction, but its MI
  // optimum need not be exactly the identity): TRE is also reported against W⁻¹·T0.
  const r0 = await registerCtToMri(mri, ct, mask, { what: 'unmoved pair', ...opts });
  const e0 = tre(r0.transform.matrix, identityAffine(), surface);
  console.log(`unmoved pair: TRE vs identity mean ${e0.mean.toFixed(3)} mm, max ${e0.max.toFixed(3)} mm, rotation ${JSON.stringify(r0.transform.rotationDegrees)}, translation ${JSON.stringify(r0.transform.translationMm)}`);
  const rand = mulberry32(Number(values.seed));
  const u = (a: number): number => (2 * rand() - 1) * a;
  const deg = Math.PI / 180;
  const rows: Record<string, number | string>[] = [];
  for (let c = 0; c < Number(values.cases); c++) {
    const angles: Vec3 = [u(Number(values.rot)), u(Number(values.rot)), u(Number(values.rot))];
    const shift: Vec3 = [u(Number(values.trans)), u(Number(values.trans)), u(Number(values.trans))];
    // W maps moved-CT world to atlas world: moved(q) = ct(W q). Then MRI world p ↦ CT-moved world is W⁻¹.
    const W = rigidAffine(angles.map((a) => a * deg) as Vec3, shift, centre);
    const moved = { data: resampleToGrid(ct, grid, { interpolation: 'linear', fill: -1000, worldTransform: W }), dims: grid.dims, spacing: [1.8, 1.8, 1.8] as Vec3, affine: grid.affine };
    const truth = invertAffine(W);
    const r = await registerCtToMri(mri, moved, mask, { what: `case ${c}`, ...opts });
    const e = tre(r.transform.matrix, truth, surface);
    const e2 = tre(r.transform.matrix, multiplyAffines(truth, r0.transform.matrix), surface);
    const row = {
      case: c,
      rot_deg: angles.map((a) => a.toFixed(1)).join(' '),
      trans_mm: shift.map((a) => a.toFixed(1)).join(' '),
      tre_mean_mm: +e.mean.toFixed(3),
      tre_max_mm: +e.max.toFixed(3),
      tre_vs_pair_optimum_mean_mm: +e2.mean.toFixed(3),
      tre_vs_pair_optimum_max_mm: +e2.max.toFixed(3),
      dice: +r.quality.dice.toFixed(4),
      nmi: +r.quality.nmi.toFixed(4),
      ok: r.quality.ok ? 'yes' : `no: ${r.quality.reasons.join('; ')}`,
      init: r.initialization,
      seconds: +r.seconds.toFixed(2),
    };
    rows.push(row);
    console.log(Object.values(row).join(' | '));
  }
  if (rows.length === 0) return;
  const means = rows.map((r) => r.tre_mean_mm as number);
  const maxes = rows.map((r) => r.tre_max_mm as number);
  console.log(
    JSON.stringify({
      cases: rows.length,
      surface_points: surface.length,
      worst_mean_tre_mm: Math.max(...means),
      worst_max_tre_mm: Math.max(...maxes),
      unmoved_pair_tre_vs_identity_mm: { mean: +e0.mean.toFixed(3), max: +e0.max.toFixed(3) },
      worst_vs_pair_optimum_mm: { mean: Math.max(...rows.map((r) => r.tre_vs_pair_optimum_mean_mm as number)), max: Math.max(...rows.map((r) => r.tre_vs_pair_optimum_max_mm as number)) },
      mean_seconds: +(rows.reduce((s, r) => s + (r.seconds as number), 0) / rows.length).toFixed(2),
      rows,
    }),
  );
}

if (require.main === module) void main();
