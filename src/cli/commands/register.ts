/**
 * `mri2ct register`: rigid registration of a CT to an MRI; writes the CT resampled onto the MRI
 * grid (int16 HU, −1000 outside the CT) and, with --transform, the transform as JSON. A poor
 * result is written but reported, with exit code 1. Only wiring: the work is in src/register.
 */
import type { Command } from 'commander';

import { ConfigError } from '../../errors';
import { readImage, writeImage } from '../../io/read-image';
import { headMaskWithStats } from '../../preprocess/head-mask';
import { ELASTIX_DEFAULTS } from '../../register/elastix';
import { QUALITY_DEFAULTS } from '../../register/quality';
import { REGISTER_DEFAULTS, registerCtToMri, type RegisterOptions } from '../../register/register';
import { writeTransformRecord } from '../../register/transform-record';
import { camelize, floatArg, intArg } from '../options';

export interface RegisterCliOptions {
  fixed: string;
  moving: string;
  out: string;
  transform?: string;
  init: 'auto' | 'header' | 'centroids';
  iterations: number;
  samples: number;
  resolutions: number;
  minDice: number;
  ctMinHu: number;
  ctMaxHu: number;
  elastixSpacing: number;
}

/** Runs the command; returns false when the registration quality is poor (files still written). */
export async function runRegister(o: RegisterCliOptions): Promise<boolean> {
  if (!['auto', 'header', 'centroids'].includes(o.init)) throw new ConfigError(`--init must be auto, header or centroids (got '${o.init}')`);
  if (!(o.ctMinHu < o.ctMaxHu)) throw new ConfigError(`--ct_min_hu (${o.ctMinHu}) must be below --ct_max_hu (${o.ctMaxHu})`);
  const [mri, ct] = await Promise.all([readImage(o.fixed), readImage(o.moving)]);
  const mask = headMaskWithStats(mri, { what: `the MRI ${o.fixed}` }).mask;
  const options: RegisterOptions = {
    what: `${o.moving} to ${o.fixed}`,
    initialize: o.init,
    iterations: o.iterations,
    spatialSamples: o.samples,
    resolutions: o.resolutions,
    minDice: o.minDice,
    ctWindowHu: [o.ctMinHu, o.ctMaxHu],
    elastixSpacingMm: o.elastixSpacing,
  };
  const r = await registerCtToMri(mri, ct, mask, options);
  await writeImage(o.out, { data: r.ctOnMri, dims: mri.dims, spacing: mri.spacing, affine: mri.affine }, { datatype: 'int16' });
  if (o.transform !== undefined) writeTransformRecord(o.transform, { ...r.transform, quality: r.quality });
  const f = (v: { x: number; y: number; z: number }, d: number): string => [v.x, v.y, v.z].map((a) => a.toFixed(d)).join(', ');
  const t = r.transform;
  console.log(`register: ${o.moving} → ${o.fixed} grid (${mri.dims.join('×')}) in ${r.seconds.toFixed(1)} s (elastix ${r.elastixSeconds.toFixed(1)} s, initial alignment: ${r.initialization})`);
  console.log(`  rotation (deg, about x, y, z): ${f(t.rotationDegrees, 2)}; translation (mm): ${f(t.translationMm, 2)}; centre (mm): ${f(t.centerMm, 1)}`);
  console.log(`  quality: Dice head mask vs CT body ${r.quality.dice.toFixed(3)}, NMI ${r.quality.nmi.toFixed(4)}, head inside CT field of view ${(r.quality.overlap * 100).toFixed(1)}%`);
  console.log(`  wrote ${o.out}${o.transform !== undefined ? ` and ${o.transform}` : ''}`);
  if (!r.quality.ok) {
    console.error(`register: POOR registration, do not use without checking:\n  - ${r.quality.reasons.join('\n  - ')}`);
    return false;
  }
  return true;
}

export function registerRegister(program: Command): void {
  program
    .command('register')
    .description('rigid registration of a CT to an MRI (elastix, Mattes mutual information, inside the MRI head mask); writes the CT on the MRI grid')
    .requiredOption('--fixed <mri.nii.gz>', 'the MRI (fixed image); the output is on its grid')
    .requiredOption('--moving <ct.nii.gz>', 'the CT in HU (moving image)')
    .requiredOption('--out <ct_on_mri.nii.gz>', 'the CT resampled onto the MRI grid (int16 HU, -1000 outside the CT)')
    .option('--transform <t.json>', 'also write the transform: rotation (deg), translation (mm), 4×4 RAS matrix MRI→CT world, elastix parameter maps, quality')
    .option('--init <mode>', "initial alignment: 'header' (trust both files' positions), 'centroids' (move the CT body onto the MRI head), 'auto'", 'auto')
    .option('--iterations <n>', 'optimiser iterations per resolution', intArg('--iterations', 1), ELASTIX_DEFAULTS.iterations)
    .option('--samples <n>', 'random samples per iteration', intArg('--samples', 64), ELASTIX_DEFAULTS.spatialSamples)
    .option('--resolutions <n>', 'levels of the multi-resolution pyramid', intArg('--resolutions', 1), ELASTIX_DEFAULTS.resolutions)
    .option('--min_dice <d>', 'smallest accepted Dice of MRI head mask vs registered CT body', floatArg('--min_dice', 0, 1), QUALITY_DEFAULTS.minDice)
    .option('--ct_min_hu <hu>', 'low end of the HU window the CT is clipped to for the similarity measure', floatArg('--ct_min_hu'), REGISTER_DEFAULTS.ctWindowHu[0])
    .option('--ct_max_hu <hu>', 'high end of that window', floatArg('--ct_max_hu'), REGISTER_DEFAULTS.ctWindowHu[1])
    .option('--elastix_spacing <mm>', 'block-average both images to about this voxel size before elastix (0: their own resolution)', floatArg('--elastix_spacing', 0), REGISTER_DEFAULTS.elastixSpacingMm)
    .action(async (raw: Record<string, unknown>) => {
      if (!(await runRegister(camelize<RegisterCliOptions>(raw)))) process.exitCode = 1;
    });
}
