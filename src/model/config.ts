/**
 * The model configuration (sizes and widths) and its validation. Stored in every checkpoint so
 * a checkpoint is refused by a model of another shape. No tensors here.
 */
import { ConfigError } from '../errors';

export interface ModelConfig {
  /** Square input/output size in pixels; a power of two ≥ 16 (256 for real data). */
  imageSize: number;
  /** Generator base width (pix2pix: 64). */
  ngf: number;
  /** Discriminator base width (pix2pix: 64). */
  ndf: number;
  /** Dropout rate in the innermost decoder blocks (pix2pix: 0.5). */
  dropout: number;
  /** Adversarial loss: 'bce' (BCE with logits, pix2pix) or 'lsgan' (least squares). */
  ganMode: 'bce' | 'lsgan';
  /** Weight of the L1 term (pix2pix: 100). */
  lambdaL1: number;
}

export const DEFAULT_MODEL_CONFIG: ModelConfig = { imageSize: 256, ngf: 64, ndf: 64, dropout: 0.5, ganMode: 'bce', lambdaL1: 100 };

/** Number of U-Net levels: log2(imageSize) (8 at 256², down to 1×1). */
export function unetLevels(imageSize: number): number {
  return Math.round(Math.log2(imageSize));
}

export function validateModelConfig(c: ModelConfig): ModelConfig {
  const l = Math.log2(c.imageSize);
  if (!Number.isInteger(l) || c.imageSize < 16 || c.imageSize > 1024) {
    throw new ConfigError(`--image_size ${c.imageSize}: must be a power of two between 16 and 1024 (256 for real data).`);
  }
  for (const [k, v] of [['ngf', c.ngf], ['ndf', c.ndf]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 512) throw new ConfigError(`--${k} ${v}: must be an integer in 1..512 (pix2pix uses 64).`);
  }
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new ConfigError(`dropout ${c.dropout}: must be in [0, 1).`);
  if (c.ganMode !== 'bce' && c.ganMode !== 'lsgan') throw new ConfigError(`--gan_mode ${String(c.ganMode)}: use bce or lsgan.`);
  if (!(c.lambdaL1 >= 0)) throw new ConfigError(`--lambda_l1 ${c.lambdaL1}: must be ≥ 0.`);
  return c;
}
