/**
 * Validation: runs the generator (no dropout) over the validation batches and measures L1 in
 * [-1, 1] units and the mean absolute error in HU inside the head mask. Also the bulk-density
 * baseline (water 0 HU inside the head, air outside) on the same voxels, for comparison.
 * It must not update any weights.
 */
import * as tf from '@tensorflow/tfjs';
import type { TrainData } from '../data/batches';
import type { Pix2Pix } from '../model/pix2pix';

export interface ValidationResult {
  /** Mean |sCT − CT| over all pixels, in [-1, 1] units. */
  l1: number;
  /** Mean |sCT − CT| in HU over head-mask pixels. */
  maeHu: number;
  /** The bulk-density baseline's MAE in HU over the same pixels. */
  baselineMaeHu: number;
  slices: number;
}

/** HU per unit of [-1, 1] space. */
export function huPerSignedUnit(w: { minHu: number; maxHu: number }): number {
  return (w.maxHu - w.minHu) / 2;
}

export async function validate(model: Pix2Pix, data: TrainData): Promise<ValidationResult> {
  const scale = huPerSignedUnit(data.ctWindow);
  // Water (0 HU) in [-1, 1] space of the CT window.
  const water = (2 * (0 - data.ctWindow.minHu)) / (data.ctWindow.maxHu - data.ctWindow.minHu) - 1;
  let l1Sum = 0;
  let pix = 0;
  let maeSum = 0;
  let baseSum = 0;
  let maskSum = 0;
  let slices = 0;
  for await (const b of data.valBatches()) {
    const sums = tf.tidy(() => {
      const pred = model.predict(b.mri);
      const err = tf.abs(tf.sub(pred, b.ct));
      const baseline = tf.add(tf.mul(b.mask, water + 1), -1); // water inside, air (−1) outside
      const baseErr = tf.abs(tf.sub(baseline, b.ct));
      return tf.stack([tf.sum(err), tf.sum(tf.mul(err, b.mask)), tf.sum(tf.mul(baseErr, b.mask)), tf.sum(b.mask)]);
    });
    const [e, em, be, m] = await sums.data();
    sums.dispose();
    l1Sum += e ?? 0;
    maeSum += em ?? 0;
    baseSum += be ?? 0;
    maskSum += m ?? 0;
    pix += b.mri.size;
    slices += b.mri.shape[0];
    tf.dispose([b.mri, b.ct, b.mask]);
  }
  const denom = Math.max(maskSum, 1);
  return { l1: l1Sum / Math.max(pix, 1), maeHu: (maeSum / denom) * scale, baselineMaeHu: (baseSum / denom) * scale, slices };
}
