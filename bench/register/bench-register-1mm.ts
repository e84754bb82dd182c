/**
 * Registration time per patient at 1 mm: phantom patient 1 at its default 256×256×160 grid
 * (1 × 1 × 1.2 mm; MRI and CT aligned by construction, so the truth is exact), the CT moved by a
 * rigid transform (6°, −8°, 5°; 12, −9, 7 mm) onto a 1 mm 240×240×200 grid, registered back.
 * Prints seconds (whole step and elastix alone), TRE over the head-mask surface, and one JSON line.
 * Usage: node --import tsx bench/register/bench-register-1mm.ts [--iterations N] [--samples N] [--resolutions N] [--previous-defaults]
 * Writes nothing.
 */
import { parseArgs } from 'node:util';

import { applyAffine, invertAffine, rigidAffine } from '../../src/io/affine-math';
import type { Vec3 } from '../../src/io/volume';
import { generatePhantomPatient } from '../../src/phantom/generate';
import { headMask } from '../../src/preprocess/head-mask';
import { resampleToGrid } from '../../src/preprocess/resample-grid';
import { registerCtToMri } from '../../src/register/register';
import { REGISTER_FLAGS, registerOptionsFromFlags } from './bench-options';
import { surfacePoints, tre } from './tre-study';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: REGISTER_FLAGS });
  const p = generatePhantomPatient(1);
  const mri = p.mri;
  const ct = { ...p.ct, data: Float32Array.from(p.ct.data) };
  const t0 = performance.now();
  const mask = headMask(mri, { what: 'phantom 1' });
  const maskSeconds = (performance.now() - t0) / 1000;
  const centre = applyAffine(mri.affine, [(mri.dims[0] - 1) / 2, (mri.dims[1] - 1) / 2, (mri.dims[2] - 1) / 2]);
  const deg = Math.PI / 180;
  const W = rigidAffine([6 * deg, -8 * deg, 5 * deg], [12, -9, 7], centre);
  const dims: Vec3 = [240, 240, 200];
  const affine = [
    [1, 0, 0, centre[0] - 119.5 + 0.4],
    [0, 1, 0, centre[1] - 119.5 - 0.3],
    [0, 0, 1, centre[2] - 99.5 + 0.2],
    [0, 0, 0, 1],
  ];
  const t1 = performance.now();
  const moved = { data: resampleToGrid(ct, { dims, affine }, { interpolation: 'linear', fill: -1000, worldTransform: W }), dims, spacing: [1, 1, 1] as Vec3, affine };
  const resampleSeconds = (performance.now() - t1) / 1000;
  const r = await registerCtToMri(mri, moved, mask, { what: 'phantom 1', ...registerOptionsFromFlags(values) });
  const e = tre(r.transform.matrix, invertAffine(W), surfacePoints(mask, mri.dims, mri.affine));
  const out = {
    mri_dims: mri.dims,
    ct_dims: dims,
    register_seconds: +r.seconds.toFixed(2),
    elastix_seconds: +r.elastixSeconds.toFixed(2),
    resample_240x240x200_seconds: +resampleSeconds.toFixed(3),
    head_mask_seconds: +maskSeconds.toFixed(2),
    tre_mean_mm: +e.mean.toFixed(3),
    tre_max_mm: +e.max.toFixed(3),
    dice: +r.quality.dice.toFixed(4),
    ok: r.quality.ok,
    parameters: r.transform.elastix?.parameterMap.MaximumNumberOfIterations?.[0] + ' iterations, ' + r.transform.elastix?.parameterMap.NumberOfSpatialSamples?.[0] + ' samples, ' + r.transform.elastix?.parameterMap.NumberOfResolutions?.[0] + ' levels, ' + r.transform.elastix?.parameterMap.FixedImagePyramid?.[0],
  };
  console.log(JSON.stringify(out));
}

if (require.main === module) void main();
