import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadBackend } from '../src/env/backend';
import { ConfigError } from '../src/errors';
import { type AdamConfig, type AdamLike, createAdam, FusedAdam, resolveAdamImplementation } from '../src/model';

const CONFIG: AdamConfig = { lr: 0.05, beta1: 0.5, beta2: 0.999, epsilon: 1e-7 };
let counter = 0;

before(async () => {
  await loadBackend();
});

/** Deterministic pseudo-random values in [-1, 1]. */
function values(n: number, seed: number): number[] {
  let s = seed * 9301 + 49297;
  return Array.from({ length: n }, () => {
    s = (s * 9301 + 49297) % 233280;
    return (s / 233280) * 2 - 1;
  });
}

function variables(seed: number): tf.Variable[] {
  counter += 1;
  return [
    tf.variable(tf.tensor(values(12, seed), [3, 4]), true, `adamtest${counter}/a`),
    tf.variable(tf.tensor(values(5, seed + 1), [5]), true, `adamtest${counter}/b`),
  ];
}

function grads(vars: tf.Variable[], step: number): { name: string; tensor: tf.Tensor }[] {
  return vars.map((v, i) => ({ name: v.name, tensor: tf.tensor(values(v.size, 100 * step + i), v.shape) }));
}

/** Applies steps from..to of the deterministic gradients to each (optimiser, variables) run. */
function runSteps(runs: { opt: AdamLike; vars: tf.Variable[] }[], from: number, to: number): void {
  for (let step = from; step <= to; step++) {
    for (const { opt, vars } of runs) {
      const g = grads(vars, step);
      opt.applyGradients(g);
      tf.dispose(g.map((x) => x.tensor));
    }
  }
}

/** TensorFlow's / Keras's Adam rule in float64. */
class ReferenceAdam {
  m: number[];
  v: number[];
  t = 0;
  constructor(public theta: number[], private readonly c: AdamConfig) {
    this.m = theta.map(() => 0);
    this.v = theta.map(() => 0);
  }
  step(g: number[]): void {
    const { lr, beta1, beta2, epsilon } = this.c;
    this.t += 1;
    const lrT = (lr * Math.sqrt(1 - beta2 ** this.t)) / (1 - beta1 ** this.t);
    g.forEach((gi, i) => {
      this.m[i] = beta1 * (this.m[i] ?? 0) + (1 - beta1) * gi;
      this.v[i] = beta2 * (this.v[i] ?? 0) + (1 - beta2) * gi * gi;
      this.theta[i] = (this.theta[i] ?? 0) - (lrT * (this.m[i] ?? 0)) / (Math.sqrt(this.v[i] ?? 0) + epsilon);
    });
  }
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] ?? NaN;
    const e = expected[i] ?? NaN;
    assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `${what}[${i}]: ${a} vs ${e}`);
  }
}

test('the fused Adam follows TensorFlow/Keras Adam (float64 reference) over several steps', () => {
  assert.equal(resolveAdamImplementation(), 'fused');
  const vars = variables(1);
  const refs = vars.map((v) => new ReferenceAdam(Array.from(v.dataSync()), CONFIG));
  const opt = new FusedAdam(CONFIG);
  let ids: object[] = [];
  for (let step = 1; step <= 6; step++) {
    const g = grads(vars, step);
    g.forEach((gi, i) => refs[i]?.step(Array.from(gi.tensor.dataSync())));
    // Every second step in reverse order (trainStep's lastFirst): the same result.
    opt.applyGradients(g, { lastFirst: step % 2 === 0 });
    tf.dispose(g.map((x) => x.tensor));
    if (step === 2) ids = vars.map((v) => v.dataId);
  }
  vars.forEach((v, i) => assertClose(v.dataSync(), refs[i]?.theta ?? [], 2e-5, v.name));
  // From step 2 on the update is in place (no copy-on-write): the Variables keep their data.
  assert.deepEqual(vars.map((v) => v.dataId), ids, 'the in-place update path was not taken');
  // The parameters really moved (lr 0.05 for 6 steps).
  assert.ok(Math.abs((vars[0]?.dataSync()[0] ?? 0) - values(12, 1)[0]!) > 0.05);
  opt.dispose();
  tf.dispose(vars);
});

test('a parameter assigned from outside (checkpoint load) is the one the next step updates', () => {
  const vars = variables(2);
  const opt = new FusedAdam(CONFIG);
  const refs = vars.map((v) => new ReferenceAdam(Array.from(v.dataSync()), CONFIG));
  for (let step = 1; step <= 4; step++) {
    const g = grads(vars, step);
    g.forEach((gi, i) => refs[i]?.step(Array.from(gi.tensor.dataSync())));
    opt.applyGradients(g);
    tf.dispose(g.map((x) => x.tensor));
    if (step === 2) {
      // Overwrite the first variable, as loading weights does; the reference follows.
      const fresh = values(12, 77);
      tf.tidy(() => vars[0]?.assign(tf.tensor(fresh, [3, 4])));
      if (refs[0] !== undefined) refs[0].theta = fresh;
    }
  }
  vars.forEach((v, i) => assertClose(v.dataSync(), refs[i]?.theta ?? [], 2e-5, v.name));
  opt.dispose();
  tf.dispose(vars);
});

test('fused Adam state continues exactly in another fused optimiser (getWeights/setWeights + β powers)', async () => {
  const a = variables(3);
  const b = variables(3);
  const optA = new FusedAdam(CONFIG);
  runSteps([{ opt: optA, vars: a }], 1, 3);
  // b takes a's weights and a's optimiser state, renamed to b's variables.
  b.forEach((v, i) => v.assign(a[i] as tf.Tensor));
  const scopeB = b[0]?.name.split('/')[0] ?? '';
  const stateA = await optA.getWeights();
  assert.deepEqual(stateA.map((w) => w.name), ['iter', `${a[0]?.name}/m`, `${a[1]?.name}/m`, `${a[0]?.name}/v`, `${a[1]?.name}/v`]);
  assert.equal(stateA[0]?.tensor.dtype, 'int32');
  assert.equal(stateA[0]?.tensor.dataSync()[0], 3);
  const optB = new FusedAdam(CONFIG);
  await optB.setWeights(stateA.map((w) => ({ name: w.name.replace(/^adamtest\d+/, scopeB), tensor: w.tensor })));
  optB.accBeta1.assign(optA.accBeta1);
  optB.accBeta2.assign(optA.accBeta2);
  tf.dispose(stateA.map((w) => w.tensor));
  runSteps([{ opt: optA, vars: a }, { opt: optB, vars: b }], 4, 5);
  a.forEach((v, i) => assert.deepEqual(Array.from(b[i]?.dataSync() ?? []), Array.from(v.dataSync()), `after resume, ${v.name}`));
  optA.dispose();
  optB.dispose();
  tf.dispose([...a, ...b]);
});

test("tf.js Adam's state (a checkpoint from the pure-JS backend) has the fused Adam's names and moments", async () => {
  const c = variables(4);
  const d = variables(4);
  const optC = createAdam(CONFIG, 'tfjs');
  const optD = createAdam(CONFIG, 'fused');
  runSteps([{ opt: optC, vars: c }, { opt: optD, vars: d }], 1, 3);
  const strip = (n: string): string => n.replace(/^adamtest\d+\//, '');
  const sc = await optC.getWeights();
  const sd = await optD.getWeights();
  assert.deepEqual(sc.map((w) => strip(w.name)), sd.map((w) => strip(w.name)));
  sc.forEach((w, i) => assertClose(w.tensor.dataSync(), sd[i]?.tensor.dataSync() ?? [], 1e-6, w.name));
  // Loading tf.js's state into a fused optimiser for the same variables reproduces it.
  const optE = new FusedAdam(CONFIG);
  await optE.setWeights(sc);
  const se = await optE.getWeights();
  sc.forEach((w, i) => assert.deepEqual(Array.from(se[i]?.tensor.dataSync() ?? []), Array.from(w.tensor.dataSync()), w.name));
  tf.dispose([...sd, ...se].map((w) => w.tensor)); // sc holds optC's own variables (disposed with it) and a fresh iter
  sc[0]?.tensor.dispose();
  for (const o of [optC, optD, optE]) o.dispose();
  tf.dispose([...c, ...d]);
});

test('the fused Adam keeps the tensor count flat across steps and releases everything on dispose', () => {
  const vars = variables(5);
  const before = tf.memory().numTensors;
  const opt = new FusedAdam(CONFIG);
  const g = grads(vars, 1);
  opt.applyGradients(g);
  const afterFirst = tf.memory().numTensors;
  for (let i = 0; i < 10; i++) opt.applyGradients(g);
  assert.equal(tf.memory().numTensors, afterFirst);
  tf.dispose(g.map((x) => x.tensor));
  opt.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => opt.applyGradients([]), ConfigError);
  tf.dispose(vars);
});

test('on the pure-JS backend the fused Adam is refused with a reason and auto falls back to tf.js Adam', async () => {
  const previous = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    assert.equal(resolveAdamImplementation(), 'tfjs');
    assert.throws(() => resolveAdamImplementation('fused'), /fused Adam needs a tfjs-node backend \(current backend: 'cpu'\)/);
    const vars = variables(6);
    const opt = createAdam(CONFIG);
    assert.ok(!(opt instanceof FusedAdam));
    const g = grads(vars, 1);
    const before = Array.from(vars[0]?.dataSync() ?? []);
    opt.applyGradients(g);
    assert.notDeepEqual(Array.from(vars[0]?.dataSync() ?? []), before);
    opt.dispose();
    tf.dispose([...vars, ...g.map((x) => x.tensor)]);
  } finally {
    await tf.setBackend(previous);
  }
});
