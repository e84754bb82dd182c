/**
 * The notebook's "your own data" report (src/notebook/own-data.ts) on real scans from
 * ../shared/scans, linked (symbolic links) into a temporary seed-layout folder (never into the
 * repository):
 *  - atlas: MNI152 T1 2 mm + CT template, one grid, both stored LAS → reoriented, not resampled;
 *  - lia: brainchop's LIA-stored T1 (256³, 1 mm) + the CT template (2 mm grid) → CT resampled;
 *  - swap: CT in the MRI folder and T1 in the CT folder → refused as swapped;
 *  - far: the T1 + the CT template moved 400 mm away in its header → refused, not a registered pair.
 * Checks the rows, the orientation strings, the reasons, and that the PNG is the expected size
 * and every row of slices has content.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, test } from 'node:test';
import { loadImage, createCanvas } from 'canvas';
import { ownDataReport, type OwnDataReport } from '../src/notebook/own-data';
import { seedLayoutFromScans } from './helpers/scan-pairs';

let dir = '';
let report: OwnDataReport;

before(async () => {
  dir = seedLayoutFromScans('mri2ct-owndata-', `
LIA = f'{scans}/brainchop/public/t1_crop.nii.gz'
os.symlink(T1, f'{mr}/atlas.nii.gz'); os.symlink(CT, f'{ct}/atlas.nii.gz')
os.symlink(LIA, f'{mr}/lia.nii.gz'); os.symlink(CT, f'{ct}/lia.nii.gz')
os.symlink(CT, f'{mr}/swap.nii.gz'); os.symlink(T1, f'{ct}/swap.nii.gz')
os.symlink(T1, f'{mr}/far.nii.gz')
c = nib.load(CT); a = c.affine.copy(); a[0, 3] += 400
nib.save(nib.Nifti1Image(np.asarray(c.dataobj), a, c.header), f'{ct}/far.nii.gz')
`);
  report = await ownDataReport(dir, { maxPatients: 10 });
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

const pair = (id: string) => {
  const p = report.pairs.find((x) => x.id === id);
  assert.ok(p, `pair ${id} in ${report.pairs.map((x) => x.id).join(', ')}`);
  return p;
};

test('atlas pair: both LAS, reoriented to RAS, CT already on the MRI grid', () => {
  const p = pair('atlas');
  assert.equal(p.outcome, 'accepted');
  const [mri, ct] = p.rows;
  assert.equal(mri.modality, 'MRI');
  assert.equal(mri.format, 'nifti');
  assert.equal(mri.shape, '91×109×91');
  assert.equal(mri.spacing, '2.000×2.000×2.000');
  assert.equal(mri.orientation, 'LAS → RAS');
  assert.equal(mri.action, 'reoriented LAS→RAS (no resampling)');
  assert.match(ct.action, /^reoriented LAS→RAS; on the MRI grid already$/);
});

test('LIA-stored T1 is reoriented; the CT on another grid is resampled onto it', () => {
  const p = pair('lia');
  assert.equal(p.outcome, 'accepted');
  const [mri, ct] = p.rows;
  assert.equal(mri.shape, '256×256×256');
  assert.equal(mri.orientation, 'LIA → RAS');
  assert.equal(mri.action, 'reoriented LIA→RAS (no resampling)');
  assert.equal(ct.shape, '91×109×91');
  assert.match(ct.action, /CT resampled onto the MRI grid \(overlap \d+%\)/);
  assert.ok(p.notes.some((n) => n.startsWith('CT resampled onto the MRI grid (2×2×2 mm 91×109×91 → 1×1×1 mm 256×256×256')), p.notes.join('\n'));
});

test('swapped pair is refused with the reason and the fix', () => {
  const p = pair('swap');
  assert.equal(p.outcome, 'refused');
  assert.match(p.rows[0].action, /^refused: .*looks like a CT.*probably swapped.*Put each file in the right folder/);
  assert.match(p.rows[1].action, /^refused: the pair, see the MRI row/);
  // Still described: each file read on its own.
  assert.equal(p.rows[0].orientation, 'LAS → RAS');
  assert.equal(p.rows[1].shape, '91×109×91');
});

test('pair whose fields of view do not overlap is refused as not registered', () => {
  const p = pair('far');
  assert.equal(p.outcome, 'refused');
  assert.match(p.rows[0].action, /different grids \(affines differ.*overlap by only 0%.*not a registered pair.*mri2ct register/);
});

test('html and summary name every pair and outcome', () => {
  for (const id of ['atlas', 'lia', 'swap', 'far']) assert.ok(report.html.includes(`<b>${id}</b>`), id);
  assert.ok(report.html.includes('LIA → RAS'));
  assert.match(report.summary, /4 pair\(s\): 2 accepted \(2 reoriented, 1 with the CT resampled\), 2 refused/);
});

test('PNG: one row of six mid-slices per pair, none blank', async () => {
  const img = await loadImage(report.png);
  const panel = 160;
  assert.equal(img.width, 6 * (panel + 8) + 8);
  assert.equal(img.height, 4 * (22 + panel + 18) + 26 + 4);
  const c = createCanvas(img.width, img.height);
  const ctx = c.getContext('2d');
  ctx.drawImage(img, 0, 0);
  for (let row = 0; row < 4; row++) {
    for (let col = 0; col < 6; col++) {
      // The panel's image area, away from the orientation labels.
      const x = col * (panel + 8) + 4 + 20;
      const y = 26 + row * (22 + panel + 18) + 22 + 20;
      const px = ctx.getImageData(x, y, panel - 40, panel - 40).data;
      let s = 0;
      let s2 = 0;
      const n = px.length / 4;
      for (let i = 0; i < px.length; i += 4) {
        s += px[i] ?? 0;
        s2 += (px[i] ?? 0) ** 2;
      }
      const sd = Math.sqrt(s2 / n - (s / n) ** 2);
      assert.ok(sd > 10, `row ${row} column ${col}: grey level spread ${sd.toFixed(1)}`);
    }
  }
});
