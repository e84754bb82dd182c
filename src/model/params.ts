/**
 * Named trainable parameters of a network: a flat, ordered map name → tf.Variable, created with
 * pix2pix's initialisation (conv weights ~ N(0, 0.02), norm scale ~ N(1, 0.02), zeros elsewhere)
 * from a seed. Checkpoints save and restore these by name. No network structure lives here.
 */
import * as tf from '@tensorflow/tfjs';

/** Logical name (e.g. 'G/enc1/kernel') → variable. The variable's own tf.js name carries a
 * per-model prefix, because tf.js variable names are global to the process (a notebook may
 * build several models). */
export type ParamMap = Map<string, tf.Variable>;

let modelCounter = 0;

/** A fresh prefix for one model's variables. */
export function newModelScope(): string {
  modelCounter += 1;
  return `mri2ct${modelCounter}`;
}

export class ParamBuilder {
  readonly params: ParamMap = new Map();
  private counter = 0;
  constructor(private readonly prefix: string, private readonly seed: number, private readonly scope: string) {}

  private nextSeed(): number {
    this.counter += 1;
    return (this.seed * 7919 + this.counter * 104729) % 2147483647;
  }

  private add(name: string, init: tf.Tensor): tf.Variable {
    const full = `${this.prefix}/${name}`;
    if (this.params.has(full)) throw new Error(`duplicate parameter ${full}`);
    const v = tf.variable(init, true, `${this.scope}/${full}`);
    init.dispose();
    this.params.set(full, v);
    return v;
  }

  /** Conv kernel [k, k, inC, outC] (or [k, k, outC, inC] for transposed convs) ~ N(0, 0.02). */
  weight(name: string, shape: number[]): tf.Variable {
    return this.add(name, tf.randomNormal(shape, 0, 0.02, 'float32', this.nextSeed()));
  }

  zeros(name: string, shape: number[]): tf.Variable {
    return this.add(name, tf.zeros(shape));
  }

  /** Normalisation scale ~ N(1, 0.02). */
  scale(name: string, shape: number[]): tf.Variable {
    return this.add(name, tf.randomNormal(shape, 1, 0.02, 'float32', this.nextSeed()));
  }
}

/** Total number of scalar parameters. */
export function countParams(params: ParamMap): number {
  let n = 0;
  for (const v of params.values()) n += v.size;
  return n;
}

/** Copies the values (not the variables): inside a gradient tape these are constants, so no
 * gradient flows into the original variables through them. */
export function constantCopies(params: ParamMap): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const [k, v] of params) out.set(k, tf.clone(v));
  return out;
}

export function disposeParams(params: Map<string, tf.Tensor>): void {
  for (const v of params.values()) v.dispose();
}
