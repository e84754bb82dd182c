/**
 * The registration figure of notebook 02 (src/notebook/registration-figure.ts) and the known-motion
 * helper it is shown with (src/register/known-motion.ts), on a small phantom patient: checkerboard
 * tiles alternate between the MRI's and the CT's windowed values; the PNG has the 2×3 layout; a
 * volume moved by a known motion comes back with the returned truth; transform distances.
 * No registration runs here (test/register.test.ts covers it).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadImage } from 'canvas';

import { applyAffine, identityAffine } from '../src/io/affine-math';
import type { Affine } from '../src/io/volume';
import { extractSlice } from '../src/notebook/volume-views';
import { checkerboard, registrationCheckerboards, registrationFigure, windowed } from '../src/notebook/registration-figure';
import { generatePhantomPatient } from '../src/phantom/generate';
import { maskCentre } from '../src/preprocess/crop';
import { resampleToGrid } from '../src/preprocess/resample-grid';
import { moveRigidly, transformDistanceMm } from '../src/register/known-motion';

const patient = generatePhantomPatient(1, { size: [64, 64, 48] });
const { mri } = patient;
const mask = patient.headMask.data;
const moved = moveRigidly(patient.ct, { rotationDegrees: [5, -4, 6], translationMm: [7, -6, 5] });
const before = resampleToGrid(moved.volume, mri, { interpolation: 'linear', fill: -1000 });

describe('registration figure', () => {
  it('checkerboard tiles alternate: MRI tiles hold the windowed MRI, CT tiles the windowed CT', () => {
    const ctWindow = { low: -500, high: 1500, label: 'bone' };
    const c = registrationCheckerboards({ mri, ctBefore: before, ctAfter: patient.ct.data, headMask: mask, ctWindow, tile: 5 });
    const voxel = maskCentre(mask, mri.dims);
    const win = (v: number, lo: number, hi: number): number => Math.min(1, Math.max(0, (v - lo) / (hi - lo)));
    for (const [when, ct] of [['before', before], ['after', patient.ct.data]] as const) {
      const views = when === 'before' ? c.before : c.after;
      assert.deepEqual(views.map((v) => v.plane), ['axial', 'coronal', 'sagittal']);
      const axial = views[0]!;
      const a = extractSlice(mri, 'axial', voxel[2]);
      const b = extractSlice({ ...mri, data: ct }, 'axial', voxel[2]);
      assert.equal(axial.width, a.width);
      let [mriTiles, ctTiles, differ] = [0, 0, 0];
      for (let r = 0; r < a.height; r++) {
        for (let col = 0; col < a.width; col++) {
          const k = r * a.width + col;
          const fromMri = (Math.floor(r / 5) + Math.floor(col / 5)) % 2 === 0;
          const expected = fromMri ? win(a.values[k]!, c.mriWindow.low, c.mriWindow.high) : win(b.values[k]!, ctWindow.low, ctWindow.high);
          assert.ok(Math.abs(axial.values[k]! - expected) < 1e-6, `${when} pixel ${r},${col}: ${axial.values[k]} ≠ ${expected}`);
          if (fromMri) mriTiles++;
          else ctTiles++;
          if (Math.abs(win(a.values[k]!, c.mriWindow.low, c.mriWindow.high) - win(b.values[k]!, ctWindow.low, ctWindow.high)) > 0.05) differ++;
        }
      }
      assert.ok(mriTiles > 0 && ctTiles > 0 && differ > 100, `${mriTiles} MRI, ${ctTiles} CT pixels, ${differ} where they differ`);
    }
    // The MRI window comes from the head: inside the MRI's range there.
    assert.ok(c.mriWindow.high > c.mriWindow.low);
  });

  it('checkerboard refuses mismatched sizes; windowed clamps to 0..1', () => {
    assert.deepEqual([...checkerboard([1, 1, 1, 1], [2, 2, 2, 2], 2, 2, 1)], [1, 2, 2, 1]);
    assert.throws(() => checkerboard([1, 2, 3], [1, 2, 3, 4], 2, 2, 1), /pictures of 3 and 4 pixels/);
    assert.deepEqual([...windowed([-10, 5, 20], { low: 0, high: 10, label: '' })], [0, 0.5, 1]);
  });

  it('draws one PNG: before on top, after below, three planes each', async () => {
    const png = registrationFigure({ mri, ctBefore: before, ctAfter: patient.ct.data, headMask: mask });
    const img = await loadImage(png);
    // 3 columns of panels (192 px + 8) + 8; 2 rows of (22 + 192 + 18) + title 26 + 4.
    assert.equal(img.width, 3 * 200 + 8);
    assert.equal(img.height, 2 * 232 + 26 + 4);
  });
});

describe('known motion', () => {
  it('the returned truth maps the moved CT back onto the original inside the head (better than 2 mm off it)', () => {
    const err = (t: Affine): number => {
      const back = resampleToGrid(moved.volume, mri, { interpolation: 'linear', fill: -1000, worldTransform: t });
      let [s, n] = [0, 0];
      for (let i = 0; i < mask.length; i++) if (mask[i] === 1) { s += Math.abs(back[i]! - patient.ct.data[i]!); n++; }
      return s / n;
    };
    const atTruth = err(moved.truth);
    const unmoved = err(identityAffine());
    // Two trilinear resamplings of 4 mm voxels blur the skull; the unregistered CT is far worse.
    assert.ok(atTruth < 0.5 * unmoved, `mean |ΔHU| at the truth ${atTruth.toFixed(1)} vs unmoved ${unmoved.toFixed(1)}`);
    for (let axis = 0; axis < 3; axis++) {
      for (const d of [-2, 2]) {
        const off = moved.truth.map((row, r) => row.map((v, c) => (c === 3 && r === axis ? v + d : v))) as Affine;
        assert.ok(err(off) > atTruth, `2 mm off along axis ${axis} (${d}): ${err(off).toFixed(1)} ≤ ${atTruth.toFixed(1)}`);
      }
    }
  });

  it('transformDistanceMm: 0 for equal transforms, the shift for a translation', () => {
    const shift: Affine = [[1, 0, 0, 3], [0, 1, 0, 4], [0, 0, 1, 0], [0, 0, 0, 1]];
    assert.equal(transformDistanceMm(moved.truth, moved.truth, mri, mask).max, 0);
    const d = transformDistanceMm(identityAffine(), shift, mri, mask);
    assert.ok(Math.abs(d.mean - 5) < 1e-9 && Math.abs(d.max - 5) < 1e-9, JSON.stringify(d));
    // The motion moves head points by several mm.
    const m = transformDistanceMm(identityAffine(), moved.truth, mri, mask);
    assert.ok(m.mean > 5, `${m.mean} mm`);
    assert.ok(applyAffine(moved.truth, [0, 0, 0]).every(Number.isFinite));
  });
});
