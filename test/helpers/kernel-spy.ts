/**
 * Records the raw TensorFlow ops (name, and the dtype of their T or DstT attribute) that a piece
 * of code sends through the tfjs-node binding, for the AMP tests. It forwards every call
 * unchanged and restores the binding afterwards; it must not alter what runs. Also counts the
 * tensors and backend handles a piece of code leaves behind.
 */
import * as tf from '@tensorflow/tfjs';

/** `side`: enqueued on the binding's side stream (executeOpSide) rather than run by executeOp. */
export interface SeenKernel { name: string; type: number | undefined; side?: true }

export function kernelsOf(fn: () => void): SeenKernel[] {
  // The addon object is read-only: the backend gets a wrapper whose executeOp records and forwards.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const backend = tf.findBackend('tensorflow') as any;
  const binding = backend.binding;
  const seen: SeenKernel[] = [];
  const spy = Object.create(binding);
  const typeOf = (attrs: { name: string; value: unknown }[]): number | undefined => {
    const a = attrs.find((x) => x.name === 'T' || x.name === 'DstT');
    return typeof a?.value === 'number' ? a.value : undefined;
  };
  Object.defineProperty(spy, 'executeOp', {
    value: (name: string, attrs: { name: string; value: unknown }[], ...rest: unknown[]) => {
      seen.push({ name, type: typeOf(attrs) });
      return binding.executeOp(name, attrs, ...rest);
    },
  });
  if (typeof binding.executeOpSide === 'function') {
    Object.defineProperty(spy, 'executeOpSide', {
      value: (name: string, attrs: { name: string; value: unknown }[], ...rest: unknown[]) => {
        seen.push({ name, type: typeOf(attrs), side: true });
        return binding.executeOpSide(name, attrs, ...rest);
      },
    });
  }
  backend.binding = spy;
  try {
    fn();
  } finally {
    backend.binding = binding;
  }
  return seen;
}

/** How many tf.js tensors and node-backend handles `fn` leaves behind (0 and 0 when it leaks nothing). */
export function growthOver(fn: () => void): { tensors: number; handles: number } {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const backend = tf.findBackend('tensorflow') as any;
  const n0 = tf.memory().numTensors;
  const h0 = backend.numDataIds() as number;
  fn();
  return { tensors: tf.memory().numTensors - n0, handles: (backend.numDataIds() as number) - h0 };
}
