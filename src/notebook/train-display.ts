/**
 * Live training view for notebooks, in three outputs so that the cost of each redraw is bounded
 * and small however long the run: (1) the epoch progress bar with the last epoch summaries
 * (redrawn at most every `barIntervalMs`, ~2 KB), (2) the loss curves as a script-free SVG with
 * downsampled step data (once per epoch, a few KB), (3) the newest sample grid as JPEG (only when
 * samples/latest.png changes; the PNG stays on disk). A failed run shows its error in the view (`run`); a failed draw (a front end
 * that cannot take an output now) is retried and never stops training. Rendering only:
 * it must not run or change training, and must not import tslab (the notebook passes
 * `tslab.newDisplay`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createCanvas, Image } from 'canvas';
import type { EpochRecord } from '../train/metrics-log';
import { readMetrics } from '../train/metrics-log';
import type { ProgressCallback } from '../util/progress';
import { lossCurveFigure, lossCurveSvg } from './loss-curves';
import { plotlyFigureHtml } from './plotly';
import { type HtmlDisplay, progressDisplay } from './progress-display';

/** Options of {@link trainingDisplay}. */
export interface TrainingDisplayOptions {
  /** Fewest milliseconds between two redraws of the progress bar. Default 1000. */
  barIntervalMs?: number;
  /** Most points per loss curve in the live chart. Default 200. */
  maxCurvePoints?: number;
}

export interface TrainingDisplay {
  onProgress: ProgressCallback;
  onEpoch: (record: EpochRecord, summary: string) => void;
  /** Draws the final state with a closing note. */
  finish(note?: string): void;
  /**
   * Awaits `work` (e.g. the `train(...)` promise); if it fails, shows the error (type, message,
   * stack) in the view and rethrows it, so the cell fails with the real error on screen.
   */
  run<T>(work: Promise<T>): Promise<T>;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** An error (or any thrown value) as an HTML box: type, message and stack, escaped. */
export function errorHtml(err: unknown, heading = 'failed'): string {
  const e = err instanceof Error ? err : undefined;
  const name = e?.name ?? typeof err;
  const message = e?.message ?? (() => { try { return typeof err === 'string' ? err : JSON.stringify(err); } catch { return String(err); } })();
  const stack = e?.stack ?? '';
  const cause = e?.cause !== undefined ? `\ncaused by: ${e.cause instanceof Error ? (e.cause.stack ?? e.cause.message) : String(e.cause)}` : '';
  return `<div class="mri2ct-error" style="border:1px solid #c00;background:#fee;padding:6px;font-family:monospace;font-size:12px">` +
    `<b>${esc(heading)}: ${esc(name)}: ${esc(message ?? '')}</b><pre style="white-space:pre-wrap;margin:4px 0 0">${esc(stack + cause)}</pre></div>`;
}

/** The newest sample grid of a run as an <img> tag (base64 PNG), or '' when there is none yet. */
export function latestSampleHtml(outputDir: string): string {
  const f = path.join(outputDir, 'samples', 'latest.png');
  if (!fs.existsSync(f)) return '';
  return `<img alt="latest samples" style="max-width:100%" src="data:image/png;base64,${fs.readFileSync(f).toString('base64')}"/>`;
}

/**
 * The newest sample grid as an <img> tag holding a JPEG re-encoding (quality 0.85, about a fifth
 * of the PNG's bytes), for the live view that redraws it every epoch; '' when there is none yet.
 */
export function latestSampleJpegHtml(outputDir: string, quality = 0.85): string {
  const f = path.join(outputDir, 'samples', 'latest.png');
  if (!fs.existsSync(f)) return '';
  const img = new Image();
  img.src = fs.readFileSync(f);
  const c = createCanvas(img.width, img.height);
  c.getContext('2d').drawImage(img, 0, 0);
  const jpeg = c.toBuffer('image/jpeg', { quality: quality });
  return `<img alt="latest samples" style="max-width:100%" src="data:image/jpeg;base64,${jpeg.toString('base64')}"/>`;
}

/** Loss curves of a run read back from its logs (for after training, or another run). */
export function runCurvesHtml(outputDir: string, height = 360): string {
  return plotlyFigureHtml(lossCurveFigure(readMetrics(path.join(outputDir, 'logs', 'metrics.jsonl')), `run ${path.basename(path.resolve(outputDir))}`), { height });
}

/** The live loss curves of a run (SVG, bounded size), or a note before the first epoch. */
export function liveCurvesHtml(outputDir: string, maxPoints = 200): string {
  const records = readMetrics(path.join(outputDir, 'logs', 'metrics.jsonl'));
  if (records.length === 0) return '<small>loss curves appear after the first logged steps</small>';
  return `<div class="mri2ct-live-curves">${lossCurveSvg(records, { title: 'loss curves (live)', maxPoints: maxPoints })}</div>`;
}

/**
 * A display whose failures never reach the caller: the view is called from inside the training
 * loop, and a front end that cannot take an output right now (a kernel channel busy, a closed
 * browser) must not end the run. A failed draw is retried a moment later with the newest HTML.
 */
export function guardedDisplay(out: HtmlDisplay, retryMs = 250): HtmlDisplay {
  let pending: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  const draw = (s: string): void => {
    try {
      out.html(s);
      pending = undefined;
    } catch {
      pending = s;
      if (timer === undefined) {
        timer = setTimeout(() => { timer = undefined; if (pending !== undefined) draw(pending); }, retryMs);
        timer.unref();
      }
    }
  };
  return { html: draw };
}

/**
 * A live training view. `newDisplay` makes one output per call (pass `tslab.newDisplay`); three
 * are made, in order: progress bar, curves, samples.
 */
export function trainingDisplay(newDisplay: () => HtmlDisplay, outputDir: string, options: TrainingDisplayOptions = {}): TrainingDisplay {
  const barOut = guardedDisplay(newDisplay());
  const curvesOut = guardedDisplay(newDisplay());
  const samplesOut = guardedDisplay(newDisplay());
  const summaries: string[] = [];
  let bar = '';
  let note = '';
  let samplesStamp = '';
  const drawBar = (): void => {
    const lines = summaries.slice(-5).map((s) => `<div><code>${esc(s)}</code></div>`).join('');
    barOut.html(`${bar}${lines}${note}`);
  };
  // One bar for the current epoch only (the trainer names a stage per epoch): a new stage
  // replaces the bar instead of adding a row, so the bar's size does not grow with the run.
  const newBar = () => progressDisplay({ html: (s) => { bar = s; drawBar(); } }, { title: 'training', minIntervalMs: options.barIntervalMs ?? 1000 });
  let progress = newBar();
  let stage: string | undefined;
  const onProgress: ProgressCallback = (event) => {
    if (stage !== undefined && event.stage !== stage) progress = newBar();
    stage = event.stage;
    progress.onProgress(event);
  };
  const drawFigures = (): void => {
    curvesOut.html(liveCurvesHtml(outputDir, options.maxCurvePoints ?? 200));
    const f = path.join(outputDir, 'samples', 'latest.png');
    const stamp = fs.existsSync(f) ? `${fs.statSync(f).mtimeMs}:${fs.statSync(f).size}` : '';
    if (stamp !== samplesStamp || stamp === '') {
      samplesStamp = stamp;
      samplesOut.html(stamp === '' ? '<small>sample grid (MRI | sCT | CT | error) appears after the first validation</small>' : latestSampleJpegHtml(outputDir));
    }
  };
  drawBar();
  curvesOut.html('<small>loss curves appear after the first epoch</small>');
  samplesOut.html('<small>sample grid (MRI | sCT | CT | error) appears after the first validation</small>');
  return {
    onProgress: onProgress,
    onEpoch: (_rec, summary) => {
      summaries.push(summary);
      drawBar();
      drawFigures();
    },
    finish: (closing) => {
      if (closing !== undefined) note = `<p><b>${esc(closing)}</b></p>`;
      progress.finish(); // the closing note is drawn once, under the summaries
      drawFigures();
    },
    run: async <T>(work: Promise<T>): Promise<T> => {
      try {
        return await work;
      } catch (err) {
        note = errorHtml(err, 'training failed');
        drawBar();
        throw err;
      }
    },
  };
}

/** One row per finished epoch of a run (from its logs), for console.table. */
export function runEpochTable(outputDir: string): { epoch: number; trainL1: number; valMaeHu: number | null; seconds: number }[] {
  return readMetrics(path.join(outputDir, 'logs', 'metrics.jsonl'))
    .filter((r): r is EpochRecord => r.kind === 'epoch')
    .map((r) => ({ epoch: r.epoch, trainL1: +r.trainL1.toFixed(4), valMaeHu: r.valMaeHu === null ? null : +r.valMaeHu.toFixed(1), seconds: +r.epochSeconds.toFixed(1) }));
}
