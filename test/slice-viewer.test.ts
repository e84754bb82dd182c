/**
 * The slice viewer's payload (src/notebook/slice-viewer.ts), decoded as a browser would: the
 * PNG atlases embedded in the HTML are decoded (node-canvas) and a known voxel's code must be the
 * quantised source value; the per-plane lookup tables must reproduce extractSlice's pictures
 * (orientation included); block averaging and the value mapping are checked against direct
 * arithmetic. Small synthetic volumes: runs in about a second.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createCanvas, loadImage } from 'canvas';
import type { Vec3, Volume } from '../src/io/volume';
import { extractSlice } from '../src/notebook/volume-views';
import type { CachedPatientView } from '../src/notebook/cache-figures';
import { cacheSliceViewer } from '../src/notebook/slice-viewers';
import {
  atlasPixel, dequantise, downsampleVolume, parseSliceViewerHtml, quantise, sliceViewer, type SliceViewerData,
} from '../src/notebook/slice-viewer';

/** A volume with a distinct value per voxel; the affine flips x (LAS-like) to exercise orientation. */
function synthetic(dims: Vec3, f: (x: number, y: number, z: number) => number, flipX = true): Volume {
  const data = new Float32Array(dims[0] * dims[1] * dims[2]);
  for (let z = 0; z < dims[2]; z++) for (let y = 0; y < dims[1]; y++) for (let x = 0; x < dims[0]; x++) data[x + dims[0] * (y + dims[1] * z)] = f(x, y, z);
  return { data, dims, spacing: [1, 1, 1], affine: [[flipX ? -1 : 1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]] };
}

/** The atlases of a viewer decoded to RGBA pixel arrays. */
async function decodeAtlases(d: SliceViewerData): Promise<Uint8ClampedArray[]> {
  return Promise.all(d.atlases.map(async (a) => {
    const img = await loadImage(Buffer.from(a.png, 'base64'));
    assert.equal(img.width, a.width);
    assert.equal(img.height, a.height);
    const c = createCanvas(a.width, a.height);
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    return ctx.getImageData(0, 0, a.width, a.height).data;
  }));
}

test('the embedded PNG atlases hold every voxel as its 8-bit code over the stated range', async () => {
  const dims: Vec3 = [23, 17, 11];
  const mri = synthetic(dims, (x, y, z) => Math.sin(x * 0.7) + Math.cos(y * 0.4) + z * 0.1);
  const ct = synthetic(dims, (x, y, z) => -1000 + 37 * x + 11 * y + 90 * z);
  const mask = synthetic(dims, (x, y) => (x > 5 && y > 4 ? 1 : 0));
  const err = synthetic(dims, (x, y, z) => (x * y * z) % 500);
  const v = sliceViewer([
    { name: 'MRI', vol: mri, low: -2, high: 3 },
    { name: 'CT', vol: ct, low: -1024, high: 3000, unit: 'HU' },
    { name: 'mask', vol: mask, low: 0, high: 1 },
    { name: 'err', vol: err, low: 0, high: 500, unit: 'HU' },
  ], [{ title: 'MRI', volume: 0, overlay: 2 }, { title: 'CT', volume: 1 }, { title: 'err', volume: 3, colormap: 'hot' }], { maxDim: 64 });
  assert.equal(v.bytes, Buffer.byteLength(v.html));
  assert.match(v.html, /^<div class="mri2ct-slice-viewer"/);
  assert.doesNotMatch(v.html, /<img\b|https?:\/\//, 'self-contained, no <img> in the page');
  const d = parseSliceViewerHtml(v.html);
  assert.deepEqual(d.dims, dims);
  assert.equal(d.atlases.length, 2, 'four volumes: two RGB atlases');
  const px = await decodeAtlases(d);
  const sources = [mri, ct, mask, err];
  for (const [vi, vol] of sources.entries()) {
    const meta = d.volumes[vi]!;
    assert.equal(meta.atlas, Math.floor(vi / 3));
    assert.equal(meta.channel, vi % 3);
    for (const [x, y, z] of [[0, 0, 0], [7, 3, 5], [22, 16, 10], [11, 9, 4]] as Vec3[]) {
      const [ax, ay] = atlasPixel(d.dims, d.atlases[meta.atlas]!.cols, x, y, z);
      const code = px[meta.atlas]![(ay * d.atlases[meta.atlas]!.width + ax) * 4 + meta.channel];
      const src = vol.data[x + dims[0] * (y + dims[1] * z)]!;
      assert.equal(code, quantise(src, meta.low, meta.high), `${meta.name} at (${x}, ${y}, ${z})`);
      assert.ok(Math.abs(dequantise(code!, meta.low, meta.high) - Math.min(meta.high, Math.max(meta.low, src))) <= (meta.high - meta.low) / 510 + 1e-9);
    }
  }
});

test('plane lookup tables reproduce extractSlice (axial, coronal, sagittal; flipped axes)', () => {
  const dims: Vec3 = [13, 9, 7];
  const vol = synthetic(dims, (x, y, z) => x + 20 * y + 400 * z);
  const d = parseSliceViewerHtml(sliceViewer([{ name: 'v', vol, low: 0, high: 4000 }], [{ title: 'v', volume: 0 }],
    { planes: ['axial', 'coronal', 'sagittal'], maxDim: 64 }).html);
  for (const g of d.planes) {
    for (const s of [0, Math.floor(g.count / 2), g.count - 1]) {
      const ref = extractSlice(vol, g.plane, s);
      assert.equal(g.width, ref.width);
      assert.equal(g.height, ref.height);
      for (let r = 0; r < g.height; r++) {
        for (let c = 0; c < g.width; c++) {
          const q = [0, 0, 0];
          q[g.normalAxis] = s; q[g.colAxis] = g.colIndex[c]!; q[g.rowAxis] = g.rowIndex[r]!;
          assert.equal(vol.data[q[0]! + dims[0] * (q[1]! + dims[1] * q[2]!)], ref.values[r * g.width + c], `${g.plane} ${s} (${c}, ${r})`);
        }
      }
    }
  }
});

test('downsampling: whole factors, block means, the viewer states the grid', () => {
  const vol = synthetic([10, 6, 5], (x, y, z) => x + 10 * y + 100 * z, false);
  const small = downsampleVolume(vol, [2, 2, 1]);
  assert.deepEqual(small.dims, [5, 3, 5]);
  assert.deepEqual(small.spacing, [2, 2, 1]);
  // block x 2..3, y 2..3, z 4: mean of x + 10y over it (+400)
  assert.equal(small.data[1 + 5 * (1 + 3 * 4)], 400 + (22 + 23 + 32 + 33) / 4);
  const v = sliceViewer([{ name: 'v', vol, low: 0, high: 600 }], [{ title: 'v', volume: 0 }], { maxDim: 5 });
  assert.deepEqual(v.factor, [2, 2, 1]);
  assert.deepEqual(v.dims, [5, 3, 5]);
  assert.match(v.summary, /downsampled ×2×2×1 from 10×6×5/);
});

test('cache viewer: CT carried in HU over the cache window, every slice, readable back within half a step', async () => {
  const [S, H, W] = [9, 12, 10];
  const n = S * H * W;
  const ctNorm = Float32Array.from({ length: n }, (_, i) => ((i * 37) % 1000) / 999);
  const view = {
    id: 'p', file: 'p.h5',
    meta: { format: 'h5', geometry: { affine: [[-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]] }, normalization: { ct: { min: -1024, max: 3000 } } },
    arrays: { shape: [S, H, W], mri: Float32Array.from({ length: n }, (_, i) => (i % 17) / 16), ct: ctNorm, mask: Float32Array.from({ length: n }, (_, i) => (i % W > 2 ? 1 : 0)) },
  } as unknown as CachedPatientView;
  const v = cacheSliceViewer(view);
  const d = parseSliceViewerHtml(v.html);
  assert.deepEqual(d.dims, [W, H, S], 'every slice, no downsampling at this size');
  const ct = d.volumes[1]!;
  assert.deepEqual([ct.name, ct.low, ct.high, ct.unit], ['CT', -1024, 3000, 'HU']);
  const px = (await decodeAtlases(d))[ct.atlas]!;
  for (const [x, y, z] of [[0, 0, 0], [4, 7, 3], [9, 11, 8]] as Vec3[]) {
    const [ax, ay] = atlasPixel(d.dims, d.atlases[ct.atlas]!.cols, x, y, z);
    const code = px[(ay * d.atlases[ct.atlas]!.width + ax) * 4 + ct.channel]!;
    const hu = -1024 + ctNorm[x + W * (y + H * z)]! * 4024;
    assert.equal(code, quantise(hu, -1024, 3000));
    assert.ok(Math.abs(dequantise(code, -1024, 3000) - hu) <= 4024 / 510 + 1e-6, `HU back within ±7.9 at (${x}, ${y}, ${z})`);
  }
  assert.match(v.summary, /CT -1024\.\.3000 HU \(step 15\.8\)/);
});
