/**
 * Building blocks of preprocessing steps 2–5 against brute-force references on small volumes:
 * squared Euclidean distance transform (anisotropic spacing, capped), ball/box dilation, erosion
 * and closing, connected components, 3D and per-slice hole filling, Otsu's threshold and the
 * quickselect percentiles (numpy "linear" definition).
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ConfigError, Mri2ctError } from '../src/errors';
import type { Vec3 } from '../src/io/volume';
import {
  close,
  dilate,
  erode,
  fillHoles3d,
  fillHolesAxial,
  labelComponents,
  largestComponent,
  squaredDistanceTransform,
} from '../src/preprocess/morphology';
import { otsuThreshold } from '../src/preprocess/otsu';
import { percentile, percentiles } from '../src/preprocess/percentile';
import { mulberry32 } from '../src/util/random';


function randomMask(dims: Vec3, density: number, seed: number): Uint8Array {
  const rand = mulberry32(seed);
  const m = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (let i = 0; i < m.length; i++) m[i] = rand() < density ? 1 : 0;
  return m;
}

/** A blobby random mask: a few random balls (so erosion/closing have something to do). */
function blobMask(dims: Vec3, seed: number): Uint8Array {
  const rand = mulberry32(seed);
  const m = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (let b = 0; b < 6; b++) {
    const c = [rand() * dims[0], rand() * dims[1], rand() * dims[2]];
    const r = 1 + rand() * 3;
    forEachVoxel(dims, (x, y, z, i) => {
      if ((x - c[0]!) ** 2 + (y - c[1]!) ** 2 + (z - c[2]!) ** 2 <= r * r) m[i] = 1;
    });
  }
  return m;
}

function forEachVoxel(dims: Vec3, fn: (x: number, y: number, z: number, i: number) => void): void {
  let i = 0;
  for (let z = 0; z < dims[2]; z++) for (let y = 0; y < dims[1]; y++) for (let x = 0; x < dims[0]; x++) fn(x, y, z, i++);
}

function coords(dims: Vec3, i: number): Vec3 {
  const x = i % dims[0];
  const y = Math.floor(i / dims[0]) % dims[1];
  return [x, y, Math.floor(i / (dims[0] * dims[1]))];
}

/** Brute-force squared distance (mm²) to the nearest voxel whose on-ness equals `sitesOn`. */
function bruteDistance(mask: Uint8Array, dims: Vec3, spacing: Vec3, sitesOn: boolean): Float64Array {
  const sites: Vec3[] = [];
  for (let i = 0; i < mask.length; i++) if ((mask[i] !== 0) === sitesOn) sites.push(coords(dims, i));
  const out = new Float64Array(mask.length);
  forEachVoxel(dims, (x, y, z, i) => {
    let best = Infinity;
    for (const [a, b, c] of sites) {
      const d = ((x - a) * spacing[0]) ** 2 + ((y - b) * spacing[1]) ** 2 + ((z - c) * spacing[2]) ** 2;
      if (d < best) best = d;
    }
    out[i] = best;
  });
  return out;
}

type Shape = 'ball' | 'box';

/** Is voxel offset (dx,dy,dz) inside the structuring element? */
function inElement(dx: number, dy: number, dz: number, r: number, spacing: Vec3, shape: Shape): boolean {
  if (shape === 'ball') return (dx * spacing[0]) ** 2 + (dy * spacing[1]) ** 2 + (dz * spacing[2]) ** 2 <= r * r + 1e-9;
  return Math.abs(dx) * spacing[0] <= r + 1e-9 && Math.abs(dy) * spacing[1] <= r + 1e-9 && Math.abs(dz) * spacing[2] <= r + 1e-9;
}

function bruteDilate(mask: Uint8Array, dims: Vec3, r: number, spacing: Vec3, shape: Shape): Uint8Array {
  const out = new Uint8Array(mask.length);
  const on: Vec3[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) on.push(coords(dims, i));
  forEachVoxel(dims, (x, y, z, i) => {
    out[i] = on.some(([a, b, c]) => inElement(x - a, y - b, z - c, r, spacing, shape)) ? 1 : 0;
  });
  return out;
}

function bruteErode(mask: Uint8Array, dims: Vec3, r: number, spacing: Vec3, shape: Shape, border: 0 | 1): Uint8Array {
  const out = new Uint8Array(mask.length);
  const R = [0, 1, 2].map((a) => Math.ceil(r / spacing[a]!) + 1);
  forEachVoxel(dims, (x, y, z, i) => {
    if (!mask[i]) return;
    let keep = 1;
    for (let dz = -R[2]!; dz <= R[2]! && keep; dz++)
      for (let dy = -R[1]!; dy <= R[1]! && keep; dy++)
        for (let dx = -R[0]!; dx <= R[0]! && keep; dx++) {
          if (!inElement(dx, dy, dz, r, spacing, shape)) continue;
          const [u, v, w] = [x + dx, y + dy, z + dz];
          const inside = u >= 0 && v >= 0 && w >= 0 && u < dims[0] && v < dims[1] && w < dims[2];
          const value = inside ? mask[u + dims[0] * (v + dims[1] * w)]! : border;
          if (!value) keep = 0;
        }
    out[i] = keep;
  });
  return out;
}

function count(m: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < m.length; i++) if (m[i]) s++;
  return s;
}

describe('squaredDistanceTransform', () => {
  it('matches brute force with anisotropic spacing, for both kinds of sites', () => {
    const dims: Vec3 = [13, 9, 7];
    const spacing: Vec3 = [1, 1.5, 2.25];
    const mask = randomMask(dims, 0.05, 1);
    for (const sites of [1, 0] as const) {
      const got = squaredDistanceTransform(mask, dims, spacing, sites);
      const want = bruteDistance(mask, dims, spacing, sites === 1);
      for (let i = 0; i < mask.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-3, `voxel ${i}: ${got[i]} vs ${want[i]}`);
    }
  });

  it('reports distances above the cap as Infinity and the rest exactly', () => {
    const dims: Vec3 = [16, 12, 10];
    const spacing: Vec3 = [1.2, 1, 0.8];
    const mask = randomMask(dims, 0.01, 2);
    const cap = 9;
    const got = squaredDistanceTransform(mask, dims, spacing, 1, cap);
    const want = bruteDistance(mask, dims, spacing, true);
    for (let i = 0; i < mask.length; i++) {
      if (want[i]! > cap) assert.equal(got[i], Infinity);
      else assert.ok(Math.abs(got[i]! - want[i]!) < 1e-3);
    }
  });

  it('gives Infinity everywhere when there is no site', () => {
    const dims: Vec3 = [4, 3, 2];
    const got = squaredDistanceTransform(new Uint8Array(24), dims, [1, 1, 1], 1);
    assert.ok(got.every((v) => v === Infinity));
  });
});

describe('dilate / erode / close', () => {
  const dims: Vec3 = [14, 12, 10];
  const cases: Array<[Shape, number, Vec3]> = [
    ['ball', 2, [1, 1, 1]],
    ['ball', 2.5, [1, 1.5, 2]],
    ['ball', 3, [0.9, 1.1, 1.3]],
    ['box', 2, [1, 1, 1]],
    ['box', 3, [1, 1.5, 2]],
  ];
  for (const [shape, r, spacing] of cases) {
    it(`dilation by a ${shape} of ${r} mm (spacing ${spacing.join('×')}) matches brute force`, () => {
      for (const seed of [3, 4]) {
        const mask = blobMask(dims, seed);
        assert.deepEqual(dilate(mask, dims, { radiusMm: r, spacing, shape }), bruteDilate(mask, dims, r, spacing, shape));
      }
    });
    for (const border of [0, 1] as const) {
      it(`erosion by a ${shape} of ${r} mm, borderValue ${border}, matches brute force`, () => {
        for (const seed of [5, 6]) {
          const mask = dilate(blobMask(dims, seed), dims, { radiusMm: 2, spacing: [1, 1, 1] });
          const got = erode(mask, dims, { radiusMm: r, spacing, shape, borderValue: border });
          assert.deepEqual(got, bruteErode(mask, dims, r, spacing, shape, border));
        }
      });
    }
  }

  it('a single voxel dilated by a 2-voxel ball gives the 33 lattice points of that ball', () => {
    const d: Vec3 = [9, 9, 9];
    const m = new Uint8Array(729);
    m[4 + 9 * (4 + 9 * 4)] = 1;
    assert.equal(count(dilate(m, d, { radiusMm: 2, spacing: [1, 1, 1] })), 33);
    assert.equal(count(dilate(m, d, { radiusMm: 1, spacing: [1, 1, 1], shape: 'box' })), 27);
    // voxels exactly on the sphere count, despite float rounding (1.1² is not exact)
    assert.equal(count(dilate(m, d, { radiusMm: 1.1, spacing: [1.1, 1.1, 1.1] })), 7);
    assert.equal(count(dilate(m, d, { radiusMm: 0.3, spacing: [0.1, 0.1, 0.1] })), 123);
  });

  it('closing contains the input, equals dilation then border-1 erosion, and closes a narrow gap', () => {
    const spacing: Vec3 = [1, 1, 1.5];
    for (const seed of [7, 8, 9]) {
      const mask = blobMask(dims, seed);
      const closed = close(mask, dims, { radiusMm: 2, spacing });
      for (let i = 0; i < mask.length; i++) if (mask[i]) assert.equal(closed[i], 1);
      const ref = bruteErode(bruteDilate(mask, dims, 2, spacing, 'ball'), dims, 2, spacing, 'ball', 1);
      assert.deepEqual(closed, ref);
    }
    // two slabs separated by a 2-voxel gap are bridged by a 2-voxel closing
    const d: Vec3 = [12, 8, 8];
    const slabs = new Uint8Array(12 * 64);
    forEachVoxel(d, (x, _y, _z, i) => {
      if (x < 5 || x > 6) slabs[i] = 1;
    });
    assert.equal(count(close(slabs, d, { radiusMm: 2, spacing: [1, 1, 1] })), 12 * 64);
  });

  it('is empty in, empty out, and radius 0 is the identity', () => {
    const empty = new Uint8Array(dims[0] * dims[1] * dims[2]);
    assert.equal(count(dilate(empty, dims, { radiusMm: 3, spacing: [1, 1, 1] })), 0);
    assert.equal(count(erode(empty, dims, { radiusMm: 3, spacing: [1, 1, 1] })), 0);
    const mask = blobMask(dims, 10);
    assert.deepEqual(dilate(mask, dims, { radiusMm: 0, spacing: [1, 1, 1] }), mask);
  });

  it('rejects bad options with ConfigError', () => {
    const m = new Uint8Array(8);
    assert.throws(() => dilate(m, [2, 2, 2], { radiusMm: -1, spacing: [1, 1, 1] }), ConfigError);
    assert.throws(() => dilate(m, [2, 2, 2], { radiusMm: 1, spacing: [1, 0, 1] }), ConfigError);
    assert.throws(() => dilate(m, [2, 2, 3], { radiusMm: 1, spacing: [1, 1, 1] }), ConfigError);
    assert.throws(() => dilate(m, [2, 2, 2], { radiusMm: 1, spacing: [1, 1, 1], shape: 'disc' as 'ball' }), ConfigError);
  });
});

describe('connected components', () => {
  it('labels components and keeps the largest', () => {
    const dims: Vec3 = [10, 10, 10];
    const m = new Uint8Array(1000);
    forEachVoxel(dims, (x, y, z, i) => {
      if (x < 3 && y < 3 && z < 3) m[i] = 1; // 27 voxels
      if (x > 5 && y > 5 && z > 4) m[i] = 1; // 4·4·5 = 80 voxels
    });
    const { sizes } = labelComponents(m, dims);
    assert.deepEqual([...sizes].sort((a, b) => a - b), [27, 80]);
    const largest = largestComponent(m, dims);
    assert.equal(largest.size, 80);
    assert.equal(largest.total, 107);
    assert.equal(largest.components, 2);
    forEachVoxel(dims, (x, y, z, i) => assert.equal(largest.mask[i], x > 5 && y > 5 && z > 4 ? 1 : 0));
  });

  it('joins diagonal neighbours only with 26-connectivity', () => {
    const dims: Vec3 = [3, 3, 3];
    const m = new Uint8Array(27);
    m[0] = 1;
    m[1 + 3 * (1 + 3 * 1)] = 1; // corner neighbour
    assert.equal(labelComponents(m, dims, 6).sizes.length, 2);
    assert.equal(labelComponents(m, dims, 26).sizes.length, 1);
    assert.equal(largestComponent(m, dims, 26).size, 2);
  });

  it('handles an empty mask', () => {
    const r = largestComponent(new Uint8Array(8), [2, 2, 2]);
    assert.equal(r.size, 0);
    assert.equal(count(r.mask), 0);
  });
});

describe('hole filling', () => {
  const dims: Vec3 = [12, 12, 12];
  /** A hollow cube shell (walls 1 voxel) from 2 to 9, optionally with a hole in one wall. */
  function shell(openWall: boolean): Uint8Array {
    const m = new Uint8Array(12 ** 3);
    forEachVoxel(dims, (x, y, z, i) => {
      const inside = x >= 2 && x <= 9 && y >= 2 && y <= 9 && z >= 2 && z <= 9;
      const wall = inside && (x === 2 || x === 9 || y === 2 || y === 9 || z === 2 || z === 9);
      if (wall) m[i] = 1;
      if (openWall && x === 2 && y === 5 && z === 5) m[i] = 0;
    });
    return m;
  }

  it('fills a closed cavity in 3D and leaves one open to the border', () => {
    assert.equal(count(fillHoles3d(shell(false), dims)), 8 ** 3);
    assert.equal(count(fillHoles3d(shell(true), dims)), count(shell(true)));
  });

  it('fills per axial slice what is open across slices', () => {
    // a tube along z through the whole volume: open at both ends in 3D, closed in every slice
    const tube = new Uint8Array(12 ** 3);
    forEachVoxel(dims, (x, y, _z, i) => {
      if (Math.max(Math.abs(x - 5.5), Math.abs(y - 5.5)) === 3.5) tube[i] = 1;
    });
    assert.equal(count(fillHoles3d(tube, dims)), count(tube));
    assert.equal(count(fillHolesAxial(tube, dims)), 8 * 8 * 12);
    // the open wall of the cube is closed within its slices except the one with the hole
    const filled = fillHolesAxial(shell(true), dims);
    assert.equal(filled[5 + 12 * (5 + 12 * 5)], 0);
    assert.equal(filled[5 + 12 * (5 + 12 * 6)], 1);
  });
});

describe('otsuThreshold', () => {
  it('separates two modes and ignores zeros and non-finite values', () => {
    const rand = mulberry32(11);
    const values: number[] = [];
    for (let i = 0; i < 5000; i++) values.push(0); // background zeros are not counted
    for (let i = 0; i < 3000; i++) values.push(20 + rand() * 10);
    for (let i = 0; i < 2000; i++) values.push(100 + rand() * 20);
    values.push(NaN, Infinity, -5);
    const r = otsuThreshold(Float32Array.from(values));
    assert.ok(r.threshold > 30 && r.threshold < 100, `threshold ${r.threshold}`);
    assert.equal(r.count, 5000);
    assert.ok(r.min >= 20 && r.max <= 120);
  });

  it('is not thrown off by a few extreme voxels (histogram ends at the 99.9th percentile)', () => {
    const rand = mulberry32(13);
    const values = new Float32Array(10000);
    for (let i = 0; i < 10000; i++) values[i] = i < 6000 ? 20 + rand() * 10 : 100 + rand() * 20;
    values[0] = 1e6;
    values[1] = 5e5;
    const robust = otsuThreshold(values);
    assert.ok(robust.threshold > 30 && robust.threshold < 100, `threshold ${robust.threshold}`);
    assert.ok(robust.upper >= 120 && robust.upper < 1000 && robust.max === 1e6);
    const naive = otsuThreshold(values, { upperPercentile: 100 });
    assert.ok(naive.threshold > 120, 'with the full range every tissue value shares one bin');
    assert.throws(() => otsuThreshold(values, { upperPercentile: 0 }), ConfigError);
  });

  it('respects a mask and throws Mri2ctError on a blank image', () => {
    const v = Float32Array.from([1, 1, 1, 50, 50, 50, 1000]);
    const r = otsuThreshold(v, { mask: [1, 1, 1, 1, 1, 1, 0] });
    assert.ok(r.threshold > 1 && r.threshold < 50);
    assert.throws(() => otsuThreshold(new Float32Array(10), { what: 'MRI of p1' }), (e: unknown) => {
      return e instanceof Mri2ctError && /MRI of p1/.test(e.message);
    });
    assert.throws(() => otsuThreshold(v, { bins: 1 }), ConfigError);
  });
});

describe('percentiles', () => {
  /** numpy.percentile(a, p) with the default linear method, from a full sort. */
  function reference(values: number[], p: number): number {
    const a = values.filter(Number.isFinite).sort((x, y) => x - y);
    const h = ((a.length - 1) * p) / 100;
    const lo = Math.floor(h);
    const hi = Math.min(lo + 1, a.length - 1);
    return a[lo]! + (h - lo) * (a[hi]! - a[lo]!);
  }

  it('match a sorted-array reference (random data, ties, masks, extremes)', () => {
    const rand = mulberry32(12);
    for (const n of [1, 2, 7, 100, 1001, 20000]) {
      const values = Array.from({ length: n }, () => (rand() < 0.3 ? Math.floor(rand() * 5) : rand() * 1000 - 200));
      const ps = [0, 0.5, 1, 25, 50, 73.3, 99, 99.5, 100];
      const got = percentiles(Float32Array.from(values), ps);
      const f32 = Array.from(Float32Array.from(values));
      ps.forEach((p, k) => assert.ok(Math.abs(got[k]! - reference(f32, p)) < 1e-9, `n ${n} p ${p}`));
      // masked: every other value
      const mask = values.map((_, i) => i % 2);
      if (n > 1) {
        const masked = f32.filter((_, i) => i % 2 === 1);
        assert.ok(Math.abs(percentile(f32, 42, { mask }) - reference(masked, 42)) < 1e-9);
      }
    }
  });

  it('returns values in the order asked and ignores NaN', () => {
    const v = [5, NaN, 1, 3, 2, 4];
    assert.deepEqual(percentiles(v, [100, 0, 50]), [5, 1, 3]);
  });

  it('throws Mri2ctError on an empty mask and ConfigError on a bad percentile', () => {
    assert.throws(() => percentile([1, 2, 3], 50, { mask: [0, 0, 0], what: 'MRI of p7' }), (e: unknown) => {
      return e instanceof Mri2ctError && !(e instanceof ConfigError) && /MRI of p7/.test(e.message);
    });
    assert.throws(() => percentile([1, 2, 3], 101), ConfigError);
    assert.throws(() => percentile([1, 2, 3], 50, { mask: [1] }), ConfigError);
  });
});
