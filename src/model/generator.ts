/**
 * pix2pix U-Net generator for 2D slices (Isola et al. 2017): log2(size) stride-2 4×4 conv levels
 * down to 1×1, mirrored transposed-conv levels up with skip connections, instance normalisation,
 * dropout in the three innermost decoder blocks, tanh output in [-1, 1]. Parameters are created
 * here; the forward pass is a pure function of (input, parameters). No training logic here.
 */
import * as tf from '@tensorflow/tfjs';
import { type ModelConfig, unetLevels } from './config';
import { conv, instanceNorm, leakyRelu, type Params, relu, upconv } from './layers';
import { ParamBuilder, type ParamMap } from './params';

const IN_CHANNELS = 1;
const OUT_CHANNELS = 1;
const DROPOUT_BLOCKS = 3;

/** Channels of encoder level i (1-based). */
function encChannels(ngf: number, i: number): number {
  return Math.min(ngf * 2 ** (i - 1), ngf * 8);
}

export function createGeneratorParams(config: ModelConfig, seed: number, scope: string): ParamMap {
  const b = new ParamBuilder('G', seed, scope);
  const L = unetLevels(config.imageSize);
  for (let i = 1; i <= L; i++) {
    const inC = i === 1 ? IN_CHANNELS : encChannels(config.ngf, i - 1);
    const c = encChannels(config.ngf, i);
    b.weight(`enc${i}/kernel`, [4, 4, inC, c]);
    b.zeros(`enc${i}/bias`, [c]);
    if (i > 1 && i < L) {
      b.scale(`enc${i}/norm/scale`, [c]);
      b.zeros(`enc${i}/norm/offset`, [c]);
    }
  }
  for (let i = L; i >= 2; i--) {
    const inC = i === L ? encChannels(config.ngf, L) : 2 * encChannels(config.ngf, i);
    const outC = encChannels(config.ngf, i - 1);
    b.weight(`dec${i}/kernel`, [4, 4, outC, inC]);
    b.zeros(`dec${i}/bias`, [outC]);
    b.scale(`dec${i}/norm/scale`, [outC]);
    b.zeros(`dec${i}/norm/offset`, [outC]);
  }
  b.weight('out/kernel', [4, 4, OUT_CHANNELS, 2 * encChannels(config.ngf, 1)]);
  b.zeros('out/bias', [OUT_CHANNELS]);
  return b.params;
}

/**
 * Forward pass: x [B, S, S, 1] in [-1, 1] → sCT [B, S, S, 1] in [-1, 1].
 * `training` turns dropout on. Call inside tf.tidy (or a gradient tape).
 */
export function generatorForward(x: tf.Tensor4D, p: Params, config: ModelConfig, training: boolean): tf.Tensor4D {
  const L = unetLevels(config.imageSize);
  const skips: tf.Tensor4D[] = [];
  let h = conv(x, p, 'G/enc1', 2);
  skips.push(h);
  for (let i = 2; i <= L; i++) {
    h = conv(leakyRelu(h, 0.2), p, `G/enc${i}`, 2);
    if (i < L) h = instanceNorm(h, p, `G/enc${i}/norm`);
    skips.push(h);
  }
  for (let i = L; i >= 2; i--) {
    h = upconv(relu(h), p, `G/dec${i}`);
    h = instanceNorm(h, p, `G/dec${i}/norm`);
    if (training && config.dropout > 0 && L - i < DROPOUT_BLOCKS) h = tf.dropout(h, config.dropout) as tf.Tensor4D;
    const skip = skips[i - 2];
    if (skip === undefined) throw new Error(`internal: no skip for level ${i - 1}`);
    h = tf.concat([h, skip], 3);
  }
  return tf.tanh(upconv(relu(h), p, 'G/out'));
}
