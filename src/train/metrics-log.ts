/**
 * Training logs under <output_dir>/logs: `metrics.jsonl` (one JSON object per line: step
 * records every N steps and one epoch record per epoch), TensorBoard event files through
 * tfjs-node's summary writer (when a native backend is loaded), and `config.json`.
 * float16 runs add an `f16` field to both kinds of record (loss scales, skipped updates; see
 * ./f16-report). A reader tolerates a half-written last line (a killed process). No training
 * decisions here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicSync } from '../util/atomic-write';

/** float16 runs: each network's loss scale after the step, and its skipped updates since the run started (resumes included). */
export interface F16StepRecord { scaleG: number; scaleD: number; totalSkippedG: number; totalSkippedD: number }
/** float16 runs, per epoch: also the updates skipped (inf/NaN gradients) in this epoch. */
export interface F16EpochRecord extends F16StepRecord { skippedG: number; skippedD: number }
export interface StepRecord { kind: 'step'; epoch: number; step: number; g: number; d: number; gAdv: number; gL1: number; time: string; f16?: F16StepRecord }
export interface EpochRecord {
  kind: 'epoch';
  epoch: number;
  step: number;
  trainG: number;
  trainD: number;
  trainL1: number;
  valL1: number | null;
  valMaeHu: number | null;
  epochSeconds: number;
  computeSeconds: number;
  etaSeconds: number;
  time: string;
  f16?: F16EpochRecord;
}
export type MetricRecord = StepRecord | EpochRecord;

interface SummaryWriter { scalar(name: string, value: number, step: number): void; flush(): void }

export class MetricsLog {
  readonly file: string;
  private tb: SummaryWriter | undefined;

  /** `tfjsNode`: the loaded tfjs-node module (for TensorBoard), or undefined. */
  constructor(readonly logDir: string, tfjsNode?: unknown) {
    fs.mkdirSync(logDir, { recursive: true });
    this.file = path.join(logDir, 'metrics.jsonl');
    const node = (tfjsNode as { node?: { summaryFileWriter?: (dir: string) => SummaryWriter } } | undefined)?.node;
    this.tb = node?.summaryFileWriter?.(path.join(logDir, 'tensorboard'));
  }

  writeConfig(config: unknown): void {
    writeFileAtomicSync(path.join(this.logDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  }

  /** Drops records past `epoch` (used on resume so the curve continues from the checkpoint). */
  truncateAfterEpoch(epoch: number): void {
    const kept = readMetrics(this.file).filter((r) => r.epoch <= epoch && !(r.kind === 'step' && r.epoch === epoch + 1));
    writeFileAtomicSync(this.file, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }

  append(record: MetricRecord): void {
    fs.appendFileSync(this.file, `${JSON.stringify(record)}\n`);
    if (this.tb === undefined) return;
    if (record.kind === 'step') {
      this.tb.scalar('train/G_loss', record.g, record.step);
      this.tb.scalar('train/D_loss', record.d, record.step);
      this.tb.scalar('train/L1', record.gL1, record.step);
      if (record.f16 !== undefined) for (const n of ['G', 'D'] as const) this.tb.scalar(`amp/loss_scale_${n}`, record.f16[`scale${n}`], record.step);
    } else {
      if (record.valMaeHu !== null) this.tb.scalar('val/MAE_HU', record.valMaeHu, record.epoch);
      if (record.valL1 !== null) this.tb.scalar('val/L1', record.valL1, record.epoch);
      this.tb.scalar('epoch/seconds', record.epochSeconds, record.epoch);
      if (record.f16 !== undefined) for (const n of ['G', 'D'] as const) this.tb.scalar(`amp/skipped_${n}`, record.f16[`skipped${n}`], record.epoch);
      this.tb.flush();
    }
  }
}

/** Reads metrics.jsonl; a truncated last line is skipped. */
export function readMetrics(file: string): MetricRecord[] {
  if (!fs.existsSync(file)) return [];
  const out: MetricRecord[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as MetricRecord);
    } catch {
      /* half-written line from a killed run */
    }
  }
  return out;
}
