/**
 * A self-contained interactive slice browser for notebooks: one HTML string (a <div>, canvases
 * and an inline script, no network, no external library) that scrolls through the slices of one
 * or more volumes without the kernel, so it also works in saved notebooks, nbconvert HTML and
 * Colab's sandboxed outputs. The notebook shows it with `tslab.display.html(viewer.html)`.
 *
 * Payload: every volume is block-averaged down so that no axis exceeds `maxDim`, quantised to
 * 8 bits over its stated range [low, high] (code = round(255·(v − low)/(high − low)), clamped; so
 * a code stands for low + code·(high − low)/255, ± half a step) and packed, three volumes per
 * PNG (red, green, blue channels), as an atlas of its storage-order z slices (tile z at column
 * z mod cols, row ⌊z / cols⌋; tile pixel (x, y) = voxel (x, y, z)). The browser cuts axial,
 * coronal or sagittal slices from it through per-plane lookup tables computed here with the
 * same orientation rules as the static figures (src/notebook/volume-views.ts): display column c
 * shows voxel `colIndex[c]` along `colAxis`, display row r `rowIndex[r]` along `rowAxis`.
 * Must not: import tslab or display anything, read or write files, or reach the network (the
 * HTML must stay self-contained).
 */
import { createCanvas } from 'canvas';
import type { Affine, Vec3, Volume } from '../io/volume';
import { HOT_COLORMAP } from '../viz/window';
import { SLICE_VIEWER_SCRIPT } from './slice-viewer-script';
import { extractSlice, sliceCount, type ViewPlane } from './volume-views';

/** One volume of a viewer and how its 8-bit codes map back to values. */
export interface ViewerVolume {
  /** Short name, shown in the pointer readout. */
  name: string;
  vol: Volume<ArrayLike<number>>;
  /** Quantisation range: code 0 = low, code 255 = high (values outside are clamped). */
  low: number;
  high: number;
  /** Unit for the readout ('HU', '' …). */
  unit?: string;
  /** Decimals of the readout. Default: enough for the quantisation step. */
  decimals?: number;
}

/** One picture column: a volume drawn in grey or 'hot', optionally with a mask overlaid. */
export interface ViewerPanel {
  title: string;
  /** Index into `volumes`. */
  volume: number;
  colormap?: 'gray' | 'hot';
  /** Index into `volumes` of a mask (codes > 127 = inside) drawn as a red outline. */
  overlay?: number;
}

export interface SliceViewerOptions {
  title?: string;
  /** Planes shown, one row each. Default ['axial']. */
  planes?: ViewPlane[];
  /** Synchronised crosshair: a click or drag in one plane moves the others' slices. Default: planes > 1. */
  crosshair?: boolean;
  /** No axis of the packed volumes exceeds this (block averaging by whole factors). Default 160. */
  maxDim?: number;
  /** Displayed panel size in CSS pixels (integer zoom of the slice, at least 1×). Default 256. */
  panelPx?: number;
  /** Voxel index where the viewer opens (default: the centre). */
  start?: Vec3;
  /** Resample rows so pixels are square in mm (as the static figures do). Default true. */
  squarePixels?: boolean;
  /** A note under the viewer (e.g. the quantisation of each volume). */
  note?: string;
}

/** Where a plane's display pixels come from. */
export interface PlaneGeometry {
  plane: ViewPlane;
  width: number;
  height: number;
  normalAxis: 0 | 1 | 2;
  colAxis: 0 | 1 | 2;
  rowAxis: 0 | 1 | 2;
  colIndex: number[];
  rowIndex: number[];
  count: number;
  orientation: [string, string, string, string];
}

/** What the inline script reads (also what tests decode). */
export interface SliceViewerData {
  title: string;
  dims: Vec3;
  factor: Vec3;
  /** Atlases: base64 PNG, tile grid. */
  atlases: { png: string; cols: number; width: number; height: number }[];
  volumes: { name: string; atlas: number; channel: number; low: number; high: number; unit: string; decimals: number }[];
  panels: { title: string; volume: number; colormap: 'gray' | 'hot'; overlay: number }[];
  planes: PlaneGeometry[];
  crosshair: boolean;
  zoom: number;
  start: Vec3;
  note: string;
  hot: number[];
}

export interface SliceViewer {
  html: string;
  /** Bytes of the HTML (what the notebook output carries). */
  bytes: number;
  /** Bytes of the PNG atlases alone. */
  pngBytes: number;
  /** Packed grid (after downsampling) and the whole factors used. */
  dims: Vec3;
  factor: Vec3;
  /** One line: payload and quantisation. */
  summary: string;
}

/** 8-bit code of v over [low, high] (NaN → 0). */
export function quantise(v: number, low: number, high: number): number {
  if (!Number.isFinite(v)) return 0;
  const t = ((v - low) / (high - low)) * 255;
  return t <= 0 ? 0 : t >= 255 ? 255 : Math.round(t);
}

/** The value a code stands for. */
export function dequantise(code: number, low: number, high: number): number {
  return low + (code * (high - low)) / 255;
}

/** Whole factors per axis so that ceil(dim / factor) ≤ maxDim. */
export function downsampleFactors(dims: Vec3, maxDim: number): Vec3 {
  return dims.map((d) => Math.max(1, Math.ceil(d / Math.max(1, maxDim)))) as Vec3;
}

/** Block mean by whole factors (the last block of an axis may be partial); NaN counts as 0. */
export function downsampleVolume(vol: Volume<ArrayLike<number>>, f: Vec3): Volume {
  const [nx, ny, nz] = vol.dims;
  if (f[0] === 1 && f[1] === 1 && f[2] === 1) {
    const data = new Float32Array(vol.data.length);
    for (let i = 0; i < data.length; i++) { const v = Number(vol.data[i]); data[i] = Number.isFinite(v) ? v : 0; }
    return { ...vol, data };
  }
  const d = vol.dims.map((n, i) => Math.ceil(n / f[i as 0])) as Vec3;
  const sum = new Float64Array(d[0] * d[1] * d[2]);
  const cnt = new Uint32Array(sum.length);
  for (let z = 0; z < nz; z++) {
    const oz = Math.floor(z / f[2]) * d[0] * d[1];
    for (let y = 0; y < ny; y++) {
      const oy = oz + Math.floor(y / f[1]) * d[0];
      const row = nx * (y + ny * z);
      for (let x = 0; x < nx; x++) {
        const o = oy + Math.floor(x / f[0]);
        const v = Number(vol.data[row + x]);
        if (Number.isFinite(v)) sum[o]! += v;
        cnt[o]! += 1;
      }
    }
  }
  const affine: Affine = vol.affine.map((r, i) => (i < 3 ? r.map((v, j) => (j < 3 ? v * f[j as 0] : v)) : r.slice()));
  return {
    data: Float32Array.from(sum, (s, i) => s / Math.max(1, cnt[i] ?? 1)),
    dims: d,
    spacing: vol.spacing.map((s, i) => s * f[i as 0]) as Vec3,
    affine,
  };
}

/** Display lookup tables of a plane of a grid (dims, spacing, affine), from extractSlice itself. */
export function planeGeometry(grid: Pick<Volume, 'dims' | 'spacing' | 'affine'>, plane: ViewPlane, squarePixels = true): PlaneGeometry {
  const n = grid.dims[0] * grid.dims[1] * grid.dims[2];
  const coord = (axis: number): Volume => {
    const data = new Float32Array(n);
    const [nx, ny] = grid.dims;
    for (let i = 0; i < n; i++) data[i] = axis === 0 ? i % nx : axis === 1 ? Math.floor(i / nx) % ny : Math.floor(i / (nx * ny));
    return { data, dims: grid.dims, spacing: grid.spacing, affine: grid.affine };
  };
  const views = [0, 1, 2].map((a) => extractSlice(coord(a), plane, 0, { squarePixels }));
  const v0 = views[0]!;
  const { width, height } = v0;
  const normalAxis = v0.normalAxis;
  const inPlane = ([0, 1, 2] as const).filter((a) => a !== normalAxis);
  // Along a column (row 0 → 1 …) only one in-plane coordinate changes; it is the row axis.
  const varies = (a: number, dc: number, dr: number): boolean =>
    width > dc && height > dr && views[a]!.values[dr * width + dc] !== views[a]!.values[0];
  const colAxis: 0 | 1 | 2 = inPlane.find((a) => varies(a, 1, 0)) ?? inPlane.find((a) => !varies(a, 0, 1)) ?? inPlane[0] ?? 0;
  const rowAxis: 0 | 1 | 2 = inPlane.find((a) => a !== colAxis) ?? 1;
  const clampTo = (v: number, a: number): number => Math.max(0, Math.min(grid.dims[a]! - 1, Math.round(v)));
  return {
    plane,
    width,
    height,
    normalAxis,
    colAxis,
    rowAxis,
    colIndex: Array.from({ length: width }, (_, c) => clampTo(views[colAxis]!.values[c]!, colAxis)),
    rowIndex: Array.from({ length: height }, (_, r) => clampTo(views[rowAxis]!.values[r * width]!, rowAxis)),
    count: sliceCount(grid, plane),
    orientation: v0.orientation,
  };
}

/** Packs up to three same-grid volumes of 8-bit codes into one RGB PNG atlas of z tiles. */
export function packAtlas(codes: Uint8Array[], dims: Vec3): { png: Buffer; cols: number; width: number; height: number } {
  const [nx, ny, nz] = dims;
  const cols = Math.ceil(Math.sqrt(nz));
  const rows = Math.ceil(nz / cols);
  const W = cols * nx;
  const H = rows * ny;
  const c = createCanvas(W, H);
  const ctx = c.getContext('2d');
  const img = ctx.createImageData(W, H);
  const px = img.data;
  for (let i = 3; i < px.length; i += 4) px[i] = 255;
  for (let z = 0; z < nz; z++) {
    const tx = (z % cols) * nx;
    const ty = Math.floor(z / cols) * ny;
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        const src = x + nx * (y + ny * z);
        const o = ((ty + y) * W + tx + x) * 4;
        for (let ch = 0; ch < codes.length; ch++) px[o + ch] = codes[ch]![src]!;
      }
    }
  }
  ctx.putImageData(img, 0, 0);
  return { png: c.toBuffer('image/png', { compressionLevel: 9 }), cols, width: W, height: H };
}

/** The atlas pixel (x, y) of voxel (x, y, z) given the atlas' tile columns. */
export function atlasPixel(dims: Vec3, cols: number, x: number, y: number, z: number): [number, number] {
  return [(z % cols) * dims[0] + x, Math.floor(z / cols) * dims[1] + y];
}

let counter = 0;

/** Builds the viewer of `volumes` (all on the same voxel grid) shown as `panels`. */
export function sliceViewer(volumes: ViewerVolume[], panels: ViewerPanel[], options: SliceViewerOptions = {}): SliceViewer {
  const first = volumes[0];
  if (first === undefined) throw new Error('sliceViewer: no volume');
  for (const v of volumes) {
    if (v.vol.dims.join() !== first.vol.dims.join()) throw new Error(`sliceViewer: ${v.name} is ${v.vol.dims.join('×')}, ${first.name} ${first.vol.dims.join('×')}`);
    if (!(v.high > v.low)) throw new Error(`sliceViewer: ${v.name} needs high > low`);
  }
  for (const p of panels) {
    if (volumes[p.volume] === undefined || (p.overlay !== undefined && volumes[p.overlay] === undefined)) throw new Error(`sliceViewer: panel ${p.title} names a missing volume`);
  }
  const factor = downsampleFactors(first.vol.dims, options.maxDim ?? 160);
  const small = volumes.map((v) => downsampleVolume(v.vol, factor));
  const grid = small[0]!;
  const codes = small.map((s, i) => {
    const { low, high } = volumes[i]!;
    const out = new Uint8Array(s.data.length);
    for (let j = 0; j < out.length; j++) out[j] = quantise(s.data[j]!, low, high);
    return out;
  });
  const atlases: SliceViewerData['atlases'] = [];
  let pngBytes = 0;
  for (let a = 0; a * 3 < codes.length; a++) {
    const packed = packAtlas(codes.slice(a * 3, a * 3 + 3), grid.dims);
    pngBytes += packed.png.length;
    atlases.push({ png: packed.png.toString('base64'), cols: packed.cols, width: packed.width, height: packed.height });
  }
  const planeNames = options.planes ?? ['axial'];
  const planes = planeNames.map((p) => planeGeometry(grid, p, options.squarePixels ?? true));
  const largest = Math.max(...planes.map((p) => Math.max(p.width, p.height)));
  const zoom = Math.max(1, Math.floor((options.panelPx ?? 256) / largest));
  const start = (options.start ?? first.vol.dims.map((d) => Math.floor(d / 2)))
    .map((s, i) => Math.max(0, Math.min(grid.dims[i]! - 1, Math.floor(s / factor[i]!)))) as Vec3;
  const data: SliceViewerData = {
    title: options.title ?? '',
    dims: grid.dims,
    factor,
    atlases,
    volumes: volumes.map((v, i) => {
      const step = (v.high - v.low) / 255;
      return {
        name: v.name, atlas: Math.floor(i / 3), channel: i % 3, low: v.low, high: v.high, unit: v.unit ?? '',
        decimals: v.decimals ?? Math.max(0, Math.min(4, Math.ceil(-Math.log10(step)))),
      };
    }),
    panels: panels.map((p) => ({ title: p.title, volume: p.volume, colormap: p.colormap ?? 'gray', overlay: p.overlay ?? -1 })),
    planes,
    crosshair: options.crosshair ?? planes.length > 1,
    zoom,
    start,
    note: options.note ?? '',
    hot: Array.from(HOT_COLORMAP),
  };
  counter += 1;
  const id = `mri2ct-sv-${process.pid}-${Date.now().toString(36)}-${counter}`;
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  const html = `<div class="mri2ct-slice-viewer" id="${id}" tabindex="0" style="font:12px sans-serif;outline:none;display:inline-block;max-width:100%;overflow-x:auto">` +
    `<div style="color:#888">loading slice viewer… (needs JavaScript: a trusted notebook or an HTML export)</div></div>` +
    `<script>/*mri2ct-slice-viewer*/(function(){var DATA=/*data*/${json}/*end-data*/;var ROOT=document.getElementById(${JSON.stringify(id)})||(document.currentScript&&document.currentScript.previousElementSibling);if(!ROOT)return;${SLICE_VIEWER_SCRIPT}})();</script>`;
  const bytes = Buffer.byteLength(html, 'utf8');
  const mb = (b: number): string => `${(b / 1e6).toFixed(2)} MB`;
  const q = volumes.map((v) => `${v.name} ${+v.low.toPrecision(4)}..${+v.high.toPrecision(4)}${v.unit ? ` ${v.unit}` : ''} (step ${+((v.high - v.low) / 255).toPrecision(3)})`).join('; ');
  const summary = `slice viewer: ${mb(bytes)} (PNG ${mb(pngBytes)}), grid ${grid.dims.join('×')}` +
    `${factor.some((f) => f > 1) ? ` (downsampled ×${factor.join('×')} from ${first.vol.dims.join('×')})` : ''}; 8-bit: ${q}`;
  return { html, bytes, pngBytes, dims: grid.dims, factor, summary };
}

/** The data object embedded in a viewer's HTML (for tests and tools). */
export function parseSliceViewerHtml(html: string): SliceViewerData {
  const m = /\/\*data\*\/([\s\S]*?)\/\*end-data\*\//.exec(html);
  if (m === null) throw new Error('not a slice viewer');
  return JSON.parse(m[1]!) as SliceViewerData;
}
