/**
 * colab/bootstrap.sh and the Colab bootstrap notebook, on everything but Colab itself.
 *
 * A fresh machine as far as one can be had here: the project as it would be committed (tracked
 * and new files of this checkout, as a new git repository) is what the script clones; HOME is an
 * empty folder (no npm cache, no node-gyp headers, no Jupyter kernels), with only the machine's
 * own package-manager settings copied in (~/.npmrc, ~/.config/pip/pip.conf: how this machine
 * reaches the npm registry and its pip index; Colab reaches the internet instead). Colab is
 * simulated with COLAB_RELEASE_TAG, and Colab's way of talking to kernels (IPC sockets, not TCP)
 * with Jupyter's --KernelManager.transport=ipc. apt-get is a stub that records calls.
 *
 * Checked: the dry-run plans (Colab-only steps only on Colab: Node install, clone, apt, the IPC
 * kernel launcher; nothing changed); refusals (old Node off Colab, no repository URL); then a
 * real run of the script in the simulated Colab runtime: clone, set-up, kernelspec in the user's
 * Jupyter dir (the machine's kernels untouched), its own --check; then both routes: TypeScript
 * notebooks run by Jupyter over IPC from outside the project (as Colab's /content), and the
 * Python bootstrap notebook (command-line route) with its images.
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(__dirname, '..');
const script = path.join(root, 'colab', 'bootstrap.sh');

interface Output { output_type: string; data?: Record<string, unknown>; text?: string | string[]; ename?: string; evalue?: string }
interface Cell { cell_type: string; outputs?: Output[] }

function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (/^(COLAB_|MRI2CT_|JUPYTER_)/.test(k)) delete env[k];
  }
  return { ...env, ...extra };
}

function sh(cmd: string, args: string[], opts: { cwd?: string; env: NodeJS.ProcessEnv; timeout?: number }): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd: opts.cwd ?? root, env: opts.env, encoding: 'utf8', timeout: opts.timeout ?? 120_000, maxBuffer: 64 << 20 });
}

const out = (r: SpawnSyncReturns<string>): string => `${r.stdout ?? ''}${r.stderr ?? ''}`;

/** All files under dir (relative), to show that a dry run changed nothing. */
function listing(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
}

/** The machine's registered Jupyter kernels with their kernel.json, as the real HOME sees them
 * (others may re-register them meanwhile: compare contents, not before/after). */
function machineKernels(): string {
  const r = spawnSync('/usr/bin/python3', ['-c', `import json, os
from jupyter_client.kernelspec import KernelSpecManager as K
print(json.dumps({k: open(os.path.join(d, 'kernel.json')).read() for k, d in sorted(K().find_kernel_specs().items())}))`],
  { encoding: 'utf8', env: cleanEnv({}) });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('colab/bootstrap.sh: syntax, --help, and the committed bootstrap notebook is what its generator writes', () => {
  assert.equal(spawnSync('bash', ['-n', script]).status, 0);
  const h = sh('bash', [script, '--help'], { env: cleanEnv({}) });
  assert.equal(h.status, 0);
  assert.match(h.stdout, /--dry-run/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-colabnb-'));
  const tmp = path.join(dir, 'nb.ipynb');
  const g = sh('python3', [path.join(root, 'colab', 'make-bootstrap-notebook.py'), tmp], { env: cleanEnv({}) });
  assert.equal(g.status, 0, g.stderr);
  const committed = path.join(root, 'colab', 'mri2ct_colab_bootstrap.ipynb');
  assert.equal(fs.readFileSync(committed, 'utf8'), fs.readFileSync(tmp, 'utf8'),
    'colab/mri2ct_colab_bootstrap.ipynb differs from its generator: run python3 colab/make-bootstrap-notebook.py');
  const nb = JSON.parse(fs.readFileSync(committed, 'utf8')) as { metadata: { kernelspec: { name: string } }; cells: Cell[] };
  assert.equal(nb.metadata.kernelspec.name, 'python3', 'the bootstrap notebook runs on Colab\'s own Python kernel');
  assert.ok(nb.cells.every((c) => (c.outputs ?? []).length === 0), 'committed without outputs');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('colab/bootstrap.sh --dry-run: Colab-only steps only on (simulated) Colab, and nothing is changed', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-colabdry-'));
  const home = path.join(tmp, 'home');
  const stub = path.join(tmp, 'stub');
  fs.mkdirSync(home);
  fs.mkdirSync(stub);
  const base = { HOME: home, PATH: `${stub}:${process.env['PATH'] ?? ''}` };

  // Not Colab: this checkout, the project's set-up as is, no Colab step.
  const plain = sh('bash', [script, '--dry-run'], { env: cleanEnv(base) });
  assert.equal(plain.status, 0, out(plain));
  assert.match(plain.stdout, /environment: not Colab/);
  assert.match(plain.stdout, new RegExp(`would run: bash ${root}/scripts/setup\\.sh`));
  assert.doesNotMatch(plain.stdout, /Colab only|MRI2CT_SKIP_APT|apt-get|git clone|kernelspec|install -g/);

  // Simulated Colab with an old Node, missing Debian packages and no project yet: every Colab step.
  fs.writeFileSync(path.join(stub, 'node'), '#!/bin/sh\n[ "$1" = --version ] && { echo v18.19.0; exit 0; }\nexit 1\n', { mode: 0o755 });
  fs.writeFileSync(path.join(stub, 'dpkg-query'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
  const project = path.join(tmp, 'content', 'mri2ct');
  const colab = sh('bash', [script, '--dry-run'],
    { env: cleanEnv({ ...base, COLAB_RELEASE_TAG: 'simulated', MRI2CT_DIR: project, MRI2CT_REPO_URL: 'https://example.invalid/mri2ct.git' }) });
  assert.equal(colab.status, 0, out(colab));
  const plan = colab.stdout;
  for (const step of [/environment: Google Colab \(COLAB_RELEASE_TAG=simulated\)/, /v18\.19\.0 is older than 20\.9: installing Node 20/,
    /would run: npm install -g .*\bn\b/, /would run: n 20/, /would run: git clone --depth 1 https:\/\/example\.invalid\/mri2ct\.git/,
    /would run: env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential .*libcairo2-dev/,
    /would write kernelspec tslab .*colab\/tslab-kernel\.js/, /would run: env MRI2CT_SKIP_APT=1 bash .*scripts\/setup\.sh/,
    /Route 1, TypeScript notebooks/]) {
    assert.match(plan, step);
  }
  assert.deepEqual(listing(home), [], 'a dry run writes nothing to HOME');
  assert.equal(fs.existsSync(project), false, 'a dry run clones nothing');

  // Refusals: off Colab an old Node is the user's to fix; on Colab a clone needs a URL.
  const oldNode = sh('bash', [script, '--dry-run'], { env: cleanEnv(base) });
  assert.equal(oldNode.status, 1, out(oldNode));
  assert.match(out(oldNode), /Node\.js >= 20\.9 is needed \(found v18\.19\.0\).*installs Node only on Colab/);
  fs.rmSync(path.join(stub, 'node'));
  const noUrl = sh('bash', [script], { env: cleanEnv({ ...base, COLAB_RELEASE_TAG: 'simulated', MRI2CT_DIR: project }) });
  assert.equal(noUrl.status, 1, out(noUrl));
  assert.match(out(noUrl), /set MRI2CT_REPO_URL/);
  assert.equal(fs.existsSync(project), false);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('colab/bootstrap.sh on a simulated fresh Colab runtime: clone, set-up, IPC kernel, both routes', { timeout: 20 * 60_000 }, async (t) => {
  const t0 = Date.now();
  const lap = (what: string): void => t.diagnostic(`${what}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-colab-'));
  const home = path.join(tmp, 'home');
  const stub = path.join(tmp, 'stub');
  const content = path.join(tmp, 'content'); // Colab's /content
  const project = path.join(content, 'mri2ct');
  const repo = path.join(tmp, 'repo');
  const aptLog = path.join(tmp, 'apt.log');
  try {
    // The repository as it would be committed: tracked and new (not ignored) files of this checkout.
    const files = spawnSync('git', ['ls-files', '-z', '-co', '--exclude-standard'], { cwd: root, encoding: 'utf8' });
    assert.equal(files.status, 0, files.stderr);
    for (const f of files.stdout.split('\0').filter(Boolean)) {
      const src = path.join(root, f);
      if (!fs.existsSync(src)) continue; // deleted, not yet committed
      fs.mkdirSync(path.dirname(path.join(repo, f)), { recursive: true });
      fs.copyFileSync(src, path.join(repo, f));
      fs.chmodSync(path.join(repo, f), fs.statSync(src).mode);
    }
    const git = (args: string[]): void => {
      const r = spawnSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.invalid', ...args], { cwd: repo, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    };
    git(['init', '-q']);
    git(['add', '-A']);
    git(['commit', '-q', '-m', 'snapshot']);

    fs.mkdirSync(path.join(home, '.config', 'pip'), { recursive: true });
    for (const f of ['.npmrc', '.config/pip/pip.conf']) {
      const src = path.join(os.homedir(), f);
      if (fs.existsSync(src)) fs.copyFileSync(src, path.join(home, f));
    }
    fs.mkdirSync(stub);
    fs.mkdirSync(content);
    fs.writeFileSync(path.join(stub, 'apt-get'), `#!/bin/sh\necho "apt-get $*" >> ${aptLog}\nexit 0\n`, { mode: 0o755 });
    const env = cleanEnv({
      HOME: home, PATH: `${stub}:${process.env['PATH'] ?? ''}`, COLAB_RELEASE_TAG: 'simulated',
      MRI2CT_REPO_URL: repo, MRI2CT_DIR: project,
    });

    // 1. The script, for real (the same command the bootstrap notebook runs).
    const run = sh('bash', [path.join(repo, 'colab', 'bootstrap.sh')], { cwd: content, env, timeout: 15 * 60_000 });
    const log = out(run);
    fs.writeFileSync(path.join(tmp, 'bootstrap.log'), log);
    assert.equal(run.status, 0, `bootstrap failed:\n${log.slice(-4000)}`);
    lap('bootstrap.sh (clone, set-up, kernel, check)');
    assert.match(log, /environment: Google Colab/);
    assert.match(log, /git clone/);
    assert.match(log, /MRI2CT_SKIP_APT=1/);
    assert.match(log, /✅ kernel round trip \(ipc\): mri2ct library loads in tslab/);
    assert.match(log, /check passed/);
    // This machine has canvas's Debian packages, so the apt stub was not needed.
    assert.equal(fs.existsSync(aptLog), false, `apt-get was called although the packages are there: ${fs.existsSync(aptLog) ? fs.readFileSync(aptLog, 'utf8') : ''}`);
    const spec = JSON.parse(fs.readFileSync(path.join(home, '.local', 'share', 'jupyter', 'kernels', 'tslab', 'kernel.json'), 'utf8')) as
      { argv: string[]; env: Record<string, string> };
    assert.equal(spec.argv[1], path.join(project, 'colab', 'tslab-kernel.js'));
    assert.equal(spec.env['MRI2CT_KERNEL_CWD'], path.join(project, 'notebooks'));
    assert.ok(!machineKernels().includes(tmp), 'the machine\'s own Jupyter kernels do not point into the simulated runtime');
    assert.ok(fs.existsSync(path.join(project, 'dist', 'src', 'index.js')));

    // 2. Rerunning is cheap and changes nothing.
    const again = sh('bash', [path.join(project, 'colab', 'bootstrap.sh')], { cwd: content, env, timeout: 5 * 60_000 });
    assert.equal(again.status, 0, out(again).slice(-3000));
    assert.match(out(again), /step 2: project present/);
    assert.match(out(again), /node_modules up to date/);
    lap('second run');

    // 3. Route 1: TypeScript notebooks opened from outside the project (as Colab's /content),
    //    kernel over IPC sockets as Colab's runtime starts it.
    for (const nb of ['01_check_env.ipynb', '04_train.ipynb']) {
      fs.copyFileSync(path.join(project, 'notebooks', nb), path.join(content, nb));
      const r = sh('jupyter', ['nbconvert', '--to', 'notebook', '--execute', '--ExecutePreprocessor.timeout=600',
        '--ExecutePreprocessor.kernel_name=tslab', '--KernelManager.transport=ipc', '--output-dir', path.join(content, 'executed'), nb],
      { cwd: content, env: { ...env, MRI2CT_NOTEBOOK_TEST: '1' }, timeout: 15 * 60_000 });
      assert.equal(r.status, 0, `${nb} over IPC failed:\n${out(r).split('\n').slice(-25).join('\n')}`);
      const cells = (JSON.parse(fs.readFileSync(path.join(content, 'executed', nb), 'utf8')) as { cells: Cell[] }).cells;
      const outputs = cells.flatMap((c) => c.outputs ?? []);
      assert.deepEqual(outputs.filter((o) => o.output_type === 'error'), [], nb);
      if (nb === '04_train.ipynb') {
        assert.ok(outputs.some((o) => 'image/png' in (o.data ?? {})), '04 shows its sample grid');
        assert.ok(fs.existsSync(path.join(project, 'training_notebooks', 'samples', 'latest.png')),
          'the kernel ran in the project\'s notebooks/ (../training_notebooks is inside the project)');
      }
      lap(`route 1: ${nb} over IPC`);
    }

    // 4. Route 2: the Python bootstrap notebook (set-up again, then the command line).
    const work = path.join(tmp, 'work');
    const r = sh('jupyter', ['nbconvert', '--to', 'notebook', '--execute', '--ExecutePreprocessor.timeout=900',
      '--ExecutePreprocessor.kernel_name=python3', '--output-dir', path.join(content, 'executed'), 'mri2ct_colab_bootstrap.ipynb'],
    { cwd: path.join(project, 'colab'), env: { ...env, MRI2CT_NOTEBOOK_TEST: '1', MRI2CT_WORK: work }, timeout: 15 * 60_000 });
    assert.equal(r.status, 0, `bootstrap notebook failed:\n${out(r).split('\n').slice(-30).join('\n')}`);
    const cells = (JSON.parse(fs.readFileSync(path.join(content, 'executed', 'mri2ct_colab_bootstrap.ipynb'), 'utf8')) as { cells: Cell[] }).cells;
    const outputs = cells.flatMap((c) => c.outputs ?? []);
    assert.deepEqual(outputs.filter((o) => o.output_type === 'error').map((o) => `${o.ename}: ${o.evalue}`), []);
    const text = outputs.map((o) => (Array.isArray(o.text) ? o.text.join('') : o.text ?? '')).join('');
    assert.match(text, /Colab: True/);
    assert.match(text, /check passed/);
    assert.match(text, /best validation MAE/);
    const pngs = outputs.filter((o) => 'image/png' in (o.data ?? {})).length;
    assert.ok(pngs >= 1, 'route 2 shows the sample grid');
    assert.ok(fs.existsSync(path.join(work, 'training_output', 'samples', 'latest.png')));
    lap(`route 2: bootstrap notebook (${pngs} images)`);
  } finally {
    if (process.env['MRI2CT_KEEP_COLAB_TMP'] === undefined) fs.rmSync(tmp, { recursive: true, force: true });
    else t.diagnostic(`kept ${tmp}`);
  }
});
