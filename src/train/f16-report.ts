/**
 * What a float16 run reports about its dynamic loss scaling (src/model/loss-scale.ts): the
 * fields of step and epoch records in logs/metrics.jsonl and the epoch summary's clause
 * ("float16: G 3, D 0 steps skipped (inf/NaN gradients), loss scale G 16384, D 32768").
 * float32 and bfloat16 runs report nothing (their records stay as they were). Read-only: it
 * never changes the scales.
 */
import type { DynamicLossScale } from '../model/loss-scale';
import type { F16EpochRecord, F16StepRecord } from './metrics-log';

/** The step record's `f16` field: scales now, skipped updates since the run started. */
export function f16StepFields(ls: DynamicLossScale): F16StepRecord {
  return { scaleG: ls.scale('G'), scaleD: ls.scale('D'), totalSkippedG: ls.skipped('G'), totalSkippedD: ls.skipped('D') };
}

/** Counts skipped updates within one epoch. */
export class F16EpochCounter {
  private readonly start: { G: number; D: number };

  constructor(private readonly ls: DynamicLossScale) {
    this.start = { G: ls.skipped('G'), D: ls.skipped('D') };
  }

  /** The epoch record's `f16` field. */
  record(): F16EpochRecord {
    return { ...f16StepFields(this.ls), skippedG: this.ls.skipped('G') - this.start.G, skippedD: this.ls.skipped('D') - this.start.D };
  }
}

/** The epoch summary's clause. */
export function f16Summary(r: F16EpochRecord): string {
  return `float16: G ${r.skippedG}, D ${r.skippedD} steps skipped (inf/NaN gradients), loss scale G ${r.scaleG}, D ${r.scaleD}`;
}
