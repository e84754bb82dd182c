/**
 * Raw TensorFlow ops through the tfjs-node binding, for the bfloat16 probes (issue #14).
 * Two levels:
 *  - `exec(name, attrs, ids, n)`: binding.executeOp on TFE handle ids; returns the binding's
 *    output metadata {id, shape, dtype} untouched (any TF dtype, bf16 = 14 included);
 *  - `opaque(meta)`: registers an output handle of any dtype as an engine-tracked tf.js tensor
 *    that *says* float32 (tf.js has no bf16) — same as the backend's createOutputTensor, minus its
 *    dtype switch. dispose()/tidy free the TFE handle as usual; tf.js ops and dataSync on it fail.
 * Not used by the project's code; bench only.
 */
import * as tf from '@tensorflow/tfjs-node';

export const TF_FLOAT = 1;
export const TF_INT32 = 3;
/** TF_BFLOAT16 from tensorflow/c/tf_datatype.h; the binding does not export it. */
export const TF_BFLOAT16 = 14;

export interface Meta { id: number; shape: number[]; dtype: number }
export interface Attr { name: string; type: number; value: unknown }

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const backend = tf.backend() as any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const binding = backend.binding as any;

export const A = {
  type: (name: string, value: number): Attr => ({ name, type: binding.TF_ATTR_TYPE, value }),
  ints: (name: string, value: number[]): Attr => ({ name, type: binding.TF_ATTR_INT, value }),
  int: (name: string, value: number): Attr => ({ name, type: binding.TF_ATTR_INT, value }),
  str: (name: string, value: string): Attr => ({ name, type: binding.TF_ATTR_STRING, value }),
  bool: (name: string, value: boolean): Attr => ({ name, type: binding.TF_ATTR_BOOL, value }),
  float: (name: string, value: number): Attr => ({ name, type: binding.TF_ATTR_FLOAT, value }),
};

/** TFE handle ids of tf.js tensors (uploads pending JS values, as the backend does). */
export function ids(ts: tf.Tensor[]): number[] {
  return backend.getInputTensorIds(ts) as number[];
}

export function exec(name: string, attrs: Attr[], inputIds: number[], numOutputs = 1): Meta[] {
  return binding.executeOp(name, attrs, inputIds, numOutputs) as Meta[];
}

export function free(...ms: Meta[]): void {
  for (const m of ms) binding.deleteTensor(m.id);
}

/** An output handle of any dtype as a tf.js tensor labelled float32 (see the header). */
export function opaque(meta: Meta): tf.Tensor {
  const dataId = {};
  backend.tensorMap.set(dataId, { shape: meta.shape, dtype: meta.dtype, id: meta.id, values: null, refCount: 1 });
  return tf.engine().makeTensorFromTensorInfo({ dataId, shape: meta.shape, dtype: 'float32' }, backend);
}

/** The TF dtype of the handle behind a tf.js tensor. */
export function tfDtype(t: tf.Tensor): number {
  return backend.tensorMap.get(t.dataId).dtype as number;
}

export function castAttrs(src: number, dst: number): Attr[] {
  return [A.type('SrcT', src), A.type('DstT', dst), A.bool('Truncate', false)];
}

export function convAttrs(T: number, stride: number): Attr[] {
  return [
    A.type('T', T),
    A.ints('strides', [1, stride, stride, 1]),
    A.str('padding', 'SAME'),
    A.str('data_format', 'NHWC'),
    A.bool('use_cudnn_on_gpu', true),
    A.ints('dilations', [1, 1, 1, 1]),
  ];
}

/** Cast by ids. */
export function cast(id: number, src: number, dst: number): Meta {
  return exec('Cast', castAttrs(src, dst), [id])[0]!;
}

export function errText(e: unknown): string {
  return e instanceof Error ? e.message.replace(/\s+$/, '') : String(e);
}
