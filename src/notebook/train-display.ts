/**
 * Live training view for notebooks: one HTML display updated in place with the epoch progress
 * bar (from the trainer's progress events), the loss curves (plotly, offline, from the run's
 * logs/metrics.jsonl) and the newest sample grid (samples/latest.png). Rendering only: it must not
 * run or change training, and must not import tslab (the notebook passes `tslab.newDisplay()`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EpochRecord } from '../train/metrics-log';
import { readMetrics } from '../train/metrics-log';
import type { ProgressCallback } from '../util/progress';
import { lossCurveFigure } from './loss-curves';
import { plotlyFigureHtml } from './plotly';
import { type HtmlDisplay, progressDisplay } from './progress-display';

export interface TrainingDisplay {
  onProgress: ProgressCallback;
  onEpoch: (record: EpochRecord, summary: string) => void;
  /** Draws the final state with a closing note. */
  finish(note?: string): void;
}

/** The newest sample grid of a run as an <img> tag (base64 PNG), or '' when there is none yet. */
export function latestSampleHtml(outputDir: string): string {
  const f = path.join(outputDir, 'samples', 'latest.png');
  if (!fs.existsSync(f)) return '';
  return `<img alt="latest samples" style="max-width:100%" src="data:image/png;base64,${fs.readFileSync(f).toString('base64')}"/>`;
}

/** Loss curves of a run read back from its logs (for after training, or another run). */
export function runCurvesHtml(outputDir: string, height = 360): string {
  return plotlyFigureHtml(lossCurveFigure(readMetrics(path.join(outputDir, 'logs', 'metrics.jsonl')), `run ${path.basename(path.resolve(outputDir))}`), { height });
}

export function trainingDisplay(display: HtmlDisplay, outputDir: string): TrainingDisplay {
  const summaries: string[] = [];
  let bar = '';
  let figures = ''; // curves + newest samples, refreshed once per epoch (not on every bar update)
  const inner: HtmlDisplay = { html: (s) => { bar = s; render(); } };
  const progress = progressDisplay(inner, { title: 'training', minIntervalMs: 500 });
  const render = (note?: string): void => {
    const lines = summaries.slice(-5).map((s) => `<div><code>${s.replace(/</g, '&lt;')}</code></div>`).join('');
    display.html(`${bar}${lines}${note !== undefined ? `<p><b>${note}</b></p>` : ''}${figures}`);
  };
  return {
    onProgress: progress.onProgress,
    onEpoch: (_rec, summary) => {
      summaries.push(summary);
      figures = `${runCurvesHtml(outputDir, 300)}${latestSampleHtml(outputDir)}`;
      render();
    },
    finish: (note) => {
      figures = `${runCurvesHtml(outputDir, 300)}${latestSampleHtml(outputDir)}`;
      progress.finish(note);
      render(note);
    },
  };
}

/** One row per finished epoch of a run (from its logs), for console.table. */
export function runEpochTable(outputDir: string): { epoch: number; trainL1: number; valMaeHu: number | null; seconds: number }[] {
  return readMetrics(path.join(outputDir, 'logs', 'metrics.jsonl'))
    .filter((r): r is EpochRecord => r.kind === 'epoch')
    .map((r) => ({ epoch: r.epoch, trainL1: +r.trainL1.toFixed(4), valMaeHu: r.valMaeHu === null ? null : +r.valMaeHu.toFixed(1), seconds: +r.epochSeconds.toFixed(1) }));
}
