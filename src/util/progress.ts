/**
 * The progress signal every long task emits: `{stage, done, total, message}` (as cornerstone3D
 * and brainchop do). The CLI draws a bar from it, a notebook its own display. Tasks must call
 * the callback and never draw anything themselves.
 */

export interface ProgressEvent {
  /** What is running, e.g. 'phantom', 'preprocess', 'epoch 3/10'. */
  stage: string;
  /** Units done so far. */
  done: number;
  /** Units in all. */
  total: number;
  /** Optional detail, e.g. the patient id or the current losses. */
  message?: string;
}

export type ProgressCallback = (event: ProgressEvent) => void;
