/**
 * The environment check (`mri2ct check-env`, `mri2ct run --check_env`, notebook 01): backend in
 * use and why, GPU (src/env/gpu-check.ts: proof that TensorFlow runs on it), memory, free disk at the cache dir, the packages the pipeline needs and the
 * tslab Jupyter kernel, whether --use_amp can run (src/env/amp.ts). Each failed line says how to fix it. It only inspects; it installs nothing.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { importEsm } from '../util/esm';
import { installedVersion } from '../util/package-version';
import { ampAvailability } from './amp';
import { loadBackend, type BackendRequest } from './backend';
import { sideStreamBuilt } from './side-stream';
import { describeGpu, queryGpus } from './gpu';
import { gpuCheckItem } from './gpu-check';

export interface EnvCheckItem {
  /** Short name of what was checked. */
  name: string;
  ok: boolean;
  /** What was found. */
  detail: string;
  /** How to fix it, when not ok. */
  fix?: string;
  /** A failed required item fails the whole check; optional ones only warn. */
  required: boolean;
}

export interface EnvReport {
  items: EnvCheckItem[];
  /** True when every required item is ok. */
  ok: boolean;
}

export interface CheckEnvOptions {
  /** Directory whose free disk space is reported (default: ./preprocessed_cache or its parent). */
  cacheDir?: string;
  /** Backend to load (default 'auto'). */
  backend?: BackendRequest;
  /** Minimum free disk in GiB before the disk line fails (default 2). */
  minFreeDiskGiB?: number;
}

const GiB = 1024 ** 3;
const fmtGiB = (bytes: number): string => `${(bytes / GiB).toFixed(1)} GiB`;
const SETUP_FIX = 'run `bash scripts/setup.sh` (installs everything; see README)';

function availableMemory(): number {
  try {
    const m = /MemAvailable:\s+(\d+) kB/.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
    if (m?.[1] !== undefined) return Number(m[1]) * 1024;
  } catch {
    /* not Linux: fall through */
  }
  return os.freemem();
}

function existingAncestor(dir: string): string {
  let d = path.resolve(dir);
  while (!fs.existsSync(d)) {
    const parent = path.dirname(d);
    if (parent === d) break;
    d = parent;
  }
  return d;
}

async function tryItem(name: string, required: boolean, fix: string, probe: () => Promise<string> | string): Promise<EnvCheckItem> {
  try {
    return { name, ok: true, detail: await probe(), required };
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err);
    return { name, ok: false, detail: msg, fix, required };
  }
}

/** "name version" of an installed package. */
function packageVersion(pkg: string): string {
  const v = installedVersion(pkg);
  if (v === undefined) throw new Error(`${pkg} is not installed`);
  return `${pkg} ${v}`;
}

function tslabKernel(): string {
  const out = execFileSync(
    '/usr/bin/python3',
    ['-c', 'import json; from jupyter_client.kernelspec import KernelSpecManager as K; print(json.dumps(K().find_kernel_specs()))'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 },
  );
  const dir = (JSON.parse(out) as Record<string, string>)['tslab'];
  if (dir === undefined) throw new Error('the tslab kernel is not registered with Jupyter');
  const kernel = JSON.parse(fs.readFileSync(path.join(dir, 'kernel.json'), 'utf8')) as { argv: string[] };
  const bin = kernel.argv[0] ?? '';
  if (path.isAbsolute(bin) && !fs.existsSync(bin)) throw new Error(`the tslab kernel points at ${bin}, which does not exist`);
  return `tslab kernel registered (${dir})`;
}

/** Runs every check. Never throws for a failed check: failures are items with ok=false. */
export async function checkEnvironment(options: CheckEnvOptions = {}): Promise<EnvReport> {
  const items: EnvCheckItem[] = [];
  const nodeMajor = Number(process.versions.node.split('.')[0]);
  items.push({
    name: 'Node.js',
    ok: nodeMajor >= 20,
    detail: `v${process.versions.node}`,
    fix: 'install Node.js 20 or newer',
    required: true,
  });

  const backend = await loadBackend({ request: options.backend ?? 'auto', warn: () => undefined }).catch((err: unknown) => err);
  if (backend instanceof Error) {
    items.push({ name: 'Compute backend', ok: false, detail: backend.message, ...(/Fix:/.test(backend.message) ? {} : { fix: SETUP_FIX }), required: true });
    const gpus = queryGpus();
    items.push({ name: 'GPU', ok: gpus.length === 0, detail: gpus.length === 0 ? 'none visible' : gpus.map(describeGpu).join('; '), required: false });
  } else {
    const b = backend as Awaited<ReturnType<typeof loadBackend>>;
    items.push({
      name: 'Compute backend',
      ok: !b.slow,
      detail: `${b.kind} (${b.package}) — ${b.reason}`,
      fix: b.slow ? `training would be ~100x slower: ${SETUP_FIX}` : undefined,
      required: false,
    });
    items.push(gpuCheckItem(b));
    const amp = ampAvailability(b.kind);
    items.push({ name: 'Mixed precision', ok: true, detail: `${amp.dtype !== 'float32' ? `--use_amp available: ${amp.dtype}` : '--use_amp trains float32 here'} — ${amp.reason}${sideStreamNote(b.kind, amp.dtype)}`, required: false });
  }

  const total = os.totalmem();
  const avail = availableMemory();
  items.push({
    name: 'Memory',
    ok: avail >= 2 * GiB,
    detail: `${fmtGiB(avail)} available of ${fmtGiB(total)}`,
    fix: 'free memory or lower --max_cache_mem / --batch_size',
    required: false,
  });

  const cacheDir = options.cacheDir ?? 'preprocessed_cache';
  const probeDir = existingAncestor(cacheDir);
  const minFree = (options.minFreeDiskGiB ?? 2) * GiB;
  try {
    const st = fs.statfsSync(probeDir);
    const free = st.bavail * st.bsize;
    items.push({
      name: 'Disk',
      ok: free >= minFree,
      detail: `${fmtGiB(free)} free at ${probeDir} (cache dir ${cacheDir})`,
      fix: `free disk space or choose another --cache_dir (needs ~50 MB per patient; ${fmtGiB(minFree)} minimum)`,
      required: true,
    });
  } catch (err) {
    items.push({ name: 'Disk', ok: false, detail: String(err), fix: 'choose a writable --cache_dir', required: true });
  }

  items.push(await tryItem('nifti-reader-js', true, SETUP_FIX, async () => {
    await importEsm('nifti-reader-js');
    return packageVersion('nifti-reader-js');
  }));
  items.push(await tryItem('h5wasm', true, SETUP_FIX, async () => {
    await importEsm('h5wasm/node');
    return packageVersion('h5wasm');
  }));
  items.push(await tryItem('canvas', true, `${SETUP_FIX}; canvas needs Debian's libcairo2-dev libpango1.0-dev libjpeg-dev libgif-dev librsvg2-dev to build`, () => {
    require('canvas');
    return packageVersion('canvas');
  }));
  items.push(await tryItem('plotly.js-dist', false, SETUP_FIX, () => {
    require.resolve('plotly.js-dist');
    return packageVersion('plotly.js-dist');
  }));
  items.push(await tryItem('Jupyter + tslab kernel', false, `${SETUP_FIX}; notebooks need jupyter and \`tslab install\``, tslabKernel));

  return { items, ok: items.every((i) => i.ok || !i.required) };
}

/** Renders the report as ✅/❌ lines, fixes and a verdict. */
export function formatEnvReport(report: EnvReport): string {
  const lines = report.items.map((i) => {
    const mark = i.ok ? '✅' : i.required ? '❌' : '⚠️ ';
    const fix = !i.ok && i.fix !== undefined ? `\n     fix: ${i.fix}` : '';
    return `${mark} ${i.name.padEnd(24)} ${i.detail}${fix}`;
  });
  const failed = report.items.filter((i) => !i.ok && i.required).length;
  const warned = report.items.filter((i) => !i.ok && !i.required).length;
  lines.push(
    report.ok
      ? `\nVerdict: ready${warned > 0 ? ` (${warned} optional item${warned > 1 ? 's' : ''} missing)` : ''}.`
      : `\nVerdict: NOT ready — ${failed} required item${failed > 1 ? 's' : ''} failed; see the fixes above.`,
  );
  return lines.join('\n');
}

/** Whether --use_amp's dW convs get the binding's side stream (CPU tfjs-node, 16-bit only). */
function sideStreamNote(kind: string, dtype: string): string {
  if (kind !== 'tensorflow' || dtype === 'float32') return '';
  return sideStreamBuilt()
    ? '; weight gradients on the binding\'s side stream'
    : '; the binding lacks the side stream (prebuilt, or an older TensorFlow C API: scripts/tfjs-binding/README.md): weight gradients in line, ~1.08x slower';
}
