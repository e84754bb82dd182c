/**
 * What the trainer consumes: batches of [B, S, S, 1] tensors in [-1, 1] (MRI input, CT target)
 * and validation batches with the head mask. Producers (the cache loader) implement TrainData;
 * the trainer never knows which cache format is behind it. Types only.
 */
import type * as tf from '@tensorflow/tfjs';

export interface TrainBatch {
  mri: tf.Tensor4D;
  ct: tf.Tensor4D;
}

export interface ValBatch extends TrainBatch {
  /** Head mask, 1 inside, [B, S, S, 1]. */
  mask: tf.Tensor4D;
  /** Patient id and slice index of each sample. */
  ids: { patient: string; slice: number }[];
}

/**
 * How an epoch's training slices are ordered: 'shuffle' (all of them shuffled together) or
 * 'patient-blocks' (patients in shuffled pairs, slices shuffled within a pair, so a streaming
 * reader's LRU keeps hitting). Part of a run's identity: a resumed run keeps its run's order.
 */
export type DataOrder = 'shuffle' | 'patient-blocks';
export const DATA_ORDERS: readonly DataOrder[] = ['shuffle', 'patient-blocks'];

export interface TrainData {
  /** Slice size S. */
  imageSize: number;
  /** Training batches per epoch. */
  batchesPerEpoch(): number;
  /** Freshly shuffled and augmented batches for one epoch; the consumer disposes each batch. */
  epochBatches(epoch: number): AsyncIterable<TrainBatch>;
  /** Validation batches (not augmented), same every call; the consumer disposes each batch. */
  valBatches(): AsyncIterable<ValBatch>;
  /** A fixed set of validation slices for sample pictures. */
  sampleBatch(): Promise<ValBatch | undefined>;
  /** CT window: cache value v in [0,1] ↔ HU = minHu + v * (maxHu − minHu). */
  ctWindow: { minHu: number; maxHu: number };
  /** Train/validation patient ids. */
  split: { train: string[]; val: string[] };
  /** The epoch order in use, when the producer has a choice; the trainer sets it on resume. */
  dataOrder?: DataOrder;
}
