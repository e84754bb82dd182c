/**
 * Checkpoint files: one file per checkpoint (`best_model.ckpt`, `epoch_N.ckpt`, `last.ckpt`)
 * holding G and D weights, both Adam states, epoch, step, RNG state and the full config, with a
 * SHA-256 of the tensor data. Layout: "MRI2CTCK" | u32 version | u32 header bytes | JSON header |
 * zero padding to 8 bytes | float32 tensor data. A float16 run's loss-scale state rides in the
 * JSON header (`lossScale`; absent elsewhere and in older files). Written atomically. Loading refuses a corrupt
 * file or one whose model config differs. It must not decide when to save (the trainer does).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { CheckpointError } from '../errors';
import type { ModelConfig } from '../model/config';
import type { AdamLike } from '../model/adam';
import type { LossScaleState } from '../model/loss-scale';
import type { Pix2Pix } from '../model/pix2pix';
import { writeFileAtomicSync } from '../util/atomic-write';

const MAGIC = 'MRI2CTCK';
const VERSION = 1;

export interface CheckpointState {
  /** Epochs completed. */
  epoch: number;
  /** Optimiser steps completed. */
  step: number;
  /** Training RNG state, to continue the same random stream. */
  rngState: number[];
  /** Best validation MAE in HU so far (for best_model selection after resume). */
  bestValMaeHu: number | null;
  /** The whole training config (model, optimiser, data, augmentation). */
  config: { model: ModelConfig } & Record<string, unknown>;
  /** Free-form metrics of the epoch that produced it. */
  metrics?: Record<string, number>;
  /** float16 runs: the dynamic loss scales, so a resume continues them exactly. */
  lossScale?: LossScaleState;
}

interface TensorEntry { name: string; shape: number[]; dtype: 'float32' | 'int32'; offset: number; size: number }
interface Header extends CheckpointState { format: 'mri2ct-checkpoint'; createdAt: string; sha256: string; tensors: TensorEntry[] }

/** Resolves `x` / `x.ckpt` / a directory containing last.ckpt. */
export function resolveCheckpointPath(p: string): string {
  if (fs.existsSync(p) && fs.statSync(p).isFile()) return p;
  if (fs.existsSync(`${p}.ckpt`)) return `${p}.ckpt`;
  if (fs.existsSync(p) && fs.statSync(p).isDirectory()) {
    for (const c of ['last.ckpt', 'checkpoints/last.ckpt']) if (fs.existsSync(`${p}/${c}`)) return `${p}/${c}`;
  }
  throw new CheckpointError(`checkpoint ${p} not found (tried ${p}, ${p}.ckpt, ${p}/last.ckpt). Pass a file from <output_dir>/checkpoints/.`);
}

/**
 * Adam's running β1^t and β2^t. getWeights() leaves them out and setWeights() recomputes them with
 * pow(), which differs from the running product in the last bits; saving them keeps resume exact.
 */
function adamPowers(opt: AdamLike): { name: string; v: tf.Variable }[] {
  return [
    { name: 'accBeta1', v: opt.accBeta1 },
    { name: 'accBeta2', v: opt.accBeta2 },
  ];
}

/**
 * A saved moment is named after the saving model's tf.js variable (`<scope>/G/enc1/kernel/m`);
 * the loading model's variables carry another scope. Maps it to this model's variable name (the
 * fused Adam finds its slots by name; tf.js's Adam goes by position and ignores names).
 */
function renameMoment(saved: string, model: Pix2Pix, file: string): string {
  const match = /^[^/]+\/((?:G|D)\/.+)\/([mv])$/.exec(saved);
  if (match === null || match[1] === undefined) return saved; // 'iter'
  const v = model.G.get(match[1]) ?? model.D.get(match[1]);
  if (v === undefined) throw new CheckpointError(`${file}: optimiser state for ${match[1]}, a parameter this model does not have.`);
  return `${v.name}/${match[2]}`;
}

/** `owned`: a fresh tensor made for the save (Adam's `iter` scalar), to dispose afterwards. */
async function namedTensors(model: Pix2Pix): Promise<{ name: string; tensor: tf.Tensor; owned: boolean }[]> {
  const out: { name: string; tensor: tf.Tensor; owned: boolean }[] = [];
  for (const [name, v] of [...model.G, ...model.D]) out.push({ name: `param:${name}`, tensor: v, owned: false });
  for (const [tag, opt] of [['optG', model.optG], ['optD', model.optD]] as const) {
    // getWeights() returns the moment variables themselves plus a new scalar for the iteration count.
    for (const w of await opt.getWeights()) out.push({ name: `${tag}:${w.name}`, tensor: w.tensor, owned: !(w.tensor instanceof tf.Variable) });
    for (const { name, v } of adamPowers(opt)) out.push({ name: `${tag}.state:${name}`, tensor: v, owned: false });
  }
  return out;
}

/** Saves model + optimiser state + `state` to `file`, atomically. */
export async function saveCheckpoint(file: string, model: Pix2Pix, state: CheckpointState): Promise<void> {
  const tensors = await namedTensors(model);
  const entries: TensorEntry[] = [];
  const datas: Uint8Array[] = [];
  let offset = 0;
  const raws: (Float32Array | Int32Array | Uint8Array)[] = [];
  try {
    for (const { tensor } of tensors) raws.push((await tensor.data()) as Float32Array | Int32Array | Uint8Array);
  } finally {
    tf.dispose(tensors.filter((t) => t.owned).map((t) => t.tensor));
  }
  for (const [i, { name, tensor }] of tensors.entries()) {
    // Stored as float32 whatever the dtype (Adam's iteration counter is int32; exact up to 2^24).
    const raw = raws[i];
    const data = raw instanceof Float32Array ? raw : Float32Array.from(raw as Int32Array);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    entries.push({ name, shape: tensor.shape, dtype: tensor.dtype === 'int32' ? 'int32' : 'float32', offset, size: tensor.size });
    datas.push(bytes);
    offset += bytes.byteLength;
  }
  const hash = createHash('sha256');
  for (const d of datas) hash.update(d);
  const header: Header = { format: 'mri2ct-checkpoint', createdAt: new Date().toISOString(), sha256: hash.digest('hex'), tensors: entries, ...state };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const pre = Buffer.alloc(16);
  pre.write(MAGIC, 0, 'latin1');
  pre.writeUInt32LE(VERSION, 8);
  pre.writeUInt32LE(json.byteLength, 12);
  const pad = Buffer.alloc((8 - ((16 + json.byteLength) % 8)) % 8);
  writeFileAtomicSync(file, [pre, json, pad, ...datas]);
}

function readHeader(file: string, buf: Buffer): { header: Header; dataStart: number } {
  if (buf.byteLength < 16 || buf.toString('latin1', 0, 8) !== MAGIC) {
    throw new CheckpointError(`${file} is not an mri2ct checkpoint (bad magic). Pass a .ckpt file written by mri2ct train.`);
  }
  const version = buf.readUInt32LE(8);
  if (version !== VERSION) throw new CheckpointError(`${file}: checkpoint format version ${version}, this mri2ct reads ${VERSION}.`);
  const len = buf.readUInt32LE(12);
  if (16 + len > buf.byteLength) throw new CheckpointError(`${file} is truncated (header cut). Use another checkpoint, e.g. an epoch_N.ckpt.`);
  const header = JSON.parse(buf.toString('utf8', 16, 16 + len)) as Header;
  const dataStart = 16 + len + ((8 - ((16 + len) % 8)) % 8);
  return { header, dataStart };
}

/** Reads only the header (config, epoch, metrics). */
export function readCheckpointState(file: string): CheckpointState & { createdAt: string } {
  const path = resolveCheckpointPath(file);
  const fd = fs.openSync(path, 'r');
  try {
    const pre = Buffer.alloc(16);
    fs.readSync(fd, pre, 0, 16, 0);
    const len = pre.byteLength === 16 && pre.toString('latin1', 0, 8) === MAGIC ? pre.readUInt32LE(12) : 0;
    const buf = Buffer.alloc(16 + len);
    fs.readSync(fd, buf, 0, buf.byteLength, 0);
    const { header } = readHeader(path, buf);
    const { tensors: _t, sha256: _s, format: _f, ...state } = header;
    return state;
  } finally {
    fs.closeSync(fd);
  }
}

/** Differences between two model configs, as "key: a ≠ b" strings. */
export function modelConfigDifferences(a: ModelConfig, b: ModelConfig): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof ModelConfig)[]);
  return [...keys].filter((k) => a[k] !== b[k]).map((k) => `${k}: checkpoint ${String(a[k])} ≠ requested ${String(b[k])}`);
}

/**
 * Loads `file` into `model` (weights, and optimiser state unless `weightsOnly`). Refuses a
 * checkpoint whose model config differs from the model's, or whose data fails its checksum.
 */
export async function loadCheckpoint(file: string, model: Pix2Pix, options: { weightsOnly?: boolean } = {}): Promise<CheckpointState> {
  const path = resolveCheckpointPath(file);
  const buf = fs.readFileSync(path);
  const { header, dataStart } = readHeader(path, buf);
  const diffs = modelConfigDifferences(header.config.model, model.config);
  if (diffs.length > 0) {
    throw new CheckpointError(
      `${path} was trained with another model config (${diffs.join('; ')}). ` +
        'Use the same --image_size/--ngf/--ndf/--gan_mode as that run, or start without --resume.',
    );
  }
  const data = buf.subarray(dataStart);
  const total = header.tensors.reduce((s, t) => s + t.size * 4, 0);
  if (data.byteLength < total) throw new CheckpointError(`${path} is truncated (${data.byteLength} of ${total} data bytes). Use another checkpoint.`);
  if (createHash('sha256').update(data.subarray(0, total)).digest('hex') !== header.sha256) {
    throw new CheckpointError(`${path} is corrupt (checksum mismatch). Use another checkpoint, e.g. an epoch_N.ckpt.`);
  }
  const aligned = new Float32Array(total / 4);
  new Uint8Array(aligned.buffer).set(data.subarray(0, total));
  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  const get = (name: string): tf.Tensor => {
    const e = byName.get(name);
    if (e === undefined) throw new CheckpointError(`${path} has no tensor ${name}; it does not match this model.`);
    const values = aligned.subarray(e.offset / 4, e.offset / 4 + e.size);
    return e.dtype === 'int32' ? tf.tensor(Int32Array.from(values), e.shape, 'int32') : tf.tensor(values, e.shape, 'float32');
  };
  for (const [name, v] of [...model.G, ...model.D]) {
    const t = get(`param:${name}`);
    if (t.shape.join() !== v.shape.join()) throw new CheckpointError(`${path}: ${name} has shape ${t.shape.join('x')}, model wants ${v.shape.join('x')}.`);
    v.assign(t);
    t.dispose();
  }
  if (options.weightsOnly !== true) {
    for (const [tag, opt] of [['optG', model.optG], ['optD', model.optD]] as const) {
      const prefix = `${tag}:`;
      const ws = header.tensors
        .filter((t) => t.name.startsWith(prefix))
        .map((t) => ({ name: renameMoment(t.name.slice(prefix.length), model, path), tensor: get(t.name) }));
      if (ws.length > 0) {
        // setWeights reads `iter` and wraps each moment in a new variable: our tensors are spare.
        try {
          await opt.setWeights(ws);
        } finally {
          tf.dispose(ws.map((w) => w.tensor));
        }
      }
      for (const { name, v } of adamPowers(opt)) {
        if (!byName.has(`${tag}.state:${name}`)) continue; // older checkpoints: setWeights' pow() values
        const t = get(`${tag}.state:${name}`);
        v.assign(t);
        t.dispose();
      }
    }
  }
  const { tensors: _t, sha256: _s, format: _f, createdAt: _c, ...state } = header;
  return state;
}
