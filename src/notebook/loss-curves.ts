/**
 * Plotly figures of a training run from its metrics records (logs/metrics.jsonl): G and D losses
 * per logged step, and per-epoch validation MAE in HU on a second axis. Figure data only.
 */
import type { MetricRecord } from '../train/metrics-log';
import type { PlotlyFigure } from './plotly';

export function lossCurveFigure(records: MetricRecord[], title = 'pix2pix training'): PlotlyFigure {
  const steps = records.filter((r) => r.kind === 'step');
  const epochs = records.filter((r) => r.kind === 'epoch');
  const val = epochs.filter((e) => e.valMaeHu !== null);
  return {
    data: [
      { x: steps.map((s) => s.step), y: steps.map((s) => s.g), name: 'G loss', type: 'scatter', mode: 'lines' },
      { x: steps.map((s) => s.step), y: steps.map((s) => s.d), name: 'D loss', type: 'scatter', mode: 'lines' },
      { x: val.map((e) => e.step), y: val.map((e) => e.valMaeHu), name: 'val MAE (HU)', type: 'scatter', mode: 'lines+markers', yaxis: 'y2' },
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
