/**
 * Test helper: what the browser tests of the notebooks (test/browser.test.ts, classic notebook
 * and HTML export; test/jupyterlab.test.ts, JupyterLab) check in a page alike: the Chromium they
 * launch, the in-page JavaScript that reports each output image (loaded, shown, pixel spread
 * through a canvas) and each plotly figure (SVG of the figure's box with traces), and the
 * assertions on those reports.
 * Must not: know which notebook server or page layout a test drives (the tests select the
 * elements and pass them in), or start anything itself.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';

/** Debian's Chromium, or MRI2CT_CHROMIUM. */
export const CHROMIUM_PATH = process.env['MRI2CT_CHROMIUM'] ?? '/usr/bin/chromium';
/** Headless, no GPU, no background networking (the page reaches 127.0.0.1 and file:// only). */
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

/** The notebooks of `nbDir` (not nbconvert's executed copies), sorted. */
export function notebookFiles(nbDir: string): string[] {
  return fs.readdirSync(nbDir).filter((f) => f.endsWith('.ipynb') && !f.includes('.nbconvert')).sort();
}

/** An output image as IMAGE_INFO reports it; `std` is the luminance spread (-1: not decoded). */
export interface ImageInfo { src: string; complete: boolean; natural: number[]; shown: number[]; visible: boolean; std: number }
/** A plotly figure (div.mri2ct-plot) as PLOT_INFO reports it. */
export interface PlotInfo { id: string; box: number[]; svg: number[]; traces: number; marks: number }

/**
 * In the page (plain JavaScript source: the project's TypeScript has no DOM types):
 * `(img) => ImageInfo`, drawing a decoded image through a canvas for its luminance spread.
 */
export const IMAGE_INFO = `(img) => {
    const r = img.getBoundingClientRect();
    const o = { src: img.src.slice(0, 40), complete: img.complete, natural: [img.naturalWidth, img.naturalHeight],
                shown: [Math.round(r.width), Math.round(r.height)], visible: img.offsetParent !== null, std: -1 };
    if (img.complete && img.naturalWidth > 0) {
      const c = document.createElement('canvas');
      c.width = img.naturalWidth; c.height = img.naturalHeight;
      const ctx = c.getContext('2d');
      ctx.drawImage(img, 0, 0);
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      let n = 0, s = 0, s2 = 0;
      for (let i = 0; i < d.length; i += 4) { const y = 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2]; n++; s += y; s2 += y * y; }
      o.std = Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2));
    }
    return o;
  }`;

/** In the page (JavaScript source): `(el) => PlotInfo` for a div.mri2ct-plot. */
export const PLOT_INFO = `(el) => {
    const svg = el.querySelector('svg.main-svg');
    const r = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
    return { id: el.id, box: [el.clientWidth, el.clientHeight], svg: [Math.round(r.width), Math.round(r.height)],
             traces: el.querySelectorAll('.trace, .point, .hm').length,
             marks: el.querySelectorAll('.scatterlayer path, .barlayer path, .heatmaplayer image').length };
  }`;

/** Every image loaded, is shown and is not blank; `ctx` turns a finding into the failure message. */
export function checkImages(images: ImageInfo[], ctx: (what: string) => string): void {
  for (const [i, img] of images.entries()) {
    assert.ok(img.complete && img.natural[0]! > 0 && img.natural[1]! > 0, ctx(`image ${i} did not load`));
    assert.ok(img.visible && img.shown[0]! >= Math.min(16, img.natural[0]!) && img.shown[1]! > 0, ctx(`image ${i} is not shown`));
    assert.ok(img.std > 2, ctx(`image ${i} is blank (luminance std ${img.std.toFixed(2)})`));
  }
}

/** Every figure has a rendered SVG of its box's size and draws traces. */
export function checkPlots(plots: PlotInfo[], ctx: (what: string) => string): void {
  for (const [i, p] of plots.entries()) {
    assert.ok(p.svg[0]! > 100 && p.svg[1]! > 100, ctx(`figure ${i} has no rendered SVG`));
    assert.ok(Math.abs(p.svg[0]! - p.box[0]!) <= 2 && Math.abs(p.svg[1]! - p.box[1]!) <= 2, ctx(`figure ${i}: SVG ${p.svg} is not its box ${p.box}`));
    assert.ok(p.traces > 0 && p.marks > 0, ctx(`figure ${i} draws no traces`));
  }
}
