/**
 * HTML tables of notebook 02: the step timings of one preprocessed patient and the cache build
 * summary (with the registration columns when the build registered). Rendering only: must not
 * run any step or import tslab.
 */
import { type BuildCacheResult, hasRegistration, REGISTRATION_COLUMNS, REGISTRATION_LEGEND, registrationCells } from '../cache/build';
import { STEP_NAMES, type PreprocessedPatient } from '../preprocess/pipeline';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const TABLE_STYLE = 'border-collapse:collapse;font-family:monospace;font-size:12px';
const CELL = 'style="padding:2px 8px;border-bottom:1px solid #ddd;text-align:right"';
const CELL_L = 'style="padding:2px 8px;border-bottom:1px solid #ddd;text-align:left"';

/** Seconds per step of one preprocessed patient as an HTML table. */
export function stepTimingsHtml(pre: PreprocessedPatient): string {
  const total = STEP_NAMES.reduce((a, s) => a + (pre.timings[s] ?? 0), 0);
  const head = [...STEP_NAMES, 'total'].map((s) => `<th ${CELL}>${s}</th>`).join('');
  const row = [...STEP_NAMES.map((s) => pre.timings[s] ?? 0), total].map((v) => `<td ${CELL}>${v.toFixed(2)}</td>`).join('');
  return `<table style="${TABLE_STYLE}"><caption style="text-align:left">${esc(pre.id)}: seconds per step</caption><tr>${head}</tr><tr>${row}</tr></table>`;
}

/** The cache build summary (what `mri2ct preprocess` prints) as an HTML table. */
export function buildSummaryHtml(r: BuildCacheResult): string {
  const steps = STEP_NAMES;
  const reg = hasRegistration(r);
  const head = ['patient', 'slices', ...steps, 'write', 'total s', ...(reg ? REGISTRATION_COLUMNS : [])].map((h, i) => `<th ${i === 0 ? CELL_L : CELL}>${h}</th>`).join('');
  const rows = r.built.map((b) => {
    const cells = [String(b.shape?.[0] ?? ''), ...steps.map((s) => (b.timings?.[s] ?? 0).toFixed(2)), (b.writeSeconds ?? 0).toFixed(2), (b.seconds ?? 0).toFixed(1), ...(reg ? registrationCells(b.registration) : [])];
    return `<tr><td ${CELL_L}>${esc(b.id)}</td>${cells.map((c) => `<td ${CELL}>${c}</td>`).join('')}</tr>`;
  });
  if (r.built.length > 1) {
    const mean = (f: (b: BuildCacheResult['built'][number]) => number): string => (r.built.reduce((a, b) => a + f(b), 0) / r.built.length).toFixed(2);
    const cells = ['', ...steps.map((s) => mean((b) => b.timings?.[s] ?? 0)), mean((b) => b.writeSeconds ?? 0), mean((b) => b.seconds ?? 0), ...(reg ? REGISTRATION_COLUMNS.map(() => '') : [])];
    rows.push(`<tr style="font-weight:bold"><td ${CELL_L}>mean</td>${cells.map((c) => `<td ${CELL}>${c}</td>`).join('')}</tr>`);
  }
  for (const f of r.failed) {
    if (!reg || f.registration === undefined) continue;
    const cells = ['—', ...steps.map(() => '—'), '—', '—', ...registrationCells(f.registration)];
    rows.push(`<tr style="color:#b00"><td ${CELL_L}>${esc(f.id)}</td>${cells.map((c) => `<td ${CELL}>${c}</td>`).join('')}</tr>`);
  }
  const failed = r.failed.map((f) => `<li style="color:#b00"><b>${esc(f.id)}</b> FAILED: ${esc(f.error)}</li>`).join('');
  const verdict =
    `<p>built <b>${r.built.length}</b>, already cached <b>${r.skipped.length}</b>` +
    `${r.skipped.length > 0 ? ` (${esc(r.skipped.join(', '))})` : ''}, failed <b>${r.failed.length}</b> — ${r.seconds.toFixed(1)} s, format ${r.format}</p>`;
  const legend = reg ? `<p><small>${esc(REGISTRATION_LEGEND)}</small></p>` : '';
  const table = rows.length > 0 ? `<table style="${TABLE_STYLE}"><tr>${head}</tr>${rows.join('')}</table>${legend}` : '';
  return `<div class="mri2ct-build">${table}${verdict}${failed === '' ? '' : `<ul>${failed}</ul>`}</div>`;
}
