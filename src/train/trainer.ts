/**
 * The training loop: epochs of augmented batches → pix2pix steps, with a progress bar signal,
 * validation every `valFreq` epochs (L1 and MAE in HU inside the head mask), sample grids,
 * checkpoints (`last` every epoch, `epoch_N` every `saveFreq`, `best_model` on the lowest
 * validation MAE), metrics.jsonl/TensorBoard, and resume. It knows nothing of cache formats
 * (TrainData hides them) and draws nothing itself (progress goes through callbacks).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { readCacheParams } from '../cache/metadata';
import { DATA_ORDERS, type DataOrder, type TrainData } from '../data/batches';
import { ampLogLine } from '../env/amp';
import { ConfigError } from '../errors';
import { checkedAmpDecision } from '../model/conv16-check';
import type { ModelConfig } from '../model/config';
import { DEFAULT_GROWTH_INTERVAL, DEFAULT_INITIAL_SCALE, DynamicLossScale, type LossScaleOptions } from '../model/loss-scale';
import { type OptimizerConfig, Pix2Pix } from '../model/pix2pix';
import { removeStaleTemps } from '../util/atomic-write';
import { formatDuration } from '../util/format-duration';
import type { ProgressCallback } from '../util/progress';
import { type CheckpointState, loadCheckpoint, saveCheckpoint } from './checkpoint';
import { F16EpochCounter, f16StepFields, f16Summary } from './f16-report';
import { type EpochRecord, MetricsLog, readMetrics } from './metrics-log';
import { writeSampleGrid } from './samples';
import { validate } from './validate';

export interface TrainOptions {
  /** Where checkpoints/, samples/ and logs/ go. */
  outputDir: string;
  epochs: number;
  model: ModelConfig;
  optimizer: OptimizerConfig;
  /** Learning-rate schedule: 'constant', or pix2pix's 'linear' (constant for the first half of
   * the epochs, then linearly down to 0 at the last epoch). Default 'constant'. */
  lrPolicy?: 'constant' | 'linear';
  /** Save epoch_N every this many epochs. */
  saveFreq: number;
  /** Validate (and draw samples) every this many epochs; the last epoch always validates. */
  valFreq: number;
  /** Append a step record to metrics.jsonl every this many steps. */
  logEverySteps: number;
  /** Checkpoint to resume from (path, or true for <outputDir>/checkpoints/last). */
  resume?: string | boolean;
  /**
   * --use_amp: 16-bit convolutions where available (src/env/amp.ts: float16 on a GPU, bfloat16 on
   * a CPU with bf16 instructions); float32 otherwise, said once.
   */
  useAmp?: boolean;
  /** float16 only: the dynamic loss scaling's initial scale and growth interval (defaults 2^15, 2000). */
  lossScale?: LossScaleOptions;
  /** Seed for model initialisation. */
  seed: number;
  /** Anything else worth recording in config.json and checkpoints (data, augmentation...). */
  extraConfig?: Record<string, unknown>;
  /** The loaded tfjs-node module, for TensorBoard files (optional). */
  tfjsNode?: unknown;
  /** Progress of the batches in an epoch; message carries the losses. */
  onProgress?: ProgressCallback;
  /** One line per finished epoch (the summary). */
  onEpoch?: (record: EpochRecord, summary: string) => void;
  /** Informational messages. */
  log?: (message: string) => void;
}

export interface TrainResult {
  model: Pix2Pix;
  epochs: EpochRecord[];
  bestValMaeHu: number | null;
  baselineMaeHu: number | null;
  checkpointsDir: string;
}

/** Learning rate of `epoch` (1-based) under the policy. */
/**
 * A resumed run reads the cache in the order of the run it continues, even when this machine
 * picks another by default (in memory vs streamed), so the resume stays exact.
 */
function keepDataOrder(data: TrainData, saved: unknown, config: Record<string, unknown>, log: (m: string) => void): void {
  if (data.dataOrder === undefined || !DATA_ORDERS.includes(saved as DataOrder) || saved === data.dataOrder) return;
  log(`data order: keeping the resumed run's '${String(saved)}' (this run would have used '${data.dataOrder}'), so the resume stays exact`);
  data.dataOrder = saved as DataOrder;
  config['dataOrder'] = saved;
}

export function learningRateAt(epoch: number, epochs: number, lr: number, policy: TrainOptions['lrPolicy'] = 'constant'): number {
  if (policy !== 'linear') return lr;
  const flat = Math.floor(epochs / 2);
  if (epoch <= flat) return lr;
  return lr * (1 - (epoch - flat) / (epochs - flat + 1));
}

function validateOptions(o: TrainOptions): void {
  for (const [k, v] of [['epochs', o.epochs], ['save_freq', o.saveFreq], ['val_freq', o.valFreq]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ConfigError(`--${k} ${v}: must be a whole number ≥ 1.`);
  }
  if (o.lrPolicy !== undefined && o.lrPolicy !== 'constant' && o.lrPolicy !== 'linear') throw new ConfigError(`--lr_policy ${String(o.lrPolicy)}: use constant or linear.`);
  if (!(o.optimizer.lr > 0)) throw new ConfigError(`--lr ${o.optimizer.lr}: must be > 0 (pix2pix uses 2e-4).`);
}

/** The cache folder behind the data: extraConfig.cacheDir, or the CacheLoader's reader's. */
function cacheDirOf(data: TrainData, extra: Record<string, unknown> | undefined): string | undefined {
  const given = extra?.['cacheDir'];
  if (typeof given === 'string') return path.resolve(given);
  const fromReader = (data as { reader?: { cacheDir?: unknown } }).reader?.cacheDir;
  return typeof fromReader === 'string' ? path.resolve(fromReader) : undefined;
}

export async function train(data: TrainData, options: TrainOptions): Promise<TrainResult> {
  validateOptions(options);
  if (data.imageSize !== options.model.imageSize) {
    throw new ConfigError(`the cache holds ${data.imageSize}² slices but the model is configured for ${options.model.imageSize}²: use --image_size ${data.imageSize}.`);
  }
  const log = options.log ?? ((m: string) => console.log(m));
  const ckDir = path.join(options.outputDir, 'checkpoints');
  const sampleDir = path.join(options.outputDir, 'samples');
  fs.mkdirSync(ckDir, { recursive: true });
  fs.mkdirSync(sampleDir, { recursive: true });
  const logDir = path.join(options.outputDir, 'logs');
  for (const dir of [ckDir, sampleDir, logDir]) {
    const n = removeStaleTemps(dir).length;
    if (n > 0) log(`removed ${n} unfinished file(s) in ${dir} left by an interrupted run`);
  }
  const metrics = new MetricsLog(logDir, options.tfjsNode);
  // The cache's preprocessing parameters (its params.json) travel with every checkpoint, so
  // `mri2ct predict` can preprocess a new MRI exactly as in training without the cache.
  const cacheDir = cacheDirOf(data, options.extraConfig);
  const preprocess = cacheDir !== undefined ? readCacheParams(cacheDir) : undefined;
  const amp = checkedAmpDecision(options.useAmp === true);
  if (amp.requested) log(ampLogLine(amp));
  const config = {
    amp: amp.dtype === 'float16' ? { ...amp, lossScale: { initialScale: DEFAULT_INITIAL_SCALE, growthInterval: DEFAULT_GROWTH_INTERVAL, ...options.lossScale } } : amp,
    model: options.model, optimizer: options.optimizer, lrPolicy: options.lrPolicy ?? 'constant', epochs: options.epochs, seed: options.seed, split: data.split, ctWindow: data.ctWindow,
    ...(cacheDir !== undefined ? { cacheDir } : {}), ...options.extraConfig, ...(preprocess !== undefined ? { preprocess } : {}),
    ...(data.dataOrder !== undefined ? { dataOrder: data.dataOrder } : {}),
  };

  const model = new Pix2Pix(options.model, options.optimizer, options.seed);
  model.convPrecision = amp.dtype;
  if (amp.dtype === 'float16') model.lossScale = new DynamicLossScale(options.lossScale);
  let startEpoch = 0;
  let step = 0;
  let best: number | null = null;
  if (options.resume !== undefined && options.resume !== false) {
    const from = options.resume === true ? path.join(ckDir, 'last') : options.resume;
    let st: CheckpointState;
    try {
      st = await loadCheckpoint(from, model);
    } catch (err) {
      model.dispose(); // a refused checkpoint leaves the run's logs (config.json, metrics) untouched
      throw err;
    }
    startEpoch = st.epoch;
    step = st.step;
    best = st.bestValMaeHu;
    if (model.lossScale !== undefined && st.lossScale !== undefined) model.lossScale.restore(st.lossScale);
    keepDataOrder(data, st.config['dataOrder'], config, log);
    metrics.truncateAfterEpoch(startEpoch);
    log(`resumed from ${from}: epoch ${startEpoch}, step ${step}, best val MAE ${best?.toFixed(1) ?? '–'} HU`);
  }
  if (startEpoch === 0 && readMetrics(metrics.file).length > 0) {
    log(`new run in ${options.outputDir}: the previous run's logs/metrics.jsonl is replaced (use --resume to continue it)`);
    metrics.truncateAfterEpoch(0);
  }
  metrics.writeConfig(config);

  const records: EpochRecord[] = [];
  let baseline: number | null = null;
  const epochTimes: number[] = [];
  for (let epoch = startEpoch + 1; epoch <= options.epochs; epoch++) {
    const t0 = performance.now();
    let compute = 0;
    let sums = { g: 0, d: 0, l1: 0 };
    let n = 0;
    const total = data.batchesPerEpoch();
    const stage = `epoch ${epoch}/${options.epochs}`;
    model.setLearningRate(learningRateAt(epoch, options.epochs, options.optimizer.lr, options.lrPolicy));
    options.onProgress?.({ stage, done: 0, total });
    const f16 = model.lossScale !== undefined ? new F16EpochCounter(model.lossScale) : undefined; // set above for float16 only
    for await (const b of data.epochBatches(epoch)) {
      const ts = performance.now();
      const l = model.trainStep(b.mri, b.ct);
      compute += performance.now() - ts;
      tf.dispose([b.mri, b.ct]);
      step += 1;
      n += 1;
      sums = { g: sums.g + l.g, d: sums.d + l.d, l1: sums.l1 + l.gL1 };
      if (step % options.logEverySteps === 0) {
        metrics.append({ kind: 'step', epoch, step, g: l.g, d: l.d, gAdv: l.gAdv, gL1: l.gL1, time: new Date().toISOString(), ...(f16 !== undefined ? { f16: f16StepFields(model.lossScale!) } : {}) });
      }
      options.onProgress?.({ stage, done: n, total, message: `G ${l.g.toFixed(3)} D ${l.d.toFixed(3)} total ${(l.g + l.d).toFixed(3)}` });
    }
    let valL1: number | null = null;
    let valMae: number | null = null;
    if (epoch % options.valFreq === 0 || epoch === options.epochs) {
      const tv = performance.now();
      const v = await validate(model, data);
      compute += performance.now() - tv;
      valL1 = v.l1;
      valMae = v.maeHu;
      baseline = v.baselineMaeHu;
      const sample = await data.sampleBatch();
      if (sample !== undefined) {
        await writeSampleGrid(sampleDir, epoch, model, sample, data.ctWindow);
        tf.dispose([sample.mri, sample.ct, sample.mask]);
      }
    }
    const improved = valMae !== null && (best === null || valMae < best);
    if (improved) best = valMae;

    // The epoch record goes to metrics.jsonl before the checkpoints: a run killed in between
    // resumes from the previous checkpoint, which drops this record again (truncateAfterEpoch);
    // the other order would lose the record of an epoch whose last.ckpt was saved.
    const epochSeconds = (performance.now() - t0) / 1000;
    const recent = [...epochTimes.slice(-2), epochSeconds];
    const eta = (recent.reduce((a, b) => a + b, 0) / recent.length) * (options.epochs - epoch);
    const rec: EpochRecord = {
      kind: 'epoch', epoch, step,
      trainG: sums.g / Math.max(n, 1), trainD: sums.d / Math.max(n, 1), trainL1: sums.l1 / Math.max(n, 1),
      valL1, valMaeHu: valMae, epochSeconds, computeSeconds: compute / 1000, etaSeconds: eta, time: new Date().toISOString(),
      ...(f16 !== undefined ? { f16: f16.record() } : {}),
    };
    metrics.append(rec);
    records.push(rec);
    // last.ckpt goes last: once it says epoch N, best_model and epoch_N of epoch N are on disk.
    const state = { epoch, step, rngState: [options.seed, epoch], bestValMaeHu: best, config, ...(f16 !== undefined ? { lossScale: model.lossScale!.state() } : {}) };
    if (improved) await saveCheckpoint(path.join(ckDir, 'best_model.ckpt'), model, state);
    if (epoch % options.saveFreq === 0) await saveCheckpoint(path.join(ckDir, `epoch_${epoch}.ckpt`), model, state);
    await saveCheckpoint(path.join(ckDir, 'last.ckpt'), model, state);
    epochTimes.push((performance.now() - t0) / 1000); // with the checkpoint writes, for the ETA
    const val = valMae !== null ? ` | val L1 ${valL1?.toFixed(4)} | val MAE ${valMae.toFixed(1)} HU${improved ? ' (best)' : ''}` : '';
    const summary = `Epoch ${epoch}/${options.epochs} | train G ${rec.trainG.toFixed(3)} D ${rec.trainD.toFixed(3)} L1 ${rec.trainL1.toFixed(4)}${val}${rec.f16 !== undefined ? ` | ${f16Summary(rec.f16)}` : ''} | ${epochSeconds.toFixed(1)} s | ETA ${formatDuration(eta)}`;
    if (options.onEpoch !== undefined) options.onEpoch(rec, summary);
    else log(summary);
  }
  return { model, epochs: records, bestValMaeHu: best, baselineMaeHu: baseline, checkpointsDir: ckDir };
}
