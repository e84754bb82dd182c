/**
 * Test helper: seed-layout datasets (MRI/ and CT/ folders, one file per patient in each) built
 * from the real scans in ../shared/scans by a short Python script (nibabel), in a temp folder.
 * Must not: write into the scans or the repository (only into the temp folder it makes), or
 * remove the folder (the caller does, in its `after`).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runPython } from './python';

/** The real scans, next to the checkout (read in place). */
export const SCANS = path.resolve(__dirname, '..', '..', '..', 'shared', 'scans');

/** Runs before every `body`: imports, the folders, and the two scans most pairs start from. */
const PRELUDE = `
import sys, os, shutil, nibabel as nib, numpy as np
scans, d = sys.argv[1], sys.argv[2]
mr, ct = f'{d}/MRI', f'{d}/CT'
os.makedirs(mr); os.makedirs(ct)
T1 = f'{scans}/niivue-demo-images/register/MNI152_T1_2mm.nii.gz'
CT = f'{scans}/neurolabusc-Clinical/derived/scct_HU.nii.gz'`;

/**
 * Makes a temp folder `<prefix>…` and fills it with the Python `body`, which runs with sys, os,
 * shutil, nibabel (nib) and numpy (np) imported and these names set: `scans` (SCANS), `d` (the
 * folder), `mr` and `ct` (its MRI/ and CT/ folders, made), `T1` (the MNI152 T1, 2 mm) and `CT`
 * (the CT template in HU on the same grid). Returns the folder.
 */
export function seedLayoutFromScans(prefix: string, body: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  runPython(PRELUDE + body, [SCANS, dir]);
  return dir;
}
