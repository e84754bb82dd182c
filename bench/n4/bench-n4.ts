/**
 * N4 benchmark: speed and quality of src/preprocess/n4 on a 256×256×160 synthetic head with a
 * known bias field, optionally against ITK's C++ N4 on the same volume and mask.
 *
 *   node --import tsx bench/n4/bench-n4.ts [--dims 256,256,160] [--noise 0.03] [--bias 0.3]
 *        [--shrink 4] [--method subsample|mean] [--repeat 3] [--itk path/to/itk-n4-reference]
 *        [--phantom N [--mask otsu|head]] [--iterations 50x50x50x50]
 *
 * --phantom N uses patient N of src/phantom (seed 1, size --dims) instead of the built-in
 * synthetic head; its ground truth gives the true bias field and the white matter. The "bias-free"
 * WM CV is then that of MRI / true bias, and the log-field correlation is also printed per region
 * (head without the face/neck soft tissue, intracranial, white matter): see
 * bench/n4/phantom-cohort.ts for why the face/neck matters.
 *
 * Build the ITK reference first with bench/n4/build-itk-reference.sh (needs libinsighttoolkit5-dev).
 */

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { n4BiasFieldCorrection, defaultForegroundMask, type N4Result } from '../../src/preprocess/n4';
import { generatePhantomPatient } from '../../src/phantom/generate';
import { LABEL as PHANTOM_LABEL } from '../../src/phantom/labels';
import { coefficientOfVariation, generateSyntheticHead, LABEL, pearson, type SyntheticHead } from './synthetic-head';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? (process.argv[i + 1] as string) : fallback;
}

const dims = arg('dims', '256,256,160').split(',').map(Number) as [number, number, number];
const noise = Number(arg('noise', '0.03'));
const bias = Number(arg('bias', '0.3'));
const shrink = Number(arg('shrink', '4'));
const method = arg('method', 'subsample') as 'mean' | 'subsample';
const repeat = Number(arg('repeat', '3'));
const itk = arg('itk', '');
const iterations = arg('iterations', '50x50x50x50').split('x').map(Number);

const phantom = Number(arg('phantom', '0'));
const maskKind = arg('mask', 'otsu');

/** The test volume in the synthetic head's shape (phantom labels mapped to air / WM / other). */
function loadVolume(): { head: SyntheticHead; headMask: Uint8Array; phantomLabels?: Uint8Array } {
  if (phantom > 0) {
    const p = generatePhantomPatient(phantom, { size: dims, seed: 1 });
    const n = p.mri.data.length;
    const labels = new Uint8Array(n);
    const trueLogField = new Float32Array(n);
    const unbiased = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const l = p.labels.data[i] as number;
      labels[i] = p.headMask.data[i] === 0 ? LABEL.air : l === PHANTOM_LABEL.WHITE_MATTER ? LABEL.wm : LABEL.scalp;
      trueLogField[i] = Math.log(p.bias.data[i] as number);
      unbiased[i] = (p.mri.data[i] as number) / (p.bias.data[i] as number);
    }
    return { head: { image: p.mri, unbiased, trueLogField, labels }, headMask: p.headMask.data, phantomLabels: p.labels.data };
  }
  const h = generateSyntheticHead(dims, { seed: 7, noise, biasStrength: bias });
  return { head: h, headMask: Uint8Array.from(h.labels, (l) => (l === LABEL.air ? 0 : 1)) };
}

const { head, headMask, phantomLabels } = loadVolume();

/** Phantom only: correlation of a log field with the truth in the head without the face/neck soft tissue, intracranially and in WM. */
function regionReport(logField: ArrayLike<number>): string {
  if (phantomLabels === undefined) return '';
  const L = phantomLabels;
  const intracranial = new Set<number>([PHANTOM_LABEL.CSF, PHANTOM_LABEL.GREY_MATTER, PHANTOM_LABEL.WHITE_MATTER, PHANTOM_LABEL.VENTRICLE]);
  const r = (sel: (i: number) => boolean): string => pearson(logField, head.trueLogField, sel).toFixed(4);
  return `; head without face/neck soft tissue ${r((i) => headMask[i] !== 0 && L[i] !== PHANTOM_LABEL.SOFT_TISSUE)}, ` +
    `intracranial ${r((i) => intracranial.has(L[i] as number))}, WM ${r(inWm)}`;
}
const inHead = (i: number): boolean => head.labels[i] !== LABEL.air;
const inWm = (i: number): boolean => head.labels[i] === LABEL.wm;
const mask = maskKind === 'head' ? headMask : defaultForegroundMask(head.image.data).mask;

const cvBefore = coefficientOfVariation(head.image.data, inWm);
const cvUnbiased = coefficientOfVariation(head.unbiased, inWm);
console.log(`${phantom > 0 ? `phantom patient ${phantom}` : `synthetic head, noise ${noise}, bias strength ${bias}`}, ${dims.join('×')}, mask ${maskKind}, shrink ${shrink} (${method}), iterations ${iterations.join('x')}`);
console.log(`WM CV: biased ${cvBefore.toFixed(4)}, bias-free ${cvUnbiased.toFixed(4)}`);

let best: N4Result | undefined;
const times: number[] = [];
for (let r = 0; r < repeat; r++) {
  const t = performance.now();
  const res = n4BiasFieldCorrection(head.image, { mask, shrinkFactor: shrink, shrinkMethod: method, iterations });
  times.push(performance.now() - t);
  best = res;
}
const ours = best as N4Result;
const corr = pearson(ours.logField.data, head.trueLogField, inHead);
const cvOurs = coefficientOfVariation(ours.corrected.data, inWm);
console.log(
  `ours: ${times.map((t) => (t / 1000).toFixed(2)).join(' / ')} s (min ${(Math.min(...times) / 1000).toFixed(2)} s); ` +
    `iterations ${ours.iterationsRun.join(',')}; timing ${JSON.stringify(Object.fromEntries(Object.entries(ours.timing).map(([k, v]) => [k, Math.round(v)])))}`,
);
console.log(`ours: log-field correlation (head) ${corr.toFixed(4)}, WM CV after ${cvOurs.toFixed(4)}${regionReport(ours.logField.data)}`);

if (itk !== '') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'n4-bench-'));
  try {
    const imgPath = path.join(dir, 'image.f32');
    const maskPath = path.join(dir, 'mask.u8');
    const outPath = path.join(dir, 'logfield.f32');
    fs.writeFileSync(imgPath, Buffer.from(head.image.data.buffer));
    const binaryMask = Uint8Array.from(mask, (m) => (m !== 0 ? 1 : 0));
    fs.writeFileSync(maskPath, Buffer.from(binaryMask.buffer));
    const args = [imgPath, maskPath, ...dims.map(String), ...head.image.spacing.map(String), String(shrink), iterations.join('x'), '0.001', '4', outPath];
    const itkTimes: number[] = [];
    let report = '';
    for (let r = 0; r < repeat; r++) {
      const t = performance.now();
      const p = spawnSync(itk, args, { encoding: 'utf8' });
      itkTimes.push(performance.now() - t);
      if (p.status !== 0) throw new Error(`ITK reference failed: ${p.stderr}`);
      report = p.stdout.trim();
    }
    const buf = fs.readFileSync(outPath);
    const itkLog = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    const itkCorrected = new Float32Array(itkLog.length);
    for (let i = 0; i < itkLog.length; i++) itkCorrected[i] = (head.image.data[i] as number) / Math.exp(itkLog[i] as number);
    console.log(`itk:  process ${itkTimes.map((t) => (t / 1000).toFixed(2)).join(' / ')} s; internal ${report}`);
    console.log(
      `itk:  log-field correlation (head) ${pearson(itkLog, head.trueLogField, inHead).toFixed(4)}, ` +
        `WM CV after ${coefficientOfVariation(itkCorrected, inWm).toFixed(4)}${regionReport(itkLog)}`,
    );
    console.log(`ours vs itk log-field correlation (head) ${pearson(ours.logField.data, itkLog, inHead).toFixed(4)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
