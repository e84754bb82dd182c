/**
 * The notebooks as a person sees them: executes every notebook in notebooks/ (test sizes,
 * MRI2CT_NOTEBOOK_TEST=1) in a scratch copy of the project, trusts the executed copies, serves
 * them with a real Jupyter notebook server (Debian's classic notebook, 127.0.0.1, token, started
 * and stopped here) and opens each in headless Chromium (Debian's, driven by playwright-core).
 * Checks, per notebook: every output image is loaded, shown, as many as the notebook holds, and
 * not blank (pixel variance drawn through a canvas); every plotly figure (div.mri2ct-plot) holds
 * a rendered SVG of the figure's size with traces, with plotly.js from the notebook itself (no
 * network: Chromium runs with background networking off on a closed network); every slice
 * viewer (div.mri2ct-slice-viewer) decoded its data and draws a non-blank panel; no error output,
 * no stderr with "Error", no "Javascript error adding output", no uncaught page error. The same
 * checks run on the static HTML export (nbconvert's JupyterLab template, opened from file://).
 * Full-page screenshots and a report go to screenshots/ at the project root.
 *
 * Fails (does not skip) when Chromium or the notebook server is missing: scripts/setup.sh
 * installs both (Debian packages chromium, jupyter-notebook).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH as chromiumPath, IMAGE_INFO, PLOT_INFO, checkImages, checkPlots, notebookFiles } from './helpers/notebook-page';
import type { ImageInfo, PlotInfo } from './helpers/notebook-page';
import { deleteSessions, freePort, scratchProject, tearDown, waitForServer } from './helpers/notebook-server';

const root = path.resolve(__dirname, '..');
const nbDir = path.join(root, 'notebooks');
const shotsDir = path.join(root, 'screenshots');
const notebooks = notebookFiles(nbDir);

interface Output { output_type: string; data?: Record<string, unknown>; name?: string; text?: string | string[] }
interface Cell { cell_type: string; outputs?: Output[] }
const joined = (v: unknown): string => (Array.isArray(v) ? v.join('') : typeof v === 'string' ? v : '');
const stripScripts = (html: string): string => html.replace(/<script[\s\S]*?<\/script>/gi, '');

/** What the executed notebook holds: the images and plotly figures a browser must show. */
function expectedOutputs(file: string): { images: number; plots: number; viewers: number; errors: number } {
  const cells = (JSON.parse(fs.readFileSync(file, 'utf8')) as { cells: Cell[] }).cells;
  let images = 0, plots = 0, viewers = 0, errors = 0;
  for (const o of cells.flatMap((c) => c.outputs ?? [])) {
    if (o.output_type === 'error') errors += 1;
    const d = o.data ?? {};
    if ('image/png' in d || 'image/jpeg' in d) { images += 1; continue; }
    const html = stripScripts(joined(d['text/html']));
    images += (html.match(/<img\b/gi) ?? []).length;
    plots += (html.match(/class="mri2ct-plot"/g) ?? []).length;
    viewers += (html.match(/class="mri2ct-slice-viewer"/g) ?? []).length;
  }
  return { images, plots, viewers, errors };
}

/**
 * Runs in the page (plain JavaScript: the project's TypeScript has no DOM types). `scope` selects
 * the output areas: classic notebook or JupyterLab DOM (nbconvert's lab template).
 */
const PAGE_CHECK = `(scope) => {
  const q = (sel) => Array.from(document.querySelectorAll(sel));
  const sel = scope === 'classic'
    ? { out: '#notebook-container .output_area', err: '.output_error', stderr: '.output_stderr' }
    : { out: '.jp-OutputArea-output', err: '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]',
        stderr: '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]' };
  const images = q(sel.out + ' img').map(${IMAGE_INFO});
  const plots = q('.mri2ct-plot').map((el) => Object.assign((${PLOT_INFO})(el), { text: (el.innerText || '').slice(0, 120) }));
  const viewers = q(sel.out + ' .mri2ct-slice-viewer').map((el) => {
    const cans = Array.from(el.querySelectorAll('canvas.mri2ct-panel'));
    const c = cans[0];
    let std = -1;
    if (c && c.width > 0) {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0, s = 0, s2 = 0;
      for (let i = 0; i < d.length; i += 4) { n++; s += d[i]; s2 += d[i] * d[i]; }
      std = Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2));
    }
    return { ready: el.getAttribute('data-ready') === '1', canvases: cans.length, sliders: el.querySelectorAll('input.mri2ct-slider').length, std };
  });
  const text = document.body.innerText || '';
  return {
    images, plots, viewers,
    errors: q(sel.err).map((e) => e.innerText.slice(0, 300)),
    stderrErrors: q(sel.stderr).map((e) => e.innerText).filter((t) => /Error/.test(t)).map((t) => t.slice(0, 300)),
    jsOutputErrors: (text.match(/Javascript error adding output[^\\n]*/g) || []),
    plotlyMissing: /plotly\\.js is not loaded/.test(text),
    plotly: window.Plotly ? window.Plotly.version : null,
  };
}`;

interface PageReport {
  images: ImageInfo[];
  plots: (PlotInfo & { text: string })[];
  viewers: { ready: boolean; canvases: number; sliders: number; std: number }[];
  errors: string[];
  stderrErrors: string[];
  jsOutputErrors: string[];
  plotlyMissing: boolean;
  plotly: string | null;
}

/** The page is drawn: plots have their SVG, images and slice viewers are decoded, or 30 s have passed. */
async function settle(page: Page): Promise<void> {
  await page.waitForFunction(`(() => {
    const plots = Array.from(document.querySelectorAll('.mri2ct-plot'));
    const imgs = Array.from(document.querySelectorAll('img'));
    const viewers = Array.from(document.querySelectorAll('.mri2ct-slice-viewer'));
    return plots.every((p) => p.querySelector('svg.main-svg')) && imgs.every((i) => i.complete) && viewers.every((v) => v.getAttribute('data-ready') === '1');
  })()`, null, { timeout: 30_000, polling: 250 }).catch(() => undefined);
  await page.waitForTimeout(500);
}

/** Full-page screenshot; the classic notebook scrolls inside #site, so that is unrolled first. */
async function screenshot(page: Page, file: string): Promise<void> {
  await page.addStyleTag({ content: 'html, body, #site { height: auto !important; overflow: visible !important; }' });
  await page.waitForTimeout(300);
  await page.screenshot({ path: file, fullPage: true });
}

function checkReport(name: string, r: PageReport, want: { images: number; plots: number; viewers: number }, pageErrors: string[]): void {
  const ctx = (what: string): string => `${name}: ${what}\n${JSON.stringify(r, null, 1).slice(0, 3000)}`;
  assert.deepEqual(r.errors, [], ctx('error outputs'));
  assert.deepEqual(r.stderrErrors, [], ctx('stderr outputs with "Error"'));
  assert.deepEqual(r.jsOutputErrors, [], ctx('"Javascript error adding output"'));
  assert.deepEqual(pageErrors, [], ctx('uncaught errors in the page'));
  assert.equal(r.images.length, want.images, ctx(`${want.images} images in the notebook, ${r.images.length} in the page`));
  checkImages(r.images, ctx);
  assert.equal(r.plots.length, want.plots, ctx(`${want.plots} plotly figures in the notebook, ${r.plots.length} in the page`));
  assert.equal(r.plotlyMissing, false, ctx('a figure says plotly.js is not loaded'));
  if (want.plots > 0) assert.ok(r.plotly !== null, ctx('window.Plotly is not defined'));
  checkPlots(r.plots, ctx);
  assert.equal(r.viewers.length, want.viewers, ctx(`${want.viewers} slice viewers in the notebook, ${r.viewers.length} in the page`));
  for (const [i, v] of r.viewers.entries()) {
    assert.ok(v.ready && v.canvases > 0 && v.sliders > 0, ctx(`slice viewer ${i} did not decode its data or build its panels`));
    assert.ok(v.std > 2, ctx(`slice viewer ${i} draws a blank first panel (std ${v.std.toFixed(2)})`));
  }
}

test('executed notebooks show their images and plots in a real Jupyter notebook server and in the HTML export (headless Chromium)', { timeout: 10 * 60_000 }, async (t) => {
  const t0 = Date.now();
  const lap = (what: string): void => t.diagnostic(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // Missing tools are failures: set-up installs them.
  assert.ok(fs.existsSync(chromiumPath), `no Chromium at ${chromiumPath}: run bash scripts/setup.sh (installs Debian's chromium)`);
  const nbv = spawnSync('jupyter', ['notebook', '--version'], { encoding: 'utf8' });
  assert.equal(nbv.status, 0, `no Jupyter notebook server (jupyter notebook --version failed: ${nbv.stderr ?? nbv.error}): run bash scripts/setup.sh (installs jupyter-notebook)`);
  assert.ok(notebooks.length > 0);

  // A scratch project: the notebooks import ../dist/src and write ../data_notebooks etc., so they
  // run next to links to this checkout's dist/ and node_modules/ without touching the checkout.
  const { tmp, proj, jdir } = scratchProject(root, 'mri2ct-browser-');
  // Jupyter state of its own (config, runtime, trust database) and this checkout's tslab kernel,
  // whatever kernel the machine has registered.
  const kdir = path.join(jdir, 'path', 'kernels', 'tslab');
  fs.mkdirSync(kdir, { recursive: true });
  fs.writeFileSync(path.join(kdir, 'kernel.json'), JSON.stringify({
    argv: [path.join(root, 'node_modules', '.bin', 'tslab'), 'kernel', '--config-path', '{connection_file}'],
    display_name: 'TypeScript', language: 'typescript',
  }));
  const env: NodeJS.ProcessEnv = {
    ...process.env, MRI2CT_NOTEBOOK_TEST: '1', JUPYTER_PATH: path.join(jdir, 'path'), JUPYTER_DATA_DIR: path.join(jdir, 'data'),
    JUPYTER_CONFIG_DIR: path.join(jdir, 'config'), JUPYTER_RUNTIME_DIR: path.join(jdir, 'runtime'),
  };
  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  const serverLog = path.join(tmp, 'server.log');
  const report: Record<string, unknown> = {};
  try {
    // 1. Execute the notebooks (as the notebook test does), into project/executed/.
    const executed = path.join(proj, 'executed');
    for (const nb of notebooks) {
      fs.copyFileSync(path.join(nbDir, nb), path.join(proj, 'notebooks', nb));
      const r = spawnSync('jupyter', ['nbconvert', '--to', 'notebook', '--execute', '--ExecutePreprocessor.timeout=600',
        '--ExecutePreprocessor.kernel_name=tslab', '--output-dir', executed, nb],
      { cwd: path.join(proj, 'notebooks'), env, encoding: 'utf8', timeout: 15 * 60_000 });
      assert.equal(r.status, 0, `executing ${nb} failed:\n${(r.stderr ?? '').split('\n').slice(-25).join('\n')}`);
      assert.equal(expectedOutputs(path.join(executed, nb)).errors, 0, `${nb} has error outputs`);
      lap(`executed ${nb}`);
    }
    const files = notebooks.map((nb) => path.join(executed, nb));
    // 2. Trust them (their HTML outputs carry <script>: plotly), then the static HTML export.
    const sign = spawnSync('/usr/bin/python3', ['-c', `import sys, nbformat
from nbformat.sign import NotebookNotary
n = NotebookNotary()
for f in sys.argv[1:]:
    nb = nbformat.read(f, as_version=4); n.sign(nb); assert n.check_signature(nb), f`, ...files], { env, encoding: 'utf8' });
    assert.equal(sign.status, 0, `signing the notebooks failed: ${sign.stderr}`);
    const html = spawnSync('jupyter', ['nbconvert', '--to', 'html', '--output-dir', path.join(tmp, 'html'), ...files], { env, encoding: 'utf8' });
    assert.equal(html.status, 0, `nbconvert --to html failed: ${html.stderr}`);
    lap('trusted and exported to HTML');

    // 3. The notebook server: 127.0.0.1 only, a random token, our own Jupyter dirs.
    const port = await freePort();
    const token = crypto.randomBytes(24).toString('hex');
    const log = fs.openSync(serverLog, 'w');
    server = spawn('jupyter', ['notebook', '--no-browser', '--ip=127.0.0.1', `--port=${port}`, '--port-retries=0',
      `--NotebookApp.token=${token}`, `--notebook-dir=${proj}`, ...(process.getuid?.() === 0 ? ['--allow-root'] : [])],
    { env, stdio: ['ignore', log, log], detached: true });
    fs.closeSync(log);
    const base = `http://127.0.0.1:${port}`;
    const headers = { Authorization: `token ${token}` };
    await waitForServer(server, base, headers, serverLog, 'the notebook server', 60);
    lap(`notebook server up on ${base}`);

    // 4. Chromium, no network beyond 127.0.0.1 and file://.
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    fs.mkdirSync(shotsDir, { recursive: true });
    for (const f of fs.readdirSync(shotsDir)) if (/^(notebook|html)-.*\.png$/.test(f)) fs.rmSync(path.join(shotsDir, f));

    for (const nb of notebooks) {
      const name = nb.replace(/\.ipynb$/, '');
      const want = expectedOutputs(path.join(executed, nb));
      for (const mode of ['classic', 'lab-html'] as const) {
        await t.test(`${nb} in the ${mode === 'classic' ? 'classic notebook server' : 'HTML export (JupyterLab template)'}`, async () => {
          const page = await context.newPage();
          const pageErrors: string[] = [];
          page.on('pageerror', (e) => pageErrors.push(String(e).slice(0, 300)));
          try {
            if (mode === 'classic') {
              await page.goto(`${base}/notebooks/executed/${encodeURIComponent(nb)}?token=${token}`, { timeout: 60_000 });
              await page.waitForFunction('window.Jupyter && Jupyter.notebook && Jupyter.notebook._fully_loaded === true', null, { timeout: 60_000 });
              const trusted = await page.evaluate('Jupyter.notebook.trusted');
              assert.equal(trusted, true, `${nb} is not trusted in the server (its scripts would not run)`);
            } else {
              await page.goto(`file://${path.join(tmp, 'html', `${name}.html`)}`, { timeout: 60_000, waitUntil: 'load' });
            }
            await settle(page);
            const r = (await page.evaluate(`(${PAGE_CHECK})(${JSON.stringify(mode === 'classic' ? 'classic' : 'lab')})`)) as PageReport;
            const shot = path.join(shotsDir, `${mode === 'classic' ? 'notebook' : 'html'}-${name}.png`);
            await screenshot(page, shot);
            report[`${mode}/${nb}`] = { expected: want, ...r, pageErrors, screenshot: path.relative(root, shot) };
            checkReport(`${nb} (${mode})`, r, want, pageErrors);
          } finally {
            await page.close();
          }
        });
      }
      lap(`checked ${nb}`);
    }
    const totals = Object.values(report) as PageReport[];
    assert.ok(totals.some((r) => r.images.length > 0), 'no notebook shows an image');
    assert.ok(totals.some((r) => r.plots.length > 0), 'no notebook shows a plotly figure');
    assert.ok(totals.some((r) => r.viewers.length > 0), 'no notebook shows a slice viewer');
    // Kernels that opening the notebooks started: shut them down through the API.
    await deleteSessions(base, headers);
  } finally {
    await tearDown({ reportFile: path.join(shotsDir, 'browser-report.json'), report, browser, server, tmp, diagnostic: (m) => t.diagnostic(m) });
  }
  lap('done');
});
