/**
 * Turns ProgressEvents into terminal progress bars (cli-progress) with ETA. On a terminal the
 * bar redraws in place; in a log (CI, pipes) it prints a line every few seconds instead of
 * thousands. Presentation only: it must not decide anything about the work it shows.
 */
import * as cliProgress from 'cli-progress';
import type { ProgressCallback } from '../util/progress';

export interface ProgressBarHandle {
  /** Feed this to the task. */
  onProgress: ProgressCallback;
  /** Stops drawing (call when the task ends, also on error). */
  stop(): void;
}

/** A bar per stage: a new stage name starts a new bar. */
export function createProgressBar(): ProgressBarHandle {
  let bar: cliProgress.SingleBar | undefined;
  let stage = '';
  const stop = (): void => {
    bar?.stop();
    bar = undefined;
  };
  const onProgress: ProgressCallback = (e) => {
    if (bar === undefined || e.stage !== stage) {
      stop();
      stage = e.stage;
      bar = new cliProgress.SingleBar(
        {
          format: `${e.stage.padEnd(14)} |{bar}| {value}/{total} {percentage}% | ETA {eta_formatted} | {message}`,
          noTTYOutput: true,
          notTTYSchedule: 5000,
          etaBuffer: 20,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(e.total, e.done, { message: e.message ?? '' });
      return;
    }
    bar.setTotal(e.total);
    bar.update(e.done, { message: e.message ?? '' });
    if (e.done >= e.total) stop();
  };
  return { onProgress, stop };
}
