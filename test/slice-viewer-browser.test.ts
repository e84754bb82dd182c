/**
 * The slice viewer in a real browser (Debian's headless Chromium via playwright-core, as
 * test/browser.test.ts launches it): a generated viewer page opened from file://, no kernel, no
 * network. Arrow keys, a slider drag and the mouse wheel must change the displayed slice, and the
 * canvas pixels read back must be the quantised source values of the voxel the slice label and
 * the orientation rules (extractSlice) put there; in a three-plane viewer a click in the axial
 * panel must move the coronal and sagittal slices to the clicked voxel. Fails (does not skip)
 * when Chromium is missing.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Vec3, Volume } from '../src/io/volume';
import { quantise, sliceViewer } from '../src/notebook/slice-viewer';
import { extractSlice, type ViewPlane } from '../src/notebook/volume-views';

const chromiumPath = process.env['MRI2CT_CHROMIUM'] ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];
let browser: Browser;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-viewer-'));

before(async () => {
  browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
});
after(async () => {
  await browser?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const dims: Vec3 = [40, 32, 24];
/** Distinct values per slice and pixel; LAS-like affine (x flipped). */
const vol: Volume = (() => {
  const data = new Float32Array(dims[0] * dims[1] * dims[2]);
  for (let z = 0; z < dims[2]; z++) for (let y = 0; y < dims[1]; y++) for (let x = 0; x < dims[0]; x++) data[x + dims[0] * (y + dims[1] * z)] = ((x * 7 + y * 3) % 40) * 10 + z * 20;
  return { data, dims, spacing: [1, 1, 1], affine: [[-1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]] };
})();
const LOW = 0, HIGH = 900;

async function open(html: string, name: string): Promise<Page> {
  const file = path.join(tmp, `${name}.html`);
  fs.writeFileSync(file, `<!doctype html><html><head><meta charset="utf-8"></head><body>${html}</body></html>`);
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`file://${file}`, { waitUntil: 'load' });
  await page.waitForSelector('.mri2ct-slice-viewer[data-ready="1"]', { timeout: 10_000 });
  assert.deepEqual(errors, []);
  return page;
}

/** Slice label numbers and canvas pixels (RGB) of a plane's panel at slice pixels (c, r). */
async function read(page: Page, plane: ViewPlane, panel: number, pts: [number, number][], zoom: number): Promise<{ slice: number; rgb: number[][] }> {
  return page.evaluate(`(() => {
    const rows = Array.from(document.querySelectorAll('.mri2ct-slice-label'));
    const sliders = Array.from(document.querySelectorAll('.mri2ct-slider'));
    const k = sliders.findIndex((s) => s.getAttribute('data-plane') === ${JSON.stringify(plane)});
    const label = rows[k].textContent;
    const c = Array.from(document.querySelectorAll('canvas.mri2ct-panel[data-plane=${JSON.stringify(plane)}]'))[${panel}];
    const ctx = c.getContext('2d');
    const rgb = ${JSON.stringify(pts)}.map(([x, y]) => Array.from(ctx.getImageData(x * ${zoom} + ${zoom >> 1}, y * ${zoom} + ${zoom >> 1}, 1, 1).data.slice(0, 3)));
    return { slice: Number(/slice (\\d+)/.exec(label)[1]), rgb };
  })()`);
}

/** Expected grey codes of an axial/coronal/sagittal slice at pixels pts (via extractSlice). */
function expected(plane: ViewPlane, slice: number, pts: [number, number][]): number[] {
  const ref = extractSlice(vol, plane, slice);
  return pts.map(([c, r]) => quantise(ref.values[r * ref.width + c]!, LOW, HIGH));
}

const PTS: [number, number][] = [[0, 0], [5, 7], [39, 31], [20, 3], [13, 29]];

test('arrow keys, slider drag and wheel change the axial slice; pixels are the source codes', async () => {
  const v = sliceViewer([{ name: 'v', vol, low: LOW, high: HIGH }], [{ title: 'v', volume: 0 }], { panelPx: 160 });
  const zoom = Math.floor(160 / 40);
  const page = await open(v.html, 'axial');
  const check = async (what: string): Promise<number> => {
    const got = await read(page, 'axial', 0, PTS, zoom);
    assert.deepEqual(got.rgb.map((p) => p[0]), expected('axial', got.slice, PTS), `${what}: slice ${got.slice}`);
    for (const p of got.rgb) assert.ok(p[0] === p[1] && p[1] === p[2], 'grey');
    return got.slice;
  };
  assert.equal(await check('start'), 12);
  await page.focus('.mri2ct-slice-viewer');
  for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowUp');
  assert.equal(await check('3 × ArrowUp'), 15);
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Home');
  assert.equal(await check('Home'), 0);
  await page.focus('.mri2ct-slider');
  await page.keyboard.press('ArrowRight');
  assert.equal(await check('ArrowRight on the focused slider: one step, not two'), 1);
  // Drag the slider's thumb from the left end to three quarters of its width.
  const box = (await page.locator('.mri2ct-slider').boundingBox())!;
  await page.mouse.move(box.x + 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 4 });
  await page.mouse.move(box.x + box.width * 0.75, box.y + box.height / 2, { steps: 4 });
  await page.mouse.up();
  const dragged = await check('slider drag');
  assert.ok(dragged > 12 && dragged < 23, `drag to 3/4 lands near slice 17, got ${dragged}`);
  const cbox = (await page.locator('canvas.mri2ct-panel').boundingBox())!;
  await page.mouse.move(cbox.x + 10, cbox.y + 10);
  await page.mouse.wheel(0, 100);
  await page.waitForFunction(`document.querySelector('.mri2ct-slice-label').textContent.includes('slice ${dragged - 1} ')`);
  assert.equal(await check('wheel'), dragged - 1);
  const readout = await page.locator('.mri2ct-slice-viewer div[style*="monospace"]').last().textContent();
  assert.match(readout ?? '', /axial slice \d+\/23 +voxel/);
  await page.close();
});

test('three planes: a click in the axial panel moves the coronal and sagittal slices to that voxel', async () => {
  const v = sliceViewer([{ name: 'v', vol, low: LOW, high: HIGH }, { name: 'w', vol, low: LOW, high: HIGH }],
    [{ title: 'v', volume: 0 }, { title: 'w hot', volume: 1, colormap: 'hot' }], { planes: ['axial', 'coronal', 'sagittal'], panelPx: 120 });
  const zoom = Math.floor(120 / 40);
  const page = await open(v.html, 'planes');
  const axial = extractSlice(vol, 'axial', 12);
  // Click display pixel (c, r) of the axial panel: the voxel there, found from the display order.
  const [c, r] = [9, 21];
  const cbox = (await page.locator('canvas.mri2ct-panel[data-plane="axial"]').first().boundingBox())!;
  await page.mouse.click(cbox.x + (c + 0.5) * zoom, cbox.y + (r + 0.5) * zoom);
  // Which voxel is at (c, r): slices of coordinate volumes (value = x, value = y) say it.
  const coord = (axis: 0 | 1): Volume => ({ ...vol, data: Float32Array.from(vol.data, (_, i) => (axis === 0 ? i % dims[0] : Math.floor(i / dims[0]) % dims[1])) });
  const xs = extractSlice(coord(0), 'axial', 12).values[r * axial.width + c]!;
  const ys = extractSlice(coord(1), 'axial', 12).values[r * axial.width + c]!;
  const cor = await read(page, 'coronal', 0, [[0, 0], [c, 5], [17, 20]], zoom);
  const sag = await read(page, 'sagittal', 0, [[0, 0], [4, 9], [31, 23]], zoom);
  assert.equal(cor.slice, ys, 'coronal slice = y of the clicked voxel');
  assert.equal(sag.slice, xs, 'sagittal slice = x of the clicked voxel');
  // Pixels away from the crosshair lines are the source codes.
  const corPts: [number, number][] = [[0, 0], [17, 20]];
  const corGot = await read(page, 'coronal', 0, corPts, zoom);
  assert.deepEqual(corGot.rgb.map((p) => p[0]), expected('coronal', cor.slice, corPts));
  const sagPts: [number, number][] = [[0, 0], [31, 23]];
  const sagGot = await read(page, 'sagittal', 0, sagPts, zoom);
  assert.deepEqual(sagGot.rgb.map((p) => p[0]), expected('sagittal', sag.slice, sagPts));
  await page.close();
});

test('a mask overlay is drawn as its red outline; inside and outside it the source codes show', async () => {
  const mask: Volume = { ...vol, data: Float32Array.from(vol.data, (_, i) => { const x = i % dims[0], y = Math.floor(i / dims[0]) % dims[1]; return x >= 10 && x < 30 && y >= 8 && y < 24 ? 1 : 0; }) };
  const v = sliceViewer([{ name: 'v', vol, low: LOW, high: HIGH }, { name: 'mask', vol: mask, low: 0, high: 1 }],
    [{ title: 'v + mask', volume: 0, overlay: 1 }], { panelPx: 160 });
  const zoom = Math.floor(160 / 40);
  const page = await open(v.html, 'overlay');
  const m = extractSlice(mask, 'axial', 12);
  const inside = (c: number, r: number): boolean => c >= 0 && r >= 0 && c < m.width && r < m.height && m.values[r * m.width + c]! > 0.5;
  const edge: [number, number][] = [], other: [number, number][] = [];
  for (let r = 0; r < m.height; r++) {
    for (let c = 0; c < m.width; c++) {
      const e = inside(c, r) && (!inside(c - 1, r) || !inside(c + 1, r) || !inside(c, r - 1) || !inside(c, r + 1));
      (e ? edge : other).push([c, r]);
    }
  }
  assert.ok(edge.length > 40 && other.length > 500);
  const pick = <T>(a: T[], n: number): T[] => Array.from({ length: n }, (_, i) => a[Math.floor((i * a.length) / n)]!);
  const e = await read(page, 'axial', 0, pick(edge, 12), zoom);
  for (const p of e.rgb) assert.deepEqual(p, [255, 40, 40]);
  const o = pick(other, 20);
  const got = await read(page, 'axial', 0, o, zoom);
  assert.deepEqual(got.rgb.map((p) => p[0]), expected('axial', 12, o));
  await page.close();
});
