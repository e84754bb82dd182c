/**
 * Synthetic T1-like head with a known smooth multiplicative bias field, for the N4 benchmark
 * (the unit tests carry their own smaller copy of this generator).
 * Tissue classes: 0 air, 1 scalp, 2 skull, 3 CSF, 4 GM, 5 WM (folded GM/WM boundary, ventricles).
 */

import { diagonalAffine, type Vec3, type Volume } from '../../src/io/volume';
import { mulberry32 } from '../../src/util/random';

export interface SyntheticHead {
  /** Biased, noisy image. */
  image: Volume;
  /** Same noise, no bias. */
  unbiased: Float32Array;
  /** True log bias field (zero mean over the head). */
  trueLogField: Float32Array;
  /** Tissue labels. */
  labels: Uint8Array;
}

export const LABEL = { air: 0, scalp: 1, skull: 2, csf: 3, gm: 4, wm: 5 } as const;


export function generateSyntheticHead(
  dims: Vec3,
  opts: { seed?: number; noise?: number; biasStrength?: number; spacing?: Vec3 } = {},
): SyntheticHead {
  const [nx, ny, nz] = dims;
  const spacing = opts.spacing ?? [1, 1, 1];
  const rand = mulberry32(opts.seed ?? 1);
  const gauss = (): number => {
    const u = Math.max(rand(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
  const sigma = opts.noise ?? 0.03;
  const strength = opts.biasStrength ?? 0.3;
  const n = nx * ny * nz;
  const img = new Float32Array(n);
  const unbiased = new Float32Array(n);
  const logField = new Float32Array(n);
  const labels = new Uint8Array(n);
  const intensity = [0, 0.8, 0.12, 0.3, 0.62, 1.0];
  // Physical extent so the head fills the field of view whatever the spacing.
  const ex = nx * spacing[0];
  const ey = ny * spacing[1];
  const ez = nz * spacing[2];
  let i = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) {
        // Normalised coordinates in [-1, 1] over the field of view.
        const X = ((x + 0.5) * spacing[0]) / ex * 2 - 1;
        const Y = ((y + 0.5) * spacing[1]) / ey * 2 - 1;
        const Z = ((z + 0.5) * spacing[2]) / ez * 2 - 1;
        const hx = X / 0.8;
        const hy = Y / 0.9;
        const hz = (Z + 0.05) / 0.85;
        const r = Math.sqrt(hx * hx + hy * hy + hz * hz);
        const theta = Math.atan2(hy, hx);
        const phi = Math.acos(Math.max(-1, Math.min(1, hz / Math.max(r, 1e-9))));
        const wmEdge = 0.62 + 0.07 * Math.sin(7 * theta) * Math.sin(6 * phi) + 0.03 * Math.cos(11 * theta + 3 * phi);
        const vx = hx / 0.12;
        const vy = (hy - 0.05) / 0.3;
        const vz = hz / 0.15;
        const ventricle = (Math.abs(hx) > 0.03 && vx * vx + vy * vy + vz * vz < 1) ? 1 : 0;
        let label: number;
        if (r > 1) label = LABEL.air;
        else if (r > 0.92) label = LABEL.scalp;
        else if (r > 0.84) label = LABEL.skull;
        else if (r > 0.8) label = LABEL.csf;
        else if (ventricle) label = LABEL.csf;
        else if (r > wmEdge) label = LABEL.gm;
        else label = LABEL.wm;
        labels[i] = label;
        // Smooth field: quadratic-ish polynomial in the normalised coordinates.
        const p = 0.8 * X - 0.35 * Y + 0.5 * Y * Y - 0.45 * X * Z + 0.55 * Z + 0.25 * X * Y;
        const lf = strength * p;
        logField[i] = lf;
        const s = intensity[label] as number;
        const n1 = sigma * gauss();
        const n2 = sigma * gauss();
        const b = Math.exp(lf);
        img[i] = Math.hypot(s * b + n1, n2);
        unbiased[i] = Math.hypot(s + n1, n2);
      }
    }
  }
  // Zero mean over the head: the field's scale is arbitrary anyway.
  let sum = 0;
  let cnt = 0;
  for (let k = 0; k < n; k++) if (labels[k] !== 0) { sum += logField[k] as number; cnt++; }
  const mean = sum / Math.max(1, cnt);
  for (let k = 0; k < n; k++) logField[k] = (logField[k] as number) - mean;
  return {
    image: { data: img, dims: [nx, ny, nz], spacing: [spacing[0], spacing[1], spacing[2]], affine: diagonalAffine(spacing) },
    unbiased,
    trueLogField: logField,
    labels,
  };
}

/** Pearson correlation of a and b over voxels where sel is true. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>, sel: (i: number) => boolean): number {
  let n = 0, sa = 0, sb = 0;
  for (let i = 0; i < a.length; i++) if (sel(i)) { n++; sa += a[i] as number; sb += b[i] as number; }
  const ma = sa / n, mb = sb / n;
  let cab = 0, caa = 0, cbb = 0;
  for (let i = 0; i < a.length; i++) {
    if (!sel(i)) continue;
    const da = (a[i] as number) - ma, db = (b[i] as number) - mb;
    cab += da * db; caa += da * da; cbb += db * db;
  }
  return cab / Math.sqrt(caa * cbb);
}

/** Coefficient of variation of v over voxels where sel is true. */
export function coefficientOfVariation(v: ArrayLike<number>, sel: (i: number) => boolean): number {
  let n = 0, s = 0, s2 = 0;
  for (let i = 0; i < v.length; i++) if (sel(i)) { const x = v[i] as number; n++; s += x; s2 += x * x; }
  const m = s / n;
  return Math.sqrt(Math.max(0, s2 / n - m * m)) / m;
}
