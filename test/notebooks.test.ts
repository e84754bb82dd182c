/**
 * Executes every notebook in notebooks/ headlessly with the real Jupyter (nbconvert) and the
 * tslab TypeScript kernel, and fails on any cell error. Also checks that each committed
 * .ipynb is what its source in notebooks/sources/ generates and carries no outputs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(__dirname, '..');
const nbDir = path.join(root, 'notebooks');
const notebooks = fs.readdirSync(nbDir).filter((f) => f.endsWith('.ipynb') && !f.includes('.nbconvert')).sort();

interface Output { output_type: string; ename?: string; evalue?: string; text?: string[] | string; data?: Record<string, unknown> }
interface Cell { cell_type: string; source: string[] | string; outputs?: Output[] }

test('there are notebooks, each generated from its source and committed without outputs', () => {
  assert.ok(notebooks.includes('01_check_env.ipynb'));
  for (const nb of notebooks) {
    const src = path.join(nbDir, 'sources', nb.replace(/\.ipynb$/, '.nb.ts'));
    assert.ok(fs.existsSync(src), `${nb} has no source ${src}`);
    const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-nbgen-')), nb);
    const r = spawnSync('python3', [path.join(root, 'scripts/make-notebook.py'), src, tmp], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.readFileSync(path.join(nbDir, nb), 'utf8'), fs.readFileSync(tmp, 'utf8'),
      `${nb} differs from its source: run python3 scripts/make-notebook.py ${path.relative(root, src)} notebooks/${nb}`);
  }
});

for (const nb of notebooks) {
  test(`notebook ${nb} runs top to bottom in the tslab kernel without errors`, { timeout: 30 * 60_000 }, () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-nbrun-'));
    const r = spawnSync(
      'jupyter',
      ['nbconvert', '--to', 'notebook', '--execute', '--ExecutePreprocessor.timeout=1500', '--ExecutePreprocessor.kernel_name=tslab',
        '--output-dir', out, path.join(nbDir, nb)],
      { cwd: nbDir, encoding: 'utf8', env: { ...process.env, MRI2CT_NOTEBOOK_TEST: '1' } },
    );
    const executed = path.join(out, nb);
    const cells = fs.existsSync(executed) ? (JSON.parse(fs.readFileSync(executed, 'utf8')) as { cells: Cell[] }).cells : [];
    const errors = cells.flatMap((c) => (c.outputs ?? []).filter((o) => o.output_type === 'error'));
    assert.equal(r.status, 0, `nbconvert failed for ${nb}:\n${r.stderr.split('\n').filter((l) => !l.startsWith('  ')).slice(-25).join('\n')}`);
    assert.deepEqual(errors, []);
    const code = cells.filter((c) => c.cell_type === 'code');
    assert.ok(code.length > 0 && code.every((c) => (c.outputs ?? []).length > 0 || String(c.source).trim() === ''),
      'every code cell shows something');
    const keep = process.env['MRI2CT_KEEP_EXECUTED_NOTEBOOKS'];
    if (keep !== undefined) {
      fs.mkdirSync(keep, { recursive: true });
      fs.copyFileSync(executed, path.join(keep, nb));
    }
  });
}
