/**
 * The GPU route on a machine without a GPU, simulated: a fake `nvidia-smi` on PATH (a Tesla T4,
 * as on a Colab GPU runtime), a fake GPU build of the Python `tensorflow` package with pip's
 * nvidia-*-cu12 libraries on PYTHONPATH, fake CUDA library folders on LD_LIBRARY_PATH. Checked:
 * the route scripts/setup-tfjs.sh plans and the commands it would run (its plan mode changes
 * nothing: the shared binding here is never rebuilt), check-env's failure when a GPU is visible
 * but TensorFlow (this machine's CPU binding) runs on the CPU, --backend tensorflow-gpu refusing
 * to start, and the pieces underneath (nvidia-smi parsing, library lookup, preloading by path).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { preloadCudaLibraries } from '../src/env/cuda-preload';
import { cpuFallbackDiagnosis, cudaNeeds, findLibrary, queryGpus } from '../src/env/gpu';
import { builtOsHelper } from '../src/env/quiet-tf';

const root = path.resolve(__dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mri2ct-gpu-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const T4 = 'Tesla T4, 15360, 14910, 7.5, 535.104.05';
const fakeBin = path.join(tmp, 'bin');
fs.mkdirSync(fakeBin);
fs.writeFileSync(path.join(fakeBin, 'nvidia-smi'), `#!/bin/sh
case "$*" in
  *--query-gpu=name\\ *|*--query-gpu=name) echo "Tesla T4" ;;
  *--query-gpu*) echo "${T4}" ;;
  "") echo "| NVIDIA-SMI 535.104.05   Driver Version: 535.104.05   CUDA Version: 12.2 |" ;;
  *) exit 9 ;;
esac
`, { mode: 0o755 });
const touch = (p: string): void => {
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, '');
};

// A Colab-like site-packages: tensorflow 2.19 (GPU build: the `tensorflow` distribution) and cu12 libraries.
const site = path.join(tmp, 'site-packages');
for (const f of ['__init__.py', 'libtensorflow_cc.so.2', 'libtensorflow_framework.so.2', 'include/tensorflow/c/c_api.h']) touch(path.join(site, 'tensorflow', f));
fs.mkdirSync(path.join(site, 'tensorflow-2.19.0.dist-info'));
fs.writeFileSync(path.join(site, 'tensorflow-2.19.0.dist-info', 'METADATA'), 'Metadata-Version: 2.1\nName: tensorflow\nVersion: 2.19.0\n');
for (const [p, l] of [['cuda_runtime', 'libcudart.so.12'], ['cublas', 'libcublas.so.12'], ['cublas', 'libcublasLt.so.12'], ['cufft', 'libcufft.so.11'],
  ['cusparse', 'libcusparse.so.12'], ['cusolver', 'libcusolver.so.11'], ['cudnn', 'libcudnn.so.9'], ['cudnn', 'libcudnn_ops.so.9']] as const) {
  touch(path.join(site, 'nvidia', p, 'lib', l));
}

const cleanEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = { ...process.env, MRI2CT_CACHE_HOME: path.join(tmp, 'cache') };
  delete e['MRI2CT_TF_ROUTE'];
  delete e['LIBTENSORFLOW_DIR'];
  return { ...e, ...extra };
};
const gpuPath = `${fakeBin}:${process.env['PATH'] ?? ''}`;
const setupPlan = (extra: Record<string, string>) =>
  spawnSync('bash', [path.join(root, 'scripts/setup-tfjs.sh'), '--plan'], { cwd: root, encoding: 'utf8', env: cleanEnv(extra), timeout: 120_000 });
const deps = path.join(root, 'node_modules/@tensorflow/tfjs-node/deps');
const depsState = (): string => JSON.stringify(fs.readdirSync(deps).map((f) => [f, fs.statSync(path.join(deps, f)).mtimeMs]));

test('set-up plans: Colab GPU runtime -> gpu-wheel with the cu12 preload list; GPU without Python TF -> tfjs-node-gpu\'s libtensorflow + pip cu11; no GPU -> nothing', () => {
  const before = depsState();
  const colab = setupPlan({ PATH: gpuPath, PYTHONPATH: site, COLAB_RELEASE_TAG: 'simulated' });
  const c = colab.stdout;
  assert.equal(colab.status, 0, c + colab.stderr);
  assert.match(c, /GPU visible: Tesla T4/);
  assert.match(c, /binding loads but runs on the CPU \(.*\): taking the GPU routes/);
  assert.match(c, new RegExp(`route gpu-wheel: TensorFlow 2\\.19\\.0 at ${site}/tensorflow`));
  assert.match(c, /would run: \(cd .*tfjs-node && node-gyp rebuild/);
  assert.match(c, /would write .*mri2ct-cuda-preload\.txt: 8 libraries/);
  assert.match(c, new RegExp(`${site}/nvidia/cuda_runtime/lib/libcudart\\.so\\.12`));
  assert.match(c, /libcudnn_ops\.so\.9/);
  assert.doesNotMatch(c, /gpu-libtensorflow/, 'the first GPU route that fits is planned, not the next');

  const noPyTf = setupPlan({ PATH: gpuPath });
  assert.equal(noPyTf.status, 0, noPyTf.stderr);
  assert.match(noPyTf.stdout, /route gpu-wheel: no GPU build of the Python tensorflow package/);
  assert.match(noPyTf.stdout, /route gpu-libtensorflow: tfjs-node-gpu's libtensorflow 2\.9\.1 \(CUDA 11\.2, cuDNN 8\.1\)/);
  assert.match(noPyTf.stdout, /would run: curl -fsSL https:\/\/storage\.googleapis\.com\/tensorflow\/libtensorflow\/libtensorflow-gpu-linux-x86_64-2\.9\.1\.tar\.gz/);
  assert.match(noPyTf.stdout, /would run: pip install --quiet --target \S+\/cuda11 nvidia-cuda-runtime-cu11 nvidia-cudnn-cu11>=8\.1,<9 nvidia-cublas-cu11 nvidia-cufft-cu11 nvidia-curand-cu11 nvidia-cusolver-cu11 nvidia-cusparse-cu11/);
  assert.match(noPyTf.stdout, /libcudart\.so\.11\.0 .*libcudnn\.so\.8/);

  const forced = setupPlan({ MRI2CT_TF_ROUTE: 'gpu-libtensorflow', PYTHONPATH: site });
  assert.match(forced.stdout, /no GPU visible/);
  assert.match(forced.stdout, /route gpu-libtensorflow/);
  assert.doesNotMatch(forced.stdout, /route gpu-wheel/);

  const cpu = setupPlan({});
  assert.equal(cpu.status, 0);
  assert.match(cpu.stdout, /no GPU visible[\s\S]*binding already loads: nothing to do/);
  assert.equal(depsState(), before, 'plan mode changed nothing in the binding\'s deps/');
  assert.ok(!fs.existsSync(path.join(tmp, 'cache')), 'nor created the cache folder');
});

const cli = (args: string[], extra: Record<string, string>) =>
  spawnSync(process.execPath, [path.join(root, 'dist/src/cli/main.js'), ...args], { cwd: root, encoding: 'utf8', env: cleanEnv(extra), timeout: 120_000 });

test('check-env: a visible GPU with TensorFlow on the CPU is a failure naming the missing libraries; --backend tensorflow-gpu refuses to start', () => {
  const libs = path.join(tmp, 'fake-cuda');
  touch(path.join(libs, 'libcudart.so.12'));
  touch(path.join(libs, 'libcublas.so.12'));
  const r = cli(['check-env'], { PATH: gpuPath, LD_LIBRARY_PATH: libs });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  const line = r.stdout.split('\n').find((l) => l.includes(' GPU ')) ?? '';
  assert.match(line, /^❌ GPU +GPU visible \(Tesla T4, 15360 MiB \(14910 free\), compute 7\.5, driver 535\.104\.05 \(CUDA ≤ 12\.2\)\) but TensorFlow runs on the CPU/);
  assert.match(line, /TensorFlow 2\.21\.0 needs CUDA 12 \+ cuDNN 9 and cannot load libcublasLt\.so\.12, libcufft\.so\.11, libcusolver\.so\.11, libcusparse\.so\.12, libcudnn\.so\.9$/);
  assert.match(r.stdout, /fix: run `bash scripts\/setup-tfjs\.sh` \(takes the GPU route/);
  assert.match(r.stdout, /Verdict: NOT ready/);

  const hidden = cli(['check-env'], { PATH: gpuPath, CUDA_VISIBLE_DEVICES: '' });
  assert.match(hidden.stdout, /✅ GPU +Tesla T4.*hidden by CUDA_VISIBLE_DEVICES/);

  const refuse = cli(['train', '--cache_dir', path.join(tmp, 'no-cache'), '--output_dir', path.join(tmp, 'out'), '--backend', 'tensorflow-gpu'], { PATH: gpuPath });
  assert.equal(refuse.status, 2, refuse.stdout + refuse.stderr);
  assert.match(refuse.stderr, /BackendError: --backend tensorflow-gpu refuses to fall back to the CPU: GPU visible \(Tesla T4.*cannot load libcudart\.so\.12/);
  assert.ok(!fs.existsSync(path.join(tmp, 'out')), 'nothing started');
});

test('nvidia-smi parsing, CUDA needs by TensorFlow version, library lookup order, preloading by path', () => {
  const exec = (file: string, args: string[]): string => {
    assert.equal(file, 'nvidia-smi');
    return args.length === 0 ? 'CUDA Version: 12.4' : `${T4}\nNVIDIA GeForce RTX 4090, 24564, 23000, 8.9, 550.54\n`;
  };
  const gpus = queryGpus(exec);
  assert.deepEqual(gpus.map((g) => [g.name, g.memoryFreeMiB, g.computeCapability, g.driverCudaVersion]), [
    ['Tesla T4', 14910, '7.5', '12.4'], ['NVIDIA GeForce RTX 4090', 23000, '8.9', '12.4']]);
  assert.deepEqual(queryGpus(() => { throw new Error('no nvidia-smi'); }), []);
  assert.equal(cudaNeeds('2.9.1').libraries[0], 'libcudart.so.11.0');
  assert.equal(cudaNeeds('2.9.1').cudnn, '8.1');
  assert.equal(cudaNeeds('2.17.0').libraries.at(-1), 'libcudnn.so.8');
  assert.equal(cudaNeeds('2.21.0').libraries.at(-1), 'libcudnn.so.9');

  const a = path.join(tmp, 'lib-a');
  const b = path.join(tmp, 'lib-b');
  touch(path.join(a, 'libcudart.so.11.0'));
  touch(path.join(b, 'libcudart.so.11.0'));
  const noLdconfig = (): string => { throw new Error('none'); };
  assert.equal(findLibrary('libcudart.so.11.0', { env: { LD_LIBRARY_PATH: `${a}:${b}` }, exec: noLdconfig, systemDirs: [] }), path.join(a, 'libcudart.so.11.0'));
  assert.equal(findLibrary('libcudart.so.11.0', { env: {}, preload: [path.join(b, 'libcudart.so.11.0')], exec: noLdconfig, systemDirs: [] }), path.join(b, 'libcudart.so.11.0'));
  assert.equal(findLibrary('libcudart.so.11.0', { env: {}, exec: () => '\tlibcudart.so.11.0 (libc6,x86-64) => /opt/cuda/libcudart.so.11.0\n', systemDirs: [] }), '/opt/cuda/libcudart.so.11.0');
  const d = cpuFallbackDiagnosis(gpus, '2.9.1', { env: { LD_LIBRARY_PATH: a }, exec: noLdconfig, systemDirs: [] });
  assert.deepEqual(d.missing, cudaNeeds('2.9.1').libraries.slice(1));
  assert.match(d.fix, /nvidia-cudnn-cu11<9/);

  // Preloading: a package folder with set-up's list; one real shared object (the helper itself), one missing.
  const helper = builtOsHelper();
  assert.ok(helper !== null, 'dist/native/os-helper.node is built');
  const pkgDir = path.join(tmp, 'node_modules', 'fake-binding');
  const real = path.join(root, 'dist/native/os-helper.node');
  const missing = path.join(tmp, 'nowhere', 'libcudnn.so.8');
  fs.mkdirSync(path.join(pkgDir, 'deps'), { recursive: true });
  fs.writeFileSync(path.join(pkgDir, 'package.json'), '{"name":"fake-binding"}');
  fs.writeFileSync(path.join(pkgDir, 'deps', 'mri2ct-cuda-preload.txt'), `# list\n${missing}\n${real}\n`);
  const resolve = (id: string): string => { assert.equal(id, 'fake-binding/package.json'); return path.join(pkgDir, 'package.json'); };
  const r = preloadCudaLibraries('fake-binding', helper, resolve);
  assert.deepEqual(r.loaded, [real]);
  assert.equal(r.failed.length, 1);
  assert.match(r.failed[0] ?? '', /libcudnn\.so\.8: .*No such file/);
  const without = preloadCudaLibraries('fake-binding', null, resolve);
  assert.match(without.note ?? '', new RegExp(`export LD_LIBRARY_PATH=${path.join(tmp, 'nowhere')}:${path.join(root, 'dist/native')}`));
});

test('colab/bootstrap.sh on a simulated Colab GPU runtime: the dry run plans the GPU route; --check refuses a binding from the CPU route', () => {
  const home = path.join(tmp, 'bootstrap-home');
  fs.mkdirSync(home, { recursive: true });
  const bootstrap = (args: string[], extra: Record<string, string>) =>
    spawnSync('bash', [path.join(root, 'colab/bootstrap.sh'), ...args], { cwd: root, encoding: 'utf8', env: cleanEnv({ HOME: home, MRI2CT_DIR: root, ...extra }), timeout: 300_000 });

  const dry = bootstrap(['--dry-run'], { PATH: gpuPath, PYTHONPATH: site, COLAB_RELEASE_TAG: 'simulated' });
  assert.equal(dry.status, 0, dry.stdout + dry.stderr);
  assert.match(dry.stdout, /GPU runtime: Tesla T4 \(nvidia-smi\): set-up takes the GPU route/);
  assert.match(dry.stdout, /TensorFlow route plan[\s\S]*route gpu-wheel: TensorFlow 2\.19\.0/, 'the dry run shows the route set-up would take');
  assert.match(dry.stdout, /would run: env MRI2CT_SKIP_APT=1 bash .*scripts\/setup\.sh/);
  assert.deepEqual(fs.readdirSync(home), [], 'a dry run writes nothing to HOME');

  const cpuRuntime = bootstrap(['--dry-run'], { COLAB_RELEASE_TAG: 'simulated' });
  assert.match(cpuRuntime.stdout, /CPU runtime \(nvidia-smi lists no GPU\): set-up takes the CPU route/);
  assert.doesNotMatch(cpuRuntime.stdout, /TensorFlow route plan/);

  // This machine's binding came from the CPU wheel: on a (simulated) GPU machine --check must fail on it.
  const route = fs.readFileSync(path.join(deps, 'mri2ct-route.txt'), 'utf8').split('\n')[0] ?? '';
  assert.doesNotMatch(route, /^(gpu-|libdir)/, 'this machine has the CPU binding');
  const check = bootstrap(['--check'], { PATH: gpuPath, HOME: process.env['HOME'] ?? home });
  assert.equal(check.status, 1, check.stdout + check.stderr);
  assert.match(check.stdout, new RegExp(`❌ GPU runtime \\(Tesla T4\\) but the binding came from the CPU route \\(${route.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\): rerun bash scripts/setup-tfjs\\.sh`));
  assert.match(check.stdout, /❌ mri2ct check-env fails/);
  assert.match(check.stdout, /but TensorFlow runs on the CPU/, 'check-env names the silent CPU fallback');
  assert.match(check.stdout, /check FAILED/);
});
