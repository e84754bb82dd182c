/**
 * Offline plotly.js for notebooks: the bundle from the plotly.js-dist package is inlined once
 * (`plotlySetupHtml`, in the first cell that plots), and each figure is a small HTML snippet that
 * draws with `window.Plotly` once it is there. No CDN, so plots render without internet in
 * JupyterLab and the classic notebook. The bundle inlined is the minified copy the build writes
 * (scripts/minify-plotly.js: 4.9 MB instead of 11.2 MB) when it is there and of the installed
 * version, else the package's own file. Builds HTML only; displaying is the caller's.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../util/package-version';

export interface PlotlyFigure {
  data: Record<string, unknown>[];
  layout?: Record<string, unknown>;
}

let bundle: { code: string; minified: boolean } | undefined;

/** Where the build puts the minified bundle of plotly.js-dist `version` (scripts/minify-plotly.js). */
export function minifiedPlotlyPath(version: string = plotlyVersion()): string | undefined {
  const root = projectRoot();
  return root === undefined ? undefined : path.join(root, 'dist', 'vendor', `plotly-${version}.min.js`);
}

/** The plotly.js code to inline: the build's minified copy if present, else the package's file. */
export function plotlyBundle(): { code: string; minified: boolean } {
  if (bundle === undefined) {
    const min = minifiedPlotlyPath();
    bundle = min !== undefined && fs.existsSync(min)
      ? { code: fs.readFileSync(min, 'utf8'), minified: true }
      : { code: fs.readFileSync(require.resolve('plotly.js-dist/plotly.js'), 'utf8'), minified: false };
  }
  return bundle;
}

/** HTML that loads plotly.js into the page (once per page; harmless if repeated). */
export function plotlySetupHtml(): string {
  const b = plotlyBundle();
  // Guard against '</script>' inside the bundle text ending the tag early.
  const code = b.code.replace(/<\/script/gi, '<\\/script');
  const mb = (code.length / 1e6).toFixed(1);
  return `<script type="text/javascript">if (!window.Plotly) {\n${code}\n}</script><small>plotly.js ${plotlyVersion()} loaded (offline, from the plotly.js-dist package${b.minified ? ', minified' : ''}, ${mb} MB)</small>`;
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
