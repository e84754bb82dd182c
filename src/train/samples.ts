/**
 * Sample pictures during training: for a fixed set of validation slices, a PNG grid with one row
 * per slice and the columns MRI | sCT | CT | |sCT − CT| in HU, drawn with canvas into
 * <output_dir>/samples/epoch_NNN.png (and samples/latest.png). It must not touch weights.
 */
import * as path from 'node:path';
import type { ValBatch } from '../data/batches';
import type { Pix2Pix } from '../model/pix2pix';
import { writeFileAtomicSync } from '../util/atomic-write';
import { type Panel, renderPanelGrid } from '../viz/panel-grid';
import { CT_WINDOWS, percentileWindow } from '../viz/window';

/** Builds the panels (MRI | sCT | CT | error) for each slice of the batch. */
export async function samplePanels(model: Pix2Pix, batch: ValBatch, ctWindow: { minHu: number; maxHu: number }): Promise<Panel[]> {
  const [n, h, w] = batch.mri.shape;
  const pred = model.predict(batch.mri);
  const [mri, sct, ct] = await Promise.all([batch.mri.data(), pred.data(), batch.ct.data()]);
  pred.dispose();
  const toHu = (v: number): number => ctWindow.minHu + ((v + 1) / 2) * (ctWindow.maxHu - ctWindow.minHu);
  const panels: Panel[] = [];
  const px = h * w;
  for (let i = 0; i < n; i++) {
    const sl = (a: Float32Array | Int32Array | Uint8Array) => Float32Array.from(a.subarray(i * px, (i + 1) * px));
    const m = sl(mri);
    const s = sl(sct).map(toHu);
    const c = sl(ct).map(toHu);
    const err = s.map((v, k) => Math.abs(v - (c[k] ?? 0)));
    const id = batch.ids[i];
    const tag = id !== undefined ? `${id.patient}#${id.slice}` : `${i}`;
    panels.push(
      { values: m, width: w, height: h, window: percentileWindow(m, 1, 99), title: `MRI ${tag}` },
      { values: s, width: w, height: h, window: CT_WINDOWS.full, title: 'sCT' },
      { values: c, width: w, height: h, window: CT_WINDOWS.full, title: 'CT' },
      { values: err, width: w, height: h, window: { low: 0, high: 500, label: '|error| HU 0..500' }, title: '|sCT − CT|', colormap: 'hot', colorbar: true },
    );
  }
  return panels;
}

/** Writes samples/epoch_NNN.png and samples/latest.png; returns the epoch file path. */
export async function writeSampleGrid(dir: string, epoch: number, model: Pix2Pix, batch: ValBatch, ctWindow: { minHu: number; maxHu: number }): Promise<string> {
  const panels = await samplePanels(model, batch, ctWindow);
  const png = renderPanelGrid(panels, { columns: 4, panelSize: Math.min(256, Math.max(128, batch.mri.shape[1])), title: `epoch ${epoch}` });
  const file = path.join(dir, `epoch_${String(epoch).padStart(3, '0')}.png`);
  writeFileAtomicSync(file, png);
  writeFileAtomicSync(path.join(dir, 'latest.png'), png);
  return file;
}
