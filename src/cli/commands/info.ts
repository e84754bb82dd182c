/**
 * `mri2ct info PATH`: describes an image file or DICOM series folder (format, shape, voxel size,
 * orientation, obliquity, values, units guess, DICOM checks, warnings or refusal); --json for
 * machine-readable output. Only wiring: the description is built by src/io/describe.ts.
 */
import type { Command } from 'commander';
import { ConfigError } from '../../errors';
import { describeImage, formatImageDescription } from '../../io/describe';

export interface InfoCliOptions {
  json?: boolean;
  series?: string;
  volume?: string;
}

/** Describes `target` and prints it (text or JSON). */
export async function runInfo(target: string, opts: InfoCliOptions): Promise<void> {
  let volumeIndex: number | undefined;
  if (opts.volume !== undefined) {
    volumeIndex = Number(opts.volume);
    if (!Number.isInteger(volumeIndex) || volumeIndex < 0) throw new ConfigError(`--volume ${opts.volume} is not a volume index: give 0, 1, 2...`);
  }
  const d = await describeImage(target, { ...(volumeIndex !== undefined ? { volumeIndex } : {}), ...(opts.series !== undefined ? { series: opts.series } : {}) });
  console.log(opts.json === true ? JSON.stringify(d, null, 2) : formatImageDescription(d));
}

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('describe an image file (.nii[.gz], .mha, .mhd, .nrrd, .nhdr) or a DICOM series folder')
    .argument('<path>', 'image file or DICOM folder')
    .option('--json', 'machine-readable output')
    .option('--series <uid>', 'DICOM folder with several series: SeriesInstanceUID or SeriesNumber to describe')
    .option('--volume <n>', '4D file: which volume to describe (0-based)')
    .action(async (target: string, raw: InfoCliOptions) => {
      await runInfo(target, raw);
    });
}
