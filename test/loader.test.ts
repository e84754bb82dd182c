/**
 * The cache loader on a tiny real cache (phantom → real preprocessing → npy and h5 files):
 * patient-level split, batch shapes and ranges, every training slice once per epoch, seeded
 * per-epoch determinism (what resume relies on), background slices, in-memory vs LRU streaming,
 * corrupt and stale caches, and no tensor leaks.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { listPatientMetadata } from '../src/cache/metadata';
import type { TrainBatch, ValBatch } from '../src/data/batches';
import type { CachedPatient } from '../src/data/cache-reader';
import { CacheLoader, type LoaderOptions } from '../src/data/loader';
import { splitPatients } from '../src/data/split';
import { loadBackend } from '../src/env/backend';
import { CacheError, ConfigError } from '../src/errors';
import { runPythonJson } from './helpers/python';
import { buildTinyCaches, copyCache, removeTemp, type TinyCaches } from './helpers/tiny-cache';

let tiny: TinyCaches;
let npy = '';
let h5 = '';
const S = 32;
const PX = S * S;
const temps: string[] = [];

before(async () => {
  await loadBackend();
  tiny = await buildTinyCaches({ formats: ['npy', 'h5'], patients: 5, grid: [64, 64, 40], size: S });
  npy = tiny.caches.npy ?? '';
  h5 = tiny.caches.h5 ?? '';
});

after(() => {
  removeTemp(tiny?.root);
  for (const t of temps) removeTemp(t);
});

const open = (dir: string, o: Partial<LoaderOptions> = {}): Promise<CacheLoader> => CacheLoader.open(dir, { batchSize: 4, seed: 11, augment: { augProb: 0 }, ...o });

interface HostBatch { n: number; shape: number[]; mri: Float32Array; ct: Float32Array }

/** Reads and disposes one batch. */
async function host(b: TrainBatch | ValBatch): Promise<HostBatch> {
  const out = { n: b.mri.shape[0], shape: b.mri.shape, mri: (await b.mri.data()) as Float32Array, ct: (await b.ct.data()) as Float32Array };
  tf.dispose([b.mri, b.ct, ...('mask' in b ? [b.mask] : [])]);
  return out;
}

async function epoch(loader: CacheLoader, e: number): Promise<HostBatch[]> {
  const out: HostBatch[] = [];
  for await (const b of loader.epochBatches(e)) out.push(await host(b));
  return out;
}

const key = (r: { patient: string; slice: number }): string => `${r.patient}#${r.slice}`;

/** A slice in [-1, 1] as the loader must deliver it without augmentation: 2·(q·scale) − 1 in float32. */
function expectedSlice(p: CachedPatient, slice: number): { mri: Float32Array; ct: Float32Array } {
  const mri = new Float32Array(PX);
  const ct = new Float32Array(PX);
  const scale = Math.fround(p.scale); // the loader scales in float32 on the backend
  for (let i = 0; i < PX; i++) {
    mri[i] = Math.fround(Math.fround((p.mri[slice * PX + i] ?? 0) * scale) * 2 - 1);
    ct[i] = Math.fround(Math.fround((p.ct[slice * PX + i] ?? 0) * scale) * 2 - 1);
  }
  return { mri, ct };
}

/** Every slice (both sides of the split, background included) of the cache, by key. */
async function allSlices(loader: CacheLoader): Promise<Map<string, { mri: Float32Array; ct: Float32Array }>> {
  const out = new Map<string, { mri: Float32Array; ct: Float32Array }>();
  for (const m of loader.reader.patients) {
    const p = await loader.reader.get(m.id);
    for (let s = 0; s < m.shape[0]; s++) out.set(key({ patient: m.id, slice: s }), expectedSlice(p, s));
  }
  return out;
}

function maxAbsDiff(a: Float32Array, aOff: number, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < b.length; i++) d = Math.max(d, Math.abs((a[aOff + i] ?? NaN) - (b[i] ?? NaN)));
  return d;
}

/** The key of the cache slice whose MRI and CT both equal sample i of the batch (or undefined). */
function matchSample(b: HostBatch, i: number, slices: Map<string, { mri: Float32Array; ct: Float32Array }>): string | undefined {
  for (const [k, s] of slices) {
    if (maxAbsDiff(b.mri, i * PX, s.mri) <= 1e-6 && maxAbsDiff(b.ct, i * PX, s.ct) <= 1e-6) return k;
  }
  return undefined;
}

function range(a: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of a) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return [lo, hi];
}

test('patient-level split: whole patients on one side, seeded and reproducible, explicit val ids, unknown ids refused', async () => {
  const a = await open(npy, { seed: 3 });
  const { train, val } = a.split;
  assert.deepEqual([...train, ...val].sort(), tiny.ids);
  assert.equal(train.filter((id) => val.includes(id)).length, 0);
  assert.equal(val.length, 1, 'default 20% of 5 patients');
  // No patient's slices on both sides: training order, validation batches and samples.
  const trainPatients = new Set(a.epochOrder(1).map((r) => r.patient));
  const valPatients = new Set<string>();
  for await (const b of a.valBatches()) {
    for (const r of b.ids) valPatients.add(r.patient);
    tf.dispose([b.mri, b.ct, b.mask]);
  }
  const sample = await a.sampleBatch();
  assert.ok(sample !== undefined);
  for (const r of sample.ids) assert.ok(val.includes(r.patient), `sample slice ${key(r)} from a training patient`);
  tf.dispose([sample.mri, sample.ct, sample.mask]);
  assert.deepEqual([...trainPatients].sort(), train);
  assert.deepEqual([...valPatients].sort(), val);

  // Seeded and reproducible: same seed → same split (also from a fresh loader); the seed matters.
  const b = await open(npy, { seed: 3 });
  assert.deepEqual(b.split, a.split);
  const bySeed = new Set<string>();
  for (let seed = 0; seed < 30; seed++) {
    const s = splitPatients(tiny.ids, { seed });
    assert.deepEqual(splitPatients(tiny.ids, { seed }), s);
    bySeed.add(s.val.join());
  }
  assert.ok(bySeed.size >= 3, `only ${bySeed.size} distinct validation sets over 30 seeds`);
  const two = await open(npy, { split: { valFraction: 0.4 } });
  assert.equal(two.split.val.length, 2);

  // Explicit validation ids are honoured, whatever the seed.
  const ex = await open(npy, { seed: 99, split: { valIds: ['brain_004', 'brain_002'] } });
  assert.deepEqual(ex.split.val, ['brain_002', 'brain_004']);
  assert.deepEqual(ex.split.train, ['brain_001', 'brain_003', 'brain_005']);
  assert.ok(ex.epochOrder(1).every((r) => ex.split.train.includes(r.patient)));
  const metas = listPatientMetadata(npy);
  const slicesOf = (ids: string[]): number => metas.filter((m) => ids.includes(m.id)).reduce((s, m) => s + m.shape[0] - m.backgroundSlices.length, 0);
  assert.equal(ex.valSlices, slicesOf(['brain_002', 'brain_004']));
  assert.equal(ex.trainSlices, slicesOf(['brain_001', 'brain_003', 'brain_005']));

  // An unknown id is refused with a ConfigError naming it (and only it).
  await assert.rejects(open(npy, { split: { valIds: ['brain_001', 'brain_999'] } }), (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.match(e.message, /brain_999/);
    assert.doesNotMatch(e.message.split('not in the cache')[0] ?? '', /brain_001/);
    return true;
  });
});

test('training batches: [B, 32, 32, 1] in [-1, 1]; every training slice exactly once per epoch, MRI and CT paired; epochs differ', async () => {
  const loader = await open(npy, { augment: { augProb: 0 } });
  const slices = await allSlices(loader);
  const trainKeys = new Set(loader.epochOrder(1).map(key));
  assert.equal(trainKeys.size, loader.trainSlices);
  const orders: string[][] = [];
  for (const e of [1, 2]) {
    const batches = await epoch(loader, e);
    assert.equal(batches.length, loader.batchesPerEpoch());
    const last = loader.trainSlices % 4 || 4;
    batches.forEach((b, i) => assert.deepEqual(b.shape, [i === batches.length - 1 ? last : 4, S, S, 1]));
    const seen = new Map<string, number>();
    const order: string[] = [];
    for (const b of batches) {
      for (const a of [b.mri, b.ct]) {
        const [lo, hi] = range(a);
        assert.ok(lo >= -1 && hi <= 1, `values ${lo}..${hi} outside [-1, 1]`);
      }
      for (let i = 0; i < b.n; i++) {
        const k = matchSample(b, i, slices);
        assert.ok(k !== undefined, `epoch ${e}: a sample matches no cache slice (MRI and CT of one slice)`);
        seen.set(k, (seen.get(k) ?? 0) + 1);
        order.push(k);
      }
    }
    assert.deepEqual([...seen.keys()].sort(), [...trainKeys].sort(), `epoch ${e}: not exactly the training slices`);
    assert.ok([...seen.values()].every((c) => c === 1), `epoch ${e}: a slice came twice`);
    // The batches are the epoch order (what resume relies on) and it is a permutation of the training set.
    assert.deepEqual(order, loader.epochOrder(e).map(key));
    orders.push(order);
  }
  assert.notDeepEqual(orders[0], orders[1], 'epochs 1 and 2 came in the same order');

  // With augmentation on, shapes and range hold.
  const aug = await open(npy, { augment: { augProb: 1 } });
  for (const b of await epoch(aug, 1)) {
    assert.equal(b.shape.slice(1).join(), `${S},${S},1`);
    for (const a of [b.mri, b.ct]) {
      const [lo, hi] = range(a);
      assert.ok(lo >= -1 - 1e-6 && hi <= 1 + 1e-6, `augmented values ${lo}..${hi} outside [-1, 1]`);
    }
  }
});

test('the same (seed, epoch) gives identical augmented batches, also from a freshly opened loader (resume)', async () => {
  const o = { seed: 5, augment: { augProb: 0.8 } };
  const a = await open(npy, o);
  const b = await open(npy, o);
  const a3 = await epoch(a, 3);
  const b3 = await epoch(b, 3);
  const a3again = await epoch(a, 3);
  const same = (x: HostBatch[], y: HostBatch[]): boolean =>
    x.length === y.length && x.every((bx, i) => Buffer.from(bx.mri.buffer).equals(Buffer.from(y[i]?.mri.buffer ?? new ArrayBuffer(0))) &&
      Buffer.from(bx.ct.buffer).equals(Buffer.from(y[i]?.ct.buffer ?? new ArrayBuffer(0))));
  assert.ok(same(a3, b3), 'a fresh loader with the same seed gave other batches for epoch 3');
  assert.ok(same(a3, a3again), 'epoch 3 twice gave other batches');
  assert.ok(!same(a3, await epoch(a, 4)), 'epoch 4 repeated epoch 3');
  const c = await open(npy, { ...o, seed: 6, split: { seed: 5 } });
  assert.deepEqual(c.split.val, a.split.val);
  assert.ok(!same(a3, await epoch(c, 3)), 'another seed gave the same epoch 3');
});

test("dropBackground drops the metadata's backgroundSlices; keepBackground keeps them", async () => {
  const metas = listPatientMetadata(npy);
  const bg = new Set(metas.flatMap((m) => m.backgroundSlices.map((s) => key({ patient: m.id, slice: s }))));
  assert.ok(bg.size > 0, 'the tiny cache should have background slices');
  const total = metas.reduce((s, m) => s + m.shape[0], 0);
  const valKeys = async (l: CacheLoader): Promise<string[]> => {
    const out: string[] = [];
    for await (const b of l.valBatches()) {
      out.push(...b.ids.map(key));
      tf.dispose([b.mri, b.ct, b.mask]);
    }
    return out;
  };

  const drop = await open(npy);
  assert.equal(drop.trainSlices + drop.valSlices, total - bg.size);
  const dropped = [...drop.epochOrder(1).map(key), ...(await valKeys(drop))];
  assert.equal(dropped.length, total - bg.size);
  assert.ok(dropped.every((k) => !bg.has(k)), 'a background slice was kept');

  const keep = await open(npy, { dropBackground: false });
  assert.equal(keep.trainSlices + keep.valSlices, total);
  const kept = new Set([...keep.epochOrder(1).map(key), ...(await valKeys(keep))]);
  assert.equal(kept.size, total);
  for (const k of bg) assert.ok(kept.has(k), `${k} missing with keepBackground`);
  assert.equal(keep.batchesPerEpoch(), Math.ceil(keep.trainSlices / 4));
});

test('streaming through the LRU (maxCacheMem 1 byte) gives the same data as in memory, for npy and h5', async () => {
  const mem = await open(npy);
  assert.equal(mem.reader.inMemory, true);
  const slices = await allSlices(mem);
  const memVal: HostBatch[] = [];
  for await (const b of mem.valBatches()) memVal.push(await host(b));
  const memSample = await mem.sampleBatch();
  assert.ok(memSample !== undefined);
  const memSampleHost = await host(memSample);

  for (const dir of [npy, h5]) {
    const st = await open(dir, { maxCacheMem: 1 });
    assert.equal(st.reader.inMemory, false, `${dir}: not streaming`);
    assert.deepEqual(st.split, mem.split);
    assert.equal(st.trainSlices, mem.trainSlices);
    for (const e of [1, 2]) {
      const order = st.epochOrder(e).map(key);
      assert.deepEqual([...order].sort(), mem.epochOrder(e).map(key).sort(), 'streaming visits other slices');
      const batches = await epoch(st, e);
      let i = 0;
      for (const b of batches) {
        for (let j = 0; j < b.n; j++, i++) {
          const want = slices.get(order[i] ?? '');
          assert.ok(want !== undefined);
          assert.equal(maxAbsDiff(b.mri, j * PX, want.mri), 0, `${dir} epoch ${e}: MRI of ${order[i]} differs from memory`);
          assert.equal(maxAbsDiff(b.ct, j * PX, want.ct), 0, `${dir} epoch ${e}: CT of ${order[i]} differs from memory`);
        }
      }
      assert.equal(i, order.length);
    }
    const val: HostBatch[] = [];
    for await (const b of st.valBatches()) val.push(await host(b));
    assert.equal(val.length, memVal.length);
    val.forEach((b, k) => {
      assert.ok(Buffer.from(b.mri.buffer).equals(Buffer.from(memVal[k]?.mri.buffer ?? new ArrayBuffer(0))), `${dir}: val batch ${k} MRI differs`);
      assert.ok(Buffer.from(b.ct.buffer).equals(Buffer.from(memVal[k]?.ct.buffer ?? new ArrayBuffer(0))), `${dir}: val batch ${k} CT differs`);
    });
    const sample = await st.sampleBatch();
    assert.ok(sample !== undefined);
    assert.ok(Buffer.from((await host(sample)).mri.buffer).equals(Buffer.from(memSampleHost.mri.buffer)));
  }
});

/** Flips 16 bytes at `at` of `file`. */
function flipBytes(file: string, at: number): void {
  const buf = fs.readFileSync(file);
  assert.ok(at >= 0 && at + 16 <= buf.length, `offset ${at} outside ${file} (${buf.length} bytes)`);
  for (let i = 0; i < 16; i++) buf[at + i] = (buf[at + i] ?? 0) ^ 0xa5;
  fs.writeFileSync(file, buf);
}

async function assertRefused(dir: string, fileInMessage: string, extra?: RegExp): Promise<void> {
  await assert.rejects(CacheLoader.open(dir, { batchSize: 4 }), (e: unknown) => {
    assert.ok(e instanceof CacheError, `expected CacheError, got ${String(e)}`);
    assert.ok(e.message.includes(fileInMessage), `message does not name ${fileInMessage}: ${e.message}`);
    assert.ok(e.message.includes('mri2ct preprocess --force'), `message lacks the fix: ${e.message}`);
    if (extra !== undefined) assert.match(e.message, extra);
    return true;
  });
}

test('a corrupted cache file (npy or h5 data) is refused on open, naming the file and `mri2ct preprocess --force`', async () => {
  // npy: flip bytes in the middle of brain_002's CT data (after the .npy header).
  const a = copyCache(npy);
  temps.push(a);
  const ctNpy = path.join(a, 'brain_002.npy.d', 'ct.npy');
  const head = fs.readFileSync(ctNpy);
  const dataStart = 10 + head.readUInt16LE(8);
  flipBytes(ctNpy, dataStart + Math.floor((head.length - dataStart) / 2));
  await assertRefused(a, path.join(a, 'brain_002.npy.d'), /checksum|corrupt/);

  // h5: flip bytes inside a compressed chunk of brain_002's CT (chunk offsets from h5py).
  const b = copyCache(h5);
  temps.push(b);
  const file = path.join(b, 'brain_002.h5');
  const chunk = runPythonJson<{ offset: number; size: number }>(`
import h5py, json, sys
with h5py.File(sys.argv[1], 'r') as f:
    ds = f['ct']
    c = ds.id.get_chunk_info(ds.id.get_num_chunks() // 2)
    print(json.dumps({'offset': c.byte_offset, 'size': c.size}))
`, [file]);
  assert.ok(chunk.size > 32, `chunk of ${chunk.size} bytes`);
  flipBytes(file, chunk.offset + Math.floor(chunk.size / 2) - 8);
  await assertRefused(b, file, /corrupt|checksum/);

  // The untouched caches still open.
  await CacheLoader.open(npy, { batchSize: 4 });
  await CacheLoader.open(h5, { batchSize: 4 });
});

test('a cache built with other parameters (patient metadata or params.json) is refused, naming the file', async () => {
  const edit = (file: string, f: (j: Record<string, unknown>) => void): void => {
    const j = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    f(j);
    fs.writeFileSync(file, JSON.stringify(j));
  };
  const a = copyCache(npy);
  temps.push(a);
  edit(path.join(a, 'metadata', 'brain_003.json'), (j) => {
    j['paramsHash'] = '0123456789abcdef';
  });
  await assertRefused(a, path.join(a, 'brain_003.npy.d'), /other preprocessing parameters/);

  const b = copyCache(h5);
  temps.push(b);
  edit(path.join(b, 'metadata', 'params.json'), (j) => {
    j['paramsHash'] = 'fedcba9876543210';
  });
  await assertRefused(b, path.join(b, 'metadata', 'params.json'), /other preprocessing parameters/);

  // params.json whose parameters no longer match its own hash (edited, or another pipeline version).
  const c = copyCache(npy);
  temps.push(c);
  edit(path.join(c, 'metadata', 'params.json'), (j) => {
    (j['params'] as { resize: { size: number } }).resize.size = 64;
  });
  await assertRefused(c, path.join(c, 'metadata', 'params.json'), /other preprocessing parameters/);
});

test('no tensor leaks: two epochs of augmented batches, validation batches and samples', async () => {
  const loader = await open(npy, { augment: { augProb: 0.8 } });
  const before = tf.memory().numTensors;
  for (const e of [1, 2]) {
    for await (const b of loader.epochBatches(e)) tf.dispose([b.mri, b.ct]);
    for await (const b of loader.valBatches()) tf.dispose([b.mri, b.ct, b.mask]);
  }
  const s = await loader.sampleBatch();
  if (s !== undefined) tf.dispose([s.mri, s.ct, s.mask]);
  assert.equal(tf.memory().numTensors, before);
  // Also with streaming (read-ahead through the LRU).
  const st = await open(npy, { maxCacheMem: 1, augment: { augProb: 0.8 } });
  for await (const b of st.epochBatches(1)) tf.dispose([b.mri, b.ct]);
  assert.equal(tf.memory().numTensors, before);
});
