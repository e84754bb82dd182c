/**
 * Whether `--use_amp` (mixed precision) can run here, and in which dtype (issue #14). The 16-bit
 * convolutions (src/model/conv16.ts) need a native backend (tfjs-node / tfjs-node-gpu):
 *  - 'tensorflow-gpu': float16 with dynamic loss scaling (src/model/loss-scale.ts). This path is
 *    verified on TensorFlow's CPU half kernels only, never on a GPU.
 *  - 'tensorflow' (CPU): bfloat16 when /proc/cpuinfo lists `avx512_bf16` or `amx_bf16`; without
 *    them oneDNN's bf16 convs are 0.37× float32's speed or fail (bench/amp/README.md).
 *  - 'cpu' (pure JS): nothing 16-bit.
 * The environment variable MRI2CT_AMP_DTYPE=float16|bfloat16|float32 overrides the choice on the
 * native backends (testing and experts: float16 on the CPU runs Eigen's half kernels, ~5× slower
 * than float32; bfloat16 without the CPU flags is slow or fails). Every "no" trains float32 and
 * says why in one line. This module only decides; it runs no model code.
 */
import * as fs from 'node:fs';
import type { BackendInfo } from './backend';

export type AmpDtype = 'bfloat16' | 'float16' | 'float32';

export interface AmpDecision {
  /** --use_amp was given. */
  requested: boolean;
  /** The dtype of the convolutions: 'bfloat16' or 'float16' when AMP runs, else 'float32'. */
  dtype: AmpDtype;
  /** Why (one line). */
  reason: string;
}

/** The override's environment variable. */
export const AMP_DTYPE_ENV = 'MRI2CT_AMP_DTYPE';

/** The CPU's bf16 instruction flags found in a /proc/cpuinfo text (empty when none). */
export function bf16CpuFlags(cpuinfo: string): string[] {
  const flags = new Set<string>();
  for (const m of cpuinfo.matchAll(/^flags\s*:(.*)$/gm)) for (const f of (m[1] ?? '').split(/\s+/)) if (f === 'avx512_bf16' || f === 'amx_bf16') flags.add(f);
  return [...flags].sort();
}

function readCpuinfo(): string {
  try {
    return fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

const F16_GPU = 'float16 convolutions with dynamic loss scaling on the GPU (verified on CPU kernels only, never run on a GPU)';

function overridden(kind: BackendInfo['kind'], override: string): { dtype: AmpDtype; reason: string } {
  const set = `${AMP_DTYPE_ENV}=${override}`;
  if (override !== 'float16' && override !== 'bfloat16' && override !== 'float32') return { dtype: 'float32', reason: `${set} is not one of float16, bfloat16, float32` };
  if (kind === 'cpu') return { dtype: 'float32', reason: `${set}, but the pure-JS cpu backend has no 16-bit convolutions (needs tfjs-node)` };
  if (override === 'float32') return { dtype: 'float32', reason: `${set}` };
  const where = kind === 'tensorflow-gpu' ? 'on the GPU' : override === 'float16' ? "on the CPU (Eigen's half kernels, several times slower than float32; for testing)" : 'on the CPU whatever its flags';
  return { dtype: override, reason: `${set}: ${override} convolutions${override === 'float16' ? ' with dynamic loss scaling' : ''} ${where}` };
}

/**
 * Whether mixed precision is available on this backend and CPU (requested or not); `override`
 * defaults to $MRI2CT_AMP_DTYPE (unset or empty: the automatic choice).
 */
export function ampAvailability(kind: BackendInfo['kind'], cpuinfo: string = readCpuinfo(), override: string | undefined = process.env[AMP_DTYPE_ENV]): { dtype: AmpDtype; reason: string } {
  if (override !== undefined && override !== '') return overridden(kind, override);
  if (kind === 'tensorflow-gpu') return { dtype: 'float16', reason: F16_GPU };
  if (kind === 'cpu') return { dtype: 'float32', reason: 'the pure-JS cpu backend has no bfloat16 (needs tfjs-node)' };
  const flags = bf16CpuFlags(cpuinfo);
  if (flags.length === 0) return { dtype: 'float32', reason: 'this CPU has no bf16 instructions (avx512_bf16 / amx_bf16 not in /proc/cpuinfo); bf16 convolutions would be slower or fail' };
  return { dtype: 'bfloat16', reason: `bfloat16 convolutions on tfjs-node (CPU flags: ${flags.join(', ')})` };
}

/** The run's decision: AMP only when requested and available. */
export function decideAmp(requested: boolean, kind: BackendInfo['kind'], cpuinfo?: string, override?: string): AmpDecision {
  if (!requested) return { requested, dtype: 'float32', reason: '--use_amp not given' };
  return { requested, ...ampAvailability(kind, cpuinfo, override) };
}

/** The one log line for a requested AMP. */
export function ampLogLine(d: AmpDecision): string {
  if (d.dtype === 'float32') return `--use_amp: training in float32: ${d.reason}`;
  const scaling = d.dtype === 'float16' ? ' (losses scaled dynamically, steps with inf/NaN gradients skipped)' : '';
  return `--use_amp: convolutions in ${d.dtype} (${d.reason}); weights, Adam, losses and norms in float32${scaling}`;
}
