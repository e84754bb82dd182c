/**
 * The SynthRAD2023 image metrics on hand-computable cases: identical images (MAE 0, PSNR ∞,
 * SSIM 1), a constant offset (MAE = offset, PSNR = 20·log10(4024/offset)), clipping to
 * [−1024, 3000], masks, SSIM of constant images by its closed form, and the fast separable SSIM
 * against a brute-force 7×7×7 reference here and a NumPy transcription of skimage's algorithm
 * (uniform_filter, reflect borders, crop by 3) and of SynthRAD's masking.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Mri2ctError } from '../src/errors';
import type { Vec3 } from '../src/io/volume';
import { bulkDensityCt, imageMetrics, maskedMae, maskedPsnr, meanSd, SYNTHRAD_DATA_RANGE, synthradSsim } from '../src/infer/metrics';
import { evaluationCsv, formatEvaluation, summarizeEvaluation } from '../src/infer/evaluate';
import { ssim3d } from '../src/infer/ssim';
import { mulberry32 } from '../src/util/random';
import { runPythonJson } from './helpers/python';

const close = (a: number, b: number, tol: number, what = ''): void => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);

function volume(dims: Vec3, f: (x: number, y: number, z: number) => number): Float32Array {
  const out = new Float32Array(dims[0] * dims[1] * dims[2]);
  for (let z = 0, i = 0; z < dims[2]; z++) for (let y = 0; y < dims[1]; y++) for (let x = 0; x < dims[0]; x++, i++) out[i] = f(x, y, z);
  return out;
}

/** Brute force: every interior voxel, its 7×7×7 window summed directly (skimage's formulas). */
function ssimBrute(a: Float32Array, b: Float32Array, dims: Vec3, L: number, mask?: ArrayLike<number>): { mean: number; masked: number } {
  const [nx, ny] = dims;
  const w = 7;
  const r = 3;
  const N = w ** 3;
  const C1 = (0.01 * L) ** 2;
  const C2 = (0.03 * L) ** 2;
  let s = 0;
  let c = 0;
  let ms = 0;
  let mc = 0;
  for (let z = r; z < dims[2] - r; z++) {
    for (let y = r; y < ny - r; y++) {
      for (let x = r; x < nx - r; x++) {
        let sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
        for (let dz = -r; dz <= r; dz++) {
          for (let dy = -r; dy <= r; dy++) {
            for (let dx = -r; dx <= r; dx++) {
              const i = x + dx + nx * (y + dy + ny * (z + dz));
              const av = a[i]!;
              const bv = b[i]!;
              sa += av; sb += bv; saa += av * av; sbb += bv * bv; sab += av * bv;
            }
          }
        }
        const ux = sa / N, uy = sb / N;
        const k = N / (N - 1);
        const vx = k * (saa / N - ux * ux), vy = k * (sbb / N - uy * uy), vxy = k * (sab / N - ux * uy);
        const v = ((2 * ux * uy + C1) * (2 * vxy + C2)) / ((ux * ux + uy * uy + C1) * (vx + vy + C2));
        s += v;
        c++;
        if (mask !== undefined && mask[x + nx * (y + ny * z)] !== 0) {
          ms += v;
          mc++;
        }
      }
    }
  }
  return { mean: s / c, masked: ms / mc };
}

describe('MAE and PSNR (SynthRAD2023 definitions)', () => {
  const dims: Vec3 = [10, 9, 8];
  const rand = mulberry32(3);
  const ct = volume(dims, () => Math.round(-1000 + rand() * 3000));
  const mask = volume(dims, (x, y, z) => (x > 1 && x < 8 && y > 2 && z < 7 ? 1 : 0));

  it('identical images: MAE 0, PSNR +∞, SSIM 1', () => {
    const m = imageMetrics(ct, ct, mask, dims);
    assert.equal(m.maeHu, 0);
    assert.equal(m.psnrDb, Infinity);
    close(m.ssim, 1, 1e-12, 'SSIM');
    assert.equal(m.maskVoxels, mask.reduce((a, b) => a + b, 0));
  });

  it('a constant offset d inside the window: MAE = d, PSNR = 20·log10(4024/d)', () => {
    const inRange = volume(dims, () => Math.round(-900 + rand() * 2500)); // stays in range after +d
    for (const d of [1, 25, 100]) {
      const sct = inRange.map((v) => v + d);
      close(maskedMae(inRange, sct, mask), d, 1e-9, 'MAE');
      close(maskedPsnr(inRange, sct, mask), 20 * Math.log10(4024 / d), 1e-9, 'PSNR');
      // the sign does not matter
      close(maskedMae(sct, inRange, mask), d, 1e-9, 'MAE');
    }
    assert.equal(SYNTHRAD_DATA_RANGE, 4024);
  });

  it('only mask voxels count, and both images are clipped to [−1024, 3000] HU', () => {
    const a = new Float32Array([0, 0, 0, 5000, -3000]);
    const b = new Float32Array([10, 30, 999, 3000, -1024]);
    const m = new Uint8Array([1, 1, 0, 1, 1]);
    // |0−10|, |0−30|, |3000−3000| (5000 clipped), |−1024−(−1024)| (−3000 clipped): 40 / 4
    close(maskedMae(a, b, m), 10, 1e-12);
    close(maskedPsnr(a, b, m), 10 * Math.log10((4024 * 4024) / ((100 + 900) / 4)), 1e-9);
    // unclipped MAE (SynthRAD2023's own mae does not clip)
    close(maskedMae(a, b, m, null), (10 + 30 + 2000 + 1976) / 4, 1e-9);
    // mask values > 0 count (SynthRAD binarises with mask > 0)
    close(maskedMae(a, b, new Float32Array([0.5, 2, 0, 0, 0])), 20, 1e-12);
  });

  it('rejects an empty mask and mismatched sizes with a clear error', () => {
    assert.throws(() => maskedMae(ct, ct, new Uint8Array(ct.length)), (e: unknown) => e instanceof Mri2ctError && /mask is empty/.test(e.message));
    assert.throws(() => maskedMae(ct, ct.subarray(1), mask), Mri2ctError);
  });

  it('bulk density: water inside, air outside; a known MAE against a two-value CT', () => {
    const m = new Uint8Array([1, 1, 0, 1]);
    assert.deepEqual([...bulkDensityCt(m)], [0, 0, -1000, 0]);
    close(maskedMae(new Float32Array([40, -20, 0, 1000]), bulkDensityCt(m), m), (40 + 20 + 1000) / 3, 1e-12);
  });

  it('mean ± sample sd, infinite values left out', () => {
    const s = meanSd([1, 2, 3, Infinity]);
    assert.equal(s.mean, 2);
    close(s.sd, 1, 1e-12);
    assert.equal(s.nonFinite, 1);
    assert.equal(meanSd([5]).sd, 0);
  });
});

describe('SSIM (skimage structural_similarity, 7×7×7, SynthRAD masking)', () => {
  it('constant images: the closed form (2ab + C1)/(a² + b² + C1)', () => {
    const dims: Vec3 = [8, 8, 8];
    const L = 4024;
    const C1 = (0.01 * L) ** 2;
    for (const [a, b] of [[100, 100], [100, 300], [0, 4024], [2000, 1000]] as const) {
      const r = ssim3d(new Float32Array(512).fill(a), new Float32Array(512).fill(b), dims, { dataRange: L });
      close(r.mean, (2 * a * b + C1) / (a * a + b * b + C1), 1e-12, `${a},${b}`);
      assert.equal(r.interiorVoxels, 2 * 2 * 2);
    }
  });

  it('the separable running-sum SSIM equals the brute-force window sums', () => {
    const dims: Vec3 = [13, 11, 10];
    const rand = mulberry32(11);
    const a = volume(dims, (x, y, z) => Math.round(1000 + 800 * Math.sin(x / 2) * Math.cos(y / 3) + 300 * z + 200 * rand()));
    const b = a.map((v) => Math.round(v + 3000 * (rand() - 0.5) + 50));
    const mask = volume(dims, (x, y) => (x + y > 9 ? 1 : 0));
    const fast = ssim3d(a, b, dims, { dataRange: 4024, mask });
    const ref = ssimBrute(a, b, dims, 4024, mask);
    close(fast.mean, ref.mean, 1e-12, 'mean');
    close(fast.maskedMean, ref.masked, 1e-12, 'masked mean');
    assert.ok(fast.mean < 0.99 && fast.mean > 0.1, `a non-trivial case: ${fast.mean}`);
    // non-integer values too (the running sums are then not exact, but float64 is plenty)
    const af = a.map((v) => v + 0.37 * rand());
    close(ssim3d(af, b, dims, { dataRange: 4024 }).mean, ssimBrute(af, b, dims, 4024).mean, 1e-10, 'float');
  });

  it('matches a NumPy transcription of skimage + SynthRAD2023 (uniform_filter, reflect, crop 3, mask)', () => {
    const dims: Vec3 = [12, 10, 9];
    const rand = mulberry32(5);
    const ct = volume(dims, (x, y, z) => Math.round(-1000 + 2000 * rand() * (x > 2 && y > 1 ? 1 : 0.1) + 100 * z));
    const sct = ct.map((v) => Math.round(v + 400 * (rand() - 0.5)));
    const mask = volume(dims, (x, y, z) => (x > 2 && x < 11 && y > 1 && z > 0 ? 1 : 0));
    const ours = synthradSsim(ct, sct, mask, dims);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-ssim-'));
    try {
      const file = path.join(dir, 'in.json');
      fs.writeFileSync(file, JSON.stringify({ dims, ct: [...ct], sct: [...sct], mask: [...mask] }));
      // skimage.metrics.structural_similarity with its defaults, written out in NumPy (no skimage
      // here): scipy.ndimage.uniform_filter(size=7) has mode 'reflect' = NumPy's pad 'symmetric'.
      const script = `
import json, sys
import numpy as np
d = json.load(open(sys.argv[1]))
nx, ny, nz = d['dims']
arr = lambda k: np.array(d[k], dtype=np.float64).reshape(nz, ny, nx)
gt, pred, mask = arr('ct'), arr('sct'), arr('mask')
lo, hi = -1024.0, 3000.0
gt = np.clip(gt, lo, hi); pred = np.clip(pred, lo, hi)
mask = np.where(mask > 0, 1.0, 0.0)
gt = np.where(mask == 0, lo, gt) - lo; pred = np.where(mask == 0, lo, pred) - lo
def uniform(x, size=7):
    r = size // 2
    p = np.pad(x, r, mode='symmetric')
    for ax in range(3):
        c = np.cumsum(p, axis=ax)
        c = np.concatenate([np.zeros_like(np.take(c, [0], axis=ax)), c], axis=ax)
        n = c.shape[ax]
        p = (np.take(c, range(size, n), axis=ax) - np.take(c, range(0, n - size), axis=ax)) / size
    return p
R = hi - lo; C1 = (0.01 * R) ** 2; C2 = (0.03 * R) ** 2
NP = 7 ** 3; cov = NP / (NP - 1)
ux, uy = uniform(gt), uniform(pred)
uxx, uyy, uxy = uniform(gt * gt), uniform(pred * pred), uniform(gt * pred)
vx, vy, vxy = cov * (uxx - ux * ux), cov * (uyy - uy * uy), cov * (uxy - ux * uy)
S = ((2 * ux * uy + C1) * (2 * vxy + C2)) / ((ux ** 2 + uy ** 2 + C1) * (vx + vy + C2))
crop = lambda a: a[3:-3, 3:-3, 3:-3]
print(json.dumps({'masked': float(crop(S)[crop(mask).astype(bool)].mean()), 'full': float(crop(S).mean())}))
`;
      const ref = runPythonJson<{ masked: number; full: number }>(script, [file]);
      close(ours, ref.masked, 1e-9, 'masked SSIM vs NumPy');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('outside the mask nothing matters; too small a volume is a clear error', () => {
    const dims: Vec3 = [9, 9, 9];
    const rand = mulberry32(2);
    const ct = volume(dims, () => Math.round(rand() * 1000));
    const mask = volume(dims, (x, y, z) => (x >= 2 && x <= 6 && y >= 2 && y <= 6 && z >= 2 && z <= 6 ? 1 : 0));
    const sct = ct.map((v, i) => (mask[i] ? v : -5000 + i)); // garbage outside
    close(synthradSsim(ct, sct, mask, dims), 1, 1e-12);
    assert.throws(() => ssim3d(new Float32Array(6 * 9 * 9), new Float32Array(6 * 9 * 9), [6, 9, 9], { dataRange: 1 }), /at least 7 voxels/);
  });
});

describe('evaluation tables', () => {
  it('CSV rows, summary (mean ± sd) and the text table', () => {
    const m = (mae: number, psnr: number, ssim: number) => ({ maeHu: mae, psnrDb: psnr, ssim, maskVoxels: 100 });
    const r = {
      patients: [
        { id: 'a', sct: m(80, 28, 0.9), baseline: m(200, 20, 0.7), maskSource: 'masks/a.nii.gz', files: { pred: 'a', ct: 'a' }, seconds: 1 },
        { id: 'b', sct: m(100, 26, 0.8), baseline: m(220, 19, 0.6), maskSource: 'x, "y"', files: { pred: 'b', ct: 'b' }, seconds: 1 },
      ],
      failed: [{ id: 'c', error: 'no CT' }],
    };
    const csv = evaluationCsv(r).trim().split('\n');
    assert.equal(csv[0], 'id,mae_hu,psnr_db,ssim,baseline_mae_hu,baseline_psnr_db,baseline_ssim,mask_voxels,mask_source');
    assert.equal(csv[1], 'a,80.000,28.0000,0.90000,200.000,20.0000,0.70000,100,masks/a.nii.gz');
    assert.ok(csv[2]!.endsWith(',"x, ""y"""'));
    const s = summarizeEvaluation(r);
    assert.equal(s.rows[0]!.sct.mean, 90);
    close(s.rows[0]!.sct.sd, Math.SQRT2 * 10, 1e-12);
    const text = formatEvaluation(r);
    assert.match(text, /MAE \[HU\]\s+90\.0 ± 14\.1\s+210\.0 ± 14\.1/);
    assert.match(text, /FAILED c: no CT/);
  });
});
