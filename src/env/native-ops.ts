/**
 * Direct access to TensorFlow ops that tf.js does not expose, through the node backends
 * (tfjs-node and tfjs-node-gpu, both registered as 'tensorflow'): the backend's executeOp entry
 * points and the binding's attribute/dtype constants, duck-typed so that nothing here imports
 * tfjs-node. Callers check `nativeBackend()` and fall back to plain tf.js ops when it is undefined
 * (pure-JS 'cpu' backend).
 * This module must not hold state or decide any numerics; it only finds and calls the backend.
 */
import * as tf from '@tensorflow/tfjs';

/** One op attribute as the binding takes it (`type` is a TF_ATTR_* constant). */
export interface NativeOpAttr {
  name: string;
  type: number;
  value: unknown;
}

/** The binding constants we use. */
export interface NativeBinding {
  TF_ATTR_TYPE: number;
  TF_ATTR_STRING: number;
  TF_ATTR_BOOL: number;
  TF_ATTR_FLOAT: number;
  TF_ATTR_SHAPE: number;
  TF_FLOAT: number;
}

/** The node backend's native-op entry points. Outputs are tf.js tensors tracked by the engine. */
export interface NativeBackend {
  binding: NativeBinding;
  executeSingleOutput(name: string, opAttrs: NativeOpAttr[], inputs: tf.Tensor[]): tf.Tensor;
  executeMultipleOutputs(name: string, opAttrs: NativeOpAttr[], inputs: tf.Tensor[], numOutputs: number): tf.Tensor[];
}

const CONSTANTS: (keyof NativeBinding)[] = ['TF_ATTR_TYPE', 'TF_ATTR_STRING', 'TF_ATTR_BOOL', 'TF_ATTR_FLOAT', 'TF_ATTR_SHAPE', 'TF_FLOAT'];

/** The backend as a NativeBackend, or undefined when it cannot run TensorFlow ops by name. */
export function asNativeBackend(backend: unknown): NativeBackend | undefined {
  if (typeof backend !== 'object' || backend === null) return undefined;
  const b = backend as Partial<NativeBackend>;
  if (typeof b.executeSingleOutput !== 'function' || typeof b.executeMultipleOutputs !== 'function') return undefined;
  if (typeof b.binding !== 'object' || b.binding === null) return undefined;
  const binding = b.binding as unknown as Record<string, unknown>;
  if (CONSTANTS.some((k) => typeof binding[k] !== 'number')) return undefined;
  return b as NativeBackend;
}

/** The named backend (default: the current one) as a NativeBackend, or undefined. */
export function nativeBackend(backendName: string = tf.getBackend()): NativeBackend | undefined {
  return asNativeBackend(tf.findBackend(backendName));
}
