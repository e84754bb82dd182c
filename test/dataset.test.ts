import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { discoverDataset, discoverSeedLayout, discoverSynthradLayout } from '../src/dataset/discover';
import { PairMismatchError } from '../src/errors';

function touch(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, 'x');
}

test('seed layout pairs by id and lists every file that does not pair', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-ds-'));
  for (const f of ['MRI/p1.nii.gz', 'CT/p1.nii.gz', 'MRI/p2.nii', 'CT/p2.nii.gz', 'MRI/only_mri.nii.gz', 'CT/only_ct.nii',
    'MRI/dup.nii', 'MRI/dup.nii.gz', 'CT/dup.nii.gz', 'MRI/notes.txt']) touch(path.join(root, f));
  const ds = discoverSeedLayout(path.join(root, 'MRI'), path.join(root, 'CT'));
  assert.deepEqual(ds.pairs.map((p) => p.id), ['p1', 'p2']);
  assert.equal(ds.pairs[1]?.mri, path.join(root, 'MRI/p2.nii'));
  const kinds = ds.problems.map((p) => `${p.kind}:${p.id}`).sort();
  assert.deepEqual(kinds, ['duplicate:dup', 'missing-ct:only_mri', 'missing-mri:only_ct', 'not-image:notes.txt']);
  for (const p of ds.problems) assert.ok(p.files.every((f) => p.message.includes(path.basename(f)) || p.message.includes(f)));
});

test('SynthRAD layout finds mr/ct/mask and reports incomplete folders', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-sr-'));
  for (const f of ['1BA001/mr.nii.gz', '1BA001/ct.nii.gz', '1BA001/mask.nii.gz', '1BA002/mr.nii.gz', '1BA002/ct.nii.gz',
    '1BA003/mr.nii.gz']) touch(path.join(root, f));
  const ds = discoverSynthradLayout(root);
  assert.deepEqual(ds.pairs.map((p) => p.id), ['1BA001', '1BA002']);
  assert.equal(ds.pairs[0]?.mask, path.join(root, '1BA001/mask.nii.gz'));
  assert.equal(ds.pairs[1]?.mask, undefined);
  assert.equal(ds.problems.length, 1);
  assert.equal(ds.problems[0]?.kind, 'incomplete-folder');
  assert.match(ds.problems[0]?.message ?? '', /1BA003.*no ct image/);
  assert.equal(ds.source, `SynthRAD2023 layout ${root}`);
});

test('no pairs at all is an error that names the folders and the problems', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-empty-'));
  touch(path.join(root, 'MRI/a.nii.gz'));
  fs.mkdirSync(path.join(root, 'CT'));
  assert.throws(
    () => discoverDataset({ mriDir: path.join(root, 'MRI'), ctDir: path.join(root, 'CT') }),
    (err: unknown) => err instanceof PairMismatchError && err.message.includes(path.join(root, 'CT')) && err.message.includes('a.nii.gz'),
  );
  assert.throws(() => discoverDataset({ mriDir: path.join(root, 'nope'), ctDir: path.join(root, 'CT') }), /cannot read the MRI directory/);
});

const SIEMENS = path.resolve(__dirname, '..', '..', 'shared', 'scans', 'niivue-demo-images', 'dicom');

test('seed layout takes any readable format and DICOM folders per id, and reports what it cannot use', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-dsfmt-'));
  for (const f of ['MRI/a.mha', 'CT/a.nrrd', 'MRI/b.mhd', 'MRI/b.zraw', 'CT/b.nii.gz', 'MRI/c.nhdr', 'MRI/c.raw.gz', 'CT/c.mha',
    'MRI/mixed.nii.gz', 'MRI/mixed.mha', 'CT/mixed.mha', 'MRI/e.png', 'CT/stray.raw']) touch(path.join(root, f));
  // d: a DICOM series folder for the MRI (two real slices), a .mha for the CT.
  fs.mkdirSync(path.join(root, 'MRI/d'));
  for (const f of ['1-001.dcm', '1-002.dcm']) fs.copyFileSync(path.join(SIEMENS, f), path.join(root, 'MRI/d', f));
  touch(path.join(root, 'CT/d.mha'));
  // f: DICOM slices without the .dcm extension are recognised by their signature.
  fs.mkdirSync(path.join(root, 'CT/f'));
  fs.copyFileSync(path.join(SIEMENS, '1-003.dcm'), path.join(root, 'CT/f/IM0001'));
  touch(path.join(root, 'MRI/f.nii'));
  fs.mkdirSync(path.join(root, 'CT/empty'));
  touch(path.join(root, 'CT/empty/readme.txt'));
  const ds = discoverSeedLayout(path.join(root, 'MRI'), path.join(root, 'CT'));
  assert.deepEqual(ds.pairs.map((p) => `${p.id}:${path.basename(p.mri)}+${path.basename(p.ct)}`),
    ['a:a.mha+a.nrrd', 'b:b.mhd+b.nii.gz', 'c:c.nhdr+c.mha', 'd:d+d.mha', 'f:f.nii+f']);
  const kinds = ds.problems.map((p) => `${p.kind}:${p.id}`).sort();
  assert.deepEqual(kinds, ['duplicate:mixed', 'not-image:e.png', 'not-image:empty', 'not-image:stray.raw']);
  assert.match(ds.problems.find((p) => p.id === 'mixed')?.message ?? '', /mixed\.nii\.gz, mixed\.mha|mixed\.mha, mixed\.nii\.gz/);
});

test('SynthRAD2023 with .mha files, and SynthRAD2025 region folders, detected under one root', () => {
  const r23 = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-sr23-'));
  for (const f of ['1BA001/mr.mha', '1BA001/ct.mha', '1BA001/mask.mha', '1BA002/mr.nrrd', '1BA002/ct.nii.gz', '1BA003/mr.mha', '1BA003/mr.nii.gz', '1BA003/ct.mha'])
    touch(path.join(r23, f));
  const d23 = discoverSynthradLayout(r23);
  assert.deepEqual(d23.pairs.map((p) => p.id), ['1BA001', '1BA002']);
  assert.equal(d23.pairs[0]?.mask, path.join(r23, '1BA001/mask.mha'));
  assert.deepEqual(d23.problems.map((p) => `${p.kind}:${p.id}`), ['duplicate:1BA003']);

  const r25 = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-sr25-'));
  for (const f of ['HN/1HNA001/mr.mha', 'HN/1HNA001/ct.mha', 'HN/1HNA001/mask.mha', 'HN/1HNA002/mr.mha', 'HN/1HNA002/ct.mha',
    'TH/1THB001/mr.mha', 'TH/1THB001/ct.mha', 'TH/1THB002/mr.mha', 'AB/1ABC001/mr.mha', 'AB/1ABC001/ct.mha', 'AB/1HNA002/mr.mha', 'AB/1HNA002/ct.mha'])
    touch(path.join(r25, f));
  const d25 = discoverDataset({ dataDir: r25 });
  assert.equal(d25.source, `SynthRAD2025 layout ${r25} (regions AB, HN, TH)`);
  assert.deepEqual(d25.pairs.map((p) => `${p.region}/${p.id}`), ['AB/1ABC001', 'HN/1HNA001', 'TH/1THB001']);
  assert.equal(d25.pairs.find((p) => p.id === '1HNA001')?.mask, path.join(r25, 'HN/1HNA001/mask.mha'));
  const kinds = d25.problems.map((p) => `${p.kind}:${p.id}`).sort();
  assert.deepEqual(kinds, ['duplicate:1HNA002', 'incomplete-folder:1THB002']);
  assert.match(d25.problems.find((p) => p.id === '1HNA002')?.message ?? '', /AB.1HNA002 and .*HN.1HNA002/);
});

test('symbolic links to files and to patient folders are followed; a link to nothing is reported', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-links-'));
  for (const f of ['real/a_mri.nii.gz', 'real/a_ct.nii.gz', 'real/sr/mr.nii.gz', 'real/sr/ct.nii.gz']) touch(path.join(root, f));
  fs.mkdirSync(path.join(root, 'MRI'));
  fs.mkdirSync(path.join(root, 'CT'));
  fs.symlinkSync(path.join(root, 'real/a_mri.nii.gz'), path.join(root, 'MRI/a.nii.gz'));
  fs.symlinkSync(path.join(root, 'real/a_ct.nii.gz'), path.join(root, 'CT/a.nii.gz'));
  fs.symlinkSync(path.join(root, 'real/missing.nii.gz'), path.join(root, 'CT/gone.nii.gz'));
  const seed = discoverSeedLayout(path.join(root, 'MRI'), path.join(root, 'CT'));
  assert.deepEqual(seed.pairs.map((p) => p.id), ['a']);
  assert.deepEqual(seed.problems.map((p) => `${p.kind}:${p.id}`), ['not-image:gone.nii.gz']);
  assert.match(seed.problems[0]?.message ?? '', /gone\.nii\.gz: a symbolic link to nothing/);
  fs.mkdirSync(path.join(root, 'synthrad'));
  fs.symlinkSync(path.join(root, 'real/sr'), path.join(root, 'synthrad/1BA001'));
  assert.deepEqual(discoverSynthradLayout(path.join(root, 'synthrad')).pairs.map((p) => p.id), ['1BA001']);
  fs.rmSync(root, { recursive: true, force: true });
});
