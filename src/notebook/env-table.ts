/**
 * Notebook display of the environment check: an HTML table with ✅/❌ per line and the fix
 * for each failure. Display only: the checks themselves live in src/env/check-env.ts.
 */
import type { EnvReport } from '../env/check-env';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** HTML for tslab's `display.html`. */
export function envReportHtml(report: EnvReport): string {
  const rows = report.items
    .map((i) => {
      const mark = i.ok ? '✅' : i.required ? '❌' : '⚠️';
      const fix = !i.ok && i.fix !== undefined ? `<br><small><b>fix:</b> ${esc(i.fix)}</small>` : '';
      return `<tr><td>${mark}</td><td><b>${esc(i.name)}</b></td><td style="text-align:left">${esc(i.detail)}${fix}</td></tr>`;
    })
    .join('');
  const verdict = report.ok
    ? '<p style="color:#080"><b>Verdict: ready.</b></p>'
    : '<p style="color:#b00"><b>Verdict: NOT ready</b> — see the fixes above.</p>';
  return `<table class="mri2ct-env"><thead><tr><th></th><th>check</th><th style="text-align:left">result</th></tr></thead><tbody>${rows}</tbody></table>${verdict}`;
}
