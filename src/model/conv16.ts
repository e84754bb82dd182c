/**
 * 16-bit convolutions for `--use_amp` (issue #14; feasibility and figures in bench/amp/README.md),
 * in bfloat16 (TF_BFLOAT16, CPUs with bf16 instructions) or float16 (TF_HALF, GPUs; on the CPU
 * only Eigen's slow half kernels, for testing).
 * conv2d16 / conv2dTranspose16 are custom-gradient ops (the engine entry point tf.customGrad is
 * built on, with lazy gradients: tf.js asks only for those its tape needs) that are float32 to
 * tf.js (inputs, outputs, gradients) and 16-bit inside TensorFlow: x and w are cast by raw
 * `Cast` ops through the tfjs-node binding, the conv kernel runs with T=the 16-bit type, the
 * result is cast back to float32. The 16-bit copies of x and w are saved for the backward (opaque
 * engine-tracked tensors: tf.js labels them float32, their TFE handles are 16-bit; tf.js ops or
 * dataSync on them fail loudly), which runs Conv2DBackpropInput / Conv2DBackpropFilter
 * (transposed: Conv2D / Conv2DBackpropFilter) in 16 bits and casts dx, dW back to float32.
 * Where the binding has the side stream (scripts/tfjs-binding/side-stream.patch; CPU only), dW
 * and the kernels' casts run there, beside the main thread's dx and layers. Master weights,
 * Adam, losses, instance norm and activations never see 16 bits. float16's narrow range needs
 * loss scaling (./loss-scale, applied by Pix2Pix.trainStep); nothing here scales or checks values.
 * The precision is a scoped setting (`withConvPrecision`), read by src/model/layers.ts; outside
 * it (the default) layers run tf.conv2d / tf.conv2dTranspose exactly as before.
 */
import * as tf from '@tensorflow/tfjs';
import { type AmpDecision, decideAmp } from '../env/amp';
import { currentBackend } from '../env/backend';
import { type HandleMeta, type NativeOpAttr, type RawBackend, rawBackend } from '../env/native-ops';
import { sideStreamAvailable } from '../env/side-stream';

export type ConvPrecision = 'float32' | 'bfloat16' | 'float16';
/** The 16-bit conv precisions. */
export type Conv16 = Exclude<ConvPrecision, 'float32'>;

const TF_FLOAT = 1;
const TF_INT32 = 3;
/** TF_BFLOAT16 and TF_HALF (tensorflow/c/tf_datatype.h); the binding exports neither. */
export const TF_BFLOAT16 = 14;
export const TF_HALF = 19;
const TF_TYPE: Record<Conv16, number> = { bfloat16: TF_BFLOAT16, float16: TF_HALF };

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

/** What a conv's raw ops need: the backend, the conv attributes (T = the 16-bit type). */
interface Ops { b: RawBackend; attrs: NativeOpAttr[]; t16: number }
const shapeOf = (t: tf.Tensor): tf.Tensor => tf.tensor1d(t.shape, 'int32');

/** One conv's raw ops on 16-bit handles (dy, x, w: the 16-bit copies). */
interface ConvKernels {
  forward(o: Ops, xb: tf.Tensor, wb: tf.Tensor): HandleMeta;
  /** The gradient with respect to x. */
  backwardInput(o: Ops, dyb: tf.Tensor, xb: tf.Tensor, wb: tf.Tensor): HandleMeta;
  /** Conv2DBackpropFilter's inputs for the gradient with respect to w (`sizes`: w's shape, int32). */
  filterInputs(dyb: tf.Tensor, xb: tf.Tensor, sizes: tf.Tensor): tf.Tensor[];
}

/**
 * dW = Conv2DBackpropFilter(k.filterInputs(...)) in 16 bits, cast to float32. With the side
 * stream, both ops are enqueued there and return at once (the result's shape is w's, known
 * here), so the caller's dx runs beside them: the inter-op parallelism TensorFlow's graph
 * executor has and eager tf.js lacks (bench/amp/README.md §10).
 */
function filterGrad(o: Ops, k: ConvKernels, dyb: tf.Tensor, xb: tf.Tensor, wb: tf.Tensor): tf.Tensor {
  const { b } = o;
  if (!sideStreamAvailable(b)) return toF32(b, exec(b, 'Conv2DBackpropFilter', o.attrs, k.filterInputs(dyb, xb, shapeOf(wb))), o.t16);
  // filter_sizes from a Shape op (TensorFlow's memory), not tf.tensor1d: tfjs-node lends a
  // typed array's memory to TensorFlow, and when a side op drops the last reference the binding
  // must hand its release back to the JavaScript thread (the patch does; this avoids it).
  const sizes = b.createOutputTensor(exec(b, 'Shape', [
    { name: 'T', type: b.binding.TF_ATTR_TYPE, value: o.t16 },
    { name: 'out_type', type: b.binding.TF_ATTR_TYPE, value: TF_INT32 },
  ], [wb]));
  const side = b.binding.executeOpSide!.bind(b.binding);
  const [id16] = side('Conv2DBackpropFilter', o.attrs, b.getInputTensorIds(k.filterInputs(dyb, xb, sizes)), 1);
  const [id] = side('Cast', castAttrs(b, o.t16, TF_FLOAT), [id16!], 1);
  b.binding.deleteTensor(id16!);
  return b.createOutputTensor({ id: id!, shape: wb.shape, dtype: TF_FLOAT });
}

let prefetched: Map<object, tf.Tensor> | undefined;

/**
 * Runs fn with the 16-bit copies of `kernels` cast up front on the side stream (in order, so the
 * first layer's is ready first), which the convs then use instead of casting each kernel on the
 * main thread when they meet it: D's kernels serve three D passes a step and, in the forward, the
 * casts run beside the layers before them. Keyed by tf.js data id, so constant copies
 * (tf.clone shares the data) hit too. Without the side stream, or outside a 16-bit precision,
 * it is fn(). A cast reads its kernel as it was when enqueued: should an update come first,
 * TensorFlow's copy-on-write keeps the old buffer for it.
 */
export function withPrefetchedKernels<T>(kernels: tf.Tensor[], fn: () => T): T {
  const b = rawBackend();
  if (precision === 'float32' || prefetched !== undefined || !sideStreamAvailable(b)) return fn();
  const t16 = TF_TYPE[precision];
  const map = new Map<object, tf.Tensor>();
  try {
    for (const w of kernels) {
      if (map.has(w.dataId)) continue;
      const [id] = b!.binding.executeOpSide!('Cast', castAttrs(b!, TF_FLOAT, t16), b!.getInputTensorIds([w]), 1);
      map.set(w.dataId, opaque(b!, { id: id!, shape: w.shape, dtype: t16 }));
    }
    prefetched = map;
    return fn();
  } finally {
    prefetched = undefined;
    tf.dispose([...map.values()]);
  }
}

/** The prefetched 16-bit copy of w (see withPrefetchedKernels), else a cast of w on this thread. */
function kernel16(b: RawBackend, w: tf.Tensor, t16: number): tf.Tensor {
  const hit = prefetched?.get(w.dataId);
  return hit !== undefined && TF_TYPE[precision as Conv16] === t16 ? hit : to16(b, w, t16);
}

/**
 * The custom-gradient op both convs share: x and w cast to 16 bits (kept for the backward), the
 * forward on them, the backward on (dy, x, w) in 16 bits, results cast to float32. The int32
 * shape tensors the kernels make are tidied.
 */
function op16(x: tf.Tensor4D, w: tf.Tensor4D, stride: number, dtype: Conv16, k: ConvKernels): tf.Tensor4D {
  const b = raw();
  const t16 = TF_TYPE[dtype];
  const o: Ops = { b, attrs: convAttrs(b, stride, t16), t16 };
  const y = (tf.engine() as unknown as LazyGradEngine).runKernelFunc({
    // Inputs keyed 0: w, 1: x, so that tf.js asks for dW first (it goes in key order): its ops
    // are enqueued on the side stream before dx runs here.
    inputs: { 0: w, 1: x },
    forwardFunc: (_backend: unknown, save: tf.GradSaveFunc) => {
      const xb = to16(b, x, t16);
      const wb = kernel16(b, w, t16);
      const out = toF32(b, tf.tidy(() => k.forward(o, xb, wb) as unknown as tf.TensorContainer) as unknown as HandleMeta, t16);
      save([xb, wb]);
      return out;
    },
    // Lazy: tf.js calls only the gradients its tape needs (no dW for D's constant copies in G's
    // adversarial pass, no dx for a network's input image), each inside a tidy of its own. dy's
    // 16-bit copy is made once, out here; dx, asked last, frees it (a node asked only for dW
    // leaves it to the scope of the backward pass, which frees it at its end).
    backwardsFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sw] = saved as [tf.Tensor, tf.Tensor];
      const dyb = to16(b, dy, t16);
      return {
        0: () => filterGrad(o, k, dyb, sx, sw),
        1: () => {
          const dx = toF32(b, tf.tidy(() => k.backwardInput(o, dyb, sx, sw) as unknown as tf.TensorContainer) as unknown as HandleMeta, t16);
          dyb.dispose();
          return dx;
        },
      };
    },
  });
  return y as tf.Tensor4D;
}

/** The engine entry point tf.customGrad is built on, with lazy gradients (tfjs-core 4.x). */
interface LazyGradEngine {
  runKernelFunc(p: {
    inputs: Record<string, tf.Tensor>;
    forwardFunc: (backend: unknown, save: tf.GradSaveFunc) => tf.Tensor;
    backwardsFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => Record<string, () => tf.Tensor>;
  }): tf.Tensor;
}

const CONV: ConvKernels = {
  forward: ({ b, attrs }, xb, wb) => exec(b, 'Conv2D', attrs, [xb, wb]),
  backwardInput: ({ b, attrs }, dyb, xb, wb) => exec(b, 'Conv2DBackpropInput', attrs, [shapeOf(xb), wb, dyb]),
  filterInputs: (dyb, xb, sizes) => [xb, sizes, dyb],
};

/** tf.conv2d(x, w, stride, 'same') with the conv and its gradients in `dtype`. */
export function conv2d16(x: tf.Tensor4D, w: tf.Tensor4D, stride: number, dtype: Conv16): tf.Tensor4D {
  return op16(x, w, stride, dtype, CONV);
}

/** tf.conv2dTranspose(x, w, [n, 2h, 2w, outC], 2, 'same') (w [k, k, outC, inC]) in `dtype`. */
export function conv2dTranspose16(x: tf.Tensor4D, w: tf.Tensor4D, outShape: [number, number, number, number], dtype: Conv16): tf.Tensor4D {
  return op16(x, w, 2, dtype, {
    forward: ({ b, attrs }, xb, wb) => exec(b, 'Conv2DBackpropInput', attrs, [tf.tensor1d(outShape, 'int32'), wb, xb]),
    backwardInput: ({ b, attrs }, dyb, _xb, wb) => exec(b, 'Conv2D', attrs, [dyb, wb]),
    filterInputs: (dyb, xb, sizes) => [dyb, sizes, xb],
  });
}

/** conv2d16 in bfloat16 (the shipped --use_amp CPU path). */
export function conv2dBf16(x: tf.Tensor4D, w: tf.Tensor4D, stride: number): tf.Tensor4D {
  return conv2d16(x, w, stride, 'bfloat16');
}

/** conv2dTranspose16 in bfloat16. */
export function conv2dTransposeBf16(x: tf.Tensor4D, w: tf.Tensor4D, outShape: [number, number, number, number]): tf.Tensor4D {
  return conv2dTranspose16(x, w, outShape, 'bfloat16');
}
