/**
 * Single-step commands on one NIfTI file, for users who want one step alone and for debugging:
 * `mri2ct n4 in out [--field f]` and `mri2ct mask in out`. Only wiring around src/preprocess.
 */
import type { Command } from 'commander';
import { readImage } from '../../io/read-image';
import type { Volume } from '../../io/volume';
import { reorientFromCanonical, reorientToCanonical } from '../../preprocess/reorient';
import { writeNifti } from '../../io/nifti-write';
import { headMaskWithStats } from '../../preprocess/head-mask';
import { n4BiasFieldCorrection } from '../../preprocess/n4';
import { camelize, floatArg, intArg } from '../options';

interface N4CliOptions { field?: string; shrink: number; iterations: string; convergence: number; splineOrder: number; controlPoints: number; mask?: string }

export function registerSingleSteps(program: Command): void {
  program
    .command('n4 <input> <output>')
    .description('N4 bias field correction of one MRI (NIfTI in, NIfTI out)')
    .option('--field <file>', 'also write the estimated multiplicative bias field')
    .option('--mask <file>', 'foreground mask NIfTI (default: automatic)')
    .option('--shrink <n>', 'shrink factor', intArg('--shrink', 1), 4)
    .option('--iterations <list>', 'iterations per fitting level, comma separated', '50,50,50,50')
    .option('--convergence <t>', 'convergence threshold', floatArg('--convergence', 0), 0.001)
    .option('--spline_order <n>', 'B-spline order', intArg('--spline_order', 1), 3)
    .option('--control_points <n>', 'control points at the coarsest level', intArg('--control_points', 2), 4)
    .action(async (input: string, output: string, raw: Record<string, unknown>) => {
      const o = camelize<N4CliOptions>(raw);
      // Run in canonical (RAS+) order like the pipeline; written back in the input's own order.
      const stored = await readImage(input);
      const img = reorientToCanonical(stored);
      const mask = o.mask !== undefined ? Uint8Array.from(reorientToCanonical(await readImage(o.mask)).data, (v) => (v > 0 ? 1 : 0)) : undefined;
      const t0 = performance.now();
      const r = n4BiasFieldCorrection(img, {
        shrinkFactor: o.shrink, iterations: o.iterations.split(',').map(Number), convergenceThreshold: o.convergence,
        splineOrder: o.splineOrder, controlPoints: o.controlPoints, ...(mask !== undefined ? { mask } : {}),
      });
      const seconds = (performance.now() - t0) / 1000;
      const back = (data: Float32Array): Volume<Float32Array> => ({ data: reorientFromCanonical(data, img.reorientation), dims: stored.dims, spacing: stored.spacing, affine: stored.affine });
      await writeNifti(output, back(r.corrected.data), { datatype: 'float32', description: 'mri2ct N4 corrected' });
      if (o.field !== undefined) await writeNifti(o.field, back(r.biasField.data), { datatype: 'float32', description: 'mri2ct N4 bias field' });
      console.log(`N4: ${img.dims.join('×')} in ${seconds.toFixed(2)} s, iterations per level ${r.iterationsRun.join('/')} → ${output}`);
    });
  program
    .command('mask <input> <output>')
    .description('head (brain+skull) mask of one MRI: Otsu, largest component, hole filling, closing')
    .option('--otsu_fraction <f>', 'threshold = fraction × Otsu', floatArg('--otsu_fraction', 0.05, 2), 0.85)
    .option('--closing_mm <mm>', 'closing radius in mm', floatArg('--closing_mm', 0), 4)
    .action(async (input: string, output: string, raw: Record<string, unknown>) => {
      const o = camelize<{ otsuFraction: number; closingMm: number }>(raw);
      const stored = await readImage(input);
      const img = reorientToCanonical(stored);
      const { mask, stats } = headMaskWithStats(img, { otsuFraction: o.otsuFraction, closingMm: o.closingMm, what: input });
      await writeNifti(output, { data: reorientFromCanonical(mask, img.reorientation), dims: stored.dims, spacing: stored.spacing, affine: stored.affine }, { datatype: 'uint8', description: 'mri2ct head mask' });
      console.log(`mask: ${stats.voxels} voxels (${stats.volumeMl.toFixed(0)} ml, threshold ${stats.threshold.toFixed(1)}) → ${output}`);
    });
}
