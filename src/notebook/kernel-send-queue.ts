/**
 * Makes the tslab kernel's IOPub channel (its zeromq Publisher) queue messages instead of
 * throwing. tslab sends every output (display updates, console text, the kernel's busy/idle
 * status) with `publisher.send(...)` without awaiting it; zeromq.js allows one pending send per
 * socket and throws "Socket is busy writing" (EBUSY) at a second one. Under load (TensorFlow on
 * every core, a front end that reads late) a send stays pending for a moment, and the next output
 * of a cell throws into whatever code produced it: a long training run died at a random step of
 * a random epoch, and even its error and the kernel's "idle" status were lost (nbconvert: empty
 * "<Error>:", "Timeout waiting for IOPub output").
 *
 * Installed on import of the library, only inside a tslab kernel (when the kernel has already
 * loaded zeromq); elsewhere it does nothing and loads nothing. Messages keep their order; a
 * Publisher never blocks for long (at its high-water mark zeromq drops), so the queue drains; if
 * it still grows past `MAX_QUEUED`, the oldest display *updates* are dropped first (a newer update
 * of the same output follows), never stream text or status. Must not change what is sent.
 */
import * as path from 'node:path';

/** Most messages held while the socket is busy before display updates are dropped. */
export const MAX_QUEUED = 5000;

const INSTALLED = Symbol.for('mri2ct.kernelSendQueue.installed');

type Frames = unknown[];
// Per socket (zeromq's socket objects are not extensible: no properties can be added to them).
const states = new WeakMap<object, QueueState>();
type Send = (this: object, msg: Frames) => Promise<void>;
interface QueueState { queue: Frames[]; pending: boolean; retry: NodeJS.Timeout | undefined; dropped: number; sent: number }

/** What the queue of one socket has done (for tests and diagnostics). */
export interface SendQueueStats { queued: number; sent: number; dropped: number }

const isBusy = (e: unknown): boolean => (e as { code?: string } | null)?.code === 'EBUSY';

/** True when the message's Jupyter header says update_display_data (a droppable redraw). */
function isDisplayUpdate(frames: Frames): boolean {
  const delim = frames.findIndex((f) => String(f) === '<IDS|MSG>');
  const header = delim >= 0 ? frames[delim + 2] : undefined;
  return typeof header === 'string' ? header.includes('"msg_type":"update_display_data"') : false;
}

function enqueue(state: QueueState, frames: Frames): void {
  if (state.queue.length >= MAX_QUEUED) {
    const i = state.queue.findIndex(isDisplayUpdate);
    state.queue.splice(i >= 0 ? i : 0, 1);
    state.dropped += 1;
  }
  state.queue.push(frames);
}

function pump(socket: object, state: QueueState, nativeSend: Send): void {
  while (!state.pending && state.retry === undefined && state.queue.length > 0) {
    const frames = state.queue[0] as Frames;
    let sent: Promise<void>;
    try {
      sent = nativeSend.call(socket, frames);
    } catch (e) {
      if (isBusy(e)) { // someone else's send is pending on this socket: try again shortly
        state.retry = setTimeout(() => { state.retry = undefined; pump(socket, state, nativeSend); }, 2);
        return;
      }
      state.queue.shift(); // a closed socket or a bad message: nothing to retry
      continue;
    }
    state.queue.shift();
    state.pending = true;
    const next = (): void => { state.pending = false; state.sent += 1; pump(socket, state, nativeSend); };
    sent.then(next, next);
  }
}

/** The queue statistics of a socket that went through the installed `send`, if any. */
export function sendQueueStats(socket: object): SendQueueStats | undefined {
  const s = states.get(socket);
  return s === undefined ? undefined : { queued: s.queue.length, sent: s.sent, dropped: s.dropped };
}

/**
 * Installs the queue on a zeromq module's Publisher (idempotent); returns whether it is on.
 * Exported for tests; the library calls {@link installKernelSendQueue}.
 */
export function installPublisherQueue(zmq: { Publisher?: { prototype: object } }): boolean {
  const proto = zmq.Publisher?.prototype as (Record<string | symbol, unknown> & object) | undefined;
  if (proto === undefined) return false;
  if (proto[INSTALLED] === true) return true;
  const nativeSend = (Object.getPrototypeOf(proto) as { send?: Send }).send;
  if (typeof nativeSend !== 'function') return false;
  Object.defineProperty(proto, 'send', {
    configurable: true,
    writable: true,
    value: function send(this: object, frames: Frames): Promise<void> {
      let state = states.get(this);
      if (state === undefined) {
        state = { queue: [], pending: false, retry: undefined, dropped: 0, sent: 0 };
        states.set(this, state);
      }
      enqueue(state, frames);
      pump(this, state, nativeSend);
      return Promise.resolve();
    },
  });
  proto[INSTALLED] = true;
  return true;
}

/** The zeromq module file a tslab kernel of this project loads, if it is loaded already. */
function loadedKernelZeromq(): string | undefined {
  for (const from of [path.dirname(require.resolve('tslab')), __dirname]) {
    try {
      const file = require.resolve('zeromq', { paths: [from] });
      if (require.cache[file] !== undefined) return file;
    } catch { /* not installed where looked */ }
  }
  return undefined;
}

/** Installs the queue when running inside a tslab kernel; a no-op elsewhere. */
export function installKernelSendQueue(): boolean {
  let file: string | undefined;
  try { file = loadedKernelZeromq(); } catch { return false; }
  if (file === undefined) return false;
  return installPublisherQueue(require(file) as { Publisher?: { prototype: object } });
}

installKernelSendQueue();
