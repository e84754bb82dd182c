/**
 * Offline plotly.js for notebooks: the bundle from the plotly.js-dist package is inlined once
 * (`plotlySetupHtml`, ~11 MB, in the first cell that plots), and each figure is a small HTML
 * snippet that draws with `window.Plotly` once it is there. No CDN, so plots render without
 * internet in JupyterLab and the classic notebook. Builds HTML only; displaying is the caller's.
 */
import * as fs from 'node:fs';

export interface PlotlyFigure {
  data: Record<string, unknown>[];
  layout?: Record<string, unknown>;
}

let bundle: string | undefined;

function plotlyBundle(): string {
  bundle ??= fs.readFileSync(require.resolve('plotly.js-dist/plotly.js'), 'utf8');
  return bundle;
}

/** HTML that loads plotly.js into the page (once per page; harmless if repeated). */
export function plotlySetupHtml(): string {
  // Guard against '</script>' inside the bundle text ending the tag early.
  const code = plotlyBundle().replace(/<\/script/gi, '<\\/script');
  return `<script type="text/javascript">if (!window.Plotly) {\n${code}\n}</script><small>plotly.js ${plotlyVersion()} loaded (offline, from the plotly.js-dist package)</small>`;
}

export function plotlyVersion(): string {
  return (JSON.parse(fs.readFileSync(require.resolve('plotly.js-dist/package.json'), 'utf8')) as { version: string }).version;
}

let counter = 0;

/** True inside a Google Colab runtime, where every output sits in its own sandboxed frame. */
export function onColab(): boolean {
  return process.env['COLAB_RELEASE_TAG'] !== undefined;
}

/**
 * HTML for one figure; it waits for plotly.js (loaded by plotlySetupHtml) and then draws. On
 * Colab, each output is its own frame and cannot see another output's scripts, so the figure
 * carries the bundle itself (`inlineBundle`, default: on Colab only).
 */
export function plotlyFigureHtml(fig: PlotlyFigure, options: { height?: number; id?: string; inlineBundle?: boolean } = {}): string {
  const bundleHtml = options.inlineBundle ?? onColab() ? plotlySetupHtml() : '';
  counter += 1;
  const id = options.id ?? `mri2ct-plot-${Date.now().toString(36)}-${counter}`;
  const height = options.height ?? 360;
  const payload = JSON.stringify({ data: fig.data, layout: { margin: { t: 40, r: 20, b: 40, l: 60 }, ...fig.layout } }).replace(/</g, '\\u003c');
  return `${bundleHtml}<div id="${id}" class="mri2ct-plot" style="width:100%;height:${height}px"></div>
<script type="text/javascript">(function () {
  var fig = ${payload}, tries = 0;
  function draw() {
    var el = document.getElementById('${id}');
    if (window.Plotly && el) { window.Plotly.newPlot(el, fig.data, fig.layout, { displaylogo: false, responsive: true }); return; }
    if (++tries < 100) { setTimeout(draw, 100); return; }
    if (el) el.innerHTML = '<b>plotly.js is not loaded</b>: run the cell that displays mri2ct.plotlySetupHtml() first.';
  }
  draw();
})();</script>`;
}
