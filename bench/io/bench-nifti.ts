/**
 * NIfTI read/write speed on a phantom-like 256×256×160 volume (int16 and float32, .nii.gz level 6),
 * ours vs nibabel on the same files, back to back. Usage: node --import tsx bench/io/bench-nifti.ts
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readNifti, writeNifti } from '../../src/io';
import { generatePhantomPatient } from '../../src/phantom';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-bench-io-'));
  const p = generatePhantomPatient(1);
  const rows: string[] = [];
  for (const [name, vol, datatype] of [['CT int16', p.ct, 'int16'], ['MRI float32', { ...p.mri, data: Float32Array.from(p.mri.data) }, 'float32']] as const) {
    const file = path.join(tmp, `${name.replace(' ', '_')}.nii.gz`);
    const w: number[] = [];
    const r: number[] = [];
    for (let i = 0; i < 3; i++) {
      let t = performance.now();
      await writeNifti(file, vol, { datatype, compressionLevel: 6 });
      w.push(performance.now() - t);
      t = performance.now();
      await readNifti(file);
      r.push(performance.now() - t);
    }
    const py = spawnSync('/usr/bin/python3', ['-c', `
import sys, time, nibabel as nib, numpy as np
ts = []
for _ in range(3):
    t = time.perf_counter(); np.asanyarray(nib.load(sys.argv[1]).dataobj); ts.append((time.perf_counter() - t) * 1e3)
print(sorted(ts)[1])`, file], { encoding: 'utf8' });
    rows.push(`${name.padEnd(12)} ${(fs.statSync(file).size / 1e6).toFixed(1)} MB: write ${median(w).toFixed(0)} ms, read ${median(r).toFixed(0)} ms, nibabel read ${Number(py.stdout).toFixed(0)} ms`);
  }
  console.log(rows.join('\n'));
  fs.rmSync(tmp, { recursive: true, force: true });
}

void main();
