/**
 * Notebook progress: turns the library's progress events `{stage, done, total, message}` into
 * an HTML progress bar (one row per stage, with count, percentage, elapsed time and an estimate
 * of the time left) shown through a display object the notebook passes in. Pass
 * `tslab.newDisplay()`: it overwrites its single output, so the bar updates in place.
 * Must not import tslab or any notebook runtime (the library runs outside notebooks too), and
 * must not run or time the work itself: it only renders the events it is given.
 */
import { formatDuration } from '../util/format-duration';
import type { ProgressCallback, ProgressEvent } from '../util/progress';

export { formatDuration };

/** What the progress display needs from a notebook display (tslab's `Display` fits). */
export interface HtmlDisplay {
  html(s: string): void;
}

/** Options of {@link progressDisplay}. */
export interface ProgressDisplayOptions {
  /** Heading over the bars. */
  title?: string;
  /** Fewest milliseconds between two redraws (the first, a stage's last and `finish` always draw). Default 150. */
  minIntervalMs?: number;
  /** Clock, replaceable in tests. Default performance.now. */
  now?: () => number;
}

/** A progress callback that also renders a final state and shows the HTML it draws. */
export interface ProgressDisplay {
  /** Pass this as `onProgress`. */
  readonly onProgress: ProgressCallback;
  /** Draws the final state (adds a closing line when given, e.g. "done in 12 s"). */
  finish(note?: string): void;
  /** The HTML of the current state (what was last shown, or would be). */
  html(): string;
}

interface StageState {
  event: ProgressEvent;
  started: number;
  updated: number;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');


function stageRow(s: StageState, now: number): string {
  const { stage, done, total, message } = s.event;
  const frac = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const elapsed = (now - s.started) / 1000;
  const finished = total > 0 && done >= total;
  const eta = !finished && done > 0 && total > 0 ? ((s.updated - s.started) / 1000 / done) * (total - done) : undefined;
  const timing = finished
    ? `${formatDuration((s.updated - s.started) / 1000)}`
    : `${formatDuration(elapsed)}${eta === undefined ? '' : `, ~${formatDuration(eta)} left`}`;
  const colour = finished ? '#2a9d3a' : '#3b7dd8';
  const bar =
    `<div style="flex:0 0 260px;height:14px;background:#ddd;border-radius:3px;overflow:hidden">` +
    `<div style="width:${(100 * frac).toFixed(1)}%;height:100%;background:${colour}"></div></div>`;
  return (
    `<div style="display:flex;align-items:center;gap:10px;font-family:monospace;font-size:12px;margin:2px 0">` +
    `<span style="flex:0 0 110px;font-weight:bold;overflow:hidden;text-overflow:ellipsis;white-space:nowrap">${esc(stage)}</span>${bar}` +
    `<span style="flex:0 0 120px">${done}/${total} (${(100 * frac).toFixed(0)}%)</span>` +
    `<span style="flex:0 0 150px;color:#666">${esc(timing)}</span>` +
    `<span style="color:#444;white-space:nowrap;overflow:hidden;text-overflow:ellipsis">${esc(message ?? '')}</span></div>`
  );
}

/**
 * A progress display writing to `display` (e.g. `tslab.newDisplay()`); each stage name gets its
 * own bar, in the order stages first appear.
 */
export function progressDisplay(display: HtmlDisplay, options: ProgressDisplayOptions = {}): ProgressDisplay {
  const now = options.now ?? (() => performance.now());
  const minInterval = options.minIntervalMs ?? 150;
  const stages = new Map<string, StageState>();
  let lastDraw = -Infinity;
  let footer = '';

  const render = (): string => {
    const t = now();
    const title = options.title === undefined ? '' : `<div style="font-weight:bold;margin-bottom:4px">${esc(options.title)}</div>`;
    const rows = [...stages.values()].map((s) => stageRow(s, t)).join('');
    const foot = footer === '' ? '' : `<div style="font-family:monospace;font-size:12px;margin-top:4px">${esc(footer)}</div>`;
    return `<div class="mri2ct-progress">${title}${rows}${foot}</div>`;
  };
  const draw = (): void => {
    lastDraw = now();
    display.html(render());
  };

  const onProgress: ProgressCallback = (event) => {
    const t = now();
    const prev = stages.get(event.stage);
    const state: StageState = { event: { ...event }, started: prev?.started ?? t, updated: t };
    stages.set(event.stage, state);
    const stageDone = event.total > 0 && event.done >= event.total;
    if (prev === undefined || stageDone || t - lastDraw >= minInterval) draw();
  };

  return {
    onProgress,
    finish(note?: string) {
      if (note !== undefined) footer = note;
      draw();
    },
    html: render,
  };
}
