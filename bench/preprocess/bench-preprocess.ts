/**
 * Preprocessing benchmark: seconds per patient and per step at the default phantom size
 * (256×256×160), with 1 and 2 workers, and the cache size on disk for h5 vs npy.
 * Usage: node --import tsx bench/preprocess/bench-preprocess.ts [--patients 4] [--size 256 256 160]
 * Prints a table and one JSON line. Writes only to a temp folder.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { buildCache, formatBuildSummary } from '../../src/cache/build';
import { discoverSeedLayout } from '../../src/dataset/discover';
import { writePhantomCohort } from '../../src/phantom';
import { resolvePreprocessParams } from '../../src/preprocess/params';

function duBytes(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    n += e.isDirectory() ? duBytes(p) : fs.statSync(p).size;
  }
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { patients: { type: 'string', default: '4' }, size: { type: 'string', multiple: true } } });
  const size = (values.size?.length === 3 ? values.size.map(Number) : [256, 256, 160]) as [number, number, number];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-bench-pp-'));
  await writePhantomCohort({ out: path.join(tmp, 'data'), patients: Number(values.patients), size, seed: 1 });
  const pairs = discoverSeedLayout(path.join(tmp, 'data/MRI'), path.join(tmp, 'data/CT')).pairs;
  const params = resolvePreprocessParams();
  const results: Record<string, unknown> = { size, patients: pairs.length };
  for (const [format, workers] of [['h5', 1], ['npy', 1], ['npy', 2]] as const) {
    const dir = path.join(tmp, `cache-${format}-${workers}`);
    const r = await buildCache({ pairs, cacheDir: dir, format, params, workers, log: () => undefined });
    console.log(`\n== ${format}, ${workers} worker(s) ==\n${formatBuildSummary(r)}`);
    results[`${format}_w${workers}`] = {
      seconds_total: +r.seconds.toFixed(2),
      seconds_per_patient_wall: +(r.seconds / pairs.length).toFixed(2),
      n4_mean_s: +(r.built.reduce((s, b) => s + (b.timings?.n4 ?? 0), 0) / r.built.length).toFixed(3),
      cache_mib: +(duBytes(dir) / 1024 ** 2).toFixed(1),
    };
  }
  console.log(JSON.stringify(results));
  fs.rmSync(tmp, { recursive: true, force: true });
}

void main();
