/**
 * Read times per format on the shared head scans: our NIfTI reader vs itk-wasm image-io vs nibabel
 * on the same .nii/.nii.gz; itk-wasm (through readImage) on .mha / .nrrd copies made in a temp dir;
 * DICOM series folders through readImage. Median of 3 reads each, after one warm-up read.
 * Usage: node --import tsx bench/io/bench-formats.ts [--files a,b]  (paths relative to ../shared/scans)
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { imageIo } from '../../src/io/itk-image';
import { readImage, writeImage } from '../../src/io/read-image';

const scans = path.resolve(__dirname, '..', '..', '..', 'shared', 'scans');
const DEFAULT = [
  'niivue-demo-images/register/MNI152_T1_2mm.nii.gz', 'neurolabusc-Clinical/derived/scct_HU.nii.gz', 'neurolabusc-Clinical/scct.nii',
  'neurolabusc-Clinical/scct_stripped.nii', 'niivue-demo-images/chris_t1.nii.gz', 'niivue-demo-images/register/T1_head_ext2.nii.gz',
  'VolumeRenderingData/seg3D/MR.nii.gz', 'brainchop/public/t1_crop.nii.gz', 'niivue-demo-images/MR_Gd.nii.gz',
  'VolumeRenderingData/stroke/T1.nii.gz', 'niivue-demo-images/spm152.nii.gz',
];
const DICOM = ['niivue-demo-images/dicom', 'dcm_qa_ct/In/GE'];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function time(fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const ts: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await fn();
    ts.push(performance.now() - t);
  }
  return median(ts);
}

function nibabel(file: string): number {
  const r = spawnSync('/usr/bin/python3', ['-c', `
import sys, time, nibabel as nib, numpy as np
np.asanyarray(nib.load(sys.argv[1]).dataobj)
ts = []
for _ in range(3):
    t = time.perf_counter(); nib.load(sys.argv[1]).get_fdata(dtype=np.float32); ts.append((time.perf_counter() - t) * 1e3)
print(sorted(ts)[1])`, file], { encoding: 'utf8' });
  return Number(r.stdout);
}

async function main(): Promise<void> {
  const arg = process.argv.indexOf('--files');
  const files = arg > 0 ? (process.argv[arg + 1] ?? '').split(',') : DEFAULT;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-bench-formats-'));
  const io = await imageIo();
  console.log('| file | shape | spacing (mm) | orientation | ours NIfTI | itk-wasm .nii(.gz) | nibabel | .mha (itk, zlib) | .nrrd (itk, gzip) |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const rel of files) {
    const f = path.join(scans, rel);
    const img = await readImage(f);
    const ours = await time(() => readImage(f));
    const itk = await time(() => io.readImageNode(f));
    const nib = nibabel(f);
    const base = path.basename(rel).replace(/\.nii(\.gz)?$/, '');
    const mha = path.join(tmp, `${base}.mha`);
    const nrrd = path.join(tmp, `${base}.nrrd`);
    await writeImage(mha, img, { datatype: img.datatype as 'int16' });
    await writeImage(nrrd, img, { datatype: img.datatype as 'int16' });
    const tm = await time(() => readImage(mha));
    const tn = await time(() => readImage(nrrd));
    console.log(`| ${rel} | ${img.shape.join('×')} | ${img.spacing.map((s) => s.toFixed(3)).join('×')} | ${img.orientation} | ${ours.toFixed(0)} ms | ${itk.toFixed(0)} ms | ${nib.toFixed(0)} ms | ${tm.toFixed(0)} ms | ${tn.toFixed(0)} ms |`);
  }
  for (const rel of DICOM) {
    const f = path.join(scans, rel);
    const info = await readImage(f, { informationOnly: true });
    const tInfo = await time(() => readImage(f, { informationOnly: true }));
    let full = 'refused';
    if (info.dicom?.refusal === undefined) full = `${(await time(() => readImage(f))).toFixed(0)} ms`;
    console.log(`| ${rel}/ (DICOM) | ${info.shape.join('×')} | ${info.spacing.map((s) => s.toFixed(3)).join('×')} | ${info.orientation} | headers ${tInfo.toFixed(0)} ms, full read ${full} | | | | |`);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}

void main();
