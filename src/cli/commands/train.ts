/**
 * `mri2ct train`: pix2pix from the preprocessed cache with augmentation every epoch, progress
 * bars with G/D losses, epoch summaries with val loss, val MAE in HU, epoch time and ETA,
 * checkpoints, sample grids and logs. Only wiring: the loop lives in src/train/trainer.ts.
 */
import * as path from 'node:path';
import type { Command } from 'commander';
import { CacheLoader } from '../../data/loader';
import { describeDevice, loadBackend, parseBackendRequest } from '../../env/backend';
import { DEFAULT_MODEL_CONFIG } from '../../model/config';
import { type AutoBatchResult, chooseBatchSize, parseBatchSize } from '../../train/auto-batch';
import { train, type TrainResult } from '../../train/trainer';
import { InvalidArgumentError } from 'commander';
import { camelize, floatArg, intArg } from '../options';
import { createProgressBar } from '../progress-bar';

export interface TrainCliOptions {
  cacheDir: string;
  outputDir: string;
  cacheFormat?: string;
  epochs: number;
  /** A whole number, or 'auto' (the largest that trains here; see src/train/auto-batch.ts). */
  batchSize: number | 'auto';
  lr: number;
  workers: number;
  augProb: number;
  saveFreq: number;
  valFreq: number;
  useAmp?: boolean;
  resume?: string | boolean;
  seed: number;
  backend: string;
  ngf: number;
  ndf: number;
  ganMode: 'bce' | 'lsgan';
  lambdaL1: number;
  valIds?: string;
  valFraction: number;
  maxCacheMem?: number;
  keepBackground?: boolean;
  logEvery: number;
  lrPolicy: 'constant' | 'linear';
}

export async function runTrain(o: TrainCliOptions): Promise<TrainResult & { batchSize: number }> {
  const backend = await loadBackend({ request: parseBackendRequest(o.backend) });
  console.log(`backend: ${backend.kind} (${backend.package}); the training step runs on the ${describeDevice(backend)}`);
  const loader = await CacheLoader.open(o.cacheDir, {
    batchSize: o.batchSize === 'auto' ? 1 : o.batchSize,
    seed: o.seed,
    augment: { augProb: o.augProb },
    split: { valFraction: o.valFraction, ...(o.valIds !== undefined ? { valIds: o.valIds.split(',').map((s) => s.trim()).filter(Boolean) } : {}) },
    dropBackground: o.keepBackground !== true,
    ...(o.cacheFormat !== undefined ? { format: o.cacheFormat } : {}),
    ...(o.maxCacheMem !== undefined ? { maxCacheMem: o.maxCacheMem * 1024 ** 3 } : {}),
  });
  console.log(
    `cache ${o.cacheDir} (${loader.reader.format.name}, ${loader.reader.inMemory ? 'in memory' : 'streamed through an LRU'}): ` +
      `${loader.split.train.length} train patients (${loader.trainSlices} slices), ${loader.split.val.length} val patients (${loader.valSlices} slices) [${loader.split.val.join(', ')}]`,
  );
  const model = { ...DEFAULT_MODEL_CONFIG, imageSize: loader.imageSize, ngf: o.ngf, ndf: o.ndf, ganMode: o.ganMode, lambdaL1: o.lambdaL1 };
  const optimizer = { lr: o.lr, beta1: 0.5, beta2: 0.999 };
  let auto: AutoBatchResult | undefined;
  if (o.batchSize === 'auto') {
    auto = await chooseBatchSize({ model, optimizer, trainSlices: loader.trainSlices, backendKind: backend.kind, seed: o.seed });
    loader.setBatchSize(auto.batchSize);
  }
  const batchSize = loader.batchSize;
  const bar = createProgressBar();
  try {
    const r = await train(loader, {
      outputDir: o.outputDir,
      epochs: o.epochs,
      model,
      optimizer,
      lrPolicy: o.lrPolicy,
      saveFreq: o.saveFreq,
      valFreq: o.valFreq,
      logEverySteps: o.logEvery,
      seed: o.seed,
      useAmp: o.useAmp === true,
      ...(o.resume !== undefined ? { resume: o.resume } : {}),
      extraConfig: { cacheDir: path.resolve(o.cacheDir), batchSize, ...(auto !== undefined ? { batchSizeAuto: autoRecord(auto) } : {}), augProb: o.augProb, backend: backend.kind, dropBackground: o.keepBackground !== true },
      tfjsNode: backend.nodeModule,
      onProgress: bar.onProgress,
      onEpoch: (_rec, summary) => {
        bar.stop();
        console.log(summary);
      },
    });
    bar.stop();
    console.log(`best validation MAE ${r.bestValMaeHu?.toFixed(1) ?? '–'} HU (bulk-density baseline ${r.baselineMaeHu?.toFixed(1) ?? '–'} HU); outputs in ${o.outputDir}/{checkpoints,samples,logs}`);
    return { ...r, batchSize };
  } finally {
    bar.stop();
  }
}

function parseBatchArg(v: string): number | 'auto' {
  try {
    return parseBatchSize(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** What config.json records of the automatic choice. */
function autoRecord(a: AutoBatchResult): Record<string, unknown> {
  return { chosen: a.batchSize, cap: a.cap, reason: a.reason, ...(a.limitMb !== undefined ? { limitMb: Math.round(a.limitMb), limitSource: a.limitSource } : {}), probes: a.probes };
}

export function addTrainOptions(cmd: Command): Command {
  return cmd
    .option('--output_dir <dir>', 'checkpoints/, samples/, logs/ go here', 'fast_training_output')
    .option('--epochs <n>', 'epochs', intArg('--epochs', 1), 100)
    .option('--batch_size <n>', 'batch size, or auto: the largest that trains here (probed; cap 16 on CPU; MRI2CT_MEMORY_LIMIT_MB limits memory)', parseBatchArg, 8)
    .option('--lr <lr>', 'Adam learning rate (both networks)', floatArg('--lr', 0), 2e-4)
    .option('--lr_policy <p>', 'constant | linear (pix2pix: constant for half the epochs, then linear decay to 0)', 'constant')
    .option('--aug_prob <p>', 'probability that a sample is augmented', floatArg('--aug_prob', 0, 1), 0.8)
    .option('--save_freq <n>', 'save checkpoints/epoch_N every N epochs', intArg('--save_freq', 1), 10)
    .option('--val_freq <n>', 'validate and draw samples every N epochs', intArg('--val_freq', 1), 1)
    .option('--use_amp', 'mixed precision: float16 convolutions with dynamic loss scaling on tfjs-node-gpu (untested on a GPU), bfloat16 on tfjs-node when the CPU has avx512_bf16/amx_bf16 (else float32, said once; MRI2CT_AMP_DTYPE=float16|bfloat16|float32 overrides)')
    .option('--resume [checkpoint]', 'resume from a checkpoint (default <output_dir>/checkpoints/last)')
    .option('--seed <n>', 'seed of initialisation, split, shuffles and augmentation', intArg('--seed', 0), 42)
    .option('--backend <name>', 'auto | tensorflow-gpu | tensorflow | cpu', 'auto')
    .option('--ngf <n>', 'generator base width', intArg('--ngf', 1), 64)
    .option('--ndf <n>', 'discriminator base width', intArg('--ndf', 1), 64)
    .option('--gan_mode <m>', 'bce (pix2pix) | lsgan', 'bce')
    .option('--lambda_l1 <w>', 'weight of the L1 loss', floatArg('--lambda_l1', 0), 100)
    .option('--val_ids <ids>', 'comma-separated validation patient ids (default: a seeded 20% of patients)')
    .option('--val_fraction <f>', 'fraction of patients for validation', floatArg('--val_fraction', 0, 0.9), 0.2)
    .option('--max_cache_mem <GiB>', 'memory for the cache; above it patients stream through an LRU (default: half the free RAM)', floatArg('--max_cache_mem', 0))
    .option('--keep_background', 'keep slices that are mostly background (dropped by default)')
    .option('--log_every <n>', 'write a step record to logs/metrics.jsonl every N steps', intArg('--log_every', 1), 10);
}

export function registerTrain(program: Command): void {
  addTrainOptions(
    program
      .command('train')
      .description('train pix2pix (U-Net + PatchGAN) from the preprocessed cache')
      .option('--cache_dir <dir>', 'preprocessed cache', 'preprocessed_cache')
      .option('--cache_format <fmt>', 'h5 | npy | pt (default: what the cache was built with)')
      .option('--workers <n>', 'accepted for compatibility: the loader keeps the cache in memory and needs no worker processes', intArg('--workers', 0), 0),
  ).action(async (raw: Record<string, unknown>) => {
    await runTrain(camelize<TrainCliOptions>(raw));
  });
}
