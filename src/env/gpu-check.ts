/**
 * check-env's GPU line, proof of use rather than hope: with a GPU in TensorFlow's device list, a
 * matrix product timed through the binding (which places every op on that GPU) against the same
 * product in a child process whose CUDA_VISIBLE_DEVICES hides the GPU (native TensorFlow on the
 * CPU), with the GPU's name, memory, compute capability and the CUDA/cuDNN libraries in use.
 * No GPU listed by nvidia-smi: "none visible", not a failure. A GPU listed but TensorFlow on the
 * CPU: a failure naming the libraries TensorFlow could not load and the fix.
 * This module must not choose the backend; it inspects the one loaded.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { gpusHiddenByEnv, type BackendInfo } from './backend';
import { cpuFallbackDiagnosis, cudaNeeds, cudnnVersionFromPath, describeGpu, locateCudaLibraries, queryGpus, type Exec, type GpuInfo } from './gpu';

/** A check-env item (same shape as check-env's). */
export interface GpuCheckItem {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
  required: boolean;
}

export interface GpuCheckOptions {
  /** Runs nvidia-smi / ldconfig (default: the real ones). */
  exec?: Exec;
  /** Side of the timed square matrix product (default 2048). */
  matmulSize?: number;
  /** Time the CPU in a child process for comparison (default true). */
  compareCpu?: boolean;
}

/** Milliseconds per `n`×`n` float32 matrix product on the current backend (median of `reps`). */
export function timeMatMul(n: number, reps = 5): number {
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  const once = (): number => {
    const t0 = performance.now();
    const c = tf.matMul(a, b);
    const s = c.sum();
    s.dataSync();
    c.dispose();
    s.dispose();
    return performance.now() - t0;
  };
  once(); // warm-up: kernel selection, cuBLAS handles
  const times = Array.from({ length: reps }, once).sort((x, y) => x - y);
  a.dispose();
  b.dispose();
  return times[Math.floor(reps / 2)] ?? NaN;
}

/** The same product on native TensorFlow with every GPU hidden, in a child process. */
export function timeMatMulOnCpu(n: number): number {
  const backendJs = path.join(__dirname, 'backend.js');
  const self = path.join(__dirname, 'gpu-check.js');
  const script = `require(${JSON.stringify(backendJs)}).loadBackend({ request: 'tensorflow' })
    .then(() => console.log(require(${JSON.stringify(self)}).timeMatMul(${n}, 3)));`;
  const out = execFileSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: { ...process.env, CUDA_VISIBLE_DEVICES: '-1' },
    stdio: ['ignore', 'pipe', 'ignore'],
    timeout: 120_000,
  });
  return Number(out.trim().split('\n').pop());
}

/** The GPU line of check-env for the loaded backend `b`. */
export function gpuCheckItem(b: BackendInfo, options: GpuCheckOptions = {}): GpuCheckItem {
  const gpus: GpuInfo[] = queryGpus(options.exec);
  if (gpus.length === 0) {
    return { name: 'GPU', ok: true, detail: 'none visible (nvidia-smi missing or lists no GPU): training runs on the CPU', required: false };
  }
  const listed = gpus.map(describeGpu).join('; ');
  if (gpusHiddenByEnv()) {
    return { name: 'GPU', ok: true, detail: `${listed}; hidden by CUDA_VISIBLE_DEVICES='${process.env['CUDA_VISIBLE_DEVICES'] ?? ''}': training runs on the CPU`, required: false };
  }
  if (b.device !== 'GPU') {
    if (b.slow && b.reason.startsWith('forced')) {
      return { name: 'GPU', ok: false, detail: `${listed}; unused (--backend cpu)`, fix: 'use --backend auto to train on it', required: false };
    }
    const d = cpuFallbackDiagnosis(gpus, b.tfVersion ?? '2.21.0', options.exec !== undefined ? { exec: options.exec } : {});
    const detail = b.slow ? `GPU visible (${listed}) but no native TensorFlow backend loaded` : d.detail;
    return { name: 'GPU', ok: false, detail, fix: d.fix, required: true };
  }
  const needs = cudaNeeds(b.tfVersion ?? '2.21.0');
  const { found } = locateCudaLibraries(needs, { ...(options.exec !== undefined ? { exec: options.exec } : {}), preload: b.preload?.loaded ?? [] });
  const cudart = found[needs.libraries[0] ?? ''];
  const cudnn = cudnnVersionFromPath(found[needs.libraries[needs.libraries.length - 1] ?? '']);
  const n = options.matmulSize ?? 2048;
  const gpuMs = timeMatMul(n);
  let versus = '';
  if (options.compareCpu !== false) {
    try {
      const cpuMs = timeMatMulOnCpu(n);
      versus = ` vs ${cpuMs.toFixed(1)} ms on the CPU (${(cpuMs / gpuMs).toFixed(1)}×)`;
    } catch (err) {
      versus = ` (CPU comparison failed: ${err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err)})`;
    }
  }
  const libs = `CUDA runtime ${cudart !== undefined ? path.basename(fs.realpathSync(cudart)) : `${needs.cuda} (path unknown)`}, cuDNN ${cudnn !== '' ? cudnn : needs.cudnn}`;
  return {
    name: 'GPU',
    ok: true,
    detail: `${listed}; TensorFlow ${b.tfVersion ?? '?'} runs on it: ${n}² matmul ${gpuMs.toFixed(2)} ms${versus}; ${libs}`,
    required: false,
  };
}
