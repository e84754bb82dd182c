/**
 * 16-bit convolutions for `--use_amp` (issue #14; feasibility and figures in bench/amp/README.md),
 * in bfloat16 (TF_BFLOAT16, CPUs with bf16 instructions) or float16 (TF_HALF, GPUs; on the CPU
 * only Eigen's slow half kernels, for testing).
 * conv2d16 / conv2dTranspose16 are tf.customGrad ops that are float32 to tf.js (inputs, outputs,
 * gradients) and 16-bit inside TensorFlow: x and w are cast by raw `Cast` ops through the
 * tfjs-node binding, the conv kernel runs with T=the 16-bit type, the result is cast back to
 * float32. The 16-bit copies of x and w are saved for the backward (opaque engine-tracked
 * tensors: tf.js labels them float32, their TFE handles are 16-bit; tf.js ops or dataSync on
 * them fail loudly), which runs Conv2DBackpropInput / Conv2DBackpropFilter (transposed: Conv2D /
 * Conv2DBackpropFilter) in 16 bits and casts dx, dW back to float32. Master weights, Adam,
 * losses, instance norm and activations never see 16 bits. float16's narrow range needs loss
 * scaling (./loss-scale, applied by Pix2Pix.trainStep); nothing here scales or checks values.
 * The precision is a scoped setting (`withConvPrecision`), read by src/model/layers.ts; outside
 * it (the default) layers run tf.conv2d / tf.conv2dTranspose exactly as before.
 */
import * as tf from '@tensorflow/tfjs';
import { type AmpDecision, decideAmp } from '../env/amp';
import { currentBackend } from '../env/backend';
import { type NativeOpAttr, nativeBackend } from '../env/native-ops';

export type ConvPrecision = 'float32' | 'bfloat16' | 'float16';
/** The 16-bit conv precisions. */
export type Conv16 = Exclude<ConvPrecision, 'float32'>;

const TF_FLOAT = 1;
/** TF_BFLOAT16 and TF_HALF (tensorflow/c/tf_datatype.h); the binding exports neither. */
export const TF_BFLOAT16 = 14;
export const TF_HALF = 19;
const TF_TYPE: Record<Conv16, number> = { bfloat16: TF_BFLOAT16, float16: TF_HALF };

interface HandleMeta { id: number; shape: number[]; dtype: number }
/** What the raw path needs of the node backend, beyond NativeBackend (duck-typed). */
interface RawBackend {
  binding: {
    TF_ATTR_TYPE: number; TF_ATTR_STRING: number; TF_ATTR_BOOL: number; TF_ATTR_INT: number;
    executeOp(name: string, attrs: NativeOpAttr[], inputIds: number[], numOutputs: number): HandleMeta[];
    deleteTensor(id: number): void;
  };
  tensorMap: { set(dataId: object, v: unknown): void };
  getInputTensorIds(ts: tf.Tensor[]): number[];
  createOutputTensor(meta: HandleMeta): tf.Tensor;
}

/** The current backend as a RawBackend, or undefined (pure-JS backend, or an unknown binding). */
export function rawBackend(): RawBackend | undefined {
  const b = nativeBackend() as unknown as Partial<RawBackend> | undefined;
  if (b === undefined || typeof b.getInputTensorIds !== 'function' || typeof b.createOutputTensor !== 'function' || b.tensorMap === undefined) return undefined;
  const bi = b.binding as Partial<RawBackend['binding']> | undefined;
  if (typeof bi?.executeOp !== 'function' || typeof bi.deleteTensor !== 'function' || typeof bi.TF_ATTR_INT !== 'number') return undefined;
  return b as RawBackend;
}

/**
 * The --use_amp decision for the backend tf.js runs on now (src/env/amp.ts), also refusing a
 * tfjs-node binding without the raw entry points used here.
 */
export function ampDecisionHere(requested: boolean, cpuinfo?: string): AmpDecision {
  const kind = tf.getBackend() !== 'tensorflow' ? 'cpu' : currentBackend()?.kind ?? 'tensorflow';
  const d = decideAmp(requested, kind, cpuinfo);
  if (d.dtype !== 'float32' && rawBackend() === undefined) return { ...d, dtype: 'float32', reason: `the tfjs-node binding lacks the raw-op entry points ${d.dtype} needs` };
  return d;
}

let precision: ConvPrecision = 'float32';

/** The precision the model's convolutions run in now. */
export function convPrecision(): ConvPrecision {
  return precision;
}

/** Runs fn with the model's convolutions in `p` (restored afterwards, also on a throw). */
export function withConvPrecision<T>(p: ConvPrecision, fn: () => T): T {
  const before = precision;
  precision = p;
  try {
    return fn();
  } finally {
    precision = before;
  }
}

function raw(): RawBackend {
  const b = rawBackend();
  if (b === undefined) throw new Error(`16-bit convolutions need the tfjs-node backend (current: ${tf.getBackend()})`);
  return b;
}

function exec(b: RawBackend, name: string, attrs: NativeOpAttr[], inputs: tf.Tensor[]): HandleMeta {
  return b.binding.executeOp(name, attrs, b.getInputTensorIds(inputs), 1)[0]!;
}

/** A handle of any dtype as an engine-tracked tf.js tensor labelled float32 (bench/amp/raw.mts). */
function opaque(b: RawBackend, m: HandleMeta): tf.Tensor {
  const dataId = {};
  b.tensorMap.set(dataId, { shape: m.shape, dtype: m.dtype, id: m.id, values: null, refCount: 1 });
  return tf.engine().makeTensorFromTensorInfo({ dataId, shape: m.shape, dtype: 'float32' }, tf.findBackend('tensorflow'));
}

function castAttrs(b: RawBackend, src: number, dst: number): NativeOpAttr[] {
  return [
    { name: 'SrcT', type: b.binding.TF_ATTR_TYPE, value: src },
    { name: 'DstT', type: b.binding.TF_ATTR_TYPE, value: dst },
    { name: 'Truncate', type: b.binding.TF_ATTR_BOOL, value: false },
  ];
}

/** float32 tensor → 16-bit (TF dtype `t16`) opaque tensor. */
function to16(b: RawBackend, t: tf.Tensor, t16: number): tf.Tensor {
  return opaque(b, exec(b, 'Cast', castAttrs(b, TF_FLOAT, t16), [t]));
}

/** 16-bit result handle → float32 tf.js tensor; the 16-bit handle is freed. */
function toF32(b: RawBackend, m: HandleMeta, t16: number): tf.Tensor {
  const f = b.binding.executeOp('Cast', castAttrs(b, t16, TF_FLOAT), [m.id], 1)[0]!;
  b.binding.deleteTensor(m.id);
  return b.createOutputTensor(f);
}

function convAttrs(b: RawBackend, stride: number, t16: number): NativeOpAttr[] {
  return [
    { name: 'T', type: b.binding.TF_ATTR_TYPE, value: t16 },
    { name: 'strides', type: b.binding.TF_ATTR_INT, value: [1, stride, stride, 1] },
    { name: 'padding', type: b.binding.TF_ATTR_STRING, value: 'SAME' },
    { name: 'data_format', type: b.binding.TF_ATTR_STRING, value: 'NHWC' },
    { name: 'use_cudnn_on_gpu', type: b.binding.TF_ATTR_BOOL, value: true },
    { name: 'dilations', type: b.binding.TF_ATTR_INT, value: [1, 1, 1, 1] },
  ];
}

type Args = (tf.Tensor | tf.GradSaveFunc)[];
/** What a conv's raw ops need: the backend, the conv attributes (T = the 16-bit type). */
interface Ops { b: RawBackend; attrs: NativeOpAttr[] }
const shapeOf = (t: tf.Tensor): tf.Tensor => tf.tensor1d(t.shape, 'int32');

/**
 * The customGrad op both convs share: x and w cast to 16 bits (kept for the backward), `forward`
 * on them, `backward` on (dy, x, w) in 16 bits, results cast to float32. `forward` / `backward`
 * run raw ops and return their handles; the int32 shape tensors they make are tidied.
 */
function op16(
  x: tf.Tensor4D, w: tf.Tensor4D, stride: number, dtype: Conv16,
  forward: (o: Ops, xb: tf.Tensor, wb: tf.Tensor) => HandleMeta,
  backward: (o: Ops, dyb: tf.Tensor, xb: tf.Tensor, wb: tf.Tensor) => [HandleMeta, HandleMeta],
): tf.Tensor4D {
  const b = raw();
  const t16 = TF_TYPE[dtype];
  const o: Ops = { b, attrs: convAttrs(b, stride, t16) };
  const f = tf.customGrad((...args: Args) => {
    const [xi, wi, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const xb = to16(b, xi, t16);
    const wb = to16(b, wi, t16);
    const y = toF32(b, tf.tidy(() => forward(o, xb, wb) as unknown as tf.TensorContainer) as unknown as HandleMeta, t16);
    save([xb, wb]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as [tf.Tensor, tf.Tensor];
        const dyb = to16(b, dy, t16);
        const [dx, dw] = tf.tidy(() => backward(o, dyb, sx, sw) as unknown as tf.TensorContainer) as unknown as [HandleMeta, HandleMeta];
        dyb.dispose();
        return [toF32(b, dx, t16), toF32(b, dw, t16)];
      },
    };
  });
  return f(x, w) as tf.Tensor4D;
}

/** tf.conv2d(x, w, stride, 'same') with the conv and its gradients in `dtype`. */
export function conv2d16(x: tf.Tensor4D, w: tf.Tensor4D, stride: number, dtype: Conv16): tf.Tensor4D {
  return op16(x, w, stride, dtype, ({ b, attrs }, xb, wb) => exec(b, 'Conv2D', attrs, [xb, wb]), ({ b, attrs }, dyb, xb, wb) => [
    exec(b, 'Conv2DBackpropInput', attrs, [shapeOf(xb), wb, dyb]),
    exec(b, 'Conv2DBackpropFilter', attrs, [xb, shapeOf(wb), dyb]),
  ]);
}

/** tf.conv2dTranspose(x, w, [n, 2h, 2w, outC], 2, 'same') (w [k, k, outC, inC]) in `dtype`. */
export function conv2dTranspose16(x: tf.Tensor4D, w: tf.Tensor4D, outShape: [number, number, number, number], dtype: Conv16): tf.Tensor4D {
  return op16(x, w, 2, dtype, ({ b, attrs }, xb, wb) => exec(b, 'Conv2DBackpropInput', attrs, [tf.tensor1d(outShape, 'int32'), wb, xb]), ({ b, attrs }, dyb, xb, wb) => [
    exec(b, 'Conv2D', attrs, [dyb, wb]),
    exec(b, 'Conv2DBackpropFilter', attrs, [dyb, shapeOf(wb), xb]),
  ]);
}

/** conv2d16 in bfloat16 (the shipped --use_amp CPU path). */
export function conv2dBf16(x: tf.Tensor4D, w: tf.Tensor4D, stride: number): tf.Tensor4D {
  return conv2d16(x, w, stride, 'bfloat16');
}

/** conv2dTranspose16 in bfloat16. */
export function conv2dTransposeBf16(x: tf.Tensor4D, w: tf.Tensor4D, outShape: [number, number, number, number]): tf.Tensor4D {
  return conv2dTranspose16(x, w, outShape, 'bfloat16');
}
