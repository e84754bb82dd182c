/**
 * Tests of the per-patient cache formats (src/cache): round trips, interoperability with
 * h5py / numpy (through /usr/bin/python3, installed by scripts/setup.sh), corrupt and truncated
 * files, the 'pt' alias, atomic writes and temp leftovers. Real files in a temp directory.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CacheError, ConfigError } from '../src/errors';
import {
  CHECKSUM_ALGORITHM,
  U16_MAX,
  U16_ROUNDTRIP_MAX_ERROR,
  checksumBytes,
  getCacheFormat,
  h5Format,
  isTempName,
  npyFormat,
  parseNpy,
  removeStaleTemps,
  u16ToFloat,
  type CacheAttrsInput,
  type CacheFormat,
  type PatientArrays,
} from '../src/cache';

const PY = '/usr/bin/python3';
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-cache-test-'));
process.on('exit', () => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let dirCounter = 0;
function freshDir(): string {
  const d = path.join(tmpRoot, `t${dirCounter++}`);
  fs.mkdirSync(d);
  return d;
}


/** Runs python code with args; returns parsed JSON from stdout. */
function py(code: string, ...args: string[]): unknown {
  const r = spawnSync(PY, ['-c', code, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function sha256(a: ArrayBufferView): string {
  return createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
}

/** A deterministic fake patient: a noisy ellipsoid head, values in [0,1], edge values included. */
function makePatient(slices = 5, h = 256, w = 256, seed = 1): PatientArrays & { mri: Float32Array; ct: Float32Array } {
  const n = slices * h * w;
  const mri = new Float32Array(n);
  const ct = new Float32Array(n);
  const mask = new Uint8Array(n);
  let s = seed >>> 0;
  const rnd = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  for (let z = 0; z < slices; z++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (z * h + y) * w + x;
        const dx = (x - w / 2) / (0.4 * w);
        const dy = (y - h / 2) / (0.45 * h);
        const dz = (z - slices / 2) / Math.max(1, 0.6 * slices);
        const r = dx * dx + dy * dy + dz * dz;
        if (r < 1) {
          mask[i] = 1;
          mri[i] = Math.min(1, Math.max(0, 0.4 + 0.2 * Math.sin(x / 7) * Math.cos(y / 9) + 0.05 * (rnd() - 0.5)));
          ct[i] = r > 0.85 ? 0.8 + 0.2 * rnd() : 0.25 + 0.02 * (rnd() - 0.5);
        }
      }
    }
  }
  // Edge values: exact 0 and 1, a value just outside [0,1] (clamped), half-step values.
  mri[0] = 1;
  mri[1] = 0;
  mri[2] = 1 + 1e-5;
  ct[0] = -1e-5;
  ct[1] = 0.5 / U16_MAX;
  ct[2] = 1.5 / U16_MAX;
  return { mri, ct, mask, shape: [slices, h, w] };
}

function quantize(a: Float32Array): Uint16Array {
  return Uint16Array.from(a, (v) => Math.round(Math.min(1, Math.max(0, v)) * U16_MAX));
}

const ATTRS: CacheAttrsInput = {
  patientId: 'brain_001',
  sourceFiles: { mri: 'data/brain_001/mr.nii.gz', ct: 'data/brain_001/ct é.nii.gz' },
  paramsHash: 'p-4f2a9c',
  normalization: {
    mri: { min: 12.5, max: 812.25, method: 'percentile-0.5-99.5', clip: true },
    ct: { min: -1024, max: 3000, unit: 'HU', method: 'fixed-window', clip: true },
  },
  extra: { spacing: '1x1x1', slicesKept: 5, resampled: true },
};

const formats: CacheFormat[] = [h5Format, npyFormat];

async function assertCacheError(p: Promise<unknown>, ...patterns: RegExp[]): Promise<CacheError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof CacheError, `expected CacheError, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    for (const re of patterns) assert.match(e.message, re);
    return e;
  }
  assert.fail('expected a CacheError');
}

function escapeRe(s: string): RegExp {
  return new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
}
const FIX = /mri2ct preprocess --force/;

// ---------------------------------------------------------------------------------------------

test('checksum: deterministic, sensitive to every byte, length and alignment independent', () => {
  const data = new Uint8Array(1000 + 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 255;
  const base = checksumBytes(data);
  assert.match(base, /^[0-9a-f]{16}$/);
  assert.equal(checksumBytes(data.slice()), base);
  for (const pos of [0, 1, 5, 31, 32, 500, 999, 1000, 1001, 1002]) {
    const c = data.slice();
    c[pos]! ^= 0x01;
    assert.notEqual(checksumBytes(c), base, `flip at ${pos} undetected`);
  }
  const longer = new Uint8Array(data.length + 1);
  longer.set(data);
  assert.notEqual(checksumBytes(longer), base, 'appended zero undetected');
  assert.notEqual(checksumBytes(data.subarray(0, data.length - 1)), base);
  // unaligned view gives the same digest as an aligned copy
  const holder = new Uint8Array(data.length + 1);
  holder.set(data, 1);
  assert.equal(checksumBytes(holder.subarray(1)), base);
  // typed arrays are hashed by their bytes
  const u16 = new Uint16Array([1, 2, 3, 65535]);
  assert.equal(checksumBytes(u16), checksumBytes(new Uint8Array(u16.buffer)));
  assert.notEqual(checksumBytes(new Uint8Array(0)), checksumBytes(new Uint8Array(1)));
  assert.equal(CHECKSUM_ALGORITHM, 'x8r32-64');
});

test('uint16 storage: exact decode table, idempotent, documented error bound', () => {
  const all = new Uint16Array(U16_MAX + 1).map((_, i) => i);
  const f = u16ToFloat(all);
  for (let q = 0; q <= U16_MAX; q++) {
    assert.equal(f[q], Math.fround(q / U16_MAX), `q=${q} not the correctly rounded q/65535`);
    assert.equal(Math.round(f[q]! * U16_MAX), q, `q=${q} does not survive a re-quantisation`);
  }
  assert.ok(U16_ROUNDTRIP_MAX_ERROR < 7.7e-6 && U16_ROUNDTRIP_MAX_ERROR > 7.6e-6);
  assert.ok(U16_ROUNDTRIP_MAX_ERROR * 4024 < 0.031, 'CT error must stay below 0.031 HU for a 4024 HU window');
});

for (const format of formats) {
  test(`${format.name}: round trip (raw exact, float within ${U16_ROUNDTRIP_MAX_ERROR.toExponential(2)}, attrs, verify)`, async () => {
    const dir = freshDir();
    const p = makePatient();
    const file = format.pathFor(dir, 'brain_001');
    assert.equal(file, path.join(dir, `brain_001${format.extension}`));
    assert.equal(format.exists(file), false);
    const written = await format.write(file, p, ATTRS);
    assert.equal(format.exists(file), true);
    assert.deepEqual(fs.readdirSync(dir), [path.basename(file)], 'only the committed entry remains');

    const raw = await format.readRaw(file, { verify: true });
    assert.deepEqual([...raw.shape], [...p.shape]);
    assert.equal(raw.scale, 1 / U16_MAX);
    assert.ok(raw.mri instanceof Uint16Array && raw.ct instanceof Uint16Array && raw.mask instanceof Uint8Array);
    assert.deepEqual(raw.mri, quantize(p.mri));
    assert.deepEqual(raw.ct, quantize(p.ct));
    assert.deepEqual(raw.mask, p.mask);
    assert.equal(raw.mri[2], U16_MAX, '1 + 1e-5 is clamped to 1');
    assert.equal(raw.ct[0], 0, '-1e-5 is clamped to 0');

    const r = await format.read(file, { verify: true });
    assert.ok(r.mri instanceof Float32Array && r.ct instanceof Float32Array);
    let maxErr = 0;
    for (let i = 0; i < p.mri.length; i++) {
      const em = Math.abs(r.mri[i]! - Math.min(1, Math.max(0, p.mri[i]!)));
      const ec = Math.abs(r.ct[i]! - Math.min(1, Math.max(0, p.ct[i]!)));
      maxErr = Math.max(maxErr, em, ec);
    }
    assert.ok(maxErr <= U16_ROUNDTRIP_MAX_ERROR, `max error ${maxErr} > ${U16_ROUNDTRIP_MAX_ERROR}`);
    assert.ok(maxErr > 0, 'float input is quantised, so some error is expected');
    assert.deepEqual(r.mask, p.mask);

    for (const attrs of [r.attrs, raw.attrs, await format.readAttrs(file)]) {
      assert.equal(attrs.patientId, ATTRS.patientId);
      assert.deepEqual(attrs.sourceFiles, ATTRS.sourceFiles);
      assert.equal(attrs.paramsHash, ATTRS.paramsHash);
      assert.deepEqual(attrs.normalization, ATTRS.normalization);
      assert.deepEqual(attrs.extra, ATTRS.extra);
      assert.equal(attrs.formatVersion, 1);
      assert.equal(attrs.checksumAlgorithm, CHECKSUM_ALGORITHM);
      assert.equal(attrs.checksum, written.checksum);
      assert.deepEqual(attrs.checksums, written.checksums);
      assert.deepEqual(attrs.dtypes, { mri: 'uint16', ct: 'uint16', mask: 'uint8' });
      assert.equal(attrs.createdAt, written.createdAt);
    }

    // Re-writing what was read is lossless (float -> uint16 is idempotent), and uint16 input
    // is stored as is: both give the same checksum.
    const again = path.join(dir, `again${format.extension}`);
    const w2 = await format.write(again, { mri: r.mri, ct: r.ct, mask: r.mask, shape: r.shape }, ATTRS);
    assert.equal(w2.checksum, written.checksum);
    const w3 = await format.write(again, { mri: raw.mri, ct: raw.ct, mask: raw.mask, shape: raw.shape }, ATTRS);
    assert.equal(w3.checksum, written.checksum);
  });
}

test('h5 and npy of the same patient carry the same checksum', async () => {
  const dir = freshDir();
  const p = makePatient(3);
  const a = await h5Format.write(h5Format.pathFor(dir, 'x'), p, ATTRS);
  const b = await npyFormat.write(npyFormat.pathFor(dir, 'x'), p, ATTRS);
  assert.equal(a.checksum, b.checksum);
  assert.deepEqual(a.checksums, b.checksums);
});

test('h5py reads our .h5: shape, dtype, chunks (1,256,256), gzip 9, attributes, values', async () => {
  const dir = freshDir();
  const p = makePatient();
  const file = h5Format.pathFor(dir, 'brain_001');
  const written = await h5Format.write(file, p, ATTRS);
  const info = py(
    `
import sys, json, hashlib, h5py, numpy as np
out = {}
with h5py.File(sys.argv[1], 'r') as f:
    for k in ('mri', 'ct', 'mask'):
        ds = f[k]
        a = ds[()]
        out[k] = dict(shape=list(ds.shape), dtype=str(ds.dtype), chunks=list(ds.chunks), compression=ds.compression,
                      opts=ds.compression_opts, sha=hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest(),
                      checksum=ds.attrs['checksum'], scale=float(ds.attrs['scale']) if 'scale' in ds.attrs else None,
                      fmax=float(a.max()) * (float(ds.attrs['scale']) if 'scale' in ds.attrs else 1.0))
    out['attrs'] = {k: (v if isinstance(v, str) else v.item() if hasattr(v, 'item') else v) for k, v in f.attrs.items()}
print(json.dumps(out))
`,
    file,
  ) as Record<string, Record<string, unknown>>;
  const raw = await h5Format.readRaw(file);
  for (const k of ['mri', 'ct', 'mask'] as const) {
    const d = info[k]!;
    assert.deepEqual(d.shape, [5, 256, 256]);
    assert.equal(d.dtype, k === 'mask' ? 'uint8' : 'uint16');
    assert.deepEqual(d.chunks, [1, 256, 256]);
    assert.equal(d.compression, 'gzip');
    assert.equal(d.opts, 9);
    assert.equal(d.sha, sha256(raw[k]), `${k} values differ`);
    assert.equal(d.checksum, written.checksums[k]);
    assert.equal(d.scale, k === 'mask' ? null : 1 / U16_MAX);
    assert.equal(d.fmax, 1);
  }
  const a = info.attrs!;
  assert.equal(a.format_version, 1);
  assert.equal(a.patient_id, 'brain_001');
  assert.equal(a.source_mri, ATTRS.sourceFiles.mri);
  assert.equal(a.source_ct, ATTRS.sourceFiles.ct, 'UTF-8 attribute');
  assert.equal(a.params_hash, ATTRS.paramsHash);
  assert.deepEqual(JSON.parse(a.normalization as string), ATTRS.normalization);
  assert.deepEqual(JSON.parse(a.extra as string), ATTRS.extra);
  assert.equal(a.checksum, written.checksum);
  assert.equal(a.checksum_algorithm, CHECKSUM_ALGORITHM);
});

test('numpy reads our .npy files (standard v1.0 header, data 64-byte aligned)', async () => {
  const dir = freshDir();
  const p = makePatient();
  const entry = npyFormat.pathFor(dir, 'brain_001');
  await npyFormat.write(entry, p, ATTRS);
  assert.deepEqual(fs.readdirSync(entry).sort(), ['ct.npy', 'mask.npy', 'meta.json', 'mri.npy']);
  const info = py(
    `
import sys, os, json, hashlib, numpy as np
out = {}
for k in ('mri', 'ct', 'mask'):
    fn = os.path.join(sys.argv[1], k + '.npy')
    a = np.load(fn)
    m = np.load(fn, mmap_mode='r')
    with open(fn, 'rb') as fh:
        version = np.lib.format.read_magic(fh)
        np.lib.format.read_array_header_1_0(fh)
        offset = fh.tell()
    out[k] = dict(shape=list(a.shape), dtype=a.dtype.str, fortran=bool(np.isfortran(a)), version=list(version),
                  offset=offset, sha=hashlib.sha256(a.tobytes()).hexdigest(), mmap_equal=bool((m == a).all()))
print(json.dumps(out))
`,
    entry,
  ) as Record<string, Record<string, unknown>>;
  const raw = await npyFormat.readRaw(entry);
  for (const k of ['mri', 'ct', 'mask'] as const) {
    const d = info[k]!;
    assert.deepEqual(d.shape, [5, 256, 256]);
    assert.equal(d.dtype, k === 'mask' ? '|u1' : '<u2');
    assert.equal(d.fortran, false);
    assert.deepEqual(d.version, [1, 0]);
    assert.equal((d.offset as number) % 64, 0);
    assert.equal(d.sha, sha256(raw[k]));
    assert.equal(d.mmap_equal, true);
  }
});

test('npy: readRaw returns zero-copy views on the file buffers', async () => {
  const dir = freshDir();
  const entry = npyFormat.pathFor(dir, 'z');
  await npyFormat.write(entry, makePatient(2), ATTRS);
  const raw = await npyFormat.readRaw(entry);
  for (const k of ['mri', 'ct', 'mask'] as const) {
    const a = raw[k];
    assert.equal(a.byteOffset % 64, 0);
    assert.equal(a.buffer.byteLength, fs.statSync(path.join(entry, `${k}.npy`)).size, `${k} is a view on the whole file buffer`);
  }
  const parsed = parseNpy(fs.readFileSync(path.join(entry, 'mri.npy')), 'mri.npy');
  assert.equal(parsed.dataOffset % 64, 0);
});

test('we read .h5 files written by h5py (float32 + bool mask; uint16 with other chunks + checksums)', async () => {
  const dir = freshDir();
  const p = makePatient(4);
  const q = { mri: quantize(p.mri), ct: quantize(p.ct) };
  const clampF = (a: Float32Array): Float32Array => a.map((v) => Math.min(1, Math.max(0, v)));
  const mriF = clampF(p.mri);
  const ctF = clampF(p.ct);
  const bins: Record<string, ArrayBufferView> = { mriF, ctF, mriU: q.mri, ctU: q.ct, mask: p.mask };
  for (const [k, v] of Object.entries(bins)) fs.writeFileSync(path.join(dir, `${k}.bin`), new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  // Checksums for the uint16 file come from our own writer (same stored bytes).
  const ref = await npyFormat.write(path.join(dir, 'ref.npy.d'), { ...q, mask: p.mask, shape: p.shape }, ATTRS);
  py(
    `
import sys, os, json, h5py, numpy as np
d, shape, sums = sys.argv[1], tuple(json.loads(sys.argv[2])), json.loads(sys.argv[3])
ld = lambda k, t: np.fromfile(os.path.join(d, k + '.bin'), dtype=t).reshape(shape)
def attrs(f, pid):
    f.attrs['format_version'] = 1
    f.attrs['patient_id'] = pid
    f.attrs['params_hash'] = 'p-4f2a9c'
    f.attrs['normalization'] = json.dumps({'mri': {'min': 0, 'max': 1}, 'ct': {'min': -1024, 'max': 3000, 'unit': 'HU'}})
with h5py.File(os.path.join(d, 'float.h5'), 'w') as f:
    f.create_dataset('mri', data=ld('mriF', '<f4'), chunks=(1,) + shape[1:], compression='gzip')
    f.create_dataset('ct', data=ld('ctF', '<f4'))
    f.create_dataset('mask', data=ld('mask', 'u1').astype(bool), compression='gzip')
    attrs(f, 'py_float')
with h5py.File(os.path.join(d, 'lzf.h5'), 'w') as f:
    for k in ('mri', 'ct', 'mask'):
        f.create_dataset(k, data=ld(k + 'U' if k != 'mask' else k, '<u2' if k != 'mask' else 'u1'), compression='lzf')
    attrs(f, 'py_lzf')
with h5py.File(os.path.join(d, 'u16.h5'), 'w') as f:
    for k in ('mri', 'ct'):
        ds = f.create_dataset(k, data=ld(k + 'U', '<u2'), chunks=(2, 64, 64), compression='gzip', compression_opts=4, shuffle=True)
        ds.attrs['scale'] = 1 / 65535
        ds.attrs['checksum'] = sums['checksums'][k]
    ds = f.create_dataset('mask', data=ld('mask', 'u1'), chunks=True, compression='gzip')
    ds.attrs['checksum'] = sums['checksums']['mask']
    attrs(f, 'py_u16')
    f.attrs['checksum'] = sums['checksum']
    f.attrs['checksum_algorithm'] = sums['checksumAlgorithm']
print('{}')
`,
    dir,
    JSON.stringify(p.shape),
    JSON.stringify(ref),
  );

  const fl = await h5Format.read(path.join(dir, 'float.h5'));
  assert.deepEqual(fl.mri, mriF, 'float32 data comes back unchanged');
  assert.deepEqual(fl.ct, ctF);
  assert.deepEqual(fl.mask, p.mask, 'bool mask becomes 0/1 uint8');
  assert.equal(fl.attrs.patientId, 'py_float');
  assert.equal(fl.attrs.formatVersion, 1, 'int64 attribute');
  assert.deepEqual(fl.attrs.dtypes, { mri: 'float32', ct: 'float32', mask: 'bool' });
  assert.deepEqual(fl.attrs.normalization.ct, { min: -1024, max: 3000, unit: 'HU' });
  const flRaw = await h5Format.readRaw(path.join(dir, 'float.h5'));
  assert.deepEqual(flRaw.mri, q.mri, 'float data is quantised by readRaw');
  await assertCacheError(h5Format.read(path.join(dir, 'float.h5'), { verify: true }), /cannot verify/, /float\.h5/, FIX);

  // A filter h5wasm lacks (lzf, an h5py plugin) gives a CacheError saying so.
  await assertCacheError(h5Format.read(path.join(dir, 'lzf.h5')), /filter 'lzf' \(32000\)/, /lzf\.h5/, FIX);

  const u = await h5Format.readRaw(path.join(dir, 'u16.h5'), { verify: true });
  assert.deepEqual(u.mri, q.mri);
  assert.deepEqual(u.ct, q.ct);
  assert.deepEqual(u.mask, p.mask);
  assert.equal(u.attrs.checksum, ref.checksum);
});

test('corrupt npy: flipped data bytes fail verification, naming file, array and fix', async () => {
  const dir = freshDir();
  const entry = npyFormat.pathFor(dir, 'brain_007');
  await npyFormat.write(entry, makePatient(3), ATTRS);
  const ctFile = path.join(entry, 'ct.npy');
  const buf = fs.readFileSync(ctFile);
  for (let i = 0; i < 16; i++) buf[buf.length - 5000 + i]! ^= 0xff;
  fs.writeFileSync(ctFile, buf);
  await npyFormat.readRaw(entry); // without verify the damage is not noticed (documented)
  const e = await assertCacheError(npyFormat.read(entry, { verify: true }), /checksum mismatch in 'ct'/, escapeRe(entry), FIX);
  assert.match(e.message, /brain_007/);
});

test('corrupt h5: flipped compressed bytes -> CacheError (never garbage, never a raw h5wasm error)', async () => {
  const dir = freshDir();
  const file = h5Format.pathFor(dir, 'brain_008');
  await h5Format.write(file, makePatient(4), ATTRS);
  const buf = fs.readFileSync(file);
  const mid = Math.floor(buf.length * 0.5);
  for (let i = 0; i < 64; i++) buf[mid + i]! ^= 0xa5;
  fs.writeFileSync(file, buf);
  await assertCacheError(h5Format.read(file), /cannot be decoded|corrupt/, escapeRe(file), FIX);
  await assertCacheError(h5Format.readRaw(file, { verify: true }), escapeRe(file), FIX);
});

test('h5 modified in place (decodable) fails verification', async () => {
  const dir = freshDir();
  const file = h5Format.pathFor(dir, 'brain_009');
  await h5Format.write(file, makePatient(3), ATTRS);
  py(`
import sys, h5py
with h5py.File(sys.argv[1], 'r+') as f:
    f['mri'][1, 100, 100] = (int(f['mri'][1, 100, 100]) + 1) % 65536
print('{}')
`, file);
  await h5Format.read(file); // decodes fine
  await assertCacheError(h5Format.read(file, { verify: true }), /checksum mismatch in 'mri'/, escapeRe(file), FIX);
});

test('truncated, empty, foreign and missing files -> CacheError with the path and the fix', async () => {
  const dir = freshDir();
  const h5 = h5Format.pathFor(dir, 'brain_010');
  const npy = npyFormat.pathFor(dir, 'brain_010');
  await h5Format.write(h5, makePatient(3), ATTRS);
  await npyFormat.write(npy, makePatient(3), ATTRS);

  const h5Trunc = path.join(dir, 'trunc.h5');
  fs.copyFileSync(h5, h5Trunc);
  fs.truncateSync(h5Trunc, Math.floor(fs.statSync(h5).size * 0.6));
  await assertCacheError(h5Format.read(h5Trunc), /truncated/, escapeRe(h5Trunc), FIX);
  await assertCacheError(h5Format.readAttrs(h5Trunc), /truncated/, escapeRe(h5Trunc));

  const h5Head = path.join(dir, 'head.h5');
  fs.writeFileSync(h5Head, fs.readFileSync(h5).subarray(0, 40));
  await assertCacheError(h5Format.read(h5Head), /truncated/, escapeRe(h5Head));

  const empty = path.join(dir, 'empty.h5');
  fs.writeFileSync(empty, '');
  await assertCacheError(h5Format.read(empty), /empty/, escapeRe(empty));
  assert.equal(h5Format.exists(empty), false);

  const notH5 = path.join(dir, 'text.h5');
  fs.writeFileSync(notH5, 'hello, this is not HDF5'.repeat(100));
  await assertCacheError(h5Format.read(notH5), /not an HDF5 file/, escapeRe(notH5));

  const missing = path.join(dir, 'nope.h5');
  await assertCacheError(h5Format.read(missing), /does not exist/, escapeRe(missing), FIX);
  await assertCacheError(npyFormat.read(path.join(dir, 'nope.npy.d')), /does not exist/, FIX);

  const maskFile = path.join(npy, 'mask.npy');
  fs.truncateSync(maskFile, fs.statSync(maskFile).size - 100);
  await assertCacheError(npyFormat.readRaw(npy), /truncated/, escapeRe(maskFile), FIX);

  fs.writeFileSync(path.join(npy, 'meta.json'), '{"shape": [3, 256');
  await assertCacheError(npyFormat.read(npy), /meta\.json is not valid JSON/, escapeRe(npy));
  fs.rmSync(path.join(npy, 'meta.json'));
  assert.equal(npyFormat.exists(npy), false);
  await assertCacheError(npyFormat.read(npy), /incomplete/, escapeRe(npy), FIX);
});

test('HDF5 errors do not reach stderr (child process)', async () => {
  const dir = freshDir();
  const file = h5Format.pathFor(dir, 'brain_011');
  await h5Format.write(file, makePatient(2), ATTRS);
  const buf = fs.readFileSync(file);
  for (let i = 0; i < 64; i++) buf[Math.floor(buf.length / 2) + i]! ^= 0x5a;
  fs.writeFileSync(file, buf);
  const script = path.join(dir, 'child.ts');
  const cacheIndex = path.resolve(__dirname, '../src/cache/index.ts');
  fs.writeFileSync(
    script,
    `import { h5Format } from ${JSON.stringify(cacheIndex)};
h5Format.read(${JSON.stringify(file)}).then(() => console.log('NO ERROR'), (e: Error) => console.log(e.name + ': ' + e.message));\n`,
  );
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', cwd: path.resolve(__dirname, '..') });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^CacheError: cache file .*brain_011\.h5: dataset '\w+' cannot be decoded/);
  assert.match(r.stdout, /HDF5: /, 'the innermost HDF5 message is quoted');
  assert.doesNotMatch(r.stderr, /HDF5-DIAG/);
});

test("getCacheFormat: 'h5', 'npy', 'pt' alias with a note, unknown -> ConfigError", () => {
  assert.equal(getCacheFormat('h5').format, h5Format);
  assert.equal(getCacheFormat('h5').note, undefined);
  assert.equal(getCacheFormat('npy').format, npyFormat);
  assert.equal(getCacheFormat('npy').note, undefined);
  const pt = getCacheFormat('pt');
  assert.equal(pt.format, npyFormat);
  assert.match(pt.note ?? '', /'pt'.*'npy'/);
  assert.equal(getCacheFormat(' PT ').format, npyFormat);
  assert.throws(() => getCacheFormat('zarr'), (e: unknown) => e instanceof ConfigError && /'h5', 'npy', 'pt'/.test(e.message));
});

for (const format of formats) {
  test(`${format.name}: atomic write: no temp leftovers, overwrite, failed write keeps the old entry, killed writer never counts`, async () => {
    const dir = freshDir();
    const file = format.pathFor(dir, 'brain_020');
    const first = makePatient(2, 256, 256, 1);
    const second = makePatient(2, 256, 256, 2);
    await format.write(file, first, ATTRS);
    const w2 = await format.write(file, second, { ...ATTRS, paramsHash: 'second' });
    assert.deepEqual(fs.readdirSync(dir), [path.basename(file)]);
    const back = await format.readRaw(file, { verify: true });
    assert.equal(back.attrs.paramsHash, 'second');
    assert.equal(back.attrs.checksum, w2.checksum);
    assert.deepEqual(back.mri, quantize(second.mri));

    // A failing write (NaN value) leaves neither a temp entry nor a damaged final entry.
    const bad = makePatient(2);
    bad.ct[10] = Number.NaN;
    await assertCacheError(format.write(file, bad, ATTRS), /ct has value NaN at voxel 10/);
    const bad2 = makePatient(2);
    bad2.mask[3] = 2;
    await assertCacheError(format.write(file, bad2, ATTRS), /mask has value 2/);
    await assertCacheError(format.write(file, { ...first, shape: [3, 256, 256] }, ATTRS), /needs 196608/);
    assert.deepEqual(fs.readdirSync(dir), [path.basename(file)]);
    assert.equal((await format.readAttrs(file)).paramsHash, 'second');

    // Simulated killed writer: a hidden temp entry with partial content.
    const killedFinal = format.pathFor(dir, 'brain_021');
    const leftover = path.join(dir, `.${path.basename(killedFinal)}.tmp-99999999-0123456789ab`);
    if (format.name === 'h5') {
      fs.writeFileSync(leftover, fs.readFileSync(file).subarray(0, 5000));
    } else {
      fs.mkdirSync(leftover);
      fs.copyFileSync(path.join(file, 'mri.npy'), path.join(leftover, 'mri.npy'));
    }
    assert.equal(isTempName(path.basename(leftover)), true);
    assert.equal(isTempName(path.basename(file)), false);
    assert.equal(format.exists(killedFinal), false);
    await assertCacheError(format.read(killedFinal), /does not exist/, FIX);
    const committed = fs.readdirSync(dir).filter((n) => n.endsWith(format.extension));
    assert.deepEqual(committed, [path.basename(file)], 'a *.ext listing never sees the temp entry');
    // A temp entry of a live writer (this process) is kept; the dead writer's one is removed.
    const live = path.join(dir, `.${path.basename(killedFinal)}.tmp-${process.pid}-abcdef`);
    fs.writeFileSync(live, 'x');
    assert.deepEqual(removeStaleTemps(dir), [path.basename(leftover)]);
    assert.equal(fs.existsSync(live), true);
    fs.rmSync(live);
    assert.deepEqual(fs.readdirSync(dir), [path.basename(file)]);
  });
}
