/**
 * Chooses and loads the TensorFlow.js compute backend, once per process.
 * Order: tfjs-node-gpu (CUDA), then tfjs-node (native TensorFlow on CPU), then the pure-JS CPU
 * backend with a loud warning (training is ~100x slower there). `--backend` forces one.
 * The WASM backend is deliberately not offered: it has no Conv2DBackpropFilter, so it cannot
 * train convolutions. This module must not run any model code; it only loads and reports.
 */
import * as tf from '@tensorflow/tfjs';
import { BackendError, ConfigError } from '../errors';
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

const CANDIDATES: { kind: BackendInfo['kind']; pkg: string; tfBackend: string }[] = [
  { kind: 'tensorflow-gpu', pkg: '@tensorflow/tfjs-node-gpu', tfBackend: 'tensorflow' },
  { kind: 'tensorflow', pkg: '@tensorflow/tfjs-node', tfBackend: 'tensorflow' },
];

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
    if (request !== 'auto' && request !== current.kind) {
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

  for (const c of CANDIDATES) {
    if (request !== 'auto' && request !== c.kind) continue;
    try {
      const mod = loader(c.pkg);
      await tf.setBackend(c.tfBackend);
      await tf.ready();
      if (tf.getBackend() !== c.tfBackend) throw new Error(`tf.js did not switch to '${c.tfBackend}'`);
      const tried = failures.length > 0 ? `; ${failures.join('; ')}` : '';
      current = {
        kind: c.kind,
        tfBackend: c.tfBackend,
        package: c.pkg,
        reason: `${request === 'auto' ? 'first that loaded' : 'forced by --backend'}: ${c.pkg}${tried}`,
        slow: false,
        nodeModule: mod,
      };
      return current;
    } catch (err) {
      if (request !== 'auto') {
        throw new BackendError(
          `--backend ${request}: could not load ${c.pkg}: ${firstLine(err)}. ` +
            'Fix: run `bash scripts/setup.sh` (see README "TensorFlow backend").',
          { cause: err },
        );
      }
      failures.push(`${c.pkg} unavailable (${firstLine(err)})`);
    }
  }

  await tf.setBackend('cpu');
  await tf.ready();
  current = {
    kind: 'cpu',
    tfBackend: 'cpu',
    package: '@tensorflow/tfjs',
    reason: request === 'cpu' ? 'forced by --backend cpu' : `fallback: ${failures.join('; ')}`,
    slow: true,
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
