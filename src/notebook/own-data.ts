/**
 * "Your own data" report for the preprocessing notebook (issue #11): for a data folder in any
 * layout discover.ts knows (seed `<dir>/MRI` + `<dir>/CT`, SynthRAD2023, SynthRAD2025), it shows
 * each pair's stored format, shape, voxel size and orientation, and what the pipeline's loader
 * (loadPair) does about it: reorients to RAS, resamples the CT onto the MRI grid, or refuses the
 * pair with its reason and fix; plus the mid-slices (axial, coronal, sagittal) of MRI and CT in
 * canonical orientation. It only calls discovery, loadPair/loadVolume and describeImage: it must
 * not decide anything of its own about a pair (no checks, no resampling here), and writes nothing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { discoverSeedLayout, discoverSynthradLayout, formatDatasetProblems, type Dataset, type PatientPair } from '../dataset/discover';
import { Mri2ctError } from '../errors';
import { describeImage } from '../io/describe';
import { formatSpacing } from '../io/read-image';
import type { Vec3, Volume } from '../io/volume';
import { looksLikeHu } from '../preprocess/input-checks';
import { loadPair, loadVolume, type LoadedVolume, type SourceInfo } from '../preprocess/load-pair';
import { CANONICAL_ORIENTATION } from '../preprocess/reorient';
import { renderPanelGrid, type Panel } from '../viz/panel-grid';
import { CT_WINDOWS, percentileWindow, type Window } from '../viz/window';
import { orthogonalSlices } from './volume-views';

/** Options of {@link ownDataReport}. */
export interface OwnDataOptions {
  /** Report at most this many pairs (in id order); default 4. */
  maxPatients?: number;
  /** Displayed size of each slice panel in pixels; default 160. */
  panelSize?: number;
}

/** One table row: one image of one pair. */
export interface OwnDataRow {
  id: string;
  modality: 'MRI' | 'CT';
  path: string;
  format: string;
  shape: string;
  spacing: string;
  /** Stored orientation → canonical, e.g. 'LIA → RAS'. */
  orientation: string;
  /** What the pipeline does with this image (or the pair's refusal). */
  action: string;
}

/** What the pipeline made of one pair. */
export interface OwnDataPair {
  id: string;
  outcome: 'accepted' | 'refused';
  /** loadPair's notes (reorientation, resampling, warnings), or the refusal message. */
  notes: string[];
  rows: [OwnDataRow, OwnDataRow];
}

export interface OwnDataReport {
  source: string;
  pairs: OwnDataPair[];
  /** Files that did not pair up (discovery problems). */
  problems: string[];
  /** One table per pair (and the discovery problems). */
  html: string;
  /** Mid-slices, one row per pair: MRI axial/coronal/sagittal, then CT. */
  png: Buffer;
  summary: string;
}

const SEED_MRI = ['MRI', 'mri', 'MR', 'mr'];
const SEED_CT = ['CT', 'ct'];

/** Seed layout when `dataDir` holds MRI/ and CT/ folders, else SynthRAD2023/2025 (discover.ts). */
export function discoverOwnData(dataDir: string): Dataset {
  const sub = (names: string[]): string | undefined => names.map((n) => path.join(dataDir, n)).find((d) => fs.existsSync(d) && fs.statSync(d).isDirectory());
  const mri = sub(SEED_MRI);
  const ct = sub(SEED_CT);
  return mri !== undefined && ct !== undefined ? discoverSeedLayout(mri, ct) : discoverSynthradLayout(dataDir);
}

const orientationText = (stored: string, canonical: string): string => (stored === canonical ? `${stored} (canonical)` : `${stored} → ${canonical}`);

function rowOf(id: string, modality: 'MRI' | 'CT', s: SourceInfo, canonical: string, action: string): OwnDataRow {
  return { id, modality, path: s.path, format: s.format, shape: s.dims.join('×'), spacing: formatSpacing(s.spacing as Vec3).replace(/ mm$/, ''), orientation: orientationText(s.orientation, canonical), action };
}

function reorientText(v: LoadedVolume): string {
  return v.reorientation.reoriented ? `reoriented ${v.source.orientation}→${v.orientation} (no resampling)` : `already ${v.orientation}`;
}

/** One image of a refused pair, on its own: loaded (checked, reoriented) or described from its headers. */
async function loadAlone(file: string, id: string, modality: 'MRI' | 'CT', refusal: string): Promise<{ row: OwnDataRow; volume?: LoadedVolume }> {
  try {
    const v = await loadVolume(file, `${modality} of patient ${id}`);
    return { row: rowOf(id, modality, v.source, v.orientation, `refused: ${refusal}`), volume: v };
  } catch (err) {
    if (!(err instanceof Mri2ctError)) throw err;
    const d = await describeImage(file).catch(() => undefined);
    const row: OwnDataRow = d === undefined
      ? { id, modality, path: file, format: '?', shape: '?', spacing: '?', orientation: '?', action: `refused: ${err.message}` }
      : { id, modality, path: file, format: d.format, shape: d.shape.join('×'), spacing: formatSpacing(d.spacing).replace(/ mm$/, ''), orientation: orientationText(d.storageOrientation, d.canonicalOrientation), action: `refused: ${err.message}` };
    return { row };
  }
}

interface PairVolumes {
  mri?: Volume;
  ct?: Volume;
  /** CT values are HU (window them as CT). */
  ctHu: boolean;
}

async function reportPair(pair: PatientPair): Promise<{ report: OwnDataPair; volumes: PairVolumes }> {
  try {
    const lp = await loadPair(pair);
    const s = lp.source;
    const ctAction = [
      s.ct.orientation !== CANONICAL_ORIENTATION ? `reoriented ${s.ct.orientation}→${CANONICAL_ORIENTATION}` : `already ${CANONICAL_ORIENTATION}`,
      s.ctResampled ? `CT resampled onto the MRI grid (overlap ${(100 * s.overlap).toFixed(0)}%)` : 'on the MRI grid already',
    ].join('; ');
    return {
      report: {
        id: pair.id, outcome: 'accepted', notes: lp.notes,
        rows: [rowOf(pair.id, 'MRI', s.mri, lp.mri.orientation, reorientText(lp.mri)), rowOf(pair.id, 'CT', s.ct, CANONICAL_ORIENTATION, ctAction)],
      },
      volumes: { mri: lp.mri, ct: lp.ct, ctHu: true },
    };
  } catch (err) {
    if (!(err instanceof Mri2ctError)) throw err;
    const [m, c] = await Promise.all([loadAlone(pair.mri, pair.id, 'MRI', err.message), loadAlone(pair.ct, pair.id, 'CT', 'the pair, see the MRI row')]);
    return {
      report: { id: pair.id, outcome: 'refused', notes: [err.message], rows: [m.row, c.row] },
      volumes: { ...(m.volume ? { mri: m.volume } : {}), ...(c.volume ? { ct: c.volume } : {}), ctHu: c.volume !== undefined && looksLikeHu(c.volume.profile) },
    };
  }
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function pairHtml(p: OwnDataPair): string {
  const cols: [string, (r: OwnDataRow) => string][] = [
    ['id', (r) => r.id], ['modality', (r) => r.modality], ['format', (r) => r.format], ['shape', (r) => r.shape],
    ['spacing (mm)', (r) => r.spacing], ['orientation', (r) => r.orientation], ['what the pipeline does', (r) => r.action],
  ];
  const colour = p.outcome === 'refused' ? '#b00020' : '#1b5e20';
  const head = `<tr>${cols.map(([h]) => `<th style="text-align:left">${h}</th>`).join('')}</tr>`;
  const body = p.rows.map((r) => `<tr>${cols.map(([h, f]) => `<td style="text-align:left${h === 'what the pipeline does' ? `;color:${colour}` : ''}">${esc(f(r))}</td>`).join('')}</tr>`).join('');
  return `<p><b>${esc(p.id)}</b>: ${p.outcome}</p><table>${head}${body}</table>`;
}

function windowOf(views: { values: Float32Array }[], label: string): Window {
  const all = new Float32Array(views.reduce((a, v) => a + v.values.length, 0));
  let o = 0;
  for (const v of views) {
    all.set(v.values, o);
    o += v.values.length;
  }
  return percentileWindow(all, 0.5, 99.5, label);
}

const PLANE = { axial: 'ax.', coronal: 'cor.', sagittal: 'sag.' } as const;

function volumePanels(id: string, what: 'MRI' | 'CT', vol: Volume | undefined, hu: boolean): Panel[] {
  if (vol === undefined) {
    return (['axial', 'coronal', 'sagittal'] as const).map((pl) => ({ values: new Float32Array(4), width: 2, height: 2, window: { low: 0, high: 1, label: 'not readable' }, title: `${id} ${what} ${PLANE[pl]}: refused` }));
  }
  const views = orthogonalSlices(vol);
  const window = hu ? CT_WINDOWS.full : windowOf(views, what);
  return views.map((v) => ({ values: v.values, width: v.width, height: v.height, window, title: `${id} ${what} ${PLANE[v.plane]} ${v.index}`, orientation: v.orientation }));
}

/**
 * Reports how the pipeline takes the pairs of `dataDir` (see the module header). Pairs are
 * loaded one at a time (memory stays at one pair's volumes plus the slices).
 */
export async function ownDataReport(dataDir: string, options: OwnDataOptions = {}): Promise<OwnDataReport> {
  const t0 = performance.now();
  const ds = discoverOwnData(dataDir);
  const chosen = [...ds.pairs].sort((a, b) => a.id.localeCompare(b.id)).slice(0, options.maxPatients ?? 4);
  const pairs: OwnDataPair[] = [];
  const panels: Panel[] = [];
  for (const pair of chosen) {
    const { report, volumes } = await reportPair(pair);
    pairs.push(report);
    panels.push(...volumePanels(pair.id, 'MRI', volumes.mri, false), ...volumePanels(pair.id, 'CT', volumes.ct, volumes.ctHu));
  }
  const problems = ds.problems.map((p) => `[${p.kind}] ${p.message}`);
  const size = options.panelSize ?? 160;
  const png = panels.length > 0
    ? renderPanelGrid(panels, { columns: 6, panelSize: size, title: `${path.basename(dataDir)}: mid-slices in canonical (RAS) orientation, MRI then CT (CT on the MRI grid when accepted)` })
    : renderPanelGrid([{ values: new Float32Array(4), width: 2, height: 2, window: { low: 0, high: 1, label: '' }, title: 'no pairs' }], { panelSize: size });
  const count = (f: (p: OwnDataPair) => boolean): number => pairs.filter(f).length;
  const refused = count((p) => p.outcome === 'refused');
  const reoriented = count((p) => p.outcome === 'accepted' && p.notes.some((n) => n.includes('reoriented')));
  const resampled = count((p) => p.notes.some((n) => n.startsWith('CT resampled')));
  const more = ds.pairs.length > chosen.length ? ` (first ${chosen.length} of ${ds.pairs.length})` : '';
  const summary =
    `${ds.source}: ${chosen.length} pair(s)${more}: ${chosen.length - refused} accepted (${reoriented} reoriented, ${resampled} with the CT resampled), ${refused} refused` +
    (problems.length > 0 ? `; ${problems.length} file(s) not paired:\n${formatDatasetProblems(ds.problems)}` : '') +
    ` [${((performance.now() - t0) / 1000).toFixed(1)} s]`;
  const problemsHtml = problems.length > 0 ? `<p><b>not paired</b></p><ul>${problems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>` : '';
  const html = `<div>${pairs.map(pairHtml).join('')}${problemsHtml}</div>`;
  return { source: ds.source, pairs, problems, html, png, summary };
}
