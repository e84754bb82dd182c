/**
 * Where the atlas pair's (MNI152_T1_2mm + scct_HU, aligned by construction) registration optimum
 * lies under other registration settings: the unmoved pair registered with each variant (CT
 * window, histogram bins, metric, sampler, iterations, interpolator, MRI crop/background), and the
 * offset from the identity (rotation, translation, TRE over the head-mask surface).
 * Usage: node --import tsx bench/register/pair-optimum.ts [--mri PATH] [--only NAME,NAME]
 *   --mri: another MRI on the atlas grid (e.g. made symmetric by template-symmetry.py).
 * Prints one line per variant and a JSON line. Writes nothing.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';

import { identityAffine } from '../../src/io/affine-math';
import { readNifti } from '../../src/io/nifti-read';
import { headMask } from '../../src/preprocess/head-mask';
import { registerCtToMri, type RegisterOptions } from '../../src/register/register';
import { PREVIOUS_DEFAULTS } from './bench-options';
import { surfacePoints, tre } from './tre-study';

const SCANS = path.resolve(__dirname, '..', '..', '..', 'shared', 'scans');

/** A variant: registration options, and whether the MRI is set to 0 outside its head mask. */
interface Variant {
  name: string;
  options?: RegisterOptions;
  zeroOutsideMask?: boolean;
}

const VARIANTS: Variant[] = [
  { name: 'defaults' },
  { name: 'seed 7', options: { seed: 7 } },
  { name: 'CT window [-200, 1500]', options: { ctWindowHu: [-200, 1500] } },
  { name: 'CT window [-100, 200]', options: { ctWindowHu: [-100, 200] } },
  { name: 'CT window [0, 1000]', options: { ctWindowHu: [0, 1000] } },
  { name: 'bins 16', options: { histogramBins: 16 } },
  { name: 'bins 64', options: { histogramBins: 64 } },
  { name: 'NormalizedMutualInformation', options: { parameterOverrides: { Metric: ['NormalizedMutualInformation'] } } },
  { name: '2000 iterations', options: { iterations: 2000 } },
  { name: '16384 samples', options: { spatialSamples: 16384 } },
  { name: 'B-spline interpolator order 3', options: { parameterOverrides: { Interpolator: ['BSplineInterpolator'], BSplineInterpolationOrder: ['3'] } } },
  { name: 'previous defaults (4 levels x 400 x 4096, smoothing pyramid)', options: PREVIOUS_DEFAULTS },
  { name: 'final level: full sampler', options: { parameterOverrides: { ImageSampler: ['RandomCoordinate', 'RandomCoordinate', 'Full'] } } },
  { name: 'MRI crop margin 0 mm', options: { maskMarginMm: 0 } },
  { name: 'MRI 0 outside head mask', zeroOutsideMask: true },
];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { mri: { type: 'string' }, only: { type: 'string' } } });
  const mri = await readNifti(values.mri ?? path.join(SCANS, 'niivue-demo-images/register/MNI152_T1_2mm.nii.gz'));
  const ct = await readNifti(path.join(SCANS, 'neurolabusc-Clinical/derived/scct_HU.nii.gz'));
  const mask = headMask(mri, { what: 'the atlas MRI' });
  const surface = surfacePoints(mask, mri.dims, mri.affine);
  const only = values.only?.split(',');
  const rows = [];
  for (const v of VARIANTS.filter((x) => only === undefined || only.includes(x.name))) {
    const fixed = v.zeroOutsideMask ? { ...mri, data: Float32Array.from(mri.data as ArrayLike<number>, (x, i) => (mask[i] ? x : 0)) } : mri;
    const r = await registerCtToMri(fixed, ct, mask, { what: v.name, ...v.options });
    const e = tre(r.transform.matrix, identityAffine(), surface);
    const { rotationDegrees: a, translationMm: t } = r.transform;
    const row = {
      variant: v.name,
      rot_deg: [a.x, a.y, a.z].map((x) => x.toFixed(2)).join(' '),
      trans_mm: [t.x, t.y, t.z].map((x) => x.toFixed(2)).join(' '),
      tre_vs_identity_mean_mm: +e.mean.toFixed(3),
      tre_vs_identity_max_mm: +e.max.toFixed(3),
      seconds: +r.seconds.toFixed(1),
    };
    rows.push(row);
    console.log(Object.values(row).join(' | '));
  }
  console.log(JSON.stringify({ mri: values.mri ?? 'MNI152_T1_2mm', rows }));
}

if (require.main === module) void main();
