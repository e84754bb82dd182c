/**
 * N4 on real head T1s: our N4 (src/preprocess/n4) against ITK's C++ N4 (bench/n4/itk-n4-reference)
 * on the same volume, the same mask and the same parameters. Real scans have no ground truth (and
 * no white-matter labels), so the two log bias fields are compared with each other inside the head.
 *
 *   node --import tsx bench/n4/real-t1.ts --itk /tmp/mri2ct-itk-n4/itk-n4-reference [--repeat 1]
 *        [--scans ../shared/scans] [--files a.nii.gz,b.nii.gz] [--threads N] [--crop 1]
 *
 * Per file, as the pipeline does it: readImage → reorientToCanonical → head mask (head-mask.ts,
 * pipeline defaults, computed here on the uncorrected image because N4 needs its mask first) →
 * N4 with the pipeline's parameters (DEFAULT_PREPROCESS_PARAMS.n4: shrink 4, 4×50 iterations,
 * threshold 0.001, cubic, 4 control points). Both N4s get the head mask restricted to positive
 * voxels: ours always leaves non-positive voxels out, while ITK would keep them in its "log" image
 * as log-intensity 0 (see itkN4BiasFieldCorrectionImageFilter.hxx), so uint8 scans with zeros inside
 * the head would otherwise not be the same problem for the two. A file whose head mask is refused
 * (skull-stripped scans: no head on air) falls back to N4's default Otsu foreground, noted as such.
 *
 * Printed per file: canonical shape and spacing, our time, ITK's time (process wall time; its
 * internal time in brackets), their ratio (runs alternate ours, ITK, ours, ITK... so the ratio is
 * measured back to back), the correlation of the two log fields inside the head mask, the std of
 * each log field there (a correlation of a nearly flat field means little), the mean difference
 * of the log fields (the fields' overall scale is free), and the mean absolute difference of the
 * two corrected images relative to the input's mean inside the head.
 */

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readImage } from '../../src/io/read-image';
import { headMaskWithStats } from '../../src/preprocess/head-mask';
import { defaultForegroundMask, n4BiasFieldCorrection, type N4Result } from '../../src/preprocess/n4';
import { DEFAULT_PREPROCESS_PARAMS } from '../../src/preprocess/params';
import { reorientToCanonical } from '../../src/preprocess/reorient';
import type { Vec3, Volume } from '../../src/io/volume';
import { pearson } from './synthetic-head';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? (process.argv[i + 1] as string) : fallback;
}

const itk = arg('itk', '');
const repeat = Number(arg('repeat', '1'));
const scans = arg('scans', path.resolve(__dirname, '../../../shared/scans'));
const threads = arg('threads', '');
/** Diagnostic: crop each canonical volume to whole multiples of the shrink factor (from index 0). */
const cropToFactor = arg('crop', '0') === '1';
const DEFAULT_FILES = [
  'niivue-demo-images/register/MNI152_T1_2mm.nii.gz',
  'niivue-demo-images/register/T1_head_ext2.nii.gz',
  'niivue-demo-images/chris_t1.nii.gz',
  'VolumeRenderingData/seg3D/MR.nii.gz',
  'brainchop/public/t1_crop.nii.gz',
  'niivue-demo-images/spm152.nii.gz',
  'niivue-demo-images/dicom',
  'niivue-demo-images/MR_Gd.nii.gz',
];
const files = arg('files', DEFAULT_FILES.join(',')).split(',');
const P = DEFAULT_PREPROCESS_PARAMS.n4;
if (itk === '') throw new Error('--itk path/to/itk-n4-reference is required (bench/n4/build-itk-reference.sh builds it)');

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

function stats(a: ArrayLike<number>, sel: Uint8Array): { mean: number; std: number } {
  let n = 0, s = 0, ss = 0;
  for (let i = 0; i < a.length; i++) if (sel[i] !== 0) { n++; s += a[i] as number; ss += (a[i] as number) ** 2; }
  const m = s / n;
  return { mean: m, std: Math.sqrt(Math.max(0, ss / n - m * m)) };
}

function cropTo<T extends Volume<ArrayLike<number>>>(v: T, f: number): T {
  const [nx, ny, nz] = v.dims;
  const d: Vec3 = [nx - (nx % f), ny - (ny % f), nz - (nz % f)];
  const out = new Float32Array(d[0] * d[1] * d[2]);
  for (let z = 0; z < d[2]; z++) for (let y = 0; y < d[1]; y++) for (let x = 0; x < d[0]; x++) {
    out[x + d[0] * (y + d[1] * z)] = v.data[x + nx * (y + ny * z)] as number;
  }
  return { ...v, data: out, dims: d };
}

async function one(file: string): Promise<string> {
  const full = path.join(scans, file);
  const stored = await readImage(full);
  const canon = reorientToCanonical(stored);
  const img = cropToFactor ? cropTo(canon, DEFAULT_PREPROCESS_PARAMS.n4.shrinkFactor) : canon;
  const n = img.data.length;
  let head: Uint8Array;
  let maskNote = 'head mask';
  try {
    head = headMaskWithStats(img, { ...DEFAULT_PREPROCESS_PARAMS.headMask, what: file }).mask;
  } catch (e) {
    head = defaultForegroundMask(img.data).mask;
    maskNote = `no head mask (${(e as Error).message.split('\n')[0]}); N4's Otsu foreground instead`;
  }
  const mask = new Uint8Array(n);
  let headVoxels = 0, nonPositive = 0;
  for (let i = 0; i < n; i++) {
    if (head[i] === 0) continue;
    headVoxels++;
    const v = img.data[i] as number;
    if (v > 0 && Number.isFinite(v)) mask[i] = 1;
    else nonPositive++;
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'n4-real-'));
  try {
    const imgPath = path.join(dir, 'image.f32');
    const maskPath = path.join(dir, 'mask.u8');
    const outPath = path.join(dir, 'logfield.f32');
    fs.writeFileSync(imgPath, Buffer.from(Float32Array.from(img.data).buffer));
    fs.writeFileSync(maskPath, Buffer.from(mask.buffer));
    const args = [imgPath, maskPath, ...img.dims.map(String), ...img.spacing.map(String), String(P.shrinkFactor), P.iterations.join('x'),
      String(P.convergenceThreshold), String(P.controlPoints), outPath, ...(threads !== '' ? [threads] : [])];
    let ours: N4Result | undefined;
    const oursMs: number[] = [];
    const itkMs: number[] = [];
    let itkReport = '';
    for (let r = 0; r < repeat; r++) {
      let t = performance.now();
      ours = n4BiasFieldCorrection(img, {
        mask, shrinkFactor: P.shrinkFactor, iterations: P.iterations, convergenceThreshold: P.convergenceThreshold,
        splineOrder: P.splineOrder, controlPoints: P.controlPoints,
      });
      oursMs.push(performance.now() - t);
      t = performance.now();
      const p = spawnSync(itk, args, { encoding: 'utf8' });
      itkMs.push(performance.now() - t);
      if (p.status !== 0) throw new Error(`ITK reference failed on ${file}: ${p.stderr}`);
      itkReport = p.stdout.trim();
    }
    const o = ours as N4Result;
    const buf = fs.readFileSync(outPath);
    const itkLog = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    const ourLog = o.logField.data;
    const corr = pearson(ourLog, itkLog, (i) => head[i] !== 0);
    const so = stats(ourLog, head), si = stats(itkLog, head);
    const inHead = stats(img.data, head).mean;
    let mad = 0;
    for (let i = 0; i < n; i++) {
      if (head[i] === 0) continue;
      const v = img.data[i] as number;
      mad += Math.abs((o.corrected.data[i] as number) - v / Math.exp(itkLog[i] as number));
    }
    mad /= headVoxels;
    const itkInternal = JSON.parse(itkReport) as { totalMs: number; threads: number; shrunk: number[]; iterations: number[]; convergence: number[] };
    const ratio = mean(oursMs) / mean(itkMs);
    return [
      `${file}: stored ${stored.dims.join('×')} ${stored.orientation} ${stored.datatype} → canonical${cropToFactor ? ' (cropped to ×4)' : ''} ${img.dims.join('×')}, spacing ${img.spacing.map((s) => s.toFixed(3)).join('×')} mm`,
      `  mask: ${maskNote}; ${headVoxels} voxels, ${nonPositive} of them non-positive (left out of both fits); shrunk grid ours ${o.shrunkDims.join('×')} / ITK ${itkInternal.shrunk.join('×')}`,
      `  time ours ${oursMs.map((t) => (t / 1000).toFixed(2)).join(' / ')} s, ITK ${itkMs.map((t) => (t / 1000).toFixed(2)).join(' / ')} s (internal ${(itkInternal.totalMs / 1000).toFixed(2)} s, ${itkInternal.threads} threads); ratio ours/ITK ${ratio.toFixed(3)}; iterations ours ${o.iterationsRun.join(',')} / ITK ${itkInternal.iterations.join(',')}`,
      `  log-field correlation ours vs ITK (head) ${corr.toFixed(4)}; log-field std (head) ours ${so.std.toFixed(4)} / ITK ${si.std.toFixed(4)}; mean ours − ITK ${(so.mean - si.mean).toFixed(4)}`,
      `  corrected images: mean |ours − ITK| / head mean of the input = ${(mad / inHead).toFixed(4)}`,
      `  ROW | ${file} | ${img.dims.join('×')} | ${img.spacing.map((s) => +s.toFixed(3)).join('×')} | ${(mean(oursMs) / 1000).toFixed(2)} | ${(mean(itkMs) / 1000).toFixed(2)} | ${ratio.toFixed(3)} | ${corr.toFixed(4)} | ${so.std.toFixed(3)} / ${si.std.toFixed(3)} | ${(mad / inHead).toFixed(4)} |`,
    ].join('\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`N4 ours vs ITK on real T1s: shrink ${P.shrinkFactor}, iterations ${P.iterations.join('x')}, threshold ${P.convergenceThreshold}, order ${P.splineOrder}, control points ${P.controlPoints}; repeat ${repeat}; load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  for (const f of files) {
    try {
      console.log(await one(f));
    } catch (e) {
      console.log(`${f}: FAILED ${(e as Error).message}`);
    }
  }
  console.log(`load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
}

void main();
