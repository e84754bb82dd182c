/**
 * The atlas pair end to end through the CLI (issue #11): the MNI152 T1 + CT template of
 * ../shared/scans as MetaImage copies in the SynthRAD2025 layout (`<root>/HN/<id>/mr.mha, ct.mha`)
 * and as the NIfTI originals in the seed layout (two patients each: the pair as stored, LAS, and
 * re-stored LIA). preprocess gives the same cache from both; a tiny train, predict (an .mha MRI
 * gives an .mha sCT, a NIfTI one a NIfTI sCT, each in its input's geometry) and evaluate run.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { getCacheFormat } from '../src/cache/format';
import { readImage, writeImage } from '../src/io/read-image';
import { runPython } from './helpers/python';

const root = path.resolve(__dirname, '..');
const CLI = path.join(root, 'dist', 'src', 'cli', 'main.js');
const SCANS = path.resolve(root, '..', 'shared', 'scans');
let dir = '';

function cli(...args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 300_000 });
  const out = `${r.stdout}\n${r.stderr}`;
  assert.equal(r.status, 0, `mri2ct ${args.join(' ')}\n${out}`);
  return out;
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-atlas-'));
  const seed = path.join(dir, 'seed');
  runPython(`
import sys, os, shutil, nibabel as nib
from nibabel.orientations import axcodes2ornt, io_orientation, ornt_transform
scans, d = sys.argv[1], sys.argv[2]
os.makedirs(f'{d}/MRI'); os.makedirs(f'{d}/CT')
for src, sub in [(f'{scans}/niivue-demo-images/register/MNI152_T1_2mm.nii.gz', 'MRI'), (f'{scans}/neurolabusc-Clinical/derived/scct_HU.nii.gz', 'CT')]:
    shutil.copy(src, f'{d}/{sub}/atlas.nii.gz')
    img = nib.load(src)
    nib.save(img.as_reoriented(ornt_transform(io_orientation(img.affine), axcodes2ornt(tuple('LIA')))), f'{d}/{sub}/atlaslia.nii.gz')
`, [SCANS, seed]);
  for (const id of ['atlas', 'atlaslia']) {
    const p = path.join(dir, 'sr2025', 'HN', id);
    fs.mkdirSync(p, { recursive: true });
    await writeImage(path.join(p, 'mr.mha'), await readImage(path.join(seed, 'MRI', `${id}.nii.gz`)), { datatype: 'int16' });
    await writeImage(path.join(p, 'ct.mha'), await readImage(path.join(seed, 'CT', `${id}.nii.gz`)), { datatype: 'int16' });
  }
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('MetaImage (SynthRAD2025 layout) and NIfTI (seed layout) copies give the same cache; train, predict, evaluate', async () => {
  const common = ['--format', 'npy', '--image_size', '32'];
  const a = cli('preprocess', '--data_dir', path.join(dir, 'sr2025'), '--cache_dir', path.join(dir, 'cache-mha'), ...common);
  assert.match(a, /2 MRI\/CT pairs/);
  assert.match(a, /stored LIA, reoriented to RAS/);
  cli('preprocess', '--mri_dir', path.join(dir, 'seed', 'MRI'), '--ct_dir', path.join(dir, 'seed', 'CT'), '--cache_dir', path.join(dir, 'cache-nii'), ...common);
  const { format } = getCacheFormat('npy');
  for (const id of ['atlas', 'atlaslia']) {
    const x = await format.readRaw(format.pathFor(path.join(dir, 'cache-mha'), id));
    const y = await format.readRaw(format.pathFor(path.join(dir, 'cache-nii'), id));
    const z = await format.readRaw(format.pathFor(path.join(dir, 'cache-nii'), 'atlas'));
    for (const k of ['mri', 'ct', 'mask'] as const) {
      assert.deepEqual(Buffer.from(x[k].buffer, x[k].byteOffset, x[k].byteLength), Buffer.from(y[k].buffer, y[k].byteOffset, y[k].byteLength), `${id} ${k}: .mha vs .nii`);
      assert.deepEqual(Buffer.from(y[k].buffer, y[k].byteOffset, y[k].byteLength), Buffer.from(z[k].buffer, z[k].byteOffset, z[k].byteLength), `${id} ${k}: LIA vs LAS`);
    }
  }
  const run = path.join(dir, 'run');
  cli('train', '--cache_dir', path.join(dir, 'cache-mha'), '--output_dir', run, '--epochs', '1', '--batch_size', '8', '--ngf', '4', '--ndf', '4', '--val_ids', 'atlas', '--save_freq', '1');
  const ckpt = path.join(run, 'checkpoints', 'best_model');
  const mha = path.join(dir, 'sr2025', 'HN', 'atlaslia', 'mr.mha');
  const p1 = cli('predict', '--checkpoint', ckpt, '--mri', mha, '--out', path.join(dir, 'pred-mha'));
  assert.match(p1, /sCT .*pred-mha\/atlaslia\.mha/);
  const sct = await readImage(path.join(dir, 'pred-mha', 'atlaslia.mha'));
  const mr = await readImage(mha);
  assert.deepEqual(sct.dims, mr.dims);
  assert.equal(sct.orientation, 'LIA');
  for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) assert.ok(Math.abs((sct.affine[r]?.[c] ?? 0) - (mr.affine[r]?.[c] ?? 0)) < 1e-3);
  cli('predict', '--checkpoint', ckpt, '--mri', path.join(dir, 'seed', 'MRI'), '--out', path.join(dir, 'pred-nii'));
  assert.ok(fs.existsSync(path.join(dir, 'pred-nii', 'atlas.nii.gz')));
  const ev = cli('evaluate', '--pred_dir', path.join(dir, 'pred-nii'), '--ct_dir', path.join(dir, 'seed', 'CT'));
  assert.match(ev, /atlas/);
  assert.match(ev, /baseline/i);
});
