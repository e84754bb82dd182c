/**
 * The cached data loader (TrainData for the trainer): patient-level split, shuffled batches of
 * [B, S, S, 1] MRI/CT tensors augmented on the backend with a fresh draw every epoch (seeded by
 * seed and epoch, so a resumed run sees the same stream), optional dropping of slices that are
 * mostly background, validation batches with the head mask, and a fixed sample batch.
 * Reads through CacheReader; it never touches cache files itself.
 */
import * as tf from '@tensorflow/tfjs';
import type { DataOrder, TrainBatch, TrainData, ValBatch } from './batches';
import { type AugmentOptions, createAugmenter, toSigned } from './augment';
import { type CachedPatient, CacheReader, type OpenCacheOptions } from './cache-reader';
import { type PatientSplit, shuffleInPlace, splitPatients, type SplitOptions } from './split';
import { mulberry32 } from '../util/random';
import { ConfigError } from '../errors';

export interface LoaderOptions extends OpenCacheOptions {
  batchSize: number;
  /** Augmentation (augProb etc.); its seed is derived from `seed` and the epoch. */
  augment?: Omit<AugmentOptions, 'seed'>;
  /** Seed of the split, the shuffles and the augmentation. */
  seed?: number;
  split?: SplitOptions;
  /** Drop slices whose head mask covers < 1% of the slice (default true). */
  dropBackground?: boolean;
  /** Validation slices in the sample pictures (default 4). */
  sampleSlices?: number;
  /** Epoch order (see DataOrder); default 'shuffle' when the cache is in memory, else 'patient-blocks'. */
  order?: DataOrder;
}

interface SliceRef { patient: string; slice: number }

interface Assembled {
  mri: Float32Array;
  ct: Float32Array;
  mask: Float32Array | undefined;
  scales: Float32Array;
}


export class CacheLoader implements TrainData {
  readonly imageSize: number;
  readonly ctWindow: { minHu: number; maxHu: number };
  readonly split: PatientSplit;
  private readonly train: SliceRef[];
  private readonly val: SliceRef[];
  private readonly samples: SliceRef[];
  /** The epoch order; the trainer may set it (a resumed run keeps the order of the run it continues). */
  dataOrder: DataOrder;

  private constructor(readonly reader: CacheReader, private readonly o: LoaderOptions & { seed: number }) {
    this.imageSize = reader.imageSize;
    this.dataOrder = o.order ?? (reader.inMemory ? 'shuffle' : 'patient-blocks');
    this.ctWindow = reader.ctWindow;
    this.split = splitPatients(reader.patients.map((p) => p.id), { seed: o.seed, ...o.split });
    const slices = (ids: string[]): SliceRef[] => ids.flatMap((id) => {
      const m = reader.meta(id);
      const drop = o.dropBackground !== false ? new Set(m.backgroundSlices) : new Set<number>();
      return Array.from({ length: m.shape[0] }, (_, s) => s).filter((s) => !drop.has(s)).map((s) => ({ patient: id, slice: s }));
    });
    this.train = slices(this.split.train);
    this.val = slices(this.split.val);
    if (this.train.length === 0) throw new ConfigError(`no training slices in ${reader.cacheDir} (patients ${this.split.train.join(', ') || 'none'}).`);
    const n = o.sampleSlices ?? 4;
    this.samples = this.split.val.length === 0 ? [] : Array.from({ length: n }, (_, i) => {
      const id = this.split.val[i % this.split.val.length] ?? '';
      const own = this.val.filter((r) => r.patient === id);
      const k = Math.floor(((i / this.split.val.length | 0) + 1) * own.length / (Math.ceil(n / this.split.val.length) + 1));
      return own[Math.min(own.length - 1, k)] ?? { patient: id, slice: 0 };
    });
  }

  static async open(cacheDir: string, options: LoaderOptions): Promise<CacheLoader> {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) throw new ConfigError(`--batch_size ${options.batchSize}: must be a whole number ≥ 1.`);
    const reader = await CacheReader.open(cacheDir, options);
    return new CacheLoader(reader, { ...options, seed: options.seed ?? 42 });
  }

  /** The training batch size. */
  get batchSize(): number {
    return this.o.batchSize;
  }

  /** Changes the batch size of the following epochs (e.g. to what `--batch_size auto` chose). */
  setBatchSize(n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new ConfigError(`--batch_size ${n}: must be a whole number ≥ 1.`);
    this.o.batchSize = n;
  }

  get trainSlices(): number {
    return this.train.length;
  }

  get valSlices(): number {
    return this.val.length;
  }

  batchesPerEpoch(): number {
    return Math.ceil(this.train.length / this.o.batchSize);
  }

  /** Epoch order: all slices shuffled, or (dataOrder 'patient-blocks') shuffled pairs of patients. */
  epochOrder(epoch: number): SliceRef[] {
    const rand = mulberry32((this.o.seed * 1_000_003 + epoch * 7919) >>> 0);
    if (this.dataOrder === 'shuffle') return shuffleInPlace([...this.train], rand);
    const byPatient = new Map<string, SliceRef[]>();
    for (const r of this.train) byPatient.set(r.patient, [...(byPatient.get(r.patient) ?? []), r]);
    const ids = shuffleInPlace([...byPatient.keys()], rand);
    const out: SliceRef[] = [];
    for (let i = 0; i < ids.length; i += 2) {
      const block = ids.slice(i, i + 2).flatMap((id) => byPatient.get(id) ?? []);
      out.push(...shuffleInPlace(block, rand));
    }
    return out;
  }

  /**
   * Copies the slices' stored values (uint16 images, uint8 mask) into [B, S, S, 1] float32 arrays:
   * TypedArray.set converts natively, with no per-pixel JavaScript. `scales[b]` maps sample b's
   * image values to [0, 1]; the multiplication runs on the backend (see `unitTensors`).
   */
  private async assemble(refs: SliceRef[], withMask: boolean): Promise<Assembled> {
    const px = this.imageSize * this.imageSize;
    const mri = new Float32Array(refs.length * px);
    const ct = new Float32Array(refs.length * px);
    const mask = withMask ? new Float32Array(refs.length * px) : undefined;
    const scales = new Float32Array(refs.length);
    for (let b = 0; b < refs.length; b++) {
      const r = refs[b] as SliceRef;
      const p: CachedPatient = await this.reader.get(r.patient);
      const off = r.slice * px;
      mri.set(p.mri.subarray(off, off + px), b * px);
      ct.set(p.ct.subarray(off, off + px), b * px);
      mask?.set(p.mask.subarray(off, off + px), b * px);
      scales[b] = p.scale;
    }
    return { mri, ct, mask, scales };
  }

  /** MRI and CT of an assembled batch as [B, S, S, 1] tensors in [0, 1] (caller disposes). */
  private unitTensors(a: Assembled, n: number): { mri: tf.Tensor4D; ct: tf.Tensor4D } {
    const S = this.imageSize;
    return tf.tidy(() => {
      const scale = tf.tensor4d(a.scales, [n, 1, 1, 1]);
      return {
        mri: tf.mul<tf.Tensor4D>(tf.tensor4d(a.mri, [n, S, S, 1]), scale),
        ct: tf.mul<tf.Tensor4D>(tf.tensor4d(a.ct, [n, S, S, 1]), scale),
      };
    });
  }

  async *epochBatches(epoch: number): AsyncGenerator<TrainBatch> {
    const order = this.epochOrder(epoch);
    const aug = createAugmenter({ ...this.o.augment, seed: (this.o.seed * 2_654_435_761 + epoch) >>> 0 });
    const B = this.o.batchSize;
    for (let i = 0; i < order.length; i += B) {
      const refs = order.slice(i, i + B);
      for (const r of order.slice(i + B, i + 2 * B)) this.reader.prefetch(r.patient);
      const { mri, ct } = this.unitTensors(await this.assemble(refs, false), refs.length);
      const out = aug.apply(mri, ct);
      tf.dispose([mri, ct]);
      yield { mri: out.mri, ct: out.ct };
    }
  }

  private async valBatchOf(refs: SliceRef[]): Promise<ValBatch> {
    const S = this.imageSize;
    const a = await this.assemble(refs, true);
    return tf.tidy(() => {
      const unit = this.unitTensors(a, refs.length);
      return {
        mri: toSigned(unit.mri),
        ct: toSigned(unit.ct),
        mask: tf.tensor4d(a.mask ?? new Float32Array(0), [refs.length, S, S, 1]),
        ids: refs.map((r) => ({ ...r })),
      };
    }) as ValBatch;
  }

  async *valBatches(): AsyncGenerator<ValBatch> {
    const B = Math.max(this.o.batchSize, 8);
    for (let i = 0; i < this.val.length; i += B) yield await this.valBatchOf(this.val.slice(i, i + B));
  }

  /** The fixed sample slices, as a batch (async because patients may need reading). */
  async sampleBatch(): Promise<ValBatch | undefined> {
    return this.samples.length === 0 ? undefined : this.valBatchOf(this.samples);
  }
}
