/**
 * NIfTI reader/writer tests against nibabel (the reference implementation): nibabel writes every
 * datatype / version / byte order / xform combination and we read it; we write and nibabel reads;
 * every bad-file error; and the speed of a full-size 256×256×160 int16 volume.
 * All files live in a fresh temp dir; Python gets its inputs as JSON/binary files.
 */

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';

import { NiftiFormatError } from '../src/errors';
import { readNifti, writeNifti, type NiftiImage, type NiftiInfo, type NiftiWritableDatatype } from '../src/io';
import type { Affine, Vec3 } from '../src/io/volume';
import { runPythonJson } from './helpers/python';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-nifti-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------
// Geometry helpers

type Mat3 = [Vec3, Vec3, Vec3];

function matMul(a: Mat3, b: Mat3): Mat3 {
  const out: Mat3 = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) for (let k = 0; k < 3; k++) out[r]![c]! += a[r]![k]! * b[k]![c]!;
  return out;
}

function rotation(ax: number, ay: number, az: number): Mat3 {
  const [cx, sx, cy, sy, cz, sz] = [Math.cos(ax), Math.sin(ax), Math.cos(ay), Math.sin(ay), Math.cos(az), Math.sin(az)];
  const rx: Mat3 = [[1, 0, 0], [0, cx, -sx], [0, sx, cx]];
  const ry: Mat3 = [[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]];
  const rz: Mat3 = [[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]];
  return matMul(rz, matMul(ry, rx));
}

/** rotation · diag(zooms) (+ optional shear of column 1 into row 0), translated. */
function makeAffine(r: Mat3, zooms: Vec3, t: Vec3, shear = 0): Affine {
  const m = matMul(r, [[zooms[0], 0, 0], [0, zooms[1], 0], [0, 0, zooms[2]]]);
  m[0][1] += shear;
  return [[...m[0], t[0]], [...m[1], t[1]], [...m[2], t[2]], [0, 0, 0, 1]];
}

function norms(a: Affine): Vec3 {
  const n = (c: number): number => Math.hypot(a[0]![c]!, a[1]![c]!, a[2]![c]!);
  return [n(0), n(1), n(2)];
}

const OBLIQUE = makeAffine(rotation(0.3, -0.2, 0.5), [0.9, 1.1, 2.5], [-90.5, 110.25, -60]);
/** Left-handed (det < 0): exercises qfac = -1. */
const OBLIQUE_FLIPPED = makeAffine(rotation(-0.4, 0.1, 2.8), [1.2, 0.8, 3.0], [10, -20, 30]);
OBLIQUE_FLIPPED.forEach((row) => (row[0] = -row[0]!));
const SHEARED = makeAffine(rotation(0.1, 0.2, -0.3), [1, 1.5, 2], [5, 6, 7], 0.3);
/** 180° about z: quaternion a = 0, the edge case of qform decoding. */
const ROT180 = makeAffine(rotation(0, 0, Math.PI), [0.7, 0.7, 1.4], [1, 2, 3]);

function assertClose(actual: number[][] | number[], expected: number[][] | number[], tol: number, what: string): void {
  const a = actual.flat();
  const e = expected.flat();
  assert.equal(a.length, e.length, `${what}: length`);
  a.forEach((v, i) => assert.ok(Math.abs(v - e[i]!) <= tol, `${what}[${i}]: ${v} vs ${e[i]} (tol ${tol})`));
}

function sameValue(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

function assertSameValues(actual: ArrayLike<number | bigint>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = Number(actual[i]);
    if (!sameValue(a, expected[i]!)) assert.fail(`${what}: voxel ${i} is ${a}, expected ${expected[i]}`);
  }
}

function readBinary(file: string, kind: 'f64' | 'f32'): Float64Array | Float32Array {
  const copy = new Uint8Array(fs.readFileSync(file)); // own, aligned buffer
  return kind === 'f64' ? new Float64Array(copy.buffer) : new Float32Array(copy.buffer);
}

/** JSON that Python's json module reads back with NaN / Infinity intact (plain JSON turns them into null). */
function toPythonJson(value: unknown): string {
  const names = new Map([[String(NaN), 'NaN'], [String(Infinity), 'Infinity'], [String(-Infinity), '-Infinity']]);
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? `__${v}__` : v)).replace(
    /"__(NaN|Infinity|-Infinity)__"/g,
    (_m, name: string) => names.get(name) ?? name,
  );
}

async function assertNiftiError(promise: Promise<unknown>, file: string, pattern: RegExp): Promise<NiftiFormatError> {
  const err = await promise.then(
    () => assert.fail(`expected a NiftiFormatError for ${file}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof NiftiFormatError, `expected NiftiFormatError, got ${String(err)}`);
  assert.ok(err.message.includes(file), `message should name the file: ${err.message}`);
  assert.match(err.message, pattern);
  return err;
}

// ---------------------------------------------------------------------------------------------
// nibabel → us

interface FixtureSpec {
  name: string;
  /** numpy dtype name, or 'complex64' / 'rgb24' for unsupported files. */
  dtype: string;
  /** 'n1' NIfTI-1, 'n2' NIfTI-2; `gz` compresses. */
  version: 1 | 2;
  gz: boolean;
  shape: number[];
  affine: Affine;
  /** Affine for the qform when it should differ from the sform. */
  qformAffine?: Affine;
  sform: number | null;
  qform: number | null;
  zooms?: number[];
  slope?: number;
  inter?: number;
  endian?: '<' | '>';
  volumeIndex?: number;
  seed: number;
}

interface FixtureMeta {
  path: string;
  rawPath: string;
  expPath: string;
  dtype: string;
  shape: number[];
  zooms: number[];
  affine: number[][];
  axcodes: string;
  sformCode: number;
  qformCode: number;
  slope: number;
  inter: number;
  version: number;
}

const FIXTURE_SCRIPT = String.raw`
import gzip, json, struct, sys
import numpy as np, nibabel as nib

specs = json.load(open(sys.argv[1]))
out_dir = sys.argv[2]
result = {}

def make_data(dtype, shape, rng):
    dt = np.dtype(dtype)
    if dt.kind in 'iu':
        lo, hi = np.iinfo(dt).min, np.iinfo(dt).max
        if dt.itemsize == 8:
            lo, hi = max(lo, -2**50), min(hi, 2**50)
        a = rng.integers(lo, hi, size=shape, endpoint=True, dtype=dt)
        a.flat[0], a.flat[1] = lo, hi
        return a
    a = (rng.normal(0, 1000, size=shape)).astype(dt)
    a.flat[0], a.flat[1], a.flat[2] = np.nan, np.inf, -0.0
    return a

def make_file(s):
    rng = np.random.default_rng(s['seed'])
    shape = tuple(s['shape'])
    v1 = s['version'] == 1
    Hdr, Img = (nib.Nifti1Header, nib.Nifti1Image) if v1 else (nib.Nifti2Header, nib.Nifti2Image)
    if s['dtype'] == 'complex64':
        data = (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(np.complex64)
    elif s['dtype'] == 'rgb24':
        data = np.zeros(shape, dtype=[('R', 'u1'), ('G', 'u1'), ('B', 'u1')])
    else:
        data = make_data(s['dtype'], shape, rng)
    hdr = Hdr(endianness=s.get('endian', '<'))
    hdr.set_data_dtype(data.dtype)
    hdr.set_data_shape(shape)
    aff = np.array(s['affine'], dtype=np.float64)
    zooms = s.get('zooms') or list(np.sqrt((aff[:3, :3] ** 2).sum(axis=0)))
    hdr.set_zooms(tuple(zooms[: len(shape)]) + (1.0,) * max(0, len(shape) - 3))
    hdr.set_sform(aff if s['sform'] is not None else None, code=s['sform'] or 0)
    qaff = np.array(s.get('qformAffine') or s['affine'], dtype=np.float64)
    hdr.set_qform(qaff if s['qform'] is not None else None, code=s['qform'] or 0)
    raw = bytearray(Img(data, None, header=hdr).to_bytes())
    if 'slope' in s:
        e = '<' if hdr.endianness == '<' else '>'
        fmt, off = (e + 'ff', 112) if v1 else (e + 'dd', 176)
        struct.pack_into(fmt, raw, off, s['slope'], s['inter'])
    path = out_dir + '/' + s['name'] + ('.nii.gz' if s['gz'] else '.nii')
    open(path, 'wb').write(gzip.compress(bytes(raw)) if s['gz'] else raw)
    return path

def describe(s, path):
    im = nib.load(path)
    raw = np.asanyarray(im.dataobj.get_unscaled())
    if raw.ndim > 3:
        raw = raw.reshape(raw.shape[:3] + (-1,), order='F')[..., s.get('volumeIndex', 0)]
    slope, inter = float(im.dataobj.slope), float(im.dataobj.inter)  # the loaded header's are reset
    exp = (raw.astype(np.float64) * slope + inter).astype(np.float32)
    if raw.ndim == len(im.shape):  # nibabel must agree with our expectation of the scaling
        assert np.allclose(im.get_fdata(), exp, rtol=1e-6, equal_nan=True), s['name']
    base = out_dir + '/' + s['name']
    raw.ravel(order='F').astype('<f8').tofile(base + '.raw.f64')
    exp.ravel(order='F').astype('<f4').tofile(base + '.exp.f32')
    return dict(path=path, rawPath=base + '.raw.f64', expPath=base + '.exp.f32',
                dtype=im.get_data_dtype().name, shape=[int(x) for x in im.shape],
                zooms=[float(z) for z in im.header.get_zooms()], affine=im.affine.tolist(),
                axcodes=''.join(str(c) for c in nib.aff2axcodes(im.affine)),
                sformCode=int(im.header['sform_code']), qformCode=int(im.header['qform_code']),
                slope=float(slope), inter=float(inter), version=2 if isinstance(im, nib.Nifti2Image) else 1)

for s in specs:
    path = make_file(s)
    result[s['name']] = describe(s, path) if s['dtype'] not in ('complex64', 'rgb24') else dict(path=path)
print(json.dumps(result))
`;

const DTYPES = ['uint8', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'float64', 'int64', 'uint64'];
const FORMATS: { tag: string; version: 1 | 2; gz: boolean }[] = [
  { tag: 'n1gz', version: 1, gz: true },
  { tag: 'n1', version: 1, gz: false },
  { tag: 'n2', version: 2, gz: false },
  { tag: 'n2gz', version: 2, gz: true },
];

function fixtureSpecs(): FixtureSpec[] {
  const specs: FixtureSpec[] = [];
  let seed = 1;
  const base = { shape: [7, 5, 4], sform: 1, qform: 1 } as const;
  DTYPES.forEach((dtype, i) => {
    for (const f of FORMATS.slice(0, 3)) {
      const affine = i % 2 === 0 ? OBLIQUE : OBLIQUE_FLIPPED;
      specs.push({ ...base, shape: [...base.shape], name: `${dtype}-${f.tag}`, dtype, ...f, affine, seed: seed++ });
    }
  });
  const n1: Pick<FixtureSpec, 'version' | 'gz'> = { version: 1, gz: false };
  const special: Omit<FixtureSpec, 'seed'>[] = [
    { name: 'sform-only-sheared', dtype: 'int16', ...n1, gz: true, shape: [6, 5, 4], affine: SHEARED, sform: 1, qform: null },
    { name: 'qform-only-flipped', dtype: 'int16', ...n1, shape: [6, 5, 4], affine: OBLIQUE_FLIPPED, sform: null, qform: 1 },
    { name: 'qform-only-n2', dtype: 'float32', version: 2, gz: true, shape: [6, 5, 4], affine: OBLIQUE, sform: null, qform: 2 },
    { name: 'qform-rot180', dtype: 'uint8', ...n1, shape: [4, 4, 3], affine: ROT180, sform: null, qform: 1 },
    { name: 'sform-beats-qform', dtype: 'int16', ...n1, shape: [4, 4, 3], affine: OBLIQUE, qformAffine: OBLIQUE_FLIPPED, sform: 3, qform: 1 },
    { name: 'no-xform', dtype: 'int16', ...n1, shape: [7, 5, 4], affine: OBLIQUE, sform: null, qform: null, zooms: [2, 3, 4] },
    { name: 'slope-int16', dtype: 'int16', ...n1, gz: true, shape: [6, 5, 4], affine: OBLIQUE, sform: 1, qform: 1, slope: 0.5, inter: -1024 },
    { name: 'slope-uint8-n2', dtype: 'uint8', version: 2, gz: false, shape: [6, 5, 4], affine: OBLIQUE, sform: 1, qform: 1, slope: 2.5, inter: 10 },
    { name: 'slope-int32', dtype: 'int32', ...n1, shape: [6, 5, 4], affine: OBLIQUE, sform: 1, qform: 1, slope: 0.001, inter: 0.25 },
    { name: 'slope-zero', dtype: 'float32', ...n1, shape: [6, 5, 4], affine: OBLIQUE, sform: 1, qform: 1, slope: 0, inter: 5 },
    { name: 'slope-nan', dtype: 'int16', ...n1, shape: [6, 5, 4], affine: OBLIQUE, sform: 1, qform: 1, slope: NaN, inter: 5 },
    { name: 'big-endian-int16', dtype: 'int16', ...n1, gz: true, shape: [6, 5, 4], affine: OBLIQUE_FLIPPED, sform: 1, qform: 1, endian: '>', slope: 0.25, inter: 3 },
    { name: 'big-endian-float64', dtype: 'float64', ...n1, shape: [6, 5, 4], affine: OBLIQUE, sform: null, qform: 1, endian: '>' },
    { name: 'big-endian-n2-int32', dtype: 'int32', version: 2, gz: true, shape: [6, 5, 4], affine: OBLIQUE, sform: 2, qform: 0, endian: '>' },
    { name: 'big-endian-uint64', dtype: 'uint64', ...n1, shape: [6, 5, 4], affine: OBLIQUE, sform: 2, qform: 0, endian: '>' },
    { name: '4d-volume2', dtype: 'int16', ...n1, gz: true, shape: [6, 5, 4, 3], affine: OBLIQUE, sform: 1, qform: 1, volumeIndex: 2 },
    { name: '2d', dtype: 'float32', ...n1, shape: [6, 5], affine: OBLIQUE, sform: null, qform: null, zooms: [0.5, 0.75] },
    { name: 'complex64', dtype: 'complex64', ...n1, shape: [4, 4, 3], affine: OBLIQUE, sform: 1, qform: 1 },
    { name: 'rgb24', dtype: 'rgb24', ...n1, gz: true, shape: [4, 4, 3], affine: OBLIQUE, sform: 1, qform: 1 },
    { name: 'to-truncate', dtype: 'int16', ...n1, gz: true, shape: [40, 40, 40], affine: OBLIQUE, sform: 1, qform: 1 },
  ];
  return [...specs, ...special.map((s) => ({ ...s, seed: seed++ }))];
}

let fixtures: Record<string, FixtureMeta> = {};
const specs = fixtureSpecs();
const UNSUPPORTED = new Set(['complex64', 'rgb24', 'to-truncate']);

before(() => {
  const specFile = path.join(dir, 'fixtures.json');
  fs.writeFileSync(specFile, toPythonJson(specs));
  fixtures = runPythonJson<Record<string, FixtureMeta>>(FIXTURE_SCRIPT, [specFile, dir]);
});

function checkInfo(info: NiftiInfo, meta: FixtureMeta, spec: FixtureSpec): void {
  const padded = (xs: number[]): Vec3 => [xs[0] ?? 1, xs[1] ?? 1, xs[2] ?? 1];
  assert.equal(info.datatype, meta.dtype);
  assert.equal(info.niftiVersion, meta.version);
  assert.deepEqual(info.shape, meta.shape);
  assert.deepEqual(info.dims, padded(meta.shape));
  assertClose(info.zooms, meta.zooms, 1e-12, 'zooms');
  assertClose(info.spacing, norms(meta.affine), 1e-9, 'spacing = affine column norms');
  // pixdim follows the qform: when the sform says otherwise, spacing follows the sform (the affine).
  if (!spec.qformAffine) assertClose(info.spacing, padded(meta.zooms), 1e-5, 'spacing = nibabel zooms');
  assertClose(info.affine, meta.affine, 1e-5, 'affine');
  assert.equal(info.orientation, meta.axcodes);
  assert.equal(info.sformCode, meta.sformCode);
  assert.equal(info.qformCode, meta.qformCode);
  assert.equal(info.sclSlope, meta.slope);
  assert.equal(info.sclInter, meta.inter);
  assert.equal(info.compressed, spec.gz);
  assert.equal(info.littleEndian, spec.endian !== '>');
  assert.equal(info.volumeCount, meta.shape.slice(3).reduce((a, b) => a * b, 1));
}

describe('nibabel → readNifti', () => {
  for (const spec of specs.filter((s) => !UNSUPPORTED.has(s.name))) {
    test(spec.name, async () => {
      const meta = fixtures[spec.name];
      assert.ok(meta, `fixture ${spec.name} missing`);
      const img: NiftiImage = await readNifti(meta.path, { volumeIndex: spec.volumeIndex });
      checkInfo(img, meta, spec);
      assert.equal(img.volumeIndex, spec.volumeIndex ?? 0);
      assert.ok(img.data instanceof Float32Array);
      assertSameValues(img.raw, readBinary(meta.rawPath, 'f64'), 'raw');
      assertSameValues(img.data, readBinary(meta.expPath, 'f32'), 'scaled data');
      const info = await readNifti(meta.path, { informationOnly: true });
      checkInfo(info, meta, spec);
      assert.equal('data' in info, false);
    });
  }

  test('raw keeps the stored datatype class', async () => {
    const classes: Record<string, unknown> = {
      uint8: Uint8Array, int8: Int8Array, int16: Int16Array, uint16: Uint16Array, int32: Int32Array,
      uint32: Uint32Array, float32: Float32Array, float64: Float64Array, int64: BigInt64Array, uint64: BigUint64Array,
    };
    for (const dtype of DTYPES) {
      const img = await readNifti(fixtures[`${dtype}-n1`]!.path);
      assert.ok(img.raw instanceof (classes[dtype] as typeof Uint8Array), dtype);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// us → nibabel

interface WriteCase {
  name: string;
  file: string;
  datatype: string;
  /** Values nibabel must find stored (before scaling). */
  stored: number[];
  affine: Affine;
  slope?: number;
  inter?: number;
  /** Real-world values nibabel's get_fdata must return (scaled cases). */
  real?: number[];
  description?: string;
  calMin?: number;
  calMax?: number;
  sformCode?: number;
  qformCode?: number;
}

interface VerifyResult {
  storedEqual: boolean;
  firstMismatch: string;
  realMaxDiff: number;
  affine: number[][];
  qform: number[][];
  dtype: string;
  axcodes: string;
  sformCode: number;
  qformCode: number;
  shape: number[];
  zooms: number[];
  xyztUnits: number;
  descrip: string;
  calMin: number;
  calMax: number;
  problems: string;
}

const VERIFY_SCRIPT = String.raw`
import json, sys
import numpy as np, nibabel as nib

cases = json.load(open(sys.argv[1]))
out = {}
for c in cases:
    im = nib.load(c['file'])
    stored = np.asanyarray(im.dataobj.get_unscaled()).ravel(order='F')
    expected = np.array(c['stored'], dtype=np.float64)
    same = np.array_equal(stored.astype(np.float64), expected, equal_nan=True)
    bad = np.flatnonzero(~((stored.astype(np.float64) == expected) | (np.isnan(stored.astype(np.float64)) & np.isnan(expected))))
    first = '' if same else f'voxel {bad[0]}: {stored[bad[0]]} vs {expected[bad[0]]}'
    real_diff = 0.0
    if c.get('real') is not None:
        real_diff = float(np.max(np.abs(im.get_fdata().ravel(order='F') - np.array(c['real']))))
    h = im.header
    out[c['name']] = dict(storedEqual=bool(same), firstMismatch=first, realMaxDiff=real_diff,
        affine=im.affine.tolist(), qform=h.get_qform().tolist(), dtype=im.get_data_dtype().name,
        axcodes=''.join(str(x) for x in nib.aff2axcodes(im.affine)),
        sformCode=int(h['sform_code']), qformCode=int(h['qform_code']), shape=[int(s) for s in im.shape],
        zooms=[float(z) for z in h.get_zooms()], xyztUnits=int(h['xyzt_units']),
        descrip=h['descrip'].item().decode('ascii'), calMin=float(h['cal_min']), calMax=float(h['cal_max']),
        problems=nib.Nifti1Header.diagnose_binaryblock(h.binaryblock))
print(json.dumps(out))
`;

const RANGES: Record<string, [number, number]> = {
  uint8: [0, 255], int8: [-128, 127], int16: [-32768, 32767], uint16: [0, 65535],
  int32: [-2147483648, 2147483647], uint32: [0, 4294967295],
};
const ARRAYS: Record<string, new (n: number) => { [i: number]: number; length: number }> = {
  uint8: Uint8Array, int8: Int8Array, int16: Int16Array, uint16: Uint16Array, int32: Int32Array,
  uint32: Uint32Array, float32: Float32Array, float64: Float64Array,
};

/** Deterministic pseudo-random numbers in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const W_DIMS: Vec3 = [9, 7, 5];
const W_COUNT = W_DIMS[0] * W_DIMS[1] * W_DIMS[2];
const ORIENTED: Record<string, Affine> = {
  ras: makeAffine(rotation(0, 0, 0), [1, 1.2, 3], [-4, -4, -6]),
  lps: makeAffine(rotation(0, 0, Math.PI), [0.8, 0.8, 2], [100, 100, -50]),
  psr: [[0, 0, 2, 0], [-1, 0, 0, 0], [0, 1.5, 0, 0], [0, 0, 0, 1]],
  oblique: OBLIQUE,
  flipped: OBLIQUE_FLIPPED,
};

function randomTyped(datatype: string, rand: () => number): number[] {
  const range = RANGES[datatype];
  const values: number[] = [];
  for (let i = 0; i < W_COUNT; i++) {
    if (range) values.push(Math.floor(range[0] + rand() * (range[1] - range[0] + 1)));
    else values.push((rand() - 0.5) * 4000);
  }
  if (range) [values[0], values[1]] = range;
  return values;
}

function writeCases(): { cases: WriteCase[]; volumes: Map<string, { data: ArrayLike<number>; options: object }> } {
  const cases: WriteCase[] = [];
  const volumes = new Map<string, { data: ArrayLike<number>; options: object }>();
  const rand = lcg(42);
  const orientations = Object.keys(ORIENTED);
  Object.keys(ARRAYS).forEach((datatype, i) => {
    const name = `w-${datatype}`;
    const values = randomTyped(datatype, rand);
    const data = new ARRAYS[datatype]!(W_COUNT);
    values.forEach((v, k) => (data[k] = v));
    const stored = Array.from({ length: W_COUNT }, (_, k) => data[k]!); // float32 rounding applied
    const file = path.join(dir, 'written', `${name}${i % 2 === 0 ? '.nii.gz' : '.nii'}`);
    const affine = ORIENTED[orientations[i % orientations.length]!]!;
    cases.push({ name, file, datatype, stored, affine });
    volumes.set(name, { data, options: {} });
  });
  // Plain arrays default to float32.
  const plain = randomTyped('float64', rand);
  cases.push({ name: 'w-plain', file: path.join(dir, 'written', 'w-plain.nii.gz'), datatype: 'float32', stored: Array.from(new Float32Array(plain)), affine: ORIENTED.psr! });
  volumes.set('w-plain', { data: plain, options: {} });
  // Rounding (halves away from zero) and clamping, NaN → 0.
  const special = [-1e9, -2.5, -1.5, -0.5, -0.4, 0.4, 0.5, 1.5, 2.5, 1e9, NaN, Infinity, -Infinity, 127.5, 255.49];
  const src = Float64Array.from({ length: W_COUNT }, (_, k) => special[k % special.length]!);
  const round = (v: number, lo: number, hi: number): number =>
    Number.isNaN(v) ? 0 : Math.min(hi, Math.max(lo, v < 0 ? -Math.round(-v) : Math.round(v)));
  for (const datatype of ['int16', 'uint8'] as const) {
    const [lo, hi] = RANGES[datatype]!;
    const name = `w-round-${datatype}`;
    cases.push({ name, file: path.join(dir, 'written', `${name}.nii`), datatype, stored: Array.from(src, (v) => round(v, lo, hi)), affine: ORIENTED.lps! });
    volumes.set(name, { data: src, options: { datatype } });
  }
  // Scaled int16 (CT-like): real values are multiples of 0.5 in [-1024, 3000].
  const real = Float32Array.from({ length: W_COUNT }, () => Math.round(rand() * 8048) / 2 - 1024);
  cases.push({
    name: 'w-scaled', file: path.join(dir, 'written', 'w-scaled.nii.gz'), datatype: 'int16', affine: OBLIQUE,
    stored: Array.from(real, (v) => (v + 1024) / 0.5), slope: 0.5, inter: -1024, real: Array.from(real),
    description: 'synthetic CT (test)', calMin: -1024, calMax: 3000, sformCode: 1, qformCode: 1,
  });
  volumes.set('w-scaled', {
    data: real,
    options: { datatype: 'int16', sclSlope: 0.5, sclInter: -1024, description: 'synthetic CT (test)', calMin: -1024, calMax: 3000, sformCode: 1, qformCode: 1 },
  });
  return { cases, volumes };
}

describe('writeNifti → nibabel', () => {
  const { cases, volumes } = writeCases();
  let results: Record<string, VerifyResult> = {};

  before(async () => {
    for (const c of cases) {
      const v = volumes.get(c.name)!;
      await writeNifti(c.file, { data: v.data, dims: W_DIMS, spacing: norms(c.affine), affine: c.affine }, v.options);
    }
    const specFile = path.join(dir, 'verify.json');
    fs.writeFileSync(specFile, toPythonJson(cases));
    results = runPythonJson<Record<string, VerifyResult>>(VERIFY_SCRIPT, [specFile]);
  });

  for (const c of cases) {
    test(c.name, async () => {
      const r = results[c.name];
      assert.ok(r, `no nibabel result for ${c.name}`);
      assert.ok(r.storedEqual, `stored values differ: ${r.firstMismatch}`);
      assert.equal(r.dtype, c.datatype);
      assert.deepEqual(r.shape, W_DIMS);
      assertClose(r.affine, c.affine, 1e-5, 'nibabel affine');
      assertClose(r.qform, c.affine, 1e-5, 'nibabel qform');
      assertClose(r.zooms, norms(c.affine), 1e-5, 'nibabel zooms');
      assert.equal(r.sformCode, c.sformCode ?? 2);
      assert.equal(r.qformCode, c.qformCode ?? 0);
      assert.equal(r.xyztUnits, 2);
      assert.equal(r.problems, '', 'nibabel header diagnosis');
      if (c.real) assert.equal(r.realMaxDiff, 0);
      if (c.description !== undefined) assert.equal(r.descrip, c.description);
      if (c.calMin !== undefined) assert.deepEqual([r.calMin, r.calMax], [c.calMin, c.calMax]);
      // Reading our own file back agrees with nibabel.
      const img = await readNifti(c.file);
      assert.equal(img.orientation, r.axcodes);
      assert.equal(img.datatype, c.datatype);
      assertClose(img.affine, r.affine, 1e-9, 'our affine');
      assertSameValues(img.raw, c.stored, 'round trip raw');
      if (c.real) assertSameValues(img.data, c.real, 'round trip scaled');
    });
  }

  test('orientations match nibabel.aff2axcodes', () => {
    const expected: Record<string, string> = { ras: 'RAS', lps: 'LPS', psr: 'PSR' };
    for (const c of cases) {
      const key = Object.keys(ORIENTED).find((k) => ORIENTED[k] === c.affine);
      if (key && expected[key]) assert.equal(results[c.name]!.axcodes, expected[key], c.name);
    }
  });

  test('creates parent folders and leaves no temporary files', async () => {
    const file = path.join(dir, 'deep', 'er', 'x.nii.gz');
    const identity = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
    await writeNifti(file, { data: new Uint8Array(8), dims: [2, 2, 2], spacing: [1, 1, 1], affine: identity });
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['x.nii.gz']);
    await writeNifti(file, { data: new Uint8Array(8).fill(7), dims: [2, 2, 2], spacing: [1, 1, 1], affine: identity });
    assert.deepEqual(Array.from((await readNifti(file)).data), Array(8).fill(7), 'overwrites in place');
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['x.nii.gz']);
  });

  test('rejects inconsistent volumes and options, naming the file', async () => {
    const file = path.join(dir, 'bad-out.nii');
    const ok = { data: new Float32Array(8), dims: [2, 2, 2] as Vec3, spacing: [1, 1, 1] as Vec3, affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]] };
    await assertNiftiError(writeNifti(file, { ...ok, data: new Float32Array(7) }), file, /data has 7 values/);
    await assertNiftiError(writeNifti(file, { ...ok, spacing: [1, 2, 1] }), file, /spacing/);
    await assertNiftiError(writeNifti(file, { ...ok, affine: [[0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]] }), file, /singular/);
    await assertNiftiError(writeNifti(file + '.img', ok), file + '.img', /\.nii or \.nii\.gz/);
    await assertNiftiError(writeNifti(file, ok, { datatype: 'int64' as NiftiWritableDatatype }), file, /unsupported datatype/);
    await assertNiftiError(writeNifti(file, ok, { compressionLevel: 12 }), file, /compressionLevel/);
    assert.equal(fs.existsSync(file), false);
  });
});

// ---------------------------------------------------------------------------------------------
// Bad files

describe('bad files raise NiftiFormatError naming the file', () => {
  test('missing file', async () => {
    const file = path.join(dir, 'nope', 'missing.nii.gz');
    const err = await assertNiftiError(readNifti(file), file, /not found/);
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'ENOENT');
    await assertNiftiError(readNifti(file, { informationOnly: true }), file, /not found/);
  });

  test('text file renamed .nii.gz', async () => {
    const file = path.join(dir, 'notes.nii.gz');
    fs.writeFileSync(file, 'These are my notes, not an image.\n'.repeat(20));
    await assertNiftiError(readNifti(file), file, /Not a NIfTI file.*sizeof_hdr.*not gzip-compressed/);
    await assertNiftiError(readNifti(file, { informationOnly: true }), file, /Not a NIfTI file/);
  });

  test('gzip of something that is not NIfTI, and tiny files', async () => {
    const file = path.join(dir, 'text-gz.nii.gz');
    fs.writeFileSync(file, gzipSync(Buffer.from('x'.repeat(1000))));
    await assertNiftiError(readNifti(file), file, /Not a NIfTI file/);
    const tiny = path.join(dir, 'tiny.nii');
    fs.writeFileSync(tiny, Buffer.alloc(10));
    await assertNiftiError(readNifti(tiny), tiny, /only 10 bytes/);
  });

  test('truncated .nii.gz (cut in half)', async () => {
    const file = path.join(dir, 'half.nii.gz');
    const full = fs.readFileSync(fixtures['to-truncate']!.path);
    fs.writeFileSync(file, full.subarray(0, full.length >> 1));
    await assertNiftiError(readNifti(file), file, /Corrupt or truncated gzip/);
  });

  test('corrupted gzip stream', async () => {
    const file = path.join(dir, 'corrupt.nii.gz');
    const bytes = Buffer.from(fs.readFileSync(fixtures['to-truncate']!.path));
    for (let i = 200; i < 260; i++) bytes[i] = bytes[i]! ^ 0x5a;
    fs.writeFileSync(file, bytes);
    await assertNiftiError(readNifti(file), file, /gzip|NIfTI/);
  });

  test('unsupported datatypes (complex64, RGB) written by nibabel', async () => {
    for (const [name, label] of [['complex64', 'complex64'], ['rgb24', 'rgb24']] as const) {
      const file = fixtures[name]!.path;
      await assertNiftiError(readNifti(file), file, new RegExp(`Unsupported datatype ${label}`));
      await assertNiftiError(readNifti(file, { informationOnly: true }), file, /Unsupported datatype/);
    }
  });

  test('.nii whose header claims more voxels than the file holds', async () => {
    const source = fs.readFileSync(fixtures['int16-n1']!.path);
    const grown = path.join(dir, 'grown-dims.nii');
    const patched = Buffer.from(source);
    patched.writeInt16LE(patched.readInt16LE(46) * 2, 46); // dim[3] doubled
    fs.writeFileSync(grown, patched);
    await assertNiftiError(readNifti(grown), grown, /truncated.*needs \d+ bytes/);
    await assertNiftiError(readNifti(grown, { informationOnly: true }), grown, /truncated/);
    const cut = path.join(dir, 'cut.nii');
    fs.writeFileSync(cut, source.subarray(0, source.length - 3));
    await assertNiftiError(readNifti(cut), cut, /truncated/);
    const cutGz = path.join(dir, 'cut-data.nii.gz');
    fs.writeFileSync(cutGz, gzipSync(source.subarray(0, source.length - 3)));
    await assertNiftiError(readNifti(cutGz), cutGz, /truncated/);
  });

  test('bad magic, hdr/img pair header, bad dims, volume index out of range', async () => {
    const source = fs.readFileSync(fixtures['int16-n1']!.path);
    const write = (name: string, edit: (b: Buffer) => void): string => {
      const b = Buffer.from(source);
      edit(b);
      const file = path.join(dir, name);
      fs.writeFileSync(file, b);
      return file;
    };
    const magic = write('bad-magic.nii', (b) => b.write('xyz\0', 344, 'latin1'));
    await assertNiftiError(readNifti(magic), magic, /magic/);
    const pair = write('pair.nii', (b) => b.write('ni1\0', 344, 'latin1'));
    await assertNiftiError(readNifti(pair), pair, /\.hdr\/\.img pair/);
    const dims = write('bad-dims.nii', (b) => b.writeInt16LE(-4, 44));
    await assertNiftiError(readNifti(dims), dims, /positive integers/);
    const ok = fixtures['int16-n1']!.path;
    await assertNiftiError(readNifti(ok, { volumeIndex: 1 }), ok, /Volume index 1/);
    await assertNiftiError(readNifti(ok, { volumeIndex: 1, informationOnly: true }), ok, /Volume index 1/);
  });
});

// ---------------------------------------------------------------------------------------------
// Full size (speed is measured by bench/io/bench-nifti.ts, not asserted here)

test('a full-size 256×256×160 int16 .nii.gz round-trips exactly (timings: bench/io)', async (t) => {
  const dims: Vec3 = [256, 256, 160];
  const data = new Int16Array(dims[0] * dims[1] * dims[2]);
  const rand = lcg(7);
  for (let z = 0, i = 0; z < dims[2]; z++) {
    for (let y = 0; y < dims[1]; y++) {
      for (let x = 0; x < dims[0]; x++, i++) {
        const inside = Math.hypot(x - 128, y - 128, (z - 80) * 1.5) < 100;
        data[i] = (inside ? 900 + 150 * Math.sin(x / 7) * Math.cos(y / 9) : -1000) + Math.floor(rand() * 40);
      }
    }
  }
  const affine = makeAffine(rotation(0.05, 0, 0.02), [0.9, 0.9, 1.2], [-115, -115, -96]);
  const file = path.join(dir, 'big.nii.gz');
  const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
    const t0 = performance.now();
    const result = await fn();
    return [result, performance.now() - t0];
  };
  const [, writeMs] = await timed(() => writeNifti(file, { data, dims, spacing: norms(affine), affine }));
  const [img, readMs] = await timed(() => readNifti(file));
  const [, infoMs] = await timed(() => readNifti(file, { informationOnly: true }));
  t.diagnostic(`write ${writeMs.toFixed(0)} ms, read ${readMs.toFixed(0)} ms, header only ${infoMs.toFixed(1)} ms, ${(fs.statSync(file).size / 1e6).toFixed(1)} MB`);
  assert.ok(img.raw instanceof Int16Array);
  assert.ok(Buffer.from(img.raw.buffer).equals(Buffer.from(data.buffer)), 'round trip');
});
