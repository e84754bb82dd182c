/**
 * The tfjs-node binding's side stream (scripts/tfjs-binding/side-stream.patch): whether this
 * process uses it, the switch tests and benchmarks turn, and the per-step sync. What runs there
 * is decided by its users (src/model/conv16.ts); this module only finds, gates and syncs it and
 * must not run ops of its own.
 */
import { currentBackend } from './backend';
import { type RawBackend, rawBackend } from './native-ops';

let sideStreamSetting: boolean | undefined;
/**
 * Whether dW (and the kernels' prefetch casts) run on the binding's side stream: on the CPU
 * tfjs-node backend when its binding has it (set-up builds it so), unless MRI2CT_SIDE_STREAM=0
 * (benchmarks, and a way back should it misbehave). Not on tfjs-node-gpu: GPU kernels are
 * launched asynchronously anyway, and the stream has never run on a GPU.
 */
export function sideStreamAvailable(b: RawBackend | undefined = rawBackend()): boolean {
  sideStreamSetting ??= process.env.MRI2CT_SIDE_STREAM !== '0';
  if (!sideStreamSetting || typeof b?.binding.executeOpSide !== 'function' || typeof b.binding.syncSideStream !== 'function') return false;
  return currentBackend()?.kind !== 'tensorflow-gpu';
}

/** Turns the side stream on or off (tests, benchmarks); undefined: re-read MRI2CT_SIDE_STREAM. */
export function setSideStream(on: boolean | undefined): void {
  sideStreamSetting = on;
}

/**
 * Waits for every op on the side stream and throws its first kernel error (`quiet`: swallows
 * it; the stream takes ops again either way). Pix2Pix.trainStep calls it at the end of each
 * step; a no-op without the side stream.
 */
export function syncSideStream(opts: { quiet?: boolean } = {}): void {
  const b = rawBackend();
  if (b === undefined || typeof b.binding.syncSideStream !== 'function') return;
  try {
    b.binding.syncSideStream();
  } catch (e) {
    if (opts.quiet !== true) throw e;
  }
}

/** Whether the binding that loaded was built with the side stream (whatever the switch says). */
export function sideStreamBuilt(b: RawBackend | undefined = rawBackend('tensorflow')): boolean {
  return typeof b?.binding.executeOpSide === 'function' && typeof b.binding.syncSideStream === 'function';
}
