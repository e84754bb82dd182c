/**
 * Loss curves of a training run from its metrics records (logs/metrics.jsonl): G and D losses
 * per logged step, and per-epoch validation MAE in HU on a second axis, as a plotly figure or as
 * a small script-free SVG (for the live view). Step curves are downsampled (bin means) to a
 * bounded number of points. Figure data only.
 */
import type { MetricRecord } from '../train/metrics-log';
import type { PlotlyFigure } from './plotly';
import { downsample, lineChartSvg } from './svg-chart';

function curves(records: MetricRecord[], maxPoints: number) {
  const steps = records.filter((r) => r.kind === 'step');
  const val = records.filter((r) => r.kind === 'epoch' && r.valMaeHu !== null);
  const x = steps.map((s) => s.step);
  return {
    g: downsample(x, steps.map((s) => s.g), maxPoints),
    d: downsample(x, steps.map((s) => s.d), maxPoints),
    val: { x: val.map((e) => e.step), y: val.map((e) => (e.kind === 'epoch' ? e.valMaeHu : null)) },
  };
}

/** Plotly figure of the curves; step curves keep at most `maxPoints` points each (default 2000). */
export function lossCurveFigure(records: MetricRecord[], title = 'pix2pix training', maxPoints = 2000): PlotlyFigure {
  const c = curves(records, maxPoints);
  return {
    data: [
      { x: c.g.x, y: c.g.y, name: 'G loss', type: 'scatter', mode: 'lines' },
      { x: c.d.x, y: c.d.y, name: 'D loss', type: 'scatter', mode: 'lines' },
      { x: c.val.x, y: c.val.y, name: 'val MAE (HU)', type: 'scatter', mode: 'lines+markers', yaxis: 'y2' },
    ],
    layout: {
      title: { text: title },
      xaxis: { title: { text: 'step' } },
      yaxis: { title: { text: 'loss' }, type: 'log' },
      yaxis2: { title: { text: 'val MAE (HU)' }, overlaying: 'y', side: 'right' },
      legend: { orientation: 'h', y: -0.2 },
      margin: { t: 40, r: 70, b: 40, l: 60 },
    },
  };
}

/** The same curves as a script-free SVG of a few KB (at most `maxPoints` points per curve, default 200). */
export function lossCurveSvg(records: MetricRecord[], options: { title?: string; width?: number; height?: number; maxPoints?: number } = {}): string {
  const c = curves(records, options.maxPoints ?? 200);
  return lineChartSvg(
    [
      { name: 'G loss', ...c.g, color: '#1f77b4' },
      { name: 'D loss', ...c.d, color: '#ff7f0e' },
      { name: 'val MAE (HU)', ...c.val, color: '#2ca02c', axis: 'right', markers: true },
    ],
    { title: options.title, width: options.width, height: options.height, xLabel: 'step', leftLabel: 'loss (log)', rightLabel: 'val MAE (HU)', logLeft: true, maxPoints: options.maxPoints ?? 200 },
  );
}
