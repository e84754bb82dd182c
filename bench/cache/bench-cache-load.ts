/**
 * Cache load benchmark on a real preprocessed phantom patient (256×256×160 → [160, 256, 256]):
 * our HDF5 reader (h5wasm) vs h5py on the same file, and the npy format vs both, measured back
 * to back in one run (medians of N rounds). Targets: ours ≤ 1.2× h5py; npy ≥ 3× faster than h5.
 * Usage: node --import tsx bench/cache/bench-cache-load.ts [--rounds 7]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { getCacheFormat } from '../../src/cache/format';
import { writePhantomCohort } from '../../src/phantom';
import { resolvePreprocessParams } from '../../src/preprocess/params';
import { preprocessPatient } from '../../src/preprocess/pipeline';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function main(): Promise<void> {
  const rounds = Number(parseArgs({ options: { rounds: { type: 'string', default: '7' } } }).values.rounds);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-bench-cache-'));
  const cohort = await writePhantomCohort({ out: path.join(tmp, 'data'), patients: 1, seed: 1 });
  const files = cohort.patients[0];
  if (files === undefined) throw new Error('no phantom patient');
  const p = await preprocessPatient({ id: files.id, mri: files.mri, ct: files.ct }, resolvePreprocessParams());
  const attrs = { patientId: p.id, sourceFiles: { mri: files.mri, ct: files.ct }, paramsHash: 'bench', normalization: { mri: { min: 0, max: 1 }, ct: { min: -1024, max: 3000 } } };
  const h5 = getCacheFormat('h5').format;
  const npy = getCacheFormat('npy').format;
  const h5File = h5.pathFor(tmp, p.id);
  const npyDir = npy.pathFor(tmp, p.id);
  await h5.write(h5File, p, attrs);
  await npy.write(npyDir, p, attrs);
  const time = async (fn: () => Promise<unknown>): Promise<number> => {
    const t0 = performance.now();
    await fn();
    return performance.now() - t0;
  };
  const cases: [string, () => Promise<unknown>][] = [
    ['ours h5 readRaw (uint16, what training loads)', () => h5.readRaw(h5File)],
    ['ours h5 read (float32)', () => h5.read(h5File)],
    ['ours npy readRaw', () => npy.readRaw(npyDir)],
    ['ours npy read (float32)', () => npy.read(npyDir)],
  ];
  const ours: Record<string, number> = {};
  for (const [name, fn] of cases) {
    await fn();
    const ts: number[] = [];
    for (let r = 0; r < rounds; r++) ts.push(await time(fn));
    ours[name] = median(ts);
  }
  const py = spawnSync('/usr/bin/python3', ['-c', `
import sys, time, json, os, h5py, numpy as np
f5, fn, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def h5read():
    with h5py.File(f5, 'r') as f:
        return {k: f[k][()] for k in ('mri', 'ct', 'mask')}
def npread():
    return {k: np.load(os.path.join(fn, k + '.npy')) for k in ('mri', 'ct', 'mask')}
res = {}
for name, fun in (('h5py', h5read), ('numpy.load', npread)):
    fun(); ts = []
    for _ in range(n):
        t = time.perf_counter(); fun(); ts.append((time.perf_counter() - t) * 1e3)
    res[name] = sorted(ts)[len(ts) // 2]
res['versions'] = 'h5py %s, HDF5 %s, numpy %s' % (h5py.__version__, h5py.version.hdf5_version, np.__version__)
print(json.dumps(res))`, h5File, npyDir, String(rounds)], { encoding: 'utf8' });
  if (py.status !== 0) throw new Error(py.stderr);
  const ref = JSON.parse(py.stdout) as { h5py: number; 'numpy.load': number; versions: string };
  const size = (f: string): number => (fs.statSync(f).isDirectory() ? fs.readdirSync(f).reduce((s, x) => s + fs.statSync(path.join(f, x)).size, 0) : fs.statSync(f).size);
  const rows = [
    `patient [${p.shape.join(', ')}]; h5 ${(size(h5File) / 1e6).toFixed(1)} MB, npy ${(size(npyDir) / 1e6).toFixed(1)} MB; medians of ${rounds}`,
    ...Object.entries(ours).map(([k, v]) => `${k.padEnd(46)} ${v.toFixed(1)} ms`),
    `${'h5py, same file'.padEnd(46)} ${ref.h5py.toFixed(1)} ms (${ref.versions})`,
    `${'numpy.load, same npy files'.padEnd(46)} ${ref['numpy.load'].toFixed(1)} ms`,
    `ours h5 readRaw / h5py: ${((ours['ours h5 readRaw (uint16, what training loads)'] ?? NaN) / ref.h5py).toFixed(2)}× (target ≤ 1.2)`,
    `h5 / npy (readRaw): ${((ours['ours h5 readRaw (uint16, what training loads)'] ?? NaN) / (ours['ours npy readRaw'] ?? NaN)).toFixed(1)}× (target ≥ 3)`,
  ];
  console.log(rows.join('\n'));
  fs.rmSync(tmp, { recursive: true, force: true });
}

void main();
