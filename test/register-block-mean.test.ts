import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { applyAffine } from '../src/io/affine-math';
import type { Affine, Vec3 } from '../src/io/volume';
import { blockFactors, blockMean } from '../src/register/block-mean';

describe('blockMean (registration downsampling)', () => {
  const affine: Affine = [
    [-0.5, 0, 0, 60],
    [0, 0.5, 0, -70],
    [0, 0, 1.2, -40],
    [0, 0, 0, 1],
  ];
  const dims: Vec3 = [5, 4, 3];
  const data = Float32Array.from({ length: 60 }, (_, i) => i);
  const vol = { data, dims, spacing: [0.5, 0.5, 1.2] as Vec3, affine };

  it('picks per-axis factors nearest the target voxel size, never below 1', () => {
    assert.deepEqual(blockFactors([0.5, 0.45, 1.2], 1), [2, 2, 1]);
    assert.deepEqual(blockFactors([1, 1, 1.2], 1), [1, 1, 1]);
    assert.deepEqual(blockFactors([2, 2, 2], 1), [1, 1, 1]);
    assert.deepEqual(blockFactors([0.5, 0.5, 0.5], 0), [1, 1, 1]);
  });

  it('returns the input itself when every factor is 1', () => {
    assert.equal(blockMean(vol, [1, 1, 1]), vol);
  });

  it('averages full blocks, drops partial ones, and puts each voxel at its block centre in world space', () => {
    const out = blockMean(vol, [2, 2, 1]);
    assert.deepEqual(out.dims, [2, 2, 3]);
    assert.deepEqual(out.spacing, [1, 1, 1.2]);
    for (let z = 0; z < 3; z++) {
      for (let y = 0; y < 2; y++) {
        for (let x = 0; x < 2; x++) {
          const block = [0, 1].flatMap((dy) => [0, 1].map((dx) => [2 * x + dx, 2 * y + dy, z] as Vec3));
          const mean = block.reduce((s, [i, j, k]) => s + data[i + 5 * (j + 4 * k)]!, 0) / 4;
          assert.equal(out.data[x + 2 * (y + 2 * z)], mean);
          const centre = block.map((v) => applyAffine(affine, v)).reduce((s, p) => s.map((c, i) => c + p[i]! / 4) as Vec3, [0, 0, 0] as Vec3);
          const got = applyAffine(out.affine, [x, y, z]);
          for (let i = 0; i < 3; i++) assert.ok(Math.abs(got[i]! - centre[i]!) < 1e-9, `voxel ${x},${y},${z} axis ${i}: ${got[i]} vs ${centre[i]}`);
        }
      }
    }
  });
});
