/**
 * Preprocessing steps 2–8 (src/preprocess): head mask, MRI-guided CT artifact removal, clipping,
 * normalisation, ROI crop, slice resize (and its inverse) and clamping, on a synthetic head built
 * here (scalp, dark skull, brain, ventricles, an air sinus, an ear canal open to the outside,
 * a neck running out of the field of view, noise, a bright MRI marker beside the head; a CT with a
 * couch below and an object beside the head), plus a Dice check against the project's phantom
 * generator at a small size. Everything is small so the file runs in a few seconds.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ConfigError, Mri2ctError, PairMismatchError } from '../src/errors';
import { diagonalAffine, type Affine, type Vec3, type Volume } from '../src/io/volume';
import { generatePhantomPatient } from '../src/phantom/generate';
import { FIRST_OBJECT_LABEL } from '../src/phantom/labels';
import { clamp01 } from '../src/preprocess/clamp';
import { clipCt, clipMri } from '../src/preprocess/clip';
import { cropBoxFromMask, cropVolume, uncropArray, type CropBox } from '../src/preprocess/crop';
import { removeCtArtifacts } from '../src/preprocess/ct-artifacts';
import { headMask, headMaskWithStats } from '../src/preprocess/head-mask';
import { dilate } from '../src/preprocess/morphology';
import { denormalizeCt, normalizeCt, normalizedHu, normalizeMri } from '../src/preprocess/normalize';
import { percentiles } from '../src/preprocess/percentile';
import { resizeSlices, unresizeSlices } from '../src/preprocess/resize';
import { mulberry32 } from '../src/util/random';

// ---------------------------------------------------------------------------------------------
// Synthetic head


/** Region of each voxel of the synthetic head. */
const R = { AIR: 0, SCALP: 1, SKULL: 2, BRAIN: 3, VENTRICLE: 4, SINUS: 5, EAR: 6, NECK: 7, COUCH: 8, OBJECT: 9, MARKER: 10 };

interface SyntheticHead {
  mri: Volume<Float32Array>;
  ct: Volume<Float32Array>;
  /** Anatomy (everything in the head, including air cavities). */
  truth: Uint8Array;
  region: Uint8Array;
}

/**
 * Ellipsoidal head: 6 mm scalp (bright), 10 mm skull (dark on MRI, 1000 HU), brain, dark
 * ventricles, an air sinus behind the forehead, ear canals (3 mm radius) from the outside into
 * the skull, a neck cylinder down to z = 0. Outside: Rician-like noise, salt noise, a bright
 * MRI marker sphere 15 mm from the head; CT only: a couch slab below and an object beside.
 */
function syntheticHead(dims: Vec3, spacing: Vec3, seed = 1): SyntheticHead {
  const [nx, ny, nz] = dims;
  const n = nx * ny * nz;
  const rand = mulberry32(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const [ex, ey, ez] = [nx * spacing[0], ny * spacing[1], nz * spacing[2]];
  const [cx, cy, cz] = [ex / 2, ey / 2 + 5, ez * 0.52];
  const [a, b, c] = [ex * 0.36, ey * 0.38, ez * 0.42];
  const inE = (dx: number, dy: number, dz: number, t: number): boolean =>
    (dx / (a - t)) ** 2 + (dy / (b - t)) ** 2 + (dz / (c - t)) ** 2 <= 1;
  const region = new Uint8Array(n);
  const mri = new Float32Array(n);
  const ct = new Float32Array(n);
  const truth = new Uint8Array(n);
  const markerCentre = [cx + a + 15 + 5, cy, cz + 10];
  const mriOf = [0, 0.6, 0.05, 0.75, 0.2, 0.02, 0.02, 0.55, 0, 0, 0.9];
  const huOf = [-1000, 40, 1000, 35, 5, -1000, -1000, 45, 250, 600, -1000];
  let i = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) {
        const [px, py, pz] = [(x + 0.5) * spacing[0], (y + 0.5) * spacing[1], (z + 0.5) * spacing[2]];
        const [dx, dy, dz] = [px - cx, py - cy, pz - cz];
        const neck = pz <= cz && (dx / (a * 0.6)) ** 2 + (dy / (b * 0.55)) ** 2 <= 1;
        let r = R.AIR;
        if (inE(dx, dy, dz, 0) || neck) {
          truth[i] = 1;
          r = neck && !inE(dx, dy, dz, 0) ? R.NECK : R.SCALP;
          const cranium = dz > -0.45 * c;
          if (cranium && inE(dx, dy, dz, 6)) r = R.SKULL;
          if (cranium && inE(dx, dy, dz, 16)) r = R.BRAIN;
          if ((dx / 10) ** 2 + (dy / 14) ** 2 + (dz / 8) ** 2 <= 1) r = R.VENTRICLE;
          if ((dx / 14) ** 2 + ((dy - (b - 22)) / 9) ** 2 + ((dz + 12) / 9) ** 2 <= 1) r = R.SINUS;
          if (Math.abs(dx) > a - 14 && dy ** 2 + (dz + 8) ** 2 <= 9) r = R.EAR;
        } else if (py >= cy - b - 22 && py <= cy - b - 12) {
          r = R.COUCH;
        } else if (px < a * 0.25 && Math.abs(dy) < 20 && Math.abs(dz) < 15) {
          r = R.OBJECT;
        } else if ((px - markerCentre[0]!) ** 2 + (py - markerCentre[1]!) ** 2 + (pz - markerCentre[2]!) ** 2 <= 25) {
          r = R.MARKER;
        }
        region[i] = r;
        mri[i] = Math.abs(mriOf[r]! + 0.03 * gauss());
        ct[i] = Math.round(huOf[r]! + 8 * gauss());
      }
    }
  }
  for (let k = 0; k < n / 2000; k++) {
    const j = Math.floor(rand() * n);
    if (region[j] === R.AIR) mri[j] = 0.8; // salt noise outside the head
  }
  const affine = diagonalAffine(spacing, [-cx, -cy, -cz]);
  return {
    mri: { data: mri, dims, spacing, affine },
    ct: { data: ct, dims, spacing, affine: affine.map((row) => row.slice()) },
    truth,
    region,
  };
}

function dice(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let inter = 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ? 1 : 0;
    const y = b[i] ? 1 : 0;
    inter += x & y;
    sa += x;
    sb += y;
  }
  return (2 * inter) / (sa + sb);
}

function countWhere(n: number, pred: (i: number) => boolean): number {
  let c = 0;
  for (let i = 0; i < n; i++) if (pred(i)) c++;
  return c;
}

function world(affine: Affine, v: Vec3): Vec3 {
  const row = (r: number): number => {
    const m = affine[r]!;
    return m[0]! * v[0] + m[1]! * v[1] + m[2]! * v[2] + m[3]!;
  };
  return [row(0), row(1), row(2)];
}

const DIMS: Vec3 = [112, 128, 96];
const SPACING: Vec3 = [1.5, 1.5, 1.5];
const HEAD = syntheticHead(DIMS, SPACING);
const N = HEAD.truth.length;

// ---------------------------------------------------------------------------------------------

describe('headMask (step 2)', () => {
  const { mask, stats } = headMaskWithStats(HEAD.mri, { what: 'synthetic MRI' });

  it('matches the known head with Dice ≥ 0.98', () => {
    const d = dice(mask, HEAD.truth);
    assert.ok(d >= 0.98, `Dice ${d.toFixed(4)}`);
    assert.ok(stats.components > 1 && stats.voxels === countWhere(N, (i) => mask[i] === 1));
    assert.ok(Math.abs(stats.volumeMl - (stats.voxels * 1.5 ** 3) / 1000) < 1e-9);
    assert.ok(stats.contrast > 10, `contrast ${stats.contrast}`);
  });

  it('includes the dark skull, ventricles, sinus and ear canals inside the head', () => {
    for (const r of [R.SKULL, R.VENTRICLE, R.SINUS]) {
      const missed = countWhere(N, (i) => HEAD.region[i] === r && mask[i] === 0);
      assert.equal(missed, 0, `region ${r}: ${missed} voxels missed`);
    }
    const ear = countWhere(N, (i) => HEAD.region[i] === R.EAR);
    const earMissed = countWhere(N, (i) => HEAD.region[i] === R.EAR && mask[i] === 0);
    assert.ok(earMissed <= 0.1 * ear, `ear canal: ${earMissed} of ${ear} voxels missed`);
  });

  it('excludes outside noise, the marker and everything more than a closing radius away', () => {
    assert.equal(countWhere(N, (i) => HEAD.region[i] === R.MARKER && mask[i] === 1), 0);
    const near = dilate(HEAD.truth, DIMS, { radiusMm: 4, spacing: SPACING });
    assert.equal(countWhere(N, (i) => mask[i] === 1 && near[i] === 0), 0);
  });

  it('returns the same mask from headMask and throws Mri2ctError when there is no head', () => {
    assert.deepEqual(headMask(HEAD.mri, { what: 'synthetic MRI' }), mask);
    const blank: Volume<Float32Array> = { ...HEAD.mri, data: new Float32Array(N) };
    assert.throws(() => headMask(blank, { what: 'MRI of p9' }), (e: unknown) => {
      return e instanceof Mri2ctError && /no head found in MRI of p9/.test(e.message);
    });
    // background noise and one small bright object: far too small to be a head
    const rand = mulberry32(5);
    const speck = { ...HEAD.mri, data: Float32Array.from({ length: N }, () => rand() * 0.02) };
    for (let z = 40; z < 44; z++) for (let y = 60; y < 64; y++) for (let x = 50; x < 54; x++) speck.data[x + DIMS[0] * (y + DIMS[1] * z)] = 1;
    assert.throws(() => headMask(speck, { what: 'MRI of p10' }), /no head found in MRI of p10/);
    // pure noise (e.g. a wrong series): whatever region is found has no contrast
    const noise = { ...HEAD.mri, data: Float32Array.from({ length: N }, () => Math.abs(rand() - 0.5) * 0.1) };
    assert.throws(() => headMask(noise, { what: 'MRI of p11' }), /no head found in MRI of p11: .*looks like noise/);
    // noise of uneven level: the noisier half is found, but it is barely brighter than the rest
    const uneven = { ...HEAD.mri, data: HEAD.mri.data.map((_v, i) => (i % DIMS[0] < DIMS[0] / 2 ? 0.1 : 0.04) * rand()) };
    assert.throws(() => headMask(uneven), /contrast .* looks like noise/);
    // a tiny object on a zero background is too small to be a head
    const tiny = { ...HEAD.mri, data: new Float32Array(N) };
    for (let x = 0; x < 8; x++) tiny.data[x + DIMS[0] * (60 + DIMS[1] * 40)] = 1;
    assert.throws(() => headMask(tiny), /no head found in the MRI: the largest bright region is only/);
    assert.throws(() => headMask(HEAD.mri, { otsuFraction: 0 }), ConfigError);
    assert.throws(() => headMask(HEAD.mri, { closingMm: -1 }), ConfigError);
  });

  it('does not modify the MRI', () => {
    const copy = HEAD.mri.data.slice();
    headMask(HEAD.mri);
    assert.deepEqual(HEAD.mri.data, copy);
  });
});

describe('removeCtArtifacts (step 3)', () => {
  const mask = headMask(HEAD.mri);
  const ctBefore = HEAD.ct.data.slice();
  const result = removeCtArtifacts(HEAD.ct, mask, { dilateMm: 5 });
  const out = result.volume.data;

  it('turns the couch and the object beside the head into air', () => {
    for (const r of [R.COUCH, R.OBJECT]) {
      const total = countWhere(N, (i) => HEAD.region[i] === r);
      assert.ok(total > 100);
      assert.equal(countWhere(N, (i) => HEAD.region[i] === r && out[i] !== -1000), 0, `region ${r}`);
    }
    assert.equal(countWhere(N, (i) => result.keptMask[i] === 0 && out[i] !== -1000), 0);
  });

  it('leaves every voxel inside the head and the dilated mask unchanged', () => {
    assert.equal(countWhere(N, (i) => HEAD.truth[i] === 1 && out[i] !== ctBefore[i]), 0);
    assert.equal(countWhere(N, (i) => result.keptMask[i] === 1 && out[i] !== ctBefore[i]), 0);
    // the kept region is the head mask dilated by 5 mm
    assert.deepEqual(result.keptMask, dilate(mask, DIMS, { radiusMm: 5, spacing: SPACING }));
  });

  it('counts the changed voxels and keeps the geometry; the input is untouched', () => {
    assert.equal(result.changedVoxels, countWhere(N, (i) => out[i] !== ctBefore[i]));
    assert.equal(result.outsideVoxels, countWhere(N, (i) => result.keptMask[i] === 0));
    assert.deepEqual(HEAD.ct.data, ctBefore);
    assert.deepEqual(result.volume.dims, DIMS);
    assert.deepEqual(result.volume.affine, HEAD.ct.affine);
  });

  it('writes the requested air value and rejects a mask of another size', () => {
    const r = removeCtArtifacts(HEAD.ct, mask, { airHu: -1024 });
    assert.equal(countWhere(N, (i) => HEAD.region[i] === R.COUCH && r.volume.data[i] !== -1024), 0);
    assert.throws(() => removeCtArtifacts(HEAD.ct, mask.subarray(1)), PairMismatchError);
    assert.throws(() => removeCtArtifacts(HEAD.ct, mask, { dilateMm: -2 }), ConfigError);
  });
});

describe('clipping (step 4)', () => {
  it('clipMri uses the in-mask percentiles and clips the whole volume to them', () => {
    const mask = HEAD.truth;
    const r = clipMri(HEAD.mri, mask);
    const inside = Array.from(HEAD.mri.data).filter((_, i) => mask[i] === 1).sort((x, y) => x - y);
    const ref = (p: number): number => {
      const h = ((inside.length - 1) * p) / 100;
      const lo = Math.floor(h);
      return inside[lo]! + (h - lo) * (inside[Math.min(lo + 1, inside.length - 1)]! - inside[lo]!);
    };
    assert.ok(Math.abs(r.low - ref(0.5)) < 1e-9);
    assert.ok(Math.abs(r.high - ref(99.5)) < 1e-9);
    const lo = Math.fround(r.low);
    const hi = Math.fround(r.high);
    assert.ok(r.volume.data.every((v) => v >= lo && v <= hi));
    assert.equal(r.clippedLow, countWhere(N, (i) => HEAD.mri.data[i]! < r.low));
    assert.equal(r.clippedHigh, countWhere(N, (i) => HEAD.mri.data[i]! > r.high));
    const custom = clipMri(HEAD.mri, mask, { lowPercentile: 5, highPercentile: 95 });
    assert.deepEqual([custom.low, custom.high], percentiles(HEAD.mri.data, [5, 95], { mask }));
    assert.throws(() => clipMri(HEAD.mri, mask, { lowPercentile: 60, highPercentile: 40 }), ConfigError);
    assert.throws(() => clipMri(HEAD.mri, new Uint8Array(N)), Mri2ctError);
  });

  it('clipCt clips to the HU window (default −1024…3000)', () => {
    const ct: Volume<Int16Array> = {
      data: Int16Array.from([-3024, -1024, -1000, 0, 2999, 3000, 3001, 8000]),
      dims: [8, 1, 1],
      spacing: [1, 1, 1],
      affine: diagonalAffine([1, 1, 1]),
    };
    const r = clipCt(ct);
    assert.deepEqual(Array.from(r.volume.data), [-1024, -1024, -1000, 0, 2999, 3000, 3000, 3000]);
    assert.equal(r.clippedLow, 1);
    assert.equal(r.clippedHigh, 2);
    assert.deepEqual(Array.from(clipCt(ct, { minHu: -100, maxHu: 100 }).volume.data), [-100, -100, -100, 0, 100, 100, 100, 100]);
    assert.throws(() => clipCt(ct, { minHu: 10, maxHu: 10 }), ConfigError);
  });
});

describe('normalisation (step 5)', () => {
  it('maps the CT window to [0, 1] and back to HU within float32 precision', () => {
    const hu = Float32Array.from({ length: 4025 }, (_, k) => -1024 + k);
    const ct: Volume<Float32Array> = { data: hu, dims: [4025, 1, 1], spacing: [1, 1, 1], affine: diagonalAffine([1, 1, 1]) };
    const { volume, mapping } = normalizeCt(ct, -1024, 3000);
    assert.deepEqual(mapping, { kind: 'linear', low: -1024, high: 3000 });
    assert.deepEqual(JSON.parse(JSON.stringify(mapping)), mapping);
    assert.equal(volume.data[0], 0);
    assert.equal(volume.data[4024], 1);
    const back = denormalizeCt(volume.data, mapping.low, mapping.high);
    for (let k = 0; k < hu.length; k++) {
      assert.ok(Math.abs(back[k]! - hu[k]!) <= 4e-4, `HU ${hu[k]} came back as ${back[k]}`);
      assert.ok(Math.round(back[k]!) === hu[k]); // === so that −0 counts as 0
    }
    assert.equal(normalizedHu(-1000), Math.fround(24 / 4024));
  });

  it('maps the MRI clip range to [0, 1]', () => {
    const clipped = clipMri(HEAD.mri, HEAD.truth);
    const { volume, mapping } = normalizeMri(clipped.volume, clipped.low, clipped.high);
    assert.deepEqual(mapping, { kind: 'linear', low: clipped.low, high: clipped.high });
    assert.ok(volume.data.every((v) => v >= -1e-6 && v <= 1 + 1e-6));
    assert.throws(() => normalizeMri(clipped.volume, 3, 3), Mri2ctError);
  });
});

describe('ROI crop (step 6)', () => {
  const mask = headMask(HEAD.mri);

  it('contains the mask with the margin, clamped to the volume', () => {
    const box = cropBoxFromMask(mask, DIMS, { marginMm: 6, spacing: SPACING });
    const tight = cropBoxFromMask(mask, DIMS);
    for (let a = 0; a < 3; a++) {
      const lo = Math.max(0, tight.start[a]! - 4);
      const hi = Math.min(DIMS[a]!, tight.start[a]! + tight.size[a]! + 4);
      assert.equal(box.start[a], lo);
      assert.equal(box.start[a]! + box.size[a]!, hi);
    }
    assert.equal(box.start[2], 0); // the neck runs out of the volume at z = 0
    const cropped = cropVolume({ ...HEAD.mri, data: mask }, box);
    assert.equal(countWhere(cropped.data.length, (i) => cropped.data[i] === 1), countWhere(N, (i) => mask[i] === 1));
    assert.ok(cropped.data instanceof Uint8Array);
    assert.deepEqual(cropBoxFromMask(mask, DIMS, { marginVoxels: [1, 2, 3] }).start, [
      tight.start[0] - 1,
      tight.start[1] - 2,
      0,
    ]);
  });

  it('moves the affine so cropped voxel (0,0,0) is the original voxel start, also when rotated', () => {
    const box: CropBox = { start: [10, 20, 5], size: [30, 40, 50] };
    const rot: Affine = [
      [0, -1.5, 0, 90],
      [1.2, 0, 0.3, -100],
      [0, 0, 2, -60],
      [0, 0, 0, 1],
    ];
    for (const affine of [HEAD.mri.affine, rot]) {
      const c = cropVolume({ ...HEAD.mri, affine }, box);
      assert.deepEqual(world(c.affine, [0, 0, 0]), world(affine, box.start));
      const p: Vec3 = [7, 3, 11];
      const q = world(c.affine, p);
      const r = world(affine, [p[0] + 10, p[1] + 20, p[2] + 5]);
      q.forEach((v, k) => assert.ok(Math.abs(v - r[k]!) < 1e-9));
      assert.deepEqual(c.spacing, SPACING);
      const i = 7 + 30 * (3 + 40 * 11);
      assert.equal(c.data[i], HEAD.mri.data[17 + DIMS[0] * (23 + DIMS[1] * 16)]);
    }
  });

  it('pastes a crop back in place and rejects empty masks and bad boxes', () => {
    const box: CropBox = { start: [3, 4, 5], size: [20, 10, 7] };
    const c = cropVolume(HEAD.mri, box);
    const back = uncropArray(c.data, box, DIMS, -1);
    for (let i = 0; i < N; i += 97) {
      const x = i % DIMS[0];
      const y = Math.floor(i / DIMS[0]) % DIMS[1];
      const z = Math.floor(i / (DIMS[0] * DIMS[1]));
      const inBox = x >= 3 && x < 23 && y >= 4 && y < 14 && z >= 5 && z < 12;
      assert.equal(back[i], inBox ? HEAD.mri.data[i] : -1);
    }
    assert.throws(() => cropBoxFromMask(new Uint8Array(N), DIMS, { what: 'head mask of p3' }), (e: unknown) => {
      return e instanceof Mri2ctError && /no head found in head mask of p3/.test(e.message);
    });
    assert.throws(() => cropVolume(HEAD.mri, { start: [100, 0, 0], size: [20, 1, 1] }), ConfigError);
    assert.throws(() => cropBoxFromMask(mask, DIMS, { marginMm: 5 }), ConfigError);
  });
});

describe('resizeSlices / unresizeSlices (step 7)', () => {
  function vol(dims: Vec3, f: (x: number, y: number, z: number) => number): Volume<Float32Array> {
    const data = new Float32Array(dims[0] * dims[1] * dims[2]);
    let i = 0;
    for (let z = 0; z < dims[2]; z++) for (let y = 0; y < dims[1]; y++) for (let x = 0; x < dims[0]; x++) data[i++] = f(x, y, z);
    return { data, dims, spacing: [1, 1, 1], affine: diagonalAffine([1, 1, 1]) };
  }
  const at = (d: Float32Array, size: number, x: number, y: number, z = 0): number => d[x + size * (y + size * z)]!;

  it('uses the [slices, H, W] layout: index x + size·(y + size·z)', () => {
    const v = vol([5, 5, 3], (x, y, z) => z * 100 + y * 10 + x);
    const r = resizeSlices(v, { size: 5 });
    assert.deepEqual(r.data, v.data); // same size: identity, same order
    assert.deepEqual(r.geometry, { sourceSize: [5, 5], slices: 3, padBefore: [0, 0], paddedSize: 5, size: 5, scale: 1, pixelMm: [1, 1] });
  });

  it('keeps a centred square centred and scales it (pixel-centre convention)', () => {
    const v = vol([40, 40, 1], (x, y) => (x >= 10 && x < 30 && y >= 10 && y < 30 ? 1 : 0));
    const near = resizeSlices(v, { size: 80, interpolation: 'nearest' }).data;
    for (let y = 0; y < 80; y++) for (let x = 0; x < 80; x++) assert.equal(at(near, 80, x, y), x >= 20 && x < 60 && y >= 20 && y < 60 ? 1 : 0);
    const bil = resizeSlices(v, { size: 80 }).data;
    let sx = 0;
    let sy = 0;
    let s = 0;
    for (let y = 0; y < 80; y++) for (let x = 0; x < 80; x++) {
      const w = at(bil, 80, x, y);
      sx += w * x;
      sy += w * y;
      s += w;
    }
    assert.ok(Math.abs(sx / s - 39.5) < 1e-9 && Math.abs(sy / s - 39.5) < 1e-9);
    assert.ok(Math.abs(s - 1600) < 1e-6); // area × scale²
    // 1D check of the convention: [0, 1] → [0, 0.25, 0.75, 1] (OpenCV INTER_LINEAR / PIL)
    const two = resizeSlices(vol([2, 2, 1], (x) => x), { size: 4 }).data;
    assert.deepEqual(Array.from(two.subarray(0, 4)), [0, 0.25, 0.75, 1]);
  });

  it('pads a non-square slice to a centred square with padValue (aspect ratio kept)', () => {
    const v = vol([60, 30, 2], (x, y) => (x >= 15 && x < 45 && y >= 0 && y < 30 ? 1 : 0.5));
    const r = resizeSlices(v, { size: 120, interpolation: 'nearest', padValue: 7 });
    assert.deepEqual(r.geometry.padBefore, [0, 15]);
    assert.equal(r.geometry.paddedSize, 60);
    assert.equal(r.geometry.scale, 2);
    // the 30×30 square of ones becomes 60×60 pixels, centred
    const ones = { minX: 1e9, maxX: -1, minY: 1e9, maxY: -1 };
    for (let y = 0; y < 120; y++) for (let x = 0; x < 120; x++) {
      const val = at(r.data, 120, x, y, 1);
      if (y < 30 || y >= 90) assert.equal(val, 7, `pad at ${x},${y}`);
      if (val === 1) {
        ones.minX = Math.min(ones.minX, x);
        ones.maxX = Math.max(ones.maxX, x);
        ones.minY = Math.min(ones.minY, y);
        ones.maxY = Math.max(ones.maxY, y);
      }
    }
    assert.deepEqual(ones, { minX: 30, maxX: 89, minY: 30, maxY: 89 });
  });

  it('nearest keeps label values exactly', () => {
    const labels = [0, 3, 7];
    const v = vol([37, 23, 2], (x, y, z) => labels[(x * 7 + y * 3 + z) % 3]!);
    const r = resizeSlices(v, { size: 64, interpolation: 'nearest' });
    assert.ok(r.data.every((val) => labels.includes(val)));
  });

  it('unresize ∘ resize is close to the identity on smooth images (up- and down-sampling)', () => {
    for (const [dims, size] of [
      [[90, 70, 3], 256],
      [[300, 280, 2], 256],
    ] as Array<[Vec3, number]>) {
      // smooth, and at the background value (0, the pad value) at the image border, like a head
      // image; pixels next to the padding otherwise blend with the pad value
      const window = (t: number, len: number): number => Math.sin((Math.PI * (t + 0.5)) / len) ** 2;
      const v = vol(dims, (x, y, z) => window(x, dims[0]) * window(y, dims[1]) * (0.6 + 0.3 * Math.sin(x / 15 + z)));
      const r = resizeSlices(v, { size });
      const back = unresizeSlices(r.data, r.geometry);
      assert.equal(back.length, v.data.length);
      let worst = 0;
      for (let i = 0; i < back.length; i++) worst = Math.max(worst, Math.abs(back[i]! - v.data[i]!));
      assert.ok(worst < 0.01, `max error ${worst} for ${dims.join('×')} → ${size}`);
    }
  });

  it('unresize with nearest restores a label image upsampled by an integer factor', () => {
    const v = vol([32, 16, 2], (x, y) => ((x >> 2) + (y >> 2)) % 2);
    const r = resizeSlices(v, { size: 64, interpolation: 'nearest' });
    assert.deepEqual(unresizeSlices(r.data, r.geometry, { interpolation: 'nearest' }), v.data);
  });

  it('rejects bad options and data of the wrong size', () => {
    const v = vol([4, 4, 1], () => 0);
    assert.throws(() => resizeSlices(v, { size: 0 }), ConfigError);
    assert.throws(() => resizeSlices(v, { interpolation: 'cubic' as 'nearest' }), ConfigError);
    const r = resizeSlices(v, { size: 8 });
    assert.throws(() => unresizeSlices(r.data.subarray(1), r.geometry), ConfigError);
  });
});

describe('clamp01 (step 8)', () => {
  it('clamps to [0, 1], NaN to 0, in place or as a copy', () => {
    const a = Float32Array.from([-1, 0, 0.25, 1, 1.5, NaN, -0.0001]);
    const copy = clamp01(a);
    assert.deepEqual(Array.from(copy), [0, 0, 0.25, 1, 1, 0, 0]);
    assert.ok(Number.isNaN(a[5]!)); // the input is untouched
    const same = clamp01(a, { inPlace: true });
    assert.equal(same, a);
    assert.deepEqual(Array.from(a), [0, 0, 0.25, 1, 1, 0, 0]);
    assert.deepEqual(Array.from(clamp01([2, -2, 0.5])), [1, 0, 0.5]);
    assert.throws(() => clamp01([1, 2], { inPlace: true }), ConfigError);
  });
});

describe('steps 2–8 on the project phantom', () => {
  it('head mask Dice ≥ 0.98 against the phantom ground truth; CT hardware removed, anatomy untouched', () => {
    for (const index of [1, 2]) {
      const p = generatePhantomPatient(index, { size: [96, 96, 64] });
      const mask = headMask(p.mri, { what: p.id });
      const d = dice(mask, p.headMask.data);
      assert.ok(d >= 0.98, `${p.id}: Dice ${d.toFixed(4)}`);
      const { volume, keptMask } = removeCtArtifacts(p.ct, mask);
      const n = mask.length;
      const labels = p.labels.data;
      assert.equal(countWhere(n, (i) => labels[i]! >= 1 && labels[i]! < FIRST_OBJECT_LABEL && volume.data[i] !== p.ct.data[i]), 0);
      const hardware = countWhere(n, (i) => labels[i]! >= FIRST_OBJECT_LABEL);
      const left = countWhere(n, (i) => labels[i]! >= FIRST_OBJECT_LABEL && volume.data[i] !== -1000);
      assert.equal(countWhere(n, (i) => labels[i]! >= FIRST_OBJECT_LABEL && keptMask[i] === 0 && volume.data[i] !== -1000), 0);
      assert.ok(left < 0.1 * hardware, `${p.id}: ${left} of ${hardware} hardware voxels left (only those touching the head)`);

      // the rest of the chain runs and ends in [0, 1] with the cache layout
      const mri = clipMri(p.mri, mask);
      const ct = clipCt(volume);
      const nm = normalizeMri(mri.volume, mri.low, mri.high);
      const nc = normalizeCt(ct.volume, ct.low, ct.high);
      const box = cropBoxFromMask(mask, p.mri.dims, { marginMm: 5, spacing: p.mri.spacing });
      const rm = resizeSlices(cropVolume(nm.volume, box), { size: 64 });
      const rc = resizeSlices(cropVolume(nc.volume, box), { size: 64, padValue: normalizedHu(-1000) });
      const rmask = resizeSlices(cropVolume({ ...p.mri, data: mask }, box), { size: 64, interpolation: 'nearest' });
      for (const r of [rm, rc, rmask]) {
        assert.equal(r.data.length, box.size[2] * 64 * 64);
        clamp01(r.data, { inPlace: true });
        assert.ok(r.data.every((v) => v >= 0 && v <= 1));
      }
    }
  });
});
