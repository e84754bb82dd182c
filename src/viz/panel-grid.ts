/**
 * Draws a grid of image panels (grey or colour-mapped slices) with titles, window labels,
 * orientation labels and optional colour bars into a PNG, using node-canvas. Used for training
 * sample grids and notebook figures. It must not compute windows or read files.
 */
import { createCanvas, type CanvasRenderingContext2D } from 'canvas';
import { applyWindow, HOT_COLORMAP, type Window } from './window';

export interface Panel {
  /** Row-major pixel values, `height` rows of `width`. */
  values: ArrayLike<number>;
  width: number;
  height: number;
  window: Window;
  title: string;
  /** Colour map: grey (default) or 'hot' (for error maps). */
  colormap?: 'grey' | 'hot';
  /** Draw a colour bar with the window's range. */
  colorbar?: boolean;
  /** Orientation labels [top, right, bottom, left], e.g. ['A', 'L', 'P', 'R']. */
  orientation?: [string, string, string, string];
}

export interface PanelGridOptions {
  /** Panels per row (default: all in one row). */
  columns?: number;
  /** Displayed size of each panel in pixels (default 256). */
  panelSize?: number;
  /** Title over the whole figure. */
  title?: string;
}

const TITLE_H = 22;
const FOOT_H = 18;
const BAR_W = 14;

function drawPanel(ctx: CanvasRenderingContext2D, p: Panel, x0: number, y0: number, size: number): void {
  const grey = applyWindow(p.values, p.window);
  const img = createCanvas(p.width, p.height);
  const ictx = img.getContext('2d');
  const data = ictx.createImageData(p.width, p.height);
  for (let i = 0; i < grey.length; i++) {
    const g = grey[i] ?? 0;
    if (p.colormap === 'hot') {
      data.data[4 * i] = HOT_COLORMAP[3 * g] ?? 0;
      data.data[4 * i + 1] = HOT_COLORMAP[3 * g + 1] ?? 0;
      data.data[4 * i + 2] = HOT_COLORMAP[3 * g + 2] ?? 0;
    } else {
      data.data[4 * i] = g;
      data.data[4 * i + 1] = g;
      data.data[4 * i + 2] = g;
    }
    data.data[4 * i + 3] = 255;
  }
  ictx.putImageData(data, 0, 0);
  const scale = Math.min(size / p.width, size / p.height);
  const w = p.width * scale;
  const h = p.height * scale;
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(img, x0 + (size - w) / 2, y0 + TITLE_H + (size - h) / 2, w, h);
  ctx.fillStyle = '#fff';
  ctx.font = 'bold 13px sans-serif';
  ctx.textAlign = 'center';
  ctx.fillText(p.title, x0 + size / 2, y0 + 15);
  ctx.font = '11px sans-serif';
  ctx.fillStyle = '#bbb';
  ctx.fillText(p.window.label, x0 + size / 2, y0 + TITLE_H + size + 13);
  if (p.orientation !== undefined) {
    const [top, right, bottom, left] = p.orientation;
    ctx.fillStyle = '#ff0';
    ctx.font = 'bold 12px sans-serif';
    ctx.fillText(top, x0 + size / 2, y0 + TITLE_H + 12);
    ctx.fillText(bottom, x0 + size / 2, y0 + TITLE_H + size - 4);
    ctx.textAlign = 'left';
    ctx.fillText(left, x0 + 3, y0 + TITLE_H + size / 2 + 4);
    ctx.textAlign = 'right';
    ctx.fillText(right, x0 + size - 3, y0 + TITLE_H + size / 2 + 4);
  }
  if (p.colorbar === true) drawColorbar(ctx, p, x0 + size + 4, y0 + TITLE_H, size);
}

function tickLabel(v: number): string {
  return Math.abs(v) >= 100 ? String(Math.round(v)) : String(Number(v.toPrecision(3)));
}

function drawColorbar(ctx: CanvasRenderingContext2D, p: Panel, x: number, y: number, size: number): void {
  for (let k = 0; k < size; k++) {
    const g = Math.round(255 * (1 - k / (size - 1)));
    const [r, gg, b] = p.colormap === 'hot'
      ? [HOT_COLORMAP[3 * g] ?? 0, HOT_COLORMAP[3 * g + 1] ?? 0, HOT_COLORMAP[3 * g + 2] ?? 0]
      : [g, g, g];
    ctx.fillStyle = `rgb(${r},${gg},${b})`;
    ctx.fillRect(x, y + k, BAR_W, 1);
  }
  ctx.fillStyle = '#ddd';
  ctx.font = '10px sans-serif';
  ctx.textAlign = 'left';
  ctx.fillText(tickLabel(p.window.high), x + BAR_W + 2, y + 9);
  ctx.fillText(tickLabel(p.window.low), x + BAR_W + 2, y + size);
}

/** Renders the panels into a PNG buffer. */
export function renderPanelGrid(panels: Panel[], options: PanelGridOptions = {}): Buffer {
  const size = options.panelSize ?? 256;
  const cols = Math.max(1, Math.min(options.columns ?? panels.length, panels.length));
  const rows = Math.ceil(panels.length / cols);
  const anyBar = panels.some((p) => p.colorbar === true);
  const cellW = size + (anyBar ? BAR_W + 34 : 8);
  const cellH = TITLE_H + size + FOOT_H;
  const head = options.title !== undefined ? 26 : 0;
  const canvas = createCanvas(cols * cellW + 8, rows * cellH + head + 4);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#111';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  if (options.title !== undefined) {
    ctx.fillStyle = '#fff';
    ctx.font = 'bold 15px sans-serif';
    ctx.textAlign = 'left';
    ctx.fillText(options.title, 8, 18);
  }
  panels.forEach((p, i) => drawPanel(ctx, p, 4 + (i % cols) * cellW, head + Math.floor(i / cols) * cellH, size));
  return canvas.toBuffer('image/png');
}
