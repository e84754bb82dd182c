/**
 * A small self-contained SVG line chart (no script, no plotly.js), for live views that redraw
 * often: its size depends only on the number of points drawn, which `downsample` caps, so a
 * redraw costs a few KB however long the run. Left axis linear or log, optional right axis.
 * Builds markup only; displaying is the caller's.
 */

/** One line of a {@link lineChartSvg}. */
export interface ChartSeries {
  name: string;
  x: number[];
  /** Values; null or non-finite points are skipped (and break the line). */
  y: (number | null)[];
  /** CSS colour. */
  color: string;
  /** Which y axis the series uses. Default 'left'. */
  axis?: 'left' | 'right';
  /** Draw a dot at each point (for sparse series such as per-epoch validation). */
  markers?: boolean;
}

/** Options of {@link lineChartSvg}. */
export interface LineChartOptions {
  /** Pixel size of the SVG. Defaults 640 × 260. */
  width?: number;
  height?: number;
  title?: string;
  xLabel?: string;
  leftLabel?: string;
  rightLabel?: string;
  /** Log scale on the left axis (values ≤ 0 are skipped). Default false. */
  logLeft?: boolean;
  /** At most this many points per series (bin means beyond it). Default 200. */
  maxPoints?: number;
}

/**
 * Reduces a series to at most `maxPoints` points: consecutive points are grouped into equal bins
 * and each bin becomes its mean x and mean y (non-finite values ignored). Shorter series are
 * returned as they are.
 */
export function downsample(x: number[], y: (number | null)[], maxPoints: number): { x: number[]; y: (number | null)[] } {
  const n = Math.min(x.length, y.length);
  if (n <= maxPoints) return { x: x.slice(0, n), y: y.slice(0, n) };
  const ox: number[] = [];
  const oy: (number | null)[] = [];
  for (let b = 0; b < maxPoints; b++) {
    const lo = Math.floor((b * n) / maxPoints);
    const hi = Math.floor(((b + 1) * n) / maxPoints);
    let sx = 0, sy = 0, ny = 0;
    for (let i = lo; i < hi; i++) {
      sx += x[i] ?? 0;
      const v = y[i];
      if (v !== null && v !== undefined && Number.isFinite(v)) { sy += v; ny++; }
    }
    ox.push(sx / (hi - lo));
    oy.push(ny > 0 ? sy / ny : null);
  }
  return { x: ox, y: oy };
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number): string => (Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : +v.toPrecision(3) + '');

interface Scale { map(v: number): number; ticks: number[] }

function linearScale(lo: number, hi: number, p0: number, p1: number): Scale {
  if (!(hi > lo)) { hi = lo + 1; lo -= 1; }
  const ticks = [0, 1, 2, 3, 4].map((i) => lo + ((hi - lo) * i) / 4);
  return { map: (v) => p0 + ((v - lo) / (hi - lo)) * (p1 - p0), ticks };
}

function logScale(lo: number, hi: number, p0: number, p1: number): Scale {
  const a = Math.log10(lo), b = Math.log10(hi) > a ? Math.log10(hi) : a + 1;
  const ticks: number[] = [];
  for (let e = Math.floor(a); e <= Math.ceil(b); e++) if (e >= a - 1e-9 && e <= b + 1e-9) ticks.push(10 ** e);
  if (ticks.length < 2) ticks.splice(0, ticks.length, lo, hi);
  return { map: (v) => p0 + ((Math.log10(v) - a) / (b - a)) * (p1 - p0), ticks };
}

/** An SVG line chart of the given series (empty series draw the axes only). */
export function lineChartSvg(series: ChartSeries[], options: LineChartOptions = {}): string {
  const W = options.width ?? 640, H = options.height ?? 260, maxPoints = options.maxPoints ?? 200;
  const hasRight = series.some((s) => s.axis === 'right');
  const m = { l: 58, r: hasRight ? 58 : 16, t: options.title === undefined ? 12 : 28, b: 52 };
  const ds = series.map((s) => ({ ...s, ...downsample(s.x, s.y, maxPoints) }));
  const ok = (v: number | null | undefined, log: boolean): v is number => v !== null && v !== undefined && Number.isFinite(v) && (!log || v > 0);
  const range = (axis: 'left' | 'right', log: boolean): [number, number] => {
    const v = ds.filter((s) => (s.axis ?? 'left') === axis).flatMap((s) => s.y.filter((y): y is number => ok(y, log)));
    return v.length === 0 ? [log ? 0.1 : 0, 1] : [Math.min(...v), Math.max(...v)];
  };
  const xs = ds.flatMap((s) => s.x);
  const xScale = linearScale(xs.length ? Math.min(...xs) : 0, xs.length ? Math.max(...xs) : 1, m.l, W - m.r);
  const logLeft = options.logLeft ?? false;
  const [l0, l1] = range('left', logLeft);
  const left = logLeft ? logScale(l0, l1, H - m.b, m.t) : linearScale(l0, l1, H - m.b, m.t);
  const [r0, r1] = range('right', false);
  const right = linearScale(r0, r1, H - m.b, m.t);
  const parts: string[] = [];
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="#fff" stroke="#bbb"/>`);
  for (const t of xScale.ticks) parts.push(`<text x="${xScale.map(t).toFixed(1)}" y="${H - m.b + 14}" text-anchor="middle">${fmt(t)}</text>`);
  for (const t of left.ticks) {
    const y = left.map(t).toFixed(1);
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y}" y2="${y}" stroke="#eee"/><text x="${m.l - 4}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmt(t)}</text>`);
  }
  if (hasRight) for (const t of right.ticks) parts.push(`<text x="${W - m.r + 4}" y="${right.map(t).toFixed(1)}" dominant-baseline="middle">${fmt(t)}</text>`);
  const legend: string[] = [];
  ds.forEach((s, i) => {
    const scale = s.axis === 'right' ? right : left;
    const log = s.axis !== 'right' && logLeft;
    let d = '', pen = false;
    const dots: string[] = [];
    s.x.forEach((x, k) => {
      const v = s.y[k];
      if (!ok(v, log)) { pen = false; return; }
      const px = xScale.map(x).toFixed(1), py = scale.map(v).toFixed(1);
      d += `${pen ? 'L' : 'M'}${px} ${py}`;
      pen = true;
      if (s.markers === true) dots.push(`<circle cx="${px}" cy="${py}" r="2.5"/>`);
    });
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5"/>`);
    if (dots.length) parts.push(`<g fill="${s.color}">${dots.join('')}</g>`);
    const lx = m.l + i * 130;
    legend.push(`<line x1="${lx}" x2="${lx + 18}" y1="${H - 12}" y2="${H - 12}" stroke="${s.color}" stroke-width="2"/><text x="${lx + 22}" y="${H - 12}" dominant-baseline="middle">${esc(s.name)}</text>`);
  });
  const labels = [
    options.title === undefined ? '' : `<text x="${W / 2}" y="16" text-anchor="middle" font-weight="bold">${esc(options.title)}</text>`,
    options.xLabel === undefined ? '' : `<text x="${(m.l + W - m.r) / 2}" y="${H - m.b + 28}" text-anchor="middle">${esc(options.xLabel)}</text>`,
    options.leftLabel === undefined ? '' : `<text transform="translate(12 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(options.leftLabel)}</text>`,
    options.rightLabel === undefined || !hasRight ? '' : `<text transform="translate(${W - 8} ${(m.t + H - m.b) / 2}) rotate(90)" text-anchor="middle">${esc(options.rightLabel)}</text>`,
  ].join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" class="mri2ct-svg-chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">${parts.join('')}${legend.join('')}${labels}</svg>`;
}
