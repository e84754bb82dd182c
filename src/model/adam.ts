/**
 * Adam for the pix2pix parameters, in one of two implementations behind one interface:
 *  - 'fused' (node backends): TensorFlow's ResourceApplyAdam kernel, one pass over each parameter
 *    instead of tf.js Adam's fourteen element-wise ops (about 5x less time for the 57 M
 *    parameters of the 256² model; bench/README.md). The moments live in TensorFlow resource
 *    variables; the parameter itself stays a tf.js Variable (what the networks, the gradient
 *    tape and the checkpoints use), kept in step with a resource copy: after each update the
 *    Variable is pointed at the updated buffer (no copy), and an outside `assign` (checkpoint
 *    load, tests) is noticed and copied in before the next update.
 *    Update rule (TensorFlow's and Keras's): lr_t = lr·sqrt(1-β2^t)/(1-β1^t),
 *    m ← β1·m + (1-β1)·g, v ← β2·v + (1-β2)·g², θ ← θ - lr_t·m/(sqrt(v) + ε).
 *  - 'tfjs' (pure-JS backend, or on request): tf.train.adam, whose rule differs only in where ε
 *    sits (θ ← θ - lr·m̂/(sqrt(v̂) + ε) with bias-corrected m̂, v̂).
 * Both keep the same state under the same names (`iter`, `<var>/m`, `<var>/v`, accBeta1/2 = β^t),
 * so checkpoints move between them. This module must not know about networks or files.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../errors';
import { nativeBackend, type NativeBackend, type NativeOpAttr, rawBackend } from '../env/native-ops';

/** A named tensor (a gradient, or a piece of optimiser state). */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** What Pix2Pix, the trainer and the checkpoints need of an optimiser. */
export interface AdamLike {
  learningRate: number;
  /** β1^t and β2^t for the next step (scalar variables). */
  readonly accBeta1: tf.Variable;
  readonly accBeta2: tf.Variable;
  /**
   * `lastFirst`: update the variables in reverse list order (a hint: the fused kernel takes it, so
   * that the last layers' updates, whose gradients the backward pass made first, run while the
   * side stream still computes the first layers'; the result is the same either way).
   */
  applyGradients(grads: NamedTensor[] | tf.NamedTensorMap, opts?: { lastFirst?: boolean }): void;
  /** `iter` (int32 scalar), then every `<var>/m`, then every `<var>/v`. */
  getWeights(): Promise<NamedTensor[]>;
  setWeights(weights: NamedTensor[]): Promise<void>;
  dispose(): void;
}

export type AdamImplementation = 'auto' | 'fused' | 'tfjs';

/** 'fused' when the current backend can run TensorFlow ops by name, else 'tfjs'. */
export function resolveAdamImplementation(request: AdamImplementation = 'auto'): Exclude<AdamImplementation, 'auto'> {
  if (request === 'tfjs') return 'tfjs';
  const native = nativeBackend() !== undefined;
  if (request === 'fused' && !native) {
    throw new ConfigError(`the fused Adam needs a tfjs-node backend (current backend: '${tf.getBackend()}').`);
  }
  return native ? 'fused' : 'tfjs';
}

export function createAdam(config: AdamConfig, implementation: AdamImplementation = 'auto'): AdamLike {
  if (resolveAdamImplementation(implementation) === 'fused') return new FusedAdam(config);
  return tf.train.adam(config.lr, config.beta1, config.beta2, config.epsilon) as unknown as AdamLike;
}

/** Resource variables of one parameter. `alias` is the data the tf.js Variable was last pointed at. */
interface Slot {
  variable: tf.Variable;
  handle: tf.Tensor;
  m: tf.Tensor;
  v: tf.Tensor;
  alias: object | undefined;
}

let resourceCounter = 0;

export class FusedAdam implements AdamLike {
  learningRate: number;
  readonly accBeta1: tf.Variable;
  readonly accBeta2: tf.Variable;
  private readonly slots = new Map<string, Slot>();
  private readonly backend: NativeBackend;
  /** The same backend's raw entry points (undefined: updates are never in place). */
  private readonly raw = rawBackend();
  private iterations = 0;
  private disposed = false;

  constructor(private readonly config: AdamConfig) {
    const backend = nativeBackend();
    if (backend === undefined) throw new ConfigError(`the fused Adam needs a tfjs-node backend (current backend: '${tf.getBackend()}').`);
    this.backend = backend;
    this.learningRate = config.lr;
    // tidy disposes the initial scalars; variables survive it.
    [this.accBeta1, this.accBeta2] = tf.tidy(() => [tf.variable(tf.scalar(config.beta1), false), tf.variable(tf.scalar(config.beta2), false)]);
  }

  private dtypeAttr(): NativeOpAttr {
    return { name: 'dtype', type: this.backend.binding.TF_ATTR_TYPE, value: this.backend.binding.TF_FLOAT };
  }

  private newResource(label: string, shape: number[]): tf.Tensor {
    resourceCounter += 1;
    const b = this.backend.binding;
    return tf.keep(
      this.backend.executeSingleOutput('VarHandleOp', [
        { name: 'container', type: b.TF_ATTR_STRING, value: '' },
        { name: 'shared_name', type: b.TF_ATTR_STRING, value: `mri2ct_adam_${process.pid}_${resourceCounter}_${label}` },
        this.dtypeAttr(),
        { name: 'shape', type: b.TF_ATTR_SHAPE, value: shape },
      ], []),
    );
  }

  private assignResource(handle: tf.Tensor, value: tf.Tensor): void {
    const b = this.backend.binding;
    this.backend.executeMultipleOutputs('AssignVariableOp', [
      this.dtypeAttr(),
      { name: 'validate_shape', type: b.TF_ATTR_BOOL, value: true },
    ], [handle, value], 0);
  }

  private readResource(handle: tf.Tensor): tf.Tensor {
    return this.backend.executeSingleOutput('ReadVariableOp', [this.dtypeAttr()], [handle]);
  }

  private slot(name: string): Slot {
    const existing = this.slots.get(name);
    if (existing !== undefined) return existing;
    const variable = tf.engine().registeredVariables[name];
    if (variable === undefined) throw new ConfigError(`Adam: no variable named '${name}'.`);
    if (variable.dtype !== 'float32') throw new ConfigError(`Adam: variable '${name}' is ${variable.dtype}, not float32.`);
    const slot: Slot = {
      variable,
      handle: this.newResource('var', variable.shape),
      m: this.newResource('m', variable.shape),
      v: this.newResource('v', variable.shape),
      alias: undefined,
    };
    tf.tidy(() => {
      const zeros = tf.zeros(variable.shape);
      this.assignResource(slot.m, zeros);
      this.assignResource(slot.v, zeros);
    });
    this.slots.set(name, slot);
    return slot;
  }

  applyGradients(grads: NamedTensor[] | tf.NamedTensorMap, opts: { lastFirst?: boolean } = {}): void {
    if (this.disposed) throw new ConfigError('Adam: used after dispose().');
    const given: NamedTensor[] = Array.isArray(grads) ? grads : Object.entries(grads).map(([name, tensor]) => ({ name, tensor }));
    // Slots are made in the given order either way (it is their order in checkpoints).
    for (const { name, tensor } of given) if (tensor !== undefined && tensor !== null && !this.slots.has(name)) tf.tidy(() => { this.slot(name); });
    const list = opts.lastFirst === true ? [...given].reverse() : given;
    const b = this.backend.binding;
    const attrs: NativeOpAttr[] = [
      { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
      { name: 'use_locking', type: b.TF_ATTR_BOOL, value: false },
      { name: 'use_nesterov', type: b.TF_ATTR_BOOL, value: false },
    ];
    tf.tidy(() => {
      const lr = tf.scalar(this.learningRate);
      const beta1 = tf.scalar(this.config.beta1);
      const beta2 = tf.scalar(this.config.beta2);
      const eps = tf.scalar(this.config.epsilon);
      for (const { name, tensor: grad } of list) {
        if (grad === undefined || grad === null) continue;
        const s = this.slot(name);
        // The tf.js Variable is the parameter's truth between steps: copy it in if it was assigned
        // from outside since our last update (or never synced).
        if (s.variable.dataId !== s.alias) this.assignResource(s.handle, s.variable);
        const inputs = [s.handle, s.m, s.v, this.accBeta1, this.accBeta2, lr, beta1, beta2, eps, grad];
        if (s.variable.dataId === s.alias && this.updateInPlace(s, attrs, inputs)) continue;
        this.backend.executeMultipleOutputs('ResourceApplyAdam', attrs, inputs, 0);
        s.variable.assign(this.readResource(s.handle));
        s.alias = s.variable.dataId;
      }
      this.accBeta1.assign(tf.mul(this.accBeta1, this.config.beta1));
      this.accBeta2.assign(tf.mul(this.accBeta2, this.config.beta2));
    });
    this.iterations += 1;
  }

  /**
   * ResourceApplyAdam without TensorFlow's copy of the parameter: while the tf.js Variable holds
   * a read of the resource (its alias), the buffer is shared and the kernel copies it before
   * updating (copy-on-write: 8.3-10.1 ms instead of 5.9-6.0 ms for 8 M floats,
   * bench/amp/adam-alias.ts). So the Variable's handle is released first and afterwards pointed
   * at a fresh read, under the same tf.js data id. False, with nothing done, where another tensor
   * shares that data (a clone such as D's constant copies, which trainStep frees before Adam for
   * this reason) or the backend's bookkeeping is not the one expected.
   */
  private updateInPlace(s: Slot, attrs: NativeOpAttr[], inputs: tf.Tensor[]): boolean {
    const raw = this.raw;
    const entry = raw?.tensorMap.get(s.variable.dataId);
    // Only where the Variable is the data's one holder (refCount 1): a tensor sharing it (a clone,
    // another Variable assigned from this one) must keep the old values. values != null: data
    // still in JavaScript, no handle yet (never so after a read).
    if (raw === undefined || entry === undefined || entry.refCount !== 1 || entry.id < 0 || entry.values != null) return false;
    const ids = raw.getInputTensorIds(inputs);
    raw.binding.deleteTensor(entry.id);
    try {
      raw.binding.executeOp('ResourceApplyAdam', attrs, ids, 0);
    } finally {
      // Also after a failed update: the Variable must hold a live handle again.
      entry.id = raw.binding.executeOp('ReadVariableOp', [this.dtypeAttr()], [ids[0]!], 1)[0]!.id;
    }
    return true;
  }

  async getWeights(): Promise<NamedTensor[]> {
    const slots = [...this.slots.entries()];
    return [
      { name: 'iter', tensor: tf.scalar(this.iterations, 'int32') },
      ...slots.map(([name, s]) => ({ name: `${name}/m`, tensor: this.readResource(s.m) })),
      ...slots.map(([name, s]) => ({ name: `${name}/v`, tensor: this.readResource(s.v) })),
    ];
  }

  async setWeights(weights: NamedTensor[]): Promise<void> {
    const [iter, ...moments] = weights;
    if (iter === undefined || iter.name !== 'iter') throw new ConfigError("Adam.setWeights: the first entry must be 'iter'.");
    this.iterations = (await iter.tensor.data())[0] ?? 0;
    tf.tidy(() => {
      this.accBeta1.assign(tf.pow(this.config.beta1, this.iterations + 1));
      this.accBeta2.assign(tf.pow(this.config.beta2, this.iterations + 1));
    });
    for (const { name, tensor } of moments) {
      const match = /^(.*)\/([mv])$/.exec(name);
      if (match === null || match[1] === undefined) throw new ConfigError(`Adam.setWeights: unexpected entry '${name}'.`);
      const s = this.slot(match[1]);
      if (tensor.shape.join() !== s.variable.shape.join()) {
        throw new ConfigError(`Adam.setWeights: '${name}' has shape [${tensor.shape.join(', ')}], the variable [${s.variable.shape.join(', ')}].`);
      }
      this.assignResource(match[2] === 'm' ? s.m : s.v, tensor);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const b = this.backend.binding;
    for (const s of this.slots.values()) {
      for (const h of [s.handle, s.m, s.v]) {
        this.backend.executeMultipleOutputs('DestroyResourceOp', [{ name: 'ignore_lookup_error', type: b.TF_ATTR_BOOL, value: true }], [h], 0);
        h.dispose();
      }
    }
    this.slots.clear();
    this.accBeta1.dispose();
    this.accBeta2.dispose();
  }
}
