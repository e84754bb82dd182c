/**
 * GPU facts that need no TensorFlow: what `nvidia-smi` lists (name, memory, compute capability,
 * driver and the CUDA version it supports), which CUDA/cuDNN libraries a TensorFlow build needs,
 * and where the dynamic loader would find them (LD_LIBRARY_PATH, the preload list written by
 * scripts/setup-tfjs.sh, `ldconfig -p`, the system folders). From these, why TensorFlow runs on
 * the CPU although a GPU is visible, and what to do.
 * This module must not load TensorFlow or change the environment; it only looks.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** One GPU as `nvidia-smi` reports it. */
export interface GpuInfo {
  name: string;
  memoryTotalMiB: number;
  memoryFreeMiB: number;
  /** e.g. "7.5" (T4), "8.6" (RTX 3080), "8.9" (RTX 4090); "" when nvidia-smi is too old to say. */
  computeCapability: string;
  driverVersion: string;
  /** Highest CUDA version the driver supports (nvidia-smi's header), e.g. "12.2"; "" if unknown. */
  driverCudaVersion: string;
}

/** Runs a program and returns its stdout (throws when it fails); replaceable in tests. */
export type Exec = (file: string, args: string[]) => string;

const defaultExec: Exec = (file, args) =>
  execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });

/** The GPUs `nvidia-smi` lists; [] when it is missing, fails or lists none. */
export function queryGpus(exec: Exec = defaultExec): GpuInfo[] {
  let csv: string;
  try {
    csv = exec('nvidia-smi', ['--query-gpu=name,memory.total,memory.free,compute_cap,driver_version', '--format=csv,noheader,nounits']);
  } catch {
    return [];
  }
  let cuda = '';
  try {
    cuda = /CUDA Version:\s*([0-9.]+)/.exec(exec('nvidia-smi', []))?.[1] ?? '';
  } catch {
    /* header unavailable: leave it unknown */
  }
  return csv
    .split('\n')
    .map((l) => l.split(',').map((f) => f.trim()))
    .filter((f) => f.length >= 3 && (f[0] ?? '') !== '')
    .map((f) => ({
      name: f[0] ?? '',
      memoryTotalMiB: Number(f[1]),
      memoryFreeMiB: Number(f[2]),
      computeCapability: /^[0-9.]+$/.test(f[3] ?? '') ? (f[3] ?? '') : '',
      driverVersion: f[4] ?? '',
      driverCudaVersion: cuda,
    }));
}

/** One line per GPU, e.g. "Tesla T4, 15360 MiB (14910 free), compute 7.5, driver 535.104.05 (CUDA ≤ 12.2)". */
export function describeGpu(g: GpuInfo): string {
  const cc = g.computeCapability !== '' ? `, compute ${g.computeCapability}` : '';
  const cuda = g.driverCudaVersion !== '' ? ` (CUDA ≤ ${g.driverCudaVersion})` : '';
  return `${g.name}, ${g.memoryTotalMiB} MiB (${g.memoryFreeMiB} free)${cc}, driver ${g.driverVersion}${cuda}`;
}

/** The CUDA stack a TensorFlow build loads with dlopen (sonames), by TensorFlow version. */
export interface CudaNeeds {
  cuda: string;
  cudnn: string;
  /** Sonames, CUDA runtime first, cuDNN last. */
  libraries: string[];
  /** pip packages that provide them (what scripts/setup-tfjs.sh installs on the GPU routes). */
  pipPackages: string[];
}

/**
 * What TensorFlow `tfVersion` needs (tensorflow.org's tested build configurations): up to 2.14
 * CUDA 11 + cuDNN 8 (2.9.1, tfjs-node-gpu's libtensorflow: 11.2 + 8.1), 2.15–2.17 CUDA 12 +
 * cuDNN 8, from 2.18 CUDA 12 + cuDNN 9. cuDNN loads if its major version matches.
 */
export function cudaNeeds(tfVersion: string): CudaNeeds {
  const [maj, min] = tfVersion.split('.').map(Number);
  const minor = maj === 2 ? (min ?? 0) : 99;
  if (minor < 15) {
    return {
      cuda: minor < 12 ? '11.2' : '11.8',
      cudnn: minor < 12 ? '8.1' : '8.6',
      libraries: ['libcudart.so.11.0', 'libcublas.so.11', 'libcublasLt.so.11', 'libcufft.so.10', 'libcurand.so.10', 'libcusolver.so.11', 'libcusparse.so.11', 'libcudnn.so.8'],
      pipPackages: ['nvidia-cuda-runtime-cu11', 'nvidia-cublas-cu11', 'nvidia-cufft-cu11', 'nvidia-curand-cu11', 'nvidia-cusolver-cu11', 'nvidia-cusparse-cu11', 'nvidia-cudnn-cu11<9'],
    };
  }
  const cudnn = minor < 18 ? '8' : '9';
  return {
    cuda: '12',
    cudnn,
    libraries: ['libcudart.so.12', 'libcublas.so.12', 'libcublasLt.so.12', 'libcufft.so.11', 'libcusolver.so.11', 'libcusparse.so.12', `libcudnn.so.${cudnn}`],
    pipPackages: ['nvidia-cuda-runtime-cu12', 'nvidia-cublas-cu12', 'nvidia-cufft-cu12', 'nvidia-cusolver-cu12', 'nvidia-cusparse-cu12', `nvidia-cudnn-cu12${cudnn === '8' ? '<9' : ''}`],
  };
}

export interface LibrarySearch {
  /** Environment (LD_LIBRARY_PATH); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Absolute paths the binding preloads (scripts/setup-tfjs.sh's list); default none. */
  preload?: string[];
  /** Runs ldconfig; default the real one. */
  exec?: Exec;
  /** System folders searched last (default the usual Debian/Ubuntu and CUDA ones). */
  systemDirs?: string[];
}

const SYSTEM_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/local/cuda/lib64', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu'];

/** Where the loader would find `soname`, or undefined. */
export function findLibrary(soname: string, search: LibrarySearch = {}): string | undefined {
  const env = search.env ?? process.env;
  const pre = (search.preload ?? []).find((p) => path.basename(p) === soname && fs.existsSync(p));
  if (pre !== undefined) return pre;
  for (const dir of (env['LD_LIBRARY_PATH'] ?? '').split(':').filter(Boolean)) {
    const p = path.join(dir, soname);
    if (fs.existsSync(p)) return p;
  }
  try {
    const line = (search.exec ?? defaultExec)('ldconfig', ['-p'])
      .split('\n')
      .find((l) => l.trim().startsWith(`${soname} `));
    const p = line?.split('=>')[1]?.trim();
    if (p !== undefined && p !== '') return p;
  } catch {
    /* no ldconfig: the folders below */
  }
  for (const dir of search.systemDirs ?? SYSTEM_DIRS) {
    const p = path.join(dir, soname);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

/** Which of `needs.libraries` the loader finds and which it does not. */
export function locateCudaLibraries(needs: CudaNeeds, search: LibrarySearch = {}): { found: Record<string, string>; missing: string[] } {
  const found: Record<string, string> = {};
  const missing: string[] = [];
  for (const lib of needs.libraries) {
    const p = findLibrary(lib, search);
    if (p === undefined) missing.push(lib);
    else found[lib] = p;
  }
  return { found, missing };
}

/** cuDNN's version from the file a `libcudnn.so.N` link resolves to (e.g. 8.6.0), or "". */
export function cudnnVersionFromPath(p: string | undefined): string {
  if (p === undefined) return '';
  let real = p;
  try {
    real = fs.realpathSync(p);
  } catch {
    /* keep the name */
  }
  return /libcudnn\.so\.([0-9.]+)$/.exec(real)?.[1] ?? /libcudnn\.so\.([0-9]+)/.exec(p)?.[1] ?? '';
}

/** The failure text when a GPU is visible but TensorFlow runs on the CPU. */
export function cpuFallbackDiagnosis(gpus: GpuInfo[], tfVersion: string, search: LibrarySearch = {}): { detail: string; fix: string; missing: string[] } {
  const needs = cudaNeeds(tfVersion);
  const { missing } = locateCudaLibraries(needs, search);
  const gpu = gpus.map(describeGpu).join('; ');
  const why =
    missing.length > 0
      ? `TensorFlow ${tfVersion} needs CUDA ${needs.cuda} + cuDNN ${needs.cudnn} and cannot load ${missing.join(', ')}`
      : `TensorFlow ${tfVersion} finds the CUDA ${needs.cuda} libraries but lists no GPU device (a CPU-only build of the library, or a driver too old for CUDA ${needs.cuda})`;
  return {
    detail: `GPU visible (${gpu}) but TensorFlow runs on the CPU: ${why}`,
    fix:
      missing.length > 0
        ? `run \`bash scripts/setup-tfjs.sh\` (takes the GPU route when nvidia-smi lists a GPU; \`MRI2CT_TF_PLAN=1\` shows the plan), or \`pip install ${needs.pipPackages.join(' ')}\` and rerun it`
        : 'rebuild the binding against a GPU TensorFlow: `MRI2CT_TF_ROUTE=gpu-wheel bash scripts/setup-tfjs.sh` (README "GPU")',
    missing,
  };
}
