/**
 * pix2pix 70×70 PatchGAN discriminator on the (MRI, CT) pair: three stride-2 4×4 convs, one
 * stride-1 conv, then a 1-channel stride-1 conv giving one logit per overlapping 70×70 patch.
 * Parameters are created here; the forward pass is a pure function. No loss logic here.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './config';
import { conv, instanceNorm, leakyRelu, type Params } from './layers';
import { ParamBuilder, type ParamMap } from './params';

const LAYERS: { stride: number; mult: number; norm: boolean }[] = [
  { stride: 2, mult: 1, norm: false },
  { stride: 2, mult: 2, norm: true },
  { stride: 2, mult: 4, norm: true },
  { stride: 1, mult: 8, norm: true },
];

export function createDiscriminatorParams(config: ModelConfig, seed: number, scope: string): ParamMap {
  const b = new ParamBuilder('D', seed, scope);
  let inC = 2;
  LAYERS.forEach((l, k) => {
    const c = config.ndf * l.mult;
    b.weight(`c${k + 1}/kernel`, [4, 4, inC, c]);
    b.zeros(`c${k + 1}/bias`, [c]);
    if (l.norm) {
      b.scale(`c${k + 1}/norm/scale`, [c]);
      b.zeros(`c${k + 1}/norm/offset`, [c]);
    }
    inC = c;
  });
  b.weight('logits/kernel', [4, 4, inC, 1]);
  b.zeros('logits/bias', [1]);
  return b.params;
}

/** Patch logits [B, S/8, S/8, 1] for the pair (mri, ct), both [B, S, S, 1] in [-1, 1]. */
export function discriminatorForward(mri: tf.Tensor4D, ct: tf.Tensor4D, p: Params): tf.Tensor4D {
  let h = tf.concat([mri, ct], 3);
  LAYERS.forEach((l, k) => {
    h = conv(h, p, `D/c${k + 1}`, l.stride);
    if (l.norm) h = instanceNorm(h, p, `D/c${k + 1}/norm`);
    h = leakyRelu(h, 0.2);
  });
  return conv(h, p, 'D/logits', 1);
}
