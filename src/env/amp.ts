/**
 * Whether `--use_amp` (mixed precision) can run here, and in which dtype (issue #14). bfloat16
 * convolutions (src/model/bf16-conv.ts) need the native CPU backend ('tensorflow', tfjs-node) and
 * a CPU with bf16 instructions (`avx512_bf16` or `amx_bf16` in /proc/cpuinfo): without them
 * oneDNN's bf16 convs are 0.37× float32's speed or fail (bench/amp/README.md). On a GPU backend
 * float16 is not implemented yet; on the pure-JS backend there is no bf16. Every "no" trains
 * float32 and says why in one line. This module only decides; it runs no model code.
 */
import * as fs from 'node:fs';
import type { BackendInfo } from './backend';

export interface AmpDecision {
  /** --use_amp was given. */
  requested: boolean;
  /** The dtype of the convolutions: 'bfloat16' when AMP runs, else 'float32'. */
  dtype: 'bfloat16' | 'float32';
  /** Why (one line). */
  reason: string;
}

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

/** Whether mixed precision is available on this backend and CPU (requested or not). */
export function ampAvailability(kind: BackendInfo['kind'], cpuinfo: string = readCpuinfo()): { dtype: 'bfloat16' | 'float32'; reason: string } {
  if (kind === 'tensorflow-gpu') return { dtype: 'float32', reason: 'float16 mixed precision on the GPU is not implemented yet' };
  if (kind === 'cpu') return { dtype: 'float32', reason: 'the pure-JS cpu backend has no bfloat16 (needs tfjs-node)' };
  const flags = bf16CpuFlags(cpuinfo);
  if (flags.length === 0) return { dtype: 'float32', reason: 'this CPU has no bf16 instructions (avx512_bf16 / amx_bf16 not in /proc/cpuinfo); bf16 convolutions would be slower or fail' };
  return { dtype: 'bfloat16', reason: `bfloat16 convolutions on tfjs-node (CPU flags: ${flags.join(', ')})` };
}

/** The run's decision: AMP only when requested and available. */
export function decideAmp(requested: boolean, kind: BackendInfo['kind'], cpuinfo?: string): AmpDecision {
  if (!requested) return { requested, dtype: 'float32', reason: '--use_amp not given' };
  return { requested, ...ampAvailability(kind, cpuinfo) };
}

/** The one log line for a requested AMP. */
export function ampLogLine(d: AmpDecision): string {
  return d.dtype === 'bfloat16' ? `--use_amp: convolutions in bfloat16 (${d.reason}); weights, Adam, losses and norms in float32` : `--use_amp: training in float32: ${d.reason}`;
}
