/**
 * The plotly.js the notebooks inline: the build's minified copy of plotly.js-dist
 * (scripts/minify-plotly.js) must exist, be much smaller than the package's file, be what
 * plotlySetupHtml() inlines, and draw in a real browser (Debian's headless Chromium) the figure
 * kinds the notebooks use: log-axis line curves with a second y axis, markers, overlaid bar
 * histograms. Fails (does not skip) when the build or Chromium is missing.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { minifiedPlotlyPath, plotlyBundle, plotlyFigureHtml, plotlySetupHtml, plotlyVersion } from '../src/notebook/plotly';

const chromiumPath = process.env['MRI2CT_CHROMIUM'] ?? '/usr/bin/chromium';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-plotly-'));
let browser: Browser | undefined;
after(async () => {
  await browser?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('the build writes a minified plotly.js of the installed version, and the notebooks inline it', () => {
  const min = minifiedPlotlyPath();
  assert.ok(min !== undefined && fs.existsSync(min), `no minified plotly.js at ${min}: run npm run build (or bash scripts/setup.sh)`);
  const full = fs.statSync(require.resolve('plotly.js-dist/plotly.js')).size;
  const small = fs.statSync(min).size;
  assert.ok(small < 0.6 * full, `minified ${small} bytes vs ${full}: not minified`);
  assert.ok(plotlyBundle().minified, 'plotlySetupHtml inlines the minified copy');
  const html = plotlySetupHtml();
  assert.ok(html.length < small + 2000, 'the setup HTML is the minified bundle plus a caption');
  assert.match(html, new RegExp(`plotly\\.js ${plotlyVersion().replace(/\./g, '\\.')} loaded \\(offline, from the plotly\\.js-dist package, minified, 4\\.\\d MB\\)`));
  assert.doesNotMatch(html.slice(40, -200), /<\/script/i, 'no early end of the script tag inside the bundle');
});

test('the minified plotly.js draws the notebooks\' figure kinds in Chromium', { timeout: 120_000 }, async () => {
  assert.ok(fs.existsSync(chromiumPath), `no Chromium at ${chromiumPath}: run bash scripts/setup.sh (installs Debian's chromium)`);
  browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'], timeout: 60_000 });
  const curves = plotlyFigureHtml({
    data: [
      { x: [1, 2, 3, 4], y: [0.9, 0.5, 0.3, 0.2], name: 'G loss', type: 'scatter', mode: 'lines' },
      { x: [1, 2, 3, 4], y: [0.7, 0.6, 0.4, 0.3], name: 'D loss', type: 'scatter', mode: 'lines' },
      { x: [2, 4], y: [180, 120], name: 'val MAE (HU)', type: 'scatter', mode: 'lines+markers', yaxis: 'y2' },
    ],
    layout: { yaxis: { type: 'log' }, yaxis2: { overlaying: 'y', side: 'right' } },
  }, { id: 'curves', inlineBundle: false });
  const bars = plotlyFigureHtml({
    data: [
      { type: 'bar', name: 'MRI', x: [0, 1, 2], y: [5, 50, 500], opacity: 0.65 },
      { type: 'bar', name: 'CT', x: [0, 1, 2], y: [400, 40, 4], opacity: 0.65 },
    ],
    layout: { barmode: 'overlay', yaxis: { type: 'log' } },
  }, { id: 'bars', inlineBundle: false });
  const file = path.join(tmp, 'page.html');
  fs.writeFileSync(file, `<!doctype html><html><head><meta charset="utf-8"></head><body>${plotlySetupHtml()}${curves}${bars}</body></html>`);
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`file://${file}`, { waitUntil: 'load' });
  await page.waitForFunction('document.querySelectorAll("#curves .scatterlayer .trace").length === 3 && document.querySelectorAll("#bars .barlayer .trace").length === 2', undefined, { timeout: 30_000 });
  const r = await page.evaluate(`({
    version: window.Plotly.version,
    curvePaths: Array.from(document.querySelectorAll('#curves .scatterlayer .trace path.js-line')).map((p) => (p.getAttribute('d') || '').length),
    markers: document.querySelectorAll('#curves .scatterlayer .trace .point').length,
    bars: document.querySelectorAll('#bars .barlayer .point path').length,
    legend: Array.from(document.querySelectorAll('#curves .legendtext')).map((t) => t.textContent),
    logTicks: Array.from(document.querySelectorAll('#curves .ytick text')).map((t) => t.textContent),
  })`) as { version: string; curvePaths: number[]; markers: number; bars: number; legend: string[]; logTicks: string[] };
  assert.deepEqual(errors, []);
  assert.equal(r.version, plotlyVersion());
  assert.equal(r.curvePaths.length, 3);
  assert.ok(r.curvePaths.every((n) => n > 10), `every curve has a drawn path: ${r.curvePaths.join(', ')}`);
  assert.equal(r.markers, 2, 'the validation curve has its two markers');
  assert.equal(r.bars, 6, 'two histograms of three bars');
  assert.deepEqual(r.legend, ['G loss', 'D loss', 'val MAE (HU)']);
  assert.ok(r.logTicks.length >= 2, `log y axis has ticks: ${r.logTicks.join(' ')}`);
});
