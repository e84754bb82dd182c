/**
 * Chooses and loads the TensorFlow.js compute backend, once per process.
 * Order: the native TensorFlow binding (package @tensorflow/tfjs-node-gpu, then
 * @tensorflow/tfjs-node; either may be built against a GPU TensorFlow, see scripts/setup-tfjs.sh),
 * then the pure-JS CPU backend with a loud warning (training is ~100x slower there). Whether the
 * binding runs on a GPU is TensorFlow's own answer (its device list, `isUsingGpuDevice`), not the
 * package name: kind 'tensorflow-gpu' means TensorFlow listed a GPU. `--backend tensorflow-gpu`
 * refuses a binding that runs on the CPU, naming the missing CUDA libraries. CUDA libraries found
 * by set-up are preloaded first (src/env/cuda-preload.ts).
 * The WASM backend is deliberately not offered: it has no Conv2DBackpropFilter, so it cannot
 * train convolutions. This module must not run any model code; it only loads and reports.
 */
import * as tf from '@tensorflow/tfjs';
import { BackendError, ConfigError } from '../errors';
import { preloadCudaLibraries, type PreloadResult } from './cuda-preload';
import { cpuFallbackDiagnosis, queryGpus, type GpuInfo } from './gpu';
import { loadQuietly } from './quiet-tf';

/** What the user may ask for. */
export type BackendRequest = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'cpu';
export const BACKEND_REQUESTS: readonly BackendRequest[] = ['auto', 'tensorflow-gpu', 'tensorflow', 'cpu'];

/** What was loaded. */
export interface BackendInfo {
  /** 'tensorflow-gpu', 'tensorflow' (native CPU) or 'cpu' (pure JavaScript). */
  kind: Exclude<BackendRequest, 'auto'>;
  /** Name registered in tf.js (`tf.getBackend()`). */
  tfBackend: string;
  /** npm package that provides it. */
  package: string;
  /** Why this one: which candidates failed and how. */
  reason: string;
  /** True when training will be very slow (pure-JS fallback). */
  slow: boolean;
  /** The tfjs-node module when a native backend is loaded (summary writer, file IO). */
  nodeModule?: unknown;
  /** Where TensorFlow runs the ops: 'GPU' when its device list has one, else 'CPU'. */
  device: 'GPU' | 'CPU';
  /** Version of the TensorFlow C library behind a native backend (e.g. "2.21.0"). */
  tfVersion?: string;
  /** CUDA libraries preloaded from set-up's list (native backends with a list only). */
  preload?: PreloadResult;
}

/** "the step runs on the GPU (TensorFlow 2.21.0)" and the like, for start lines. */
export function describeDevice(b: BackendInfo, gpus: GpuInfo[] = b.device === 'GPU' ? queryGpus() : []): string {
  if (b.device === 'GPU') {
    const name = gpus[0] !== undefined ? `: ${gpus[0].name}` : '';
    return `GPU${name} (TensorFlow ${b.tfVersion ?? '?'}, CUDA)`;
  }
  return b.slow ? 'CPU (pure JavaScript, slow)' : `CPU (TensorFlow ${b.tfVersion ?? '?'})`;
}

export const SLOW_BACKEND_WARNING = [
  '!!! WARNING: no native TensorFlow backend could be loaded; using the pure-JavaScript CPU backend.',
  '!!! Training will be about 100x slower. Fix: run `bash scripts/setup.sh` (builds the tfjs-node',
  '!!! binding, offline if needed) or see the README section "TensorFlow backend".',
].join('\n');

/** How candidate packages are loaded; replaceable in tests. */
export type ModuleLoader = (name: string) => unknown;

export interface LoadBackendOptions {
  /** Which backend to use; 'auto' tries GPU, native CPU, then pure JS. Default 'auto'. */
  request?: BackendRequest;
  /** Loads a package by name (default: require, with TensorFlow's start-up log lines hidden). */
  loader?: ModuleLoader;
  /** Called with the loud warning when falling back to the slow backend (default: console.warn). */
  warn?: (message: string) => void;
}

let current: BackendInfo | undefined;

/** Native packages, in order; both register the tf.js backend 'tensorflow'. */
const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

/** A loaded kind satisfies a request: 'tensorflow' means native TensorFlow, on whatever device. */
function satisfies(request: BackendRequest, kind: BackendInfo['kind']): boolean {
  return request === 'auto' || request === kind || (request === 'tensorflow' && kind === 'tensorflow-gpu');
}

/** What the tfjs-node backend says about itself (duck-typed: no tfjs-node types here). */
function nativeFacts(): { gpu: boolean; tfVersion?: string } {
  const b = tf.backend() as unknown as { isUsingGpuDevice?: unknown; binding?: { TF_Version?: unknown } };
  const v = b.binding?.TF_Version;
  return { gpu: b.isUsingGpuDevice === true, ...(typeof v === 'string' ? { tfVersion: v } : {}) };
}

/** CUDA_VISIBLE_DEVICES set to hide every GPU ('' or -1). */
export function gpusHiddenByEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env['CUDA_VISIBLE_DEVICES'];
  return v !== undefined && (v.trim() === '' || v.trim() === '-1');
}

/** Why --backend tensorflow-gpu cannot run on a binding that is on the CPU. */
function gpuRefusal(tfVersion: string, gpus: GpuInfo[]): BackendError {
  if (gpusHiddenByEnv()) {
    return new BackendError(`--backend tensorflow-gpu: CUDA_VISIBLE_DEVICES='${process.env['CUDA_VISIBLE_DEVICES'] ?? ''}' hides every GPU. Unset it, or use --backend tensorflow.`);
  }
  if (gpus.length === 0) {
    return new BackendError(
      '--backend tensorflow-gpu: no GPU here (nvidia-smi is missing or lists none), and TensorFlow runs on the CPU. ' +
        'Use --backend auto (or tensorflow) on this machine, or run on a machine with an NVIDIA GPU and its driver.',
    );
  }
  const d = cpuFallbackDiagnosis(gpus, tfVersion);
  return new BackendError(`--backend tensorflow-gpu refuses to fall back to the CPU: ${d.detail}. Fix: ${d.fix}.`);
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0] ?? msg;
}

/** Parses a user's --backend value. */
export function parseBackendRequest(value: string): BackendRequest {
  const v = value === 'gpu' ? 'tensorflow-gpu' : value === 'node' ? 'tensorflow' : value;
  if ((BACKEND_REQUESTS as readonly string[]).includes(v)) return v as BackendRequest;
  if (v === 'wasm') {
    throw new ConfigError(
      "--backend wasm is not offered: TF.js's WASM backend has no Conv2DBackpropFilter kernel, so it cannot train " +
        'convolutions. Use --backend tensorflow (native) or cpu (pure JS, slow).',
    );
  }
  throw new ConfigError(`--backend ${value} is unknown: use one of ${BACKEND_REQUESTS.join(', ')} (or gpu, node).`);
}

/**
 * Loads the backend (once per process; later calls return the same result and must not ask
 * for a different one). Throws BackendError when a forced backend cannot be loaded.
 */
export async function loadBackend(options: LoadBackendOptions = {}): Promise<BackendInfo> {
  const request = options.request ?? 'auto';
  if (current !== undefined) {
    if (!satisfies(request, current.kind)) {
      throw new BackendError(
        `backend '${current.kind}' is already loaded in this process; cannot switch to '${request}'. ` +
          'Restart the process (or notebook kernel) to change backends.',
      );
    }
    return current;
  }
  // TensorFlow's start-up lines stay hidden unless MRI2CT_TF_VERBOSE=1 (CLI: --verbose).
  const loader = options.loader ?? ((name: string) => loadQuietly(() => require(name) as unknown));
  const warn = options.warn ?? ((m: string) => console.warn(m));
  const failures: string[] = [];

  const wantNative = request !== 'cpu';
  for (const pkg of wantNative ? NATIVE_PACKAGES : []) {
    let mod: unknown;
    let preload: PreloadResult | undefined;
    try {
      preload = preloadCudaLibraries(pkg);
      mod = loader(pkg);
      await tf.setBackend('tensorflow');
      await tf.ready();
      if (tf.getBackend() !== 'tensorflow') throw new Error("tf.js did not switch to 'tensorflow'");
    } catch (err) {
      if (request !== 'auto' && pkg === NATIVE_PACKAGES[NATIVE_PACKAGES.length - 1]) {
        throw new BackendError(
          `--backend ${request}: could not load ${pkg}: ${firstLine(err)}` +
            `${failures.length > 0 ? ` (${failures.join('; ')})` : ''}. Fix: run \`bash scripts/setup.sh\` (see README "TensorFlow backend").`,
          { cause: err },
        );
      }
      failures.push(`${pkg} unavailable (${firstLine(err)})`);
      continue;
    }
    const facts = nativeFacts();
    const kind = facts.gpu ? 'tensorflow-gpu' : 'tensorflow';
    if (request === 'tensorflow-gpu' && !facts.gpu) throw gpuRefusal(facts.tfVersion ?? '?', queryGpus());
    const tried = failures.length > 0 ? `; ${failures.join('; ')}` : '';
    const preloaded = preload !== undefined && preload.loaded.length > 0 ? `; ${preload.loaded.length} CUDA libraries preloaded` : '';
    current = {
      kind,
      tfBackend: 'tensorflow',
      package: pkg,
      reason: `${request === 'auto' ? 'first that loaded' : 'forced by --backend'}: ${pkg}, TensorFlow ${facts.tfVersion ?? '?'} on the ${facts.gpu ? 'GPU' : 'CPU'}${preloaded}${tried}`,
      slow: false,
      nodeModule: mod,
      device: facts.gpu ? 'GPU' : 'CPU',
      ...(facts.tfVersion !== undefined ? { tfVersion: facts.tfVersion } : {}),
      ...(preload?.list !== undefined ? { preload } : {}),
    };
    return current;
  }

  await tf.setBackend('cpu');
  await tf.ready();
  current = {
    kind: 'cpu',
    tfBackend: 'cpu',
    package: '@tensorflow/tfjs',
    reason: request === 'cpu' ? 'forced by --backend cpu' : `fallback: ${failures.join('; ')}`,
    slow: true,
    device: 'CPU',
  };
  warn(SLOW_BACKEND_WARNING);
  return current;
}

/** The backend loaded so far, if any. */
export function currentBackend(): BackendInfo | undefined {
  return current;
}

/** For tests only: forget the loaded backend so loadBackend can run again. */
export function resetBackendForTests(): void {
  current = undefined;
}
