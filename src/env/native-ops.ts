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

/** What the binding returns for one output handle. */
export interface HandleMeta { id: number; shape: number[]; dtype: number }
/** What the raw path needs of the node backend, beyond NativeBackend (duck-typed). */
export interface RawBackend {
  binding: {
    TF_ATTR_TYPE: number; TF_ATTR_STRING: number; TF_ATTR_BOOL: number; TF_ATTR_INT: number;
    executeOp(name: string, attrs: NativeOpAttr[], inputIds: number[], numOutputs: number): HandleMeta[];
    deleteTensor(id: number): void;
    /** The side stream (scripts/tfjs-binding/side-stream.patch); absent in an unpatched binding. */
    executeOpSide?(name: string, attrs: NativeOpAttr[], inputIds: number[], numOutputs: number): number[];
    syncSideStream?(): void;
  };
  /** The backend's data id → handle record (tfjs-node's own bookkeeping). */
  tensorMap: { set(dataId: object, v: unknown): void; get(dataId: object): { id: number; refCount: number; values?: unknown } | undefined };
  getInputTensorIds(ts: tf.Tensor[]): number[];
  createOutputTensor(meta: HandleMeta): tf.Tensor;
}

/** The current backend as a RawBackend, or undefined (pure-JS backend, or an unknown binding). */
export function rawBackend(backendName: string = tf.getBackend()): RawBackend | undefined {
  const b = nativeBackend(backendName) as unknown as Partial<RawBackend> | undefined;
  if (b === undefined || typeof b.getInputTensorIds !== 'function' || typeof b.createOutputTensor !== 'function' || b.tensorMap === undefined) return undefined;
  const bi = b.binding as Partial<RawBackend['binding']> | undefined;
  if (typeof bi?.executeOp !== 'function' || typeof bi.deleteTensor !== 'function' || typeof bi.TF_ATTR_INT !== 'number') return undefined;
  return b as RawBackend;
}
