/**
 * Bench-only (issue #14): runs the node backend's Conv2D, Conv2DBackpropInput and
 * Conv2DBackpropFilter in bfloat16 while `amp.on`: float inputs cast to bf16, T=bf16, output cast
 * back to float32. Wraps backend.executeSingleOutput (what tfjs-node's conv kernels call); every
 * other op and every tensor tf.js sees stays float32. `amp.cache`: one bf16 copy per float input
 * per step (clearCastCache() after the step). Not used by the project's code.
 */
import * as tf from '@tensorflow/tfjs';

const TF_FLOAT = 1;
const TF_BFLOAT16 = 14; // tensorflow/c/tf_datatype.h; not exported by the binding
const CONVS = new Set(['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter']);

interface Attr { name: string; type: number; value: unknown }
interface Meta { id: number; shape: number[]; dtype: number }

export const amp = { on: false, cache: false, convCalls: 0, casts: 0 };
/** With amp.cache: the bf16 copy of each float input, per tf.js dataId, for one step. */
const castCache = new Map<object, number>();

export function installConvBf16(): void {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const backend = tf.findBackend('tensorflow') as any;
  const binding = backend.binding;
  const original = backend.executeSingleOutput.bind(backend);
  const castAttrs = (src: number, dst: number): Attr[] => [
    { name: 'SrcT', type: binding.TF_ATTR_TYPE, value: src },
    { name: 'DstT', type: binding.TF_ATTR_TYPE, value: dst },
    { name: 'Truncate', type: binding.TF_ATTR_BOOL, value: false },
  ];
  const cast = (id: number, src: number, dst: number): Meta => (binding.executeOp('Cast', castAttrs(src, dst), [id], 1) as Meta[])[0]!;
  backend.executeSingleOutput = (name: string, opAttrs: Attr[], inputs: tf.Tensor[]): tf.Tensor => {
    const t = opAttrs.find((a) => a.name === 'T');
    if (!amp.on || !CONVS.has(name) || t === undefined || t.value !== TF_FLOAT) return original(name, opAttrs, inputs);
    amp.convCalls += 1;
    const inIds = backend.getInputTensorIds(inputs) as number[];
    const casted: number[] = [];
    const runIds = inIds.map((id, i) => {
      const input = inputs[i]!;
      if (input.dtype !== 'float32') return id;
      const hit = amp.cache ? castCache.get(input.dataId) : undefined;
      if (hit !== undefined) return hit;
      amp.casts += 1;
      const m = cast(id, TF_FLOAT, TF_BFLOAT16);
      if (amp.cache) castCache.set(input.dataId, m.id);
      else casted.push(m.id);
      return m.id;
    });
    const attrs = opAttrs.map((a) => (a.name === 'T' ? { ...a, value: TF_BFLOAT16 } : a));
    const out = (binding.executeOp(name, attrs, runIds, 1) as Meta[])[0]!;
    const back = cast(out.id, TF_BFLOAT16, TF_FLOAT);
    binding.deleteTensor(out.id);
    for (const id of casted) binding.deleteTensor(id);
    return backend.createOutputTensor(back);
  };
}

/** Frees the step's cached bf16 copies. */
export function clearCastCache(): void {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const binding = (tf.findBackend('tensorflow') as any).binding;
  for (const id of castCache.values()) binding.deleteTensor(id);
  castCache.clear();
}

