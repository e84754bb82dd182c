/**
 * `mri2ct info PATH`: describes an image file or DICOM series folder (format, shape, voxel size,
 * orientation, obliquity, values, units guess, DICOM checks, warnings or refusal); --json for
 * machine-readable output; what preprocessing would do with it (canonical order, input checks as MRI
 * and as CT). Only wiring: src/io/describe.ts and src/preprocess/input-verdict.ts do the work.
 */
import type { Command } from 'commander';
import { ConfigError } from '../../errors';
import { describeImage, formatImageDescription } from '../../io/describe';
import { inputVerdict } from '../../preprocess/input-verdict';

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
  const pipeline = d.refusal === undefined ? await inputVerdict(target, volumeIndex !== undefined ? { volume: volumeIndex } : {}) : undefined;
  if (opts.json === true) {
    console.log(JSON.stringify({ ...d, ...(pipeline !== undefined ? { pipeline } : {}) }, null, 2));
    return;
  }
  console.log(formatImageDescription(d));
  if (pipeline !== undefined) {
    const row = (label: string, text: string): void => console.log(`${label.padEnd(21)}${text}`);
    row('Pipeline', pipeline.canonical);
    row('  as MRI', pipeline.asMri);
    row('  as CT', pipeline.asCt);
  }
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
