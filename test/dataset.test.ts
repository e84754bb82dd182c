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
  assert.deepEqual(kinds, ['duplicate:dup', 'missing-ct:only_mri', 'missing-mri:only_ct', 'not-nifti:notes.txt']);
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
  assert.match(ds.problems[0]?.message ?? '', /1BA003.*no ct\.nii\.gz/);
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
