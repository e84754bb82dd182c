/**
 * The notebooks in a real JupyterLab, driven like a person drives it: starts JupyterLab from
 * scripts/setup.sh's .venv-jupyter/ (127.0.0.1, random port and token, a fresh workspace and
 * settings, no news or update pop-ups) on a scratch copy of the project (test sizes,
 * MRI2CT_NOTEBOOK_TEST=1), opens every notebook in headless Chromium (Debian's, through
 * playwright-core), runs it with the menu Run → Run All Cells in the tslab kernel that set-up
 * registered in .venv-jupyter/, waits for every cell and the kernel, and fails on error outputs,
 * stderr with an error or a stack trace, a dead kernel, a missing/unloaded/blank image or a plotly
 * figure without its SVG. Then the user's loop, typed into the cells' editors: notebook 03's
 * `augProb` 0 → augmented rows equal the originals (pixels of the preview image and its summary),
 * back to 0.8 (fixed seed in test mode) → they differ; another `patient` → another cached-pairs
 * image; notebook 04's `epochs` changed → the printed configuration and the training view follow.
 * Full-page screenshots (`jupyterlab-<notebook>.png`) and one per loop step
 * (`jupyterlab-<step>.png`) plus jupyterlab-report.json go to screenshots/ at the project root.
 *
 * Fails (does not skip) when .venv-jupyter/ (JupyterLab, the tslab kernel there) or Chromium is
 * missing: run bash scripts/setup.sh.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH as chromiumPath, IMAGE_INFO, PLOT_INFO, checkImages, checkPlots, notebookFiles } from './helpers/notebook-page';
import type { ImageInfo, PlotInfo } from './helpers/notebook-page';
import { deleteSessions, freePort, scratchProject, sleep, tearDown, waitForServer } from './helpers/notebook-server';

const root = path.resolve(__dirname, '..');
const nbDir = path.join(root, 'notebooks');
const shotsDir = path.join(root, 'screenshots');
const venv = path.join(root, '.venv-jupyter');
const notebooks = notebookFiles(nbDir);
const VIEWPORT = { width: 1280, height: 900 };

/** Settings of a fresh user: all cells attached to the DOM, no news/update toasts. */
const LAB_SETTINGS: Record<string, unknown> = {
  '@jupyterlab/notebook-extension/tracker': { windowingMode: 'none' },
  '@jupyterlab/apputils-extension/notification': { fetchNews: 'false', checkForUpdates: false, doNotDisturbMode: true },
};

/**
 * In the page (plain JavaScript: the project's TypeScript has no DOM types): the notebook's state.
 * Kernel status from the toolbar's execution indicator and the status bar; per code cell its
 * prompt; error outputs, stderr with an error or a stack trace; images (loaded, shown, pixel
 * spread through a canvas); plotly figures (SVG of the figure's box with traces).
 */
const PAGE_STATE = `() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const q = (sel) => Array.from(panel ? panel.querySelectorAll(sel) : []);
  const ind = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator');
  const statusBar = Array.from(document.querySelectorAll('#jp-main-statusbar .jp-StatusBar-TextItem, #jp-main-statusbar span'))
    .map((e) => e.textContent || '').filter((t) => /\\|/.test(t) || /Idle|Busy|Dead|Starting|Connecting|Restarting/i.test(t));
  const prompts = q('.jp-CodeCell .jp-InputPrompt').map((p) => (p.textContent || '').trim());
  const outputs = q('.jp-CodeCell').map((c) => c.querySelectorAll('.jp-OutputArea-output').length);
  const images = q('.jp-OutputArea-output img').map(${IMAGE_INFO});
  const plots = q('.mri2ct-plot').map(${PLOT_INFO});
  const stderr = q('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').map((e) => e.innerText || '');
  const text = panel ? panel.innerText : '';
  return {
    kernel: ind ? ind.getAttribute('data-status') : null,
    statusBar: statusBar.slice(0, 3),
    prompts, outputs,
    images, plots,
    errors: q('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]').map((e) => (e.innerText || '').slice(0, 400)),
    stderrErrors: stderr.filter((t) => /Error|^\\s+at .+:\\d+/m.test(t)).map((t) => t.slice(0, 600)),
    jsOutputErrors: (text.match(/Javascript error adding output[^\\n]*/g) || []),
    plotlyMissing: /plotly\\.js is not loaded/.test(text),
    dialogs: Array.from(document.querySelectorAll('.jp-Dialog')).map((d) => (d.innerText || '').slice(0, 300)),
  };
}`;

interface PageState {
  kernel: string | null;
  statusBar: string[];
  prompts: string[];
  /** Outputs per code cell. */
  outputs: number[];
  images: ImageInfo[];
  plots: PlotInfo[];
  errors: string[];
  stderrErrors: string[];
  jsOutputErrors: string[];
  plotlyMissing: boolean;
  dialogs: string[];
}

const state = async (page: Page): Promise<PageState> => (await page.evaluate(`(${PAGE_STATE})()`)) as PageState;
const DEAD = /^(dead|autorestarting|restarting|terminating)$/;
const DONE_PROMPT = /^\[\d+\]:$/;

function checkState(name: string, s: PageState, pageErrors: string[]): void {
  const ctx = (what: string): string => `${name}: ${what}\n${JSON.stringify(s, null, 1).slice(0, 4000)}`;
  assert.ok(s.kernel === 'idle', ctx(`the kernel is ${s.kernel}, not idle`));
  assert.deepEqual(s.dialogs, [], ctx('a dialog is open'));
  assert.ok(s.prompts.length > 0 && s.prompts.every((p) => DONE_PROMPT.test(p)), ctx('not every code cell ran'));
  assert.ok(s.outputs.length === s.prompts.length && s.outputs.every((n) => n > 0), ctx('a code cell shows nothing'));
  assert.deepEqual(s.errors, [], ctx('error outputs'));
  assert.deepEqual(s.stderrErrors, [], ctx('stderr with an error or a stack trace'));
  assert.deepEqual(s.jsOutputErrors, [], ctx('"Javascript error adding output"'));
  assert.deepEqual(pageErrors, [], ctx('uncaught errors in the page'));
  checkImages(s.images, ctx);
  assert.equal(s.plotlyMissing, false, ctx('a figure says plotly.js is not loaded'));
  checkPlots(s.plots, ctx);
}

/**
 * Waits until the kernel is idle and every code cell (or `cells` of them) shows a finished
 * prompt other than `before` (the prompts before the run); fails at once on a dead kernel or a
 * dialog (e.g. "kernel died").
 */
async function waitForRun(page: Page, what: string, timeoutMs: number, before?: string[], only?: number[]): Promise<PageState> {
  const t0 = Date.now();
  let stable = 0;
  let s = await state(page);
  for (;;) {
    s = await state(page);
    assert.ok(!DEAD.test(s.kernel ?? ''), `${what}: the kernel is ${s.kernel} (${s.statusBar.join(' ')})`);
    assert.deepEqual(s.dialogs, [], `${what}: a dialog opened`);
    const idx = only ?? s.prompts.map((_, i) => i);
    const done = s.kernel === 'idle' && idx.every((i) => DONE_PROMPT.test(s.prompts[i] ?? '') && (before === undefined || s.prompts[i] !== before[i]));
    stable = done ? stable + 1 : 0;
    if (stable >= 3) return s;
    if (Date.now() - t0 > timeoutMs) assert.fail(`${what}: not finished after ${timeoutMs / 1000} s: ${JSON.stringify({ kernel: s.kernel, prompts: s.prompts })}`);
    await sleep(500);
  }
}

/** Images decoded and plots drawn (or 30 s), then a little more. */
async function settle(page: Page): Promise<void> {
  await page.waitForFunction(`(() => {
    const plots = Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .mri2ct-plot'));
    const imgs = Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output img'));
    return plots.every((p) => p.querySelector('svg.main-svg')) && imgs.every((i) => i.complete);
  })()`, null, { timeout: 30_000, polling: 250 }).catch(() => undefined);
  await page.waitForTimeout(500);
}

/** The whole notebook: the window made as tall as the notebook's content, then restored. */
async function fullScreenshot(page: Page, file: string): Promise<void> {
  // The notebook scrolls inside its panel: grow the window by what is hidden below.
  const hidden = (await page.evaluate(`(() => {
    const els = Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer, .jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook'));
    return Math.max(0, ...els.map((el) => el.scrollHeight - el.clientHeight));
  })()`)) as number;
  await page.setViewportSize({ width: VIEWPORT.width, height: Math.min(20_000, VIEWPORT.height + hidden + 40) });
  await page.waitForTimeout(800);
  await page.screenshot({ path: file });
  await page.setViewportSize(VIEWPORT);
  await page.waitForTimeout(300);
}

/** The code cell whose source contains `text`. */
function codeCell(page: Page, text: string): Locator {
  return page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell')
    .filter({ has: page.locator('.jp-InputArea .cm-content', { hasText: text }) });
}

/** Replaces the editor line holding `from` by `to`, typed into CodeMirror; checks the result. */
async function replaceLine(page: Page, cell: Locator, from: string, to: string): Promise<void> {
  const line = cell.locator('.cm-line', { hasText: from });
  assert.equal(await line.count(), 1, `one line with ${JSON.stringify(from)} in the cell`);
  await line.scrollIntoViewIfNeeded();
  await line.click();
  await page.keyboard.press('End');
  await page.keyboard.press('Shift+Home');
  await page.keyboard.insertText(to);
  await page.waitForTimeout(200);
  const lines = await cell.locator('.cm-line').allInnerTexts();
  assert.ok(lines.includes(to), `the editor now holds ${JSON.stringify(to)}: ${JSON.stringify(lines)}`);
  assert.ok(!lines.includes(from), `the editor no longer holds ${JSON.stringify(from)}`);
}

/** Runs the cells (each: click into its editor, Ctrl+Enter) and waits for them and the kernel. */
async function runCells(page: Page, what: string, cells: Locator[], timeoutMs = 5 * 60_000): Promise<PageState> {
  const all = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell');
  const n = await all.count();
  const index: number[] = [];
  for (const c of cells) {
    const h = await c.elementHandle();
    assert.ok(h !== null, `${what}: the cell exists`);
    for (let i = 0; i < n; i++) {
      if (await all.nth(i).evaluate((el, other) => el === other, h)) { index.push(i); break; }
    }
  }
  assert.equal(index.length, cells.length, `${what}: cells found`);
  const before = (await state(page)).prompts;
  for (const c of cells) {
    await c.locator('.cm-content').first().click();
    await page.keyboard.press('Control+Enter'); // run this cell (Shift+Enter would add a cell after the last one)
    await page.waitForTimeout(300);
  }
  return waitForRun(page, what, timeoutMs, before, index);
}

/** The text the cell's outputs show. */
const outputText = async (cell: Locator): Promise<string> => (await cell.locator('.jp-OutputArea').allInnerTexts()).join('\n');

/**
 * In the page: the augmentation preview PNG (panel-grid layout: 26 px figure title, then rows
 * MRI, augmented MRI, CT, augmented CT of `columns` panels, each 22 px title + size + 18 px
 * foot, 8 px apart) cut into panels; per column, the mean absolute grey difference between
 * MRI and augmented MRI and between CT and augmented CT, inside the image area less 20 px at
 * the edges (where the originals carry orientation letters).
 */
const PREVIEW_DIFF = `(img, columns) => {
  const W = img.naturalWidth, H = img.naturalHeight;
  const size = (W - 8) / columns - 8, cellH = size + 40;
  if (!Number.isInteger(size) || H !== 4 * cellH + 30) return { error: 'unexpected layout ' + W + 'x' + H };
  const c = document.createElement('canvas'); c.width = W; c.height = H;
  const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(0, 0, W, H).data;
  const grey = (x, y) => { const i = 4 * (y * W + x); return 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2]; };
  const m = 20, diff = (colI, rowA, rowB) => {
    const x0 = 4 + colI * (size + 8), ya = 26 + rowA * cellH + 22, yb = 26 + rowB * cellH + 22;
    let s = 0, n = 0;
    for (let y = m; y < size - m; y++) for (let x = m; x < size - m; x++) { s += Math.abs(grey(x0 + x, ya + y) - grey(x0 + x, yb + y)); n++; }
    return s / n;
  };
  const cols = Array.from({ length: columns }, (_, i) => i);
  return { size, mri: cols.map((i) => diff(i, 0, 1)), ct: cols.map((i) => diff(i, 2, 3)) };
}`;

/** A screenshot of a taller window with the cell's top at the top of the notebook. */
async function cellScreenshot(page: Page, cell: Locator, file: string): Promise<void> {
  await page.setViewportSize({ width: VIEWPORT.width, height: 1500 });
  await page.waitForTimeout(300);
  await cell.evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await page.waitForTimeout(300);
  await page.screenshot({ path: file });
  await page.setViewportSize(VIEWPORT);
}

async function previewDiff(cell: Locator, columns: number): Promise<{ size: number; mri: number[]; ct: number[] }> {
  const img = cell.locator('.jp-OutputArea-output img').first();
  const r = (await img.evaluate((el, a) => (0, eval)(a.src)(el, a.columns), { src: PREVIEW_DIFF, columns })) as { error?: string; size: number; mri: number[]; ct: number[] };
  assert.equal(r.error, undefined, r.error);
  return r;
}

test('every notebook runs in a real JupyterLab (Run All Cells, tslab kernel, headless Chromium); the user edits settings in the cells and reruns them', { timeout: 60 * 60_000 }, async (t) => {
  const t0 = Date.now();
  const lap = (what: string): void => t.diagnostic(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // Missing tools are failures: set-up installs them.
  assert.ok(fs.existsSync(chromiumPath), `no Chromium at ${chromiumPath}: run bash scripts/setup.sh (installs Debian's chromium)`);
  const labBin = path.join(venv, 'bin', 'jupyter-lab');
  const lv = spawnSync(labBin, ['--version'], { encoding: 'utf8' });
  assert.equal(lv.status, 0, `no JupyterLab in .venv-jupyter/ (${labBin} --version: ${lv.stderr ?? ''}${lv.error ?? ''}): run bash scripts/setup.sh without MRI2CT_SKIP_JUPYTERLAB=1`);
  const ks = spawnSync(path.join(venv, 'bin', 'jupyter'), ['kernelspec', 'list', '--json'], { encoding: 'utf8' });
  assert.equal(ks.status, 0, `jupyter kernelspec list failed: ${ks.stderr}`);
  const tslabSpec = (JSON.parse(ks.stdout) as { kernelspecs: Record<string, { resource_dir: string; spec: { argv: string[] } }> }).kernelspecs['tslab'];
  assert.ok(tslabSpec !== undefined, `.venv-jupyter's Jupyter has no tslab kernel: run bash scripts/setup.sh\n${ks.stdout}`);
  // realpath: a worktree may have .venv-jupyter as a symlink, and Jupyter reports resolved paths.
  assert.ok(fs.realpathSync(tslabSpec.resource_dir).startsWith(fs.realpathSync(venv)), `the tslab kernel JupyterLab uses is not set-up's one in .venv-jupyter/: ${tslabSpec.resource_dir}`);
  assert.ok(fs.existsSync(tslabSpec.spec.argv[0]!), `the tslab kernel's binary is missing: ${tslabSpec.spec.argv[0]}`);
  assert.ok(['03_inspect_cache.ipynb', '04_train.ipynb'].every((nb) => notebooks.includes(nb)));

  // A scratch project (the notebooks import ../dist/src and write ../data_notebooks etc.): links
  // to this checkout's dist/ and node_modules/, copies of the notebooks.
  const { tmp, proj, jdir } = scratchProject(root, 'mri2ct-jupyterlab-');
  for (const nb of notebooks) fs.copyFileSync(path.join(nbDir, nb), path.join(proj, 'notebooks', nb));
  // A fresh user: Jupyter config/data/runtime dirs, workspace and settings of its own (the kernel
  // comes from .venv-jupyter's sys-prefix registration, checked above).
  const settingsDir = path.join(jdir, 'lab-settings');
  for (const [id, value] of Object.entries(LAB_SETTINGS)) {
    const [pkgA, pkgB, plugin] = id.split('/');
    const dir = path.join(settingsDir, `${pkgA}/${pkgB}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${plugin}.jupyterlab-settings`), JSON.stringify(value));
  }
  // JupyterLab's debugger asks every kernel for a debug session; tslab has none, and each refusal
  // is an uncaught 'No active debugger session' in the page: the debugger is off here.
  fs.mkdirSync(path.join(jdir, 'config', 'labconfig'), { recursive: true });
  fs.writeFileSync(path.join(jdir, 'config', 'labconfig', 'page_config.json'),
    JSON.stringify({ disabledExtensions: { '@jupyterlab/debugger-extension': true } }));
  const env: NodeJS.ProcessEnv = {
    ...process.env, MRI2CT_NOTEBOOK_TEST: '1', JUPYTER_DATA_DIR: path.join(jdir, 'data'),
    JUPYTER_CONFIG_DIR: path.join(jdir, 'config'), JUPYTER_RUNTIME_DIR: path.join(jdir, 'runtime'),
  };
  delete env['JUPYTER_PATH'];
  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  const serverLog = path.join(tmp, 'server.log');
  const report: Record<string, unknown> = { jupyterlab: lv.stdout.trim() };
  try {
    const port = await freePort();
    const token = crypto.randomBytes(24).toString('hex');
    const log = fs.openSync(serverLog, 'w');
    server = spawn(labBin, ['--no-browser', '--ServerApp.ip=127.0.0.1', `--ServerApp.port=${port}`, '--ServerApp.port_retries=0',
      `--IdentityProvider.token=${token}`, `--ServerApp.root_dir=${path.join(proj, 'notebooks')}`,
      `--LabApp.workspaces_dir=${path.join(jdir, 'workspaces')}`, `--LabApp.user_settings_dir=${settingsDir}`,
      ...(process.getuid?.() === 0 ? ['--allow-root'] : [])],
    { env, stdio: ['ignore', log, log], detached: true });
    fs.closeSync(log);
    const base = `http://127.0.0.1:${port}`;
    const headers = { Authorization: `token ${token}` };
    await waitForServer(server, base, headers, serverLog, 'JupyterLab', 120);
    lap(`JupyterLab ${lv.stdout.trim()} up on ${base}`);

    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
    const context = await browser.newContext({ viewport: VIEWPORT });
    fs.mkdirSync(shotsDir, { recursive: true });
    for (const f of fs.readdirSync(shotsDir)) if (/^jupyterlab-.*\.png$/.test(f)) fs.rmSync(path.join(shotsDir, f));
    const shot = (name: string): string => path.join(shotsDir, `jupyterlab-${name}.png`);

    for (const nb of notebooks) {
      const name = nb.replace(/\.ipynb$/, '');
      await t.test(`${nb}: Run All Cells in JupyterLab`, async (tt) => {
        const n0 = Date.now();
        const page = await context.newPage();
        const pageErrors: string[] = [];
        page.on('pageerror', (e) => pageErrors.push(String(e).slice(0, 300)));
        try {
          page.setDefaultTimeout(60_000);
          // A workspace of its own per notebook (reset): no tabs restored from the previous one.
          await page.goto(`${base}/lab/workspaces/${encodeURIComponent(name)}/tree/${encodeURIComponent(nb)}?token=${token}&reset`, { timeout: 120_000 });
          await page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-cell').first().waitFor({ timeout: 120_000 });
          // A kernel chooser would open only if the notebook's kernel were unknown: take tslab.
          const dialog = page.locator('.jp-Dialog');
          for (let i = 0; i < 20; i++) {
            const s = await state(page);
            if (s.kernel === 'idle') break;
            if (await dialog.count() > 0) {
              tt.diagnostic(`${nb}: dialog ${JSON.stringify((await dialog.first().innerText()).slice(0, 300))}`);
              const select = dialog.locator('select');
              if (await select.count() > 0) await select.selectOption('tslab');
              await dialog.locator('.jp-mod-accept').click();
            }
            await sleep(1000);
          }
          // The notebook's kernel (tslab, "TypeScript") started and idle.
          const ready = await page.waitForFunction(`(() => {
            const p = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
            const i = p && p.querySelector('.jp-Notebook-ExecutionIndicator');
            const k = p && p.querySelector('.jp-KernelName');
            return i && k && k.textContent.trim() === 'TypeScript' && i.getAttribute('data-status') === 'idle';
          })()`, null, { timeout: 120_000, polling: 250 }).then(() => true, () => false);
          const kernelName = (await page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-KernelName').first().innerText()).trim();
          assert.ok(ready, `${nb}: no idle tslab kernel within 120 s (kernel: ${kernelName}; ${JSON.stringify((await state(page)).statusBar)})`);
          // Run → Run All Cells (the notebook focused first, so that it is the current widget);
          // retried if no cell starts within 20 s.
          const startedRun = async (): Promise<boolean> => {
            for (let i = 0; i < 40; i++) {
              const p = (await state(page)).prompts;
              if (p.some((x) => x === '[*]:' || DONE_PROMPT.test(x))) return true;
              await sleep(500);
            }
            return false;
          };
          let started = false;
          for (let attempt = 0; attempt < 3 && !started; attempt++) {
            await page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell .jp-InputPrompt').first().click();
            await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Run$/ }).click();
            const item = page.locator('.lm-Menu-item', { has: page.locator('.lm-Menu-itemLabel', { hasText: /^Run All Cells$/ }) });
            await item.waitFor({ timeout: 10_000 });
            const cls = await item.getAttribute('class');
            await item.click();
            started = await startedRun();
            if (!started) {
              tt.diagnostic(`${nb}: Run All Cells started nothing (menu item class "${cls}"); again`);
              await page.keyboard.press('Escape');
            }
          }
          assert.ok(started, `${nb}: Run → Run All Cells started no cell`);
          await waitForRun(page, `${nb}: Run All Cells`, 15 * 60_000);
          await settle(page);
          const s = await state(page);
          const file = shot(name);
          await fullScreenshot(page, file);
          report[nb] = { ...s, pageErrors, seconds: (Date.now() - n0) / 1000, screenshot: path.relative(root, file) };
          checkState(nb, s, pageErrors);

          if (nb === '03_inspect_cache.ipynb') await loop03(page, tt, pageErrors);
          if (nb === '04_train.ipynb') await loop04(page, tt, pageErrors);
        } catch (e) {
          await page.screenshot({ path: shot(`${name}-failure`) }).catch(() => undefined);
          report[`${nb}/failure`] = await state(page).catch((err: unknown) => String(err));
          throw e;
        } finally {
          await page.close();
          // The notebook's kernel is shut down before the next one starts (memory, CPU).
          await deleteSessions(base, headers);
        }
      });
      lap(`ran ${nb}`);
    }
    const totals = notebooks.map((nb) => report[nb] as PageState | undefined);
    assert.ok(totals.some((r) => (r?.images.length ?? 0) > 0), 'no notebook shows an image');
    assert.ok(totals.some((r) => (r?.plots.length ?? 0) > 0), 'no notebook shows a plotly figure');
    await deleteSessions(base, headers);
  } finally {
    await tearDown({ reportFile: path.join(shotsDir, 'jupyterlab-report.json'), report, browser, server, tmp, diagnostic: (m) => t.diagnostic(m) });
  }
  lap('done');

  // --- the user's loop ----------------------------------------------------------------------
  async function loop03(page: Page, tt: { diagnostic(m: string): void }, pageErrors: string[]): Promise<void> {
    const shot = (name: string): string => path.join(shotsDir, `jupyterlab-${name}.png`);
    const config = codeCell(page, 'const augProb =');
    const augment = codeCell(page, 'const augment: mri2ct.AugmentOptions');
    const previewCell = codeCell(page, 'augmentationPreview(cached');
    const pairs = codeCell(page, 'cachedPairsFigure(cached');
    const columns = (await config.locator('.cm-line', { hasText: 'const slices =' }).innerText()).match(/TEST \? \[([^\]]*)\]/)?.[1]?.split(',').length;
    assert.ok(columns !== undefined && columns > 0, 'the slice list of the configuration cell');
    const loopReport: Record<string, unknown> = {};
    report['03_inspect_cache.ipynb/loop'] = loopReport;
    const first = await previewDiff(previewCell, columns);
    loopReport['augProb 0.8 (Run All)'] = { ...first, summary: await outputText(previewCell) };

    // augProb 0: no sample is touched, the augmented rows are the originals.
    await replaceLine(page, config, 'const augProb = 0.8;', 'const augProb = 0;');
    let s = await runCells(page, '03: augProb 0', [config, augment, previewCell]);
    await settle(page);
    assert.match(await outputText(augment), /augProb: 0\b/, 'the augment cell shows augProb 0');
    const off = await previewDiff(previewCell, columns);
    const offText = await outputText(previewCell);
    loopReport['augProb 0'] = { ...off, summary: offText };
    await cellScreenshot(page, previewCell, shot('03-augprob-0'));
    checkState('03 after augProb 0', s, pageErrors);
    assert.match(offText, new RegExp(`\\b0 of ${columns} slice\\(s\\) augmented`), `augProb 0 augments nothing:\n${offText}`);
    for (const v of [...off.mri, ...off.ct]) assert.ok(v < 1.5, `augProb 0: augmented rows equal the originals (mean |Δgrey| per panel: ${JSON.stringify(off)})`);

    // Back to 0.8 (seed fixed in test mode): the augmented rows differ again, as in the first run.
    await replaceLine(page, config, 'const augProb = 0;', 'const augProb = 0.8;');
    s = await runCells(page, '03: augProb 0.8', [config, augment, previewCell]);
    await settle(page);
    const on = await previewDiff(previewCell, columns);
    const onText = await outputText(previewCell);
    loopReport['augProb 0.8'] = { ...on, summary: onText };
    await cellScreenshot(page, previewCell, shot('03-augprob-0.8'));
    checkState('03 after augProb 0.8', s, pageErrors);
    const augmented = Number(onText.match(/(\d+) of \d+ slice\(s\) augmented/)?.[1] ?? 0);
    assert.ok(augmented > 0, `augProb 0.8 augments some slices:\n${onText}`);
    assert.ok(Math.max(...on.mri) > 10 && Math.max(...on.ct) > 10, `augProb 0.8: augmented rows differ from the originals: ${JSON.stringify(on)}`);
    for (let i = 0; i < columns; i++) {
      assert.ok(Math.abs(on.mri[i]! - first.mri[i]!) < 0.5 && Math.abs(on.ct[i]! - first.ct[i]!) < 0.5, `the fixed seed repeats the first run's draw (column ${i}): ${JSON.stringify({ first, on })}`);
    }

    // Another patient: another cached-pairs image.
    const srcOf = async (): Promise<string> => pairs.locator('.jp-OutputArea-output img').first().getAttribute('src').then((v) => v ?? '');
    const before = await srcOf();
    assert.ok(before.length > 100, 'the cached-pairs image has data');
    await replaceLine(page, config, "const patient = 'brain_001';", "const patient = 'brain_002';");
    s = await runCells(page, '03: patient brain_002', [config, pairs]);
    await settle(page);
    const after = await srcOf();
    const pairsText = await outputText(pairs);
    loopReport['patient brain_002'] = { text: pairsText, srcChanged: after !== before, srcLength: [before.length, after.length] };
    await cellScreenshot(page, pairs, shot('03-patient-brain_002'));
    checkState('03 after patient brain_002', s, pageErrors);
    assert.match(pairsText, /brain_002/, `the cached-pairs cell reads brain_002:\n${pairsText}`);
    assert.notEqual(after, before, 'another patient draws another cached-pairs image');
    tt.diagnostic(`03 loop: ${JSON.stringify(loopReport)}`);
  }

  async function loop04(page: Page, tt: { diagnostic(m: string): void }, pageErrors: string[]): Promise<void> {
    const shot = (name: string): string => path.join(shotsDir, `jupyterlab-${name}.png`);
    const config = codeCell(page, 'const epochs =');
    const trainCell = codeCell(page, 'mri2ct.trainingDisplay(');
    const viewText = await outputText(trainCell);
    assert.match(viewText, /epoch 2\/2/, `the training view of the Run All shows epoch 2/2:\n${viewText.slice(0, 1500)}`);
    await replaceLine(page, config, 'const epochs = TEST ? 2 : 10;', 'const epochs = TEST ? 1 : 10;');
    const s = await runCells(page, '04: epochs 1', [config, trainCell], 10 * 60_000);
    await settle(page);
    const configText = await outputText(config);
    const trainText = await outputText(trainCell);
    report['04_train.ipynb/loop'] = { config: configText, training: trainText.slice(0, 2000) };
    await cellScreenshot(page, config, shot('04-epochs-1-config'));
    await cellScreenshot(page, trainCell, shot('04-epochs-1-training'));
    checkState('04 after epochs 1', s, pageErrors);
    assert.match(configText, /epochs: 1\b/, `the configuration cell prints epochs: 1:\n${configText}`);
    assert.match(trainText, /epoch 1\/1/, `the training view shows epoch 1/1:\n${trainText.slice(0, 1500)}`);
    assert.doesNotMatch(trainText, /epoch 2\/2/, 'the training view no longer shows the 2-epoch run');
    assert.match(trainText, /best validation MAE \d/, `the training view's closing note:\n${trainText.slice(-800)}`);
    tt.diagnostic(`04 loop: ${JSON.stringify(report['04_train.ipynb/loop']).slice(0, 600)}`);
  }
});
