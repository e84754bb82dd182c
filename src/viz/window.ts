/**
 * Display windowing: maps slice values to 0..255 grey (or a colour map) for pictures. MRI by
 * robust percentiles, CT by a HU window (brain, bone, full), errors by a fixed HU range.
 * Pure array functions; no drawing and no file output here.
 */

export interface Window {
  /** Value shown black. */
  low: number;
  /** Value shown white. */
  high: number;
  /** Label, e.g. 'HU 0..80 (brain)'. */
  label: string;
}

/** Standard CT windows (centre/width from radiology practice). */
export const CT_WINDOWS = {
  brain: { low: 0, high: 80, label: 'brain W80 L40 HU' },
  bone: { low: -500, high: 1500, label: 'bone W2000 L500 HU' },
  full: { low: -1000, high: 2000, label: 'HU −1000..2000' },
} as const satisfies Record<string, Window>;

export type CtWindowName = keyof typeof CT_WINDOWS;

/** Window from the low/high percentiles of the values (ignoring NaN). */
export function percentileWindow(values: ArrayLike<number>, lowPct = 1, highPct = 99, label = 'MRI'): Window {
  const sorted = Float32Array.from(values).filter((v) => Number.isFinite(v)).sort();
  if (sorted.length === 0) return { low: 0, high: 1, label };
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round((p / 100) * (sorted.length - 1))))] ?? 0;
  const low = at(lowPct);
  const high = at(highPct);
  return { low, high: high > low ? high : low + 1, label: `${label} p${lowPct}–p${highPct}` };
}

/** Grey levels 0..255 for the values under the window. */
export function applyWindow(values: ArrayLike<number>, w: Window): Uint8ClampedArray {
  const out = new Uint8ClampedArray(values.length);
  const scale = 255 / (w.high - w.low);
  for (let i = 0; i < values.length; i++) out[i] = ((values[i] ?? 0) - w.low) * scale;
  return out;
}

/** 'inferno'-like colour map (black → purple → orange → yellow), 256 RGB entries. */
export const HOT_COLORMAP: Uint8ClampedArray = (() => {
  const stops: [number, number, number, number][] = [
    [0, 0, 0, 4], [0.25, 87, 16, 110], [0.5, 188, 55, 84], [0.75, 249, 142, 9], [1, 252, 255, 164],
  ];
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    let k = 0;
    while (k < stops.length - 2 && t > (stops[k + 1]?.[0] ?? 1)) k++;
    const a = stops[k] ?? stops[0]!;
    const b = stops[k + 1] ?? a;
    const f = b[0] > a[0] ? (t - a[0]) / (b[0] - a[0]) : 0;
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = (a[c + 1] ?? 0) + f * ((b[c + 1] ?? 0) - (a[c + 1] ?? 0));
  }
  return lut;
})();
