/**
 * Where N4 misses the phantom's true bias field, patient by patient.
 *
 *   node --import tsx bench/n4/phantom-cohort.ts [--patients 1-10] [--dims 256,256,160]
 *        [--shrink 4] [--method subsample|mean] [--iterations 50x50x50x50] [--control 1]
 *
 * For each phantom patient (seed 1) N4 runs as the preprocessing pipeline runs it (no mask, so the
 * default Otsu foreground; the other settings from the flags) and the estimated log field is
 * compared with the truth (Pearson correlation) over the head mask, over the head without the
 * face/neck soft tissue (label SOFT_TISSUE, everything below the skull base except skin, fat,
 * sinuses and eyes), intracranially (CSF, GM, WM, ventricles) and in white matter. It also prints
 * which share of the squared error (head means removed) falls in that soft tissue, the mean error
 * there (log units; negative = N4 brightens it), and the white-matter CV after correction relative
 * to the true correction (MRI / true bias).
 *
 * --control 1 adds a control run: N4 on the bias-free image (MRI / true bias). Any field it finds
 * comes from the anatomy alone; the printed figure is its mean over the face/neck soft tissue minus
 * its mean over white matter.
 */

import { generatePhantomPatient } from '../../src/phantom/generate';
import { LABEL } from '../../src/phantom/labels';
import { n4BiasFieldCorrection, type N4Options } from '../../src/preprocess/n4';
import { coefficientOfVariation, pearson } from './synthetic-head';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? (process.argv[i + 1] as string) : fallback;
}

function parsePatients(spec: string): number[] {
  return spec.split(',').flatMap((part) => {
    const [a, b] = part.split('-').map(Number) as [number, number | undefined];
    return b === undefined ? [a] : Array.from({ length: b - a + 1 }, (_, k) => a + k);
  });
}

const patients = parsePatients(arg('patients', '1-10'));
const dims = arg('dims', '256,256,160').split(',').map(Number) as [number, number, number];
const options: N4Options = {
  shrinkFactor: Number(arg('shrink', '4')),
  shrinkMethod: arg('method', 'subsample') as 'mean' | 'subsample',
  iterations: arg('iterations', '50x50x50x50').split('x').map(Number),
};
const control = arg('control', '0') === '1';
const INTRACRANIAL = new Set<number>([LABEL.CSF, LABEL.GREY_MATTER, LABEL.WHITE_MATTER, LABEL.VENTRICLE]);

function mean(v: ArrayLike<number>, sel: (i: number) => boolean): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    if (!sel(i)) continue;
    s += v[i] as number;
    n++;
  }
  return s / n;
}

console.log(`phantom seed 1, ${dims.join('×')}, N4 ${JSON.stringify(options)}, default (Otsu) mask`);
console.log('patient | r head | r head w/o face/neck ST | r intracranial | r WM | ST share of sq. error | ST mean error | WM CV / true' + (control ? ' | control: ST−WM field on the bias-free image' : ''));
const headR: number[] = [];
for (const index of patients) {
  const p = generatePhantomPatient(index, { size: dims, seed: 1 });
  const n = p.mri.data.length;
  const L = p.labels.data;
  const H = p.headMask.data;
  const trueLog = new Float32Array(n);
  const ideal = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    trueLog[i] = Math.log(p.bias.data[i] as number);
    ideal[i] = (p.mri.data[i] as number) / (p.bias.data[i] as number);
  }
  const inHead = (i: number): boolean => H[i] !== 0;
  const inSt = (i: number): boolean => L[i] === LABEL.SOFT_TISSUE;
  const inWm = (i: number): boolean => L[i] === LABEL.WHITE_MATTER;
  const r = n4BiasFieldCorrection(p.mri, options);
  const est = r.logField.data;

  const me = mean(est, inHead);
  const mt = mean(trueLog, inHead);
  let errAll = 0;
  let errSt = 0;
  let sumSt = 0;
  let nSt = 0;
  let nHead = 0;
  for (let i = 0; i < n; i++) {
    if (H[i] === 0) continue;
    nHead++;
    const d = (est[i] as number) - me - ((trueLog[i] as number) - mt);
    errAll += d * d;
    if (L[i] === LABEL.SOFT_TISSUE) {
      errSt += d * d;
      sumSt += d;
      nSt++;
    }
  }
  const rHead = pearson(est, trueLog, inHead);
  headR.push(rHead);
  const cells = [
    `P${index}`,
    rHead.toFixed(3),
    pearson(est, trueLog, (i) => H[i] !== 0 && L[i] !== LABEL.SOFT_TISSUE).toFixed(3),
    pearson(est, trueLog, (i) => INTRACRANIAL.has(L[i] as number)).toFixed(3),
    pearson(est, trueLog, inWm).toFixed(3),
    `${((100 * errSt) / errAll).toFixed(0)}% (${((100 * nSt) / nHead).toFixed(0)}% of voxels)`,
    (sumSt / nSt).toFixed(3),
    (coefficientOfVariation(r.corrected.data, inWm) / coefficientOfVariation(ideal, inWm)).toFixed(3),
  ];
  if (control) {
    const c = n4BiasFieldCorrection({ ...p.mri, data: ideal }, options).logField.data;
    cells.push((mean(c, inSt) - mean(c, inWm)).toFixed(3));
  }
  console.log(cells.join(' | '));
}
console.log(`head correlation >= 0.95: ${headR.filter((v) => v >= 0.95).length} of ${headR.length} patients; min ${Math.min(...headR).toFixed(3)}`);
