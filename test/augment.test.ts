/**
 * Tests of the batch augmentation (src/data/augment): geometry of the rotation on marked corners
 * of a square, exact flips, background -1, same transform for MRI and CT, intensity scaling
 * (MRI only unless scaleCt), augProb=0 as the exact identity of toSigned, determinism under a seed,
 * agreement of the native-op route (tfjs-node) with the pure-JS route (tf.image.transform on the
 * 'cpu' backend) and with a hand-written bilinear reference, and no tensor leaks.
 * Runs on the native backend (loadBackend()); switches to 'cpu' only inside the route tests.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadBackend } from '../src/env/backend';
import { ConfigError, PairMismatchError } from '../src/errors';
import {
  createAugmenter,
  createRng,
  drawSamples,
  geometryTransform,
  isIdentityTransform,
  projectiveTransform,
  resolveAugmentOptions,
  toSigned,
  transformRouteFor,
  type TransformRow,
} from '../src/data/augment';

before(async () => {
  const info = await loadBackend();
  assert.equal(info.kind, 'tensorflow', 'these tests expect the native tfjs-node backend');
});

/** [B, H, W, 1] from a per-pixel function. */
function image(b: number, h: number, w: number, f: (n: number, y: number, x: number) => number): tf.Tensor4D {
  const v = new Float32Array(b * h * w);
  for (let n = 0; n < b; n++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) v[(n * h + y) * w + x] = f(n, y, x);
  return tf.tensor4d(v, [b, h, w, 1]);
}

function randomImage(b: number, h: number, w: number, seed: number): tf.Tensor4D {
  const rng = createRng(seed);
  return image(b, h, w, () => rng.next());
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)));
  return m;
}

function assertBitEqual(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i]) && actual[i] !== expected[i]) {
      assert.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

/** Where the augmenter's forward map sends an input point (rotation about the centre, then flips). */
function forward(
  p: { x: number; y: number },
  d: { angleDeg: number; flipH: boolean; flipV: boolean },
  h: number,
  w: number,
): { x: number; y: number } {
  const t = (d.angleDeg * Math.PI) / 180;
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  const dx = p.x - cx;
  const dy = p.y - cy;
  // Counter-clockwise as displayed (y downwards): (1, 0) -> (cos, -sin).
  let ox = Math.cos(t) * dx + Math.sin(t) * dy;
  let oy = -Math.sin(t) * dx + Math.cos(t) * dy;
  if (d.flipH) ox = -ox;
  if (d.flipV) oy = -oy;
  return { x: cx + ox, y: cy + oy };
}

/** TensorFlow's bilinear projective resampling (constant fill), in float64, as the reference. */
function referenceTransform(src: Float32Array, b: number, h: number, w: number, rows: readonly TransformRow[], fill: number): Float64Array {
  const out = new Float64Array(b * h * w);
  const read = (n: number, y: number, x: number): number => (y >= 0 && y < h && x >= 0 && x < w ? (src[(n * h + y) * w + x] ?? NaN) : fill);
  for (let n = 0; n < b; n++) {
    const [a0, a1, a2, b0, b1, b2, c0, c1] = rows[n] ?? rows[0] ?? [1, 0, 0, 0, 1, 0, 0, 0];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const k = c0 * x + c1 * y + 1;
        const ix = (a0 * x + a1 * y + a2) / k;
        const iy = (b0 * x + b1 * y + b2) / k;
        const x0 = Math.floor(ix);
        const y0 = Math.floor(iy);
        const fx = ix - x0;
        const fy = iy - y0;
        const top = (1 - fx) * read(n, y0, x0) + fx * read(n, y0, x0 + 1);
        const bottom = (1 - fx) * read(n, y0 + 1, x0) + fx * read(n, y0 + 1, x0 + 1);
        out[(n * h + y) * w + x] = (1 - fy) * top + fy * bottom;
      }
    }
  }
  return out;
}

/** Runs `f` with the pure-JS 'cpu' backend active, then switches back to the native one. */
async function onCpuBackend<T>(f: () => T): Promise<T> {
  const previous = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    return f();
  } finally {
    await tf.setBackend(previous);
  }
}

const NO_GEOMETRY = { maxRotationDeg: 0, flipH: false, flipV: false } as const;

test('toSigned maps [0, 1] to [-1, 1] as x*2-1', async () => {
  const x = tf.tensor1d([0, 0.25, 0.5, 1]);
  assert.deepEqual(Array.from(await toSigned(x).data()), [-1, -0.5, 0, 1]);
});

test('geometryTransform: centre stays, pure flips are integer rows, angle 0 without flips is the identity', () => {
  const r = geometryTransform({ angleDeg: 13, flipH: true, flipV: false }, 256, 256);
  const [a0, a1, a2, b0, b1, b2] = r;
  assert.ok(Math.abs(a0 * 127.5 + a1 * 127.5 + a2 - 127.5) < 1e-9);
  assert.ok(Math.abs(b0 * 127.5 + b1 * 127.5 + b2 - 127.5) < 1e-9);
  assert.deepEqual(geometryTransform({ angleDeg: 0, flipH: true, flipV: true }, 10, 20), [-1, 0, 19, 0, -1, 9, 0, 0]);
  assert.ok(isIdentityTransform(geometryTransform({ angleDeg: 0, flipH: false, flipV: false }, 64, 64)));
  assert.ok(!isIdentityTransform(r));
});

test('rotation: marked corners of a square land where the angle (and flips) say, within 1 px; MRI and CT get the same transform', async () => {
  const h = 128;
  const w = 128;
  const half = 40; // corners at centre ± 40 px
  const c = (w - 1) / 2;
  const corners = [
    { x: c - half, y: c - half },
    { x: c + half, y: c - half },
    { x: c + half, y: c + half },
    { x: c - half, y: c + half },
  ];
  const sigma = 1.5;
  const pattern = (_n: number, y: number, x: number): number =>
    Math.min(1, corners.reduce((s, p) => s + Math.exp(-((x - p.x) ** 2 + (y - p.y) ** 2) / (2 * sigma * sigma)), 0));
  const b = 8;
  const mri = image(b, h, w, pattern);
  const ct = image(b, h, w, pattern);
  // augProb < 1: the batch mixes resampled samples and untouched ones (gather/scatter path).
  const aug = createAugmenter({ augProb: 0.7, intensityScale: 0, seed: 7 });
  const out = aug.apply(mri, ct);
  const m = await out.mri.data();
  const k = await out.ct.data();
  assertBitEqual(m as Float32Array, k as Float32Array, 'MRI vs CT with the same pattern');
  const draws = aug.lastDraws;
  assert.ok(draws.some((d) => Math.abs(d.angleDeg) > 8), 'the seed should give at least one large angle');
  assert.ok(draws.some((d) => d.flipH) && draws.some((d) => d.flipV) && draws.some((d) => d.augmented && !d.flipH));
  assert.ok(draws.some((d) => !d.augmented), 'the seed should leave a sample untouched');
  for (let n = 0; n < b; n++) {
    const d = draws[n];
    assert.ok(d !== undefined && Math.abs(d.angleDeg) <= 15);
    for (const p of corners) {
      const q = forward(p, d, h, w);
      // Centroid of (value + 1) in a window around the predicted position.
      let sw = 0;
      let sx = 0;
      let sy = 0;
      for (let y = Math.round(q.y) - 6; y <= Math.round(q.y) + 6; y++) {
        for (let x = Math.round(q.x) - 6; x <= Math.round(q.x) + 6; x++) {
          const v = (m[(n * h + y) * w + x] ?? -1) + 1;
          sw += v;
          sx += v * x;
          sy += v * y;
        }
      }
      assert.ok(sw > 5, `sample ${n}: no marker near (${q.x.toFixed(1)}, ${q.y.toFixed(1)})`);
      const err = Math.hypot(sx / sw - q.x, sy / sw - q.y);
      assert.ok(err < 1, `sample ${n} angle ${d.angleDeg.toFixed(2)}: corner off by ${err.toFixed(2)} px`);
      if (Math.abs(d.angleDeg) > 8) {
        const wrong = forward(p, { ...d, angleDeg: -d.angleDeg }, h, w);
        assert.ok(Math.hypot(sx / sw - wrong.x, sy / sw - wrong.y) > 3, 'rotation sign is distinguishable');
      }
    }
  }
  tf.dispose([mri, ct, out.mri, out.ct]);
});

test('rotation of a filled square: inside stays 1, outside (and the corners of the frame) become -1', async () => {
  const h = 96;
  const w = 96;
  const c = (w - 1) / 2;
  const half = 25;
  const ones = image(1, h, w, (_n, y, x) => (Math.abs(x - c) <= half && Math.abs(y - c) <= half ? 1 : 0));
  const angleDeg = 15;
  const out = projectiveTransform(toSigned(ones), geometryTransform({ angleDeg, flipH: false, flipV: false }, h, w), {
    fillValue: -1,
  });
  const v = await out.data();
  const t = (angleDeg * Math.PI) / 180;
  let checked = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      // Back to the input frame: d_in = R(θ) d_out.
      const dx = x - c;
      const dy = y - c;
      const ix = Math.cos(t) * dx - Math.sin(t) * dy;
      const iy = Math.sin(t) * dx + Math.cos(t) * dy;
      const depth = half - Math.max(Math.abs(ix), Math.abs(iy)); // > 0 inside
      const val = v[y * w + x] ?? NaN;
      if (depth > 1.5) {
        assert.ok(Math.abs(val - 1) < 1e-6, `(${x}, ${y}) inside should be 1, got ${val}`);
        checked++;
      } else if (depth < -1.5) {
        assert.ok(Math.abs(val + 1) < 1e-6, `(${x}, ${y}) outside should be -1, got ${val}`);
        checked++;
      }
    }
  }
  assert.ok(checked > h * w * 0.9);
  // A rotated all-ones image: the frame's corners come from outside the input, so background -1.
  const full = projectiveTransform(tf.ones([1, h, w, 1]) as tf.Tensor4D, geometryTransform({ angleDeg: 15, flipH: false, flipV: false }, h, w), {
    fillValue: -1,
  });
  const f = await full.data();
  for (const i of [0, w - 1, (h - 1) * w, h * w - 1]) assert.ok(Math.abs((f[i] ?? NaN) + 1) < 1e-6, `corner ${i}: ${f[i]}`);
  assert.ok(Math.abs((f[(h / 2) * w + w / 2] ?? NaN) - 1) < 1e-6);
  tf.dispose([ones, out, full]);
});

test('background after rotation is -1 in the augmenter output (CT, unscaled)', async () => {
  const h = 64;
  const w = 64;
  const mri = tf.ones([4, h, w, 1]) as tf.Tensor4D;
  const ct = tf.ones([4, h, w, 1]) as tf.Tensor4D;
  const aug = createAugmenter({ augProb: 1, maxRotationDeg: 15, seed: 3 });
  const out = aug.apply(mri, ct);
  const v = await out.ct.data();
  for (let n = 0; n < 4; n++) {
    const d = aug.lastDraws[n];
    assert.ok(d !== undefined && Math.abs(d.angleDeg) > 2, 'need a visible rotation');
    for (const i of [0, w - 1, (h - 1) * w, h * w - 1]) {
      assert.ok(Math.abs((v[n * h * w + i] ?? NaN) + 1) < 1e-6, `sample ${n} corner ${i}: ${v[n * h * w + i]}`);
    }
  }
  tf.dispose([mri, ct, out.mri, out.ct]);
});

test('horizontal and vertical flips are exact (equal to reversed arrays)', async () => {
  const b = 3;
  const mri = randomImage(b, 32, 48, 1);
  const ct = randomImage(b, 32, 48, 2);
  for (const [flipH, flipV, axes] of [
    [true, false, [2]],
    [false, true, [1]],
    [true, true, [1, 2]],
  ] as const) {
    const aug = createAugmenter({ augProb: 1, maxRotationDeg: 0, flipH: flipH ? 1 : 0, flipV: flipV ? 1 : 0, intensityScale: 0, seed: 5 });
    const out = aug.apply(mri, ct);
    const expectedMri = tf.reverse(toSigned(mri), [...axes]);
    const expectedCt = tf.reverse(toSigned(ct), [...axes]);
    assertBitEqual((await out.mri.data()) as Float32Array, (await expectedMri.data()) as Float32Array, `MRI flip ${axes}`);
    assertBitEqual((await out.ct.data()) as Float32Array, (await expectedCt.data()) as Float32Array, `CT flip ${axes}`);
    tf.dispose([out.mri, out.ct, expectedMri, expectedCt]);
  }
  tf.dispose([mri, ct]);
});

test('a flip folded into the rotation matrix equals the reversed rotation', async () => {
  const x = randomImage(1, 40, 40, 9);
  const rot = projectiveTransform(x, geometryTransform({ angleDeg: 11, flipH: false, flipV: false }, 40, 40), { fillValue: -1 });
  const both = projectiveTransform(x, geometryTransform({ angleDeg: 11, flipH: true, flipV: true }, 40, 40), { fillValue: -1 });
  const reversed = tf.reverse(rot, [1, 2]);
  // Equal up to float32 rounding of the sampling coordinates (other x, y in a0 x + a1 y + a2).
  const diff = maxAbsDiff(await both.data(), await reversed.data());
  assert.ok(diff < 1e-4, `max difference ${diff}`);
  tf.dispose([x, rot, both, reversed]);
});

test('intensity scaling: MRI only by default, both with scaleCt (same factor), clipped to [-1, 1]', async () => {
  const b = 6;
  const mri = randomImage(b, 16, 16, 11);
  const ct = randomImage(b, 16, 16, 12);
  const mriS = await toSigned(mri).data();
  const ctS = await toSigned(ct).data();
  const n = 16 * 16;
  for (const scaleCt of [false, true]) {
    const aug = createAugmenter({ ...NO_GEOMETRY, augProb: 1, intensityScale: 0.1, scaleCt, seed: 22 });
    const out = aug.apply(mri, ct);
    const m = await out.mri.data();
    const c = await out.ct.data();
    assert.ok(aug.lastDraws.some((d) => d.scale > 1.02) && aug.lastDraws.some((d) => d.scale < 0.98));
    aug.lastDraws.forEach((d, i) => {
      assert.ok(d.scale >= 0.9 && d.scale <= 1.1, `factor ${d.scale}`);
      const exp = (v: number): number => Math.min(1, Math.max(-1, v * d.scale));
      for (let j = i * n; j < (i + 1) * n; j++) {
        assert.ok(Math.abs((m[j] ?? NaN) - exp(mriS[j] ?? NaN)) < 1e-6);
        assert.ok((m[j] ?? NaN) <= 1 && (m[j] ?? NaN) >= -1);
        if (scaleCt) assert.ok(Math.abs((c[j] ?? NaN) - exp(ctS[j] ?? NaN)) < 1e-6);
      }
    });
    if (!scaleCt) assertBitEqual(c as Float32Array, ctS as Float32Array, 'CT must not be scaled by default');
    assert.ok(Math.max(...m) === 1, 'values scaled above 1 are clipped to exactly 1');
    tf.dispose([out.mri, out.ct]);
  }
  tf.dispose([mri, ct]);
});

test('augProb=0 is exactly the identity of step 1, whatever the other options', async () => {
  const mri = randomImage(5, 24, 24, 31);
  const ct = randomImage(5, 24, 24, 32);
  const aug = createAugmenter({ augProb: 0, scaleCt: true, maxRotationDeg: 30, flipH: 1, flipV: 1, intensityScale: 0.5, seed: 1 });
  const src = await mri.data();
  for (let call = 0; call < 3; call++) {
    const out = aug.apply(mri, ct);
    const m = (await out.mri.data()) as Float32Array;
    assertBitEqual(m, Float32Array.from(src, (v) => Math.fround(v * 2 - 1)), 'MRI');
    assertBitEqual((await out.ct.data()) as Float32Array, (await toSigned(ct).data()) as Float32Array, 'CT');
    assert.ok(aug.lastDraws.every((d) => !d.augmented && d.scale === 1 && d.angleDeg === 0));
    tf.dispose([out.mri, out.ct]);
  }
  tf.dispose([mri, ct]);
});

test('in a mixed batch the samples not selected only get step 1 (bit-exact)', async () => {
  const b = 12;
  const mri = randomImage(b, 20, 20, 41);
  const ct = randomImage(b, 20, 20, 42);
  const aug = createAugmenter({ augProb: 0.5, scaleCt: true, seed: 2 });
  const out = aug.apply(mri, ct);
  const draws = aug.lastDraws;
  assert.ok(draws.some((d) => d.augmented) && draws.some((d) => !d.augmented), 'seed gives a mixed batch');
  const n = 400;
  for (const [got, input] of [
    [out.mri, mri],
    [out.ct, ct],
  ] as const) {
    const g = (await got.data()) as Float32Array;
    const s = (await toSigned(input).data()) as Float32Array;
    draws.forEach((d, i) => {
      const a = g.subarray(i * n, (i + 1) * n);
      const e = s.subarray(i * n, (i + 1) * n);
      if (d.augmented) assert.ok(maxAbsDiff(a, e) > 1e-3, `sample ${i} should change`);
      else assertBitEqual(a, e, `sample ${i}`);
    });
  }
  tf.dispose([mri, ct, out.mri, out.ct]);
});

test('deterministic under a seed; a new draw on every call', async () => {
  const mri = randomImage(4, 32, 32, 51);
  const ct = randomImage(4, 32, 32, 52);
  const a = createAugmenter({ seed: 42 });
  const b = createAugmenter({ seed: 42 });
  const first: Float32Array[] = [];
  for (let call = 0; call < 3; call++) {
    const oa = a.apply(mri, ct);
    const ob = b.apply(mri, ct);
    assert.deepEqual(a.lastDraws, b.lastDraws);
    assertBitEqual((await oa.mri.data()) as Float32Array, (await ob.mri.data()) as Float32Array, `call ${call} MRI`);
    assertBitEqual((await oa.ct.data()) as Float32Array, (await ob.ct.data()) as Float32Array, `call ${call} CT`);
    first.push((await oa.mri.data()) as Float32Array);
    tf.dispose([oa.mri, oa.ct, ob.mri, ob.ct]);
  }
  assert.ok(maxAbsDiff(first[0] ?? [], first[1] ?? []) > 1e-3, 'successive calls draw anew');
  assert.ok(maxAbsDiff(first[1] ?? [], first[2] ?? []) > 1e-3, 'successive calls draw anew');
  const c = createAugmenter({ seed: 43 });
  c.apply(mri, ct).mri.dispose();
  const d = createAugmenter({ seed: 42 });
  d.apply(mri, ct).mri.dispose();
  assert.notDeepEqual(c.lastDraws, d.lastDraws, 'another seed, other draws');
  const unseeded = createAugmenter();
  assert.ok(Number.isSafeInteger(unseeded.seed), 'an unseeded augmenter reports its seed');
  tf.dispose([mri, ct]);
});

test('draw statistics follow the options (augProb, flips, angle range, scale range)', () => {
  const o = resolveAugmentOptions({ seed: 99 });
  const draws = drawSamples(createRng(99), 20000, o);
  const aug = draws.filter((d) => d.augmented);
  assert.ok(Math.abs(aug.length / draws.length - 0.8) < 0.02);
  assert.ok(Math.abs(aug.filter((d) => d.flipH).length / aug.length - 0.5) < 0.02);
  assert.ok(Math.abs(aug.filter((d) => d.flipV).length / aug.length - 0.5) < 0.02);
  assert.ok(aug.every((d) => Math.abs(d.angleDeg) <= 15 && d.scale >= 0.9 && d.scale <= 1.1));
  assert.ok(Math.max(...aug.map((d) => d.angleDeg)) > 14.9 && Math.min(...aug.map((d) => d.angleDeg)) < -14.9);
  assert.equal(resolveAugmentOptions({ flipH: true, flipV: false, seed: 1 }).flipHProb, 0.5);
  assert.equal(resolveAugmentOptions({ flipH: true, flipV: false, seed: 1 }).flipVProb, 0);
});

test('the native-op route, the pure-JS route and a bilinear reference agree within 1e-4 on a smooth image', async () => {
  assert.equal(transformRouteFor('tensorflow'), 'native-op');
  assert.equal(transformRouteFor('cpu'), 'tfjs-kernel');
  const b = 4;
  const h = 48;
  const w = 40;
  const smooth = image(b, h, w, (n, y, x) => 0.5 + 0.3 * Math.sin(0.21 * x + n) * Math.cos(0.17 * y - 0.5 * n));
  const rows: TransformRow[] = [
    geometryTransform({ angleDeg: 12.5, flipH: false, flipV: false }, h, w),
    geometryTransform({ angleDeg: -7, flipH: true, flipV: false }, h, w),
    geometryTransform({ angleDeg: 3.3, flipH: false, flipV: true }, h, w),
    geometryTransform({ angleDeg: 0, flipH: true, flipV: true }, h, w),
  ];
  const native = await projectiveTransform(smooth, rows.flat(), { fillValue: -1 }).data();
  // Same tensors, pure-JS backend; a batch > 1 also exercises the per-sample workaround.
  const js = await onCpuBackend(() => projectiveTransform(smooth, rows.flat(), { fillValue: -1 }).dataSync());
  const ref = referenceTransform((await smooth.data()) as Float32Array, b, h, w, rows, -1);
  assert.ok(maxAbsDiff(native, js) < 1e-4, `native vs JS ${maxAbsDiff(native, js)}`);
  assert.ok(maxAbsDiff(native, ref) < 1e-4, `native vs reference ${maxAbsDiff(native, ref)}`);
  assert.ok(maxAbsDiff(js, ref) < 1e-4, `JS vs reference ${maxAbsDiff(js, ref)}`);
  // Every sample of the JS route was transformed (tfjs 4.22's CPU kernel alone only does the first).
  for (let n = 1; n < b; n++) assert.ok(Array.from(js.subarray(n * h * w, (n + 1) * h * w)).some((v) => v !== -1));

  // The whole augmenter, same seed, on both backends (a mixed batch: both skip paths run).
  const ct = image(b, h, w, (n, y, x) => 0.5 + 0.4 * Math.cos(0.13 * x - n) * Math.sin(0.11 * y));
  const nativeAug = createAugmenter({ augProb: 0.5, scaleCt: true, seed: 8 });
  const onNative = nativeAug.apply(smooth, ct);
  assert.deepEqual(
    nativeAug.lastDraws.map((d) => d.augmented),
    [false, true, false, true],
  );
  const nm = await onNative.mri.data();
  const nc = await onNative.ct.data();
  const [jm, jc] = await onCpuBackend(() => {
    const r = createAugmenter({ augProb: 0.5, scaleCt: true, seed: 8 }).apply(smooth, ct);
    return [r.mri.dataSync(), r.ct.dataSync()] as const;
  });
  assert.ok(maxAbsDiff(nm, jm) < 1e-4 && maxAbsDiff(nc, jc) < 1e-4, `augmenter native vs JS ${maxAbsDiff(nm, jm)}, ${maxAbsDiff(nc, jc)}`);
  tf.dispose([smooth, ct, onNative.mri, onNative.ct]);
});

test('flips are exact on the pure-JS route too', async () => {
  const x = randomImage(2, 12, 10, 61);
  const row = geometryTransform({ angleDeg: 0, flipH: true, flipV: true }, 12, 10);
  const [got, expected] = await onCpuBackend(() => [projectiveTransform(x, row, { fillValue: -1 }).dataSync(), tf.reverse(x, [1, 2]).dataSync()]);
  assertBitEqual(got as Float32Array, expected as Float32Array, 'JS-route flip');
  x.dispose();
});

test('no leaked tensors over 20 calls; inputs are not disposed', async () => {
  const mri = randomImage(4, 64, 64, 71);
  const ct = randomImage(4, 64, 64, 72);
  const aug = createAugmenter({ augProb: 0.6, scaleCt: true, seed: 4 });
  aug.apply(mri, ct); // warm-up outside the count (scalars cached by tf.js on first use)
  const out0 = aug.apply(mri, ct);
  tf.dispose([out0.mri, out0.ct]);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 20; i++) {
    const out = aug.apply(mri, ct);
    assert.deepEqual(out.mri.shape, [4, 64, 64, 1]);
    tf.dispose([out.mri, out.ct]);
  }
  assert.equal(tf.memory().numTensors, before);
  assert.ok(!mri.isDisposed && !ct.isDisposed);
  tf.dispose([mri, ct]);
});

test('bad options and mismatched pairs are refused with clear errors', () => {
  for (const bad of [{ augProb: 1.5 }, { augProb: -0.1 }, { maxRotationDeg: -1 }, { maxRotationDeg: Number.NaN }, { flipH: 2 }, { intensityScale: 1 }, { seed: -1 }, { seed: 1.5 }]) {
    assert.throws(() => createAugmenter(bad), ConfigError, JSON.stringify(bad));
  }
  const aug = createAugmenter({ seed: 1 });
  const a = tf.zeros([2, 8, 8, 1]) as tf.Tensor4D;
  const b = tf.zeros([2, 8, 9, 1]) as tf.Tensor4D;
  const c = tf.zeros([3, 8, 8, 1]) as tf.Tensor4D;
  assert.throws(() => aug.apply(a, b), PairMismatchError);
  assert.throws(() => aug.apply(a, c), PairMismatchError);
  assert.throws(() => aug.apply(a, tf.zeros([2, 8, 8]) as unknown as tf.Tensor4D), ConfigError);
  tf.dispose([a, b, c]);
});
