/**
 * Synthetic CT for a new MRI, back in the MRI's own geometry: reads the checkpoint's model and
 * the preprocessing it was trained with (the checkpoint's config.preprocess, else the params.json
 * of its cache), runs exactly that preprocessing on the MRI (preprocessMri: N4, head mask,
 * clipping, normalisation, crop, pad, resize, clamp), runs the generator slice by slice in
 * batches, undoes resize, pad and crop, maps [−1,1] back to HU with the stored CT window, sets
 * voxels outside the head mask to air, and writes a NIfTI with the MRI's shape and affine.
 * One MRI, many MRIs (a folder: `<id>.nii[.gz]` or SynthRAD's `<id>/mr.nii[.gz]`), or a Volume.
 * Progress per preprocessing step and per slice batch goes through callbacks; nothing is drawn.
 * Must not: train or change weights, or write anywhere but the output paths it is given.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { readCacheParams, type CacheParamsFile } from '../cache/metadata';
import { isDicomFolder, volumeFileId } from '../dataset/discover';
import { currentBackend, loadBackend } from '../env/backend';
import { CheckpointError, ConfigError, Mri2ctError } from '../errors';
import { imageFileId, readImage, writeImage } from '../io/read-image';
import type { Vec3, Volume } from '../io/volume';
import type { ModelConfig } from '../model/config';
import { DEFAULT_OPTIMIZER, Pix2Pix } from '../model/pix2pix';
import { paramsHash, PIPELINE_VERSION, resolvePreprocessParams, type PreprocessParams } from '../preprocess/params';
import { checkLoneMri, checkVolume } from '../preprocess/input-checks';
import { preprocessMri, type PreprocessedMri } from '../preprocess/pipeline';
import { obliquityWarning, reorientFromCanonical, reorientToCanonical } from '../preprocess/reorient';
import { loadCheckpoint, readCheckpointState, resolveCheckpointPath, type CheckpointState } from '../train/checkpoint';
import type { ProgressCallback } from '../util/progress';
import { restoreCtToOriginalGrid } from './restore';

/** Where a checkpoint's preprocessing parameters came from. */
export interface CheckpointPreprocessing {
  params: PreprocessParams;
  /** 'checkpoint' (config.preprocess) or the params.json file read. */
  source: string;
  /** Hash recorded with the parameters, when there is one. */
  recordedHash?: string;
  /** Notes for the user (e.g. the pipeline changed since training). */
  warnings: string[];
}

const PARAM_SECTIONS = ['n4', 'headMask', 'ctArtifacts', 'clip', 'crop', 'resize'] as const;

function fromParamsFile(p: unknown, source: string): CheckpointPreprocessing {
  const file = p as Partial<CacheParamsFile> | undefined;
  const raw = (file?.params ?? p) as Record<string, unknown> | undefined;
  const missing = PARAM_SECTIONS.filter((k) => raw === undefined || raw === null || typeof raw[k] !== 'object');
  if (missing.length > 0) {
    throw new CheckpointError(`the preprocessing parameters in ${source} are incomplete (no ${missing.join(', ')}); rebuild the cache with \`mri2ct preprocess --force\` and retrain, or pass --cache_dir of a complete cache.`);
  }
  const params = resolvePreprocessParams(raw as Partial<PreprocessParams>);
  const warnings: string[] = [];
  if (file?.pipelineVersion !== undefined && file.pipelineVersion !== PIPELINE_VERSION) {
    warnings.push(`the model was trained with preprocessing pipeline version ${file.pipelineVersion}; this mri2ct runs version ${PIPELINE_VERSION}: inputs may differ slightly from training.`);
  } else if (file?.paramsHash !== undefined && file.paramsHash !== paramsHash(params)) {
    warnings.push(`the recorded preprocessing hash ${file.paramsHash} differs from the parameters' hash ${paramsHash(params)} (parameters edited by hand?).`);
  }
  return { params, source, ...(file?.paramsHash !== undefined ? { recordedHash: file.paramsHash } : {}), warnings };
}

/**
 * The preprocessing a checkpoint's model was trained with: its config.preprocess (written by
 * train since issue 6), else `<config.cacheDir>/metadata/params.json`, else
 * `<fallbackCacheDir>/metadata/params.json`. Throws CheckpointError when none is available.
 */
export function checkpointPreprocessing(state: Pick<CheckpointState, 'config'>, checkpointPath: string, fallbackCacheDir?: string): CheckpointPreprocessing {
  const cfg = state.config as Record<string, unknown>;
  if (cfg['preprocess'] !== undefined && cfg['preprocess'] !== null) return fromParamsFile(cfg['preprocess'], `checkpoint ${checkpointPath}`);
  const tried: string[] = [];
  for (const dir of [cfg['cacheDir'], fallbackCacheDir]) {
    if (typeof dir !== 'string' || dir === '') continue;
    const file = path.join(dir, 'metadata', 'params.json');
    tried.push(file);
    const p = readCacheParams(dir);
    if (p !== undefined) return fromParamsFile(p, file);
  }
  throw new CheckpointError(
    `cannot tell how ${checkpointPath} preprocessed its inputs: the checkpoint records no preprocessing parameters ` +
      `(it predates them)${tried.length > 0 ? ` and ${tried.join(' / ')} does not exist` : ' and names no cache'}. ` +
      'Pass --cache_dir <the cache the model was trained from> (library: option cacheDir), or retrain to get a self-contained checkpoint.',
  );
}

/** Options of {@link SctPredictor.load}. */
export interface PredictorOptions {
  /** Cache whose metadata/params.json to use when the checkpoint does not record its preprocessing. */
  cacheDir?: string;
  /** Slices per generator call. Default 8. */
  batchSize?: number;
}

/** Options of one prediction. */
export interface PredictOptions {
  /** Names the input in messages and progress (default 'MRI'). */
  id?: string;
  /** Input file, for messages. */
  file?: string;
  /** Slices per generator call (default: the predictor's). */
  batchSize?: number;
  /** Progress: preprocessing steps (stage '<id>: preprocess'), then slice batches ('<id>: sCT'). */
  onProgress?: ProgressCallback;
}

/** A synthetic CT on the MRI's grid. */
export interface SctPrediction {
  id: string;
  /** sCT in HU (within the CT window; air outside the head), MRI's dims/spacing/affine. */
  sct: Volume<Float32Array>;
  /** The head mask used (0/1), same grid. */
  mask: Volume<Uint8Array>;
  /** What the model saw and produced, in cache space [slices, S, S]: MRI in [0,1], sCT in [0,1]. */
  cacheSpace: { mri: Float32Array; sct: Float32Array; mask: Uint8Array; shape: [number, number, number] };
  /** Preprocessing output (geometry, normalisation, step timings). */
  preprocessed: Omit<PreprocessedMri, 'mri' | 'mask' | 'headMask'>;
  /** Seconds: preprocessing, generator, restoring the grid, total. */
  timings: { preprocess: number; model: number; restore: number; total: number };
  /** Things the user should know (orientation, anisotropy, pipeline version). */
  warnings: string[];
}

/** Result of {@link SctPredictor.predictFile}. */
export interface PredictFileResult extends Omit<SctPrediction, 'cacheSpace'> {
  mriPath: string;
  sctPath: string;
  maskPath?: string;
  /** Seconds reading and writing files. */
  ioSeconds: number;
}

/** A loaded generator with the preprocessing it was trained with. */
export class SctPredictor {
  private constructor(
    readonly checkpointPath: string,
    private readonly model: Pix2Pix,
    readonly preprocessing: CheckpointPreprocessing,
    readonly ctWindow: { minHu: number; maxHu: number },
    readonly state: CheckpointState & { createdAt: string },
    readonly batchSize: number,
  ) {}

  /** Model configuration of the checkpoint. */
  get modelConfig(): ModelConfig {
    return this.model.config;
  }

  /** Preprocessing parameters used for every input. */
  get params(): PreprocessParams {
    return this.preprocessing.params;
  }

  /**
   * Loads a checkpoint (`x`, `x.ckpt` or a run folder with checkpoints/last.ckpt) for inference.
   * Loads the compute backend first when none is loaded yet.
   */
  static async load(checkpoint: string, options: PredictorOptions = {}): Promise<SctPredictor> {
    const batchSize = options.batchSize ?? 8;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError(`--batch_size ${batchSize}: must be a whole number ≥ 1.`);
    let file: string;
    try {
      file = resolveCheckpointPath(checkpoint);
    } catch (err) {
      if (fs.existsSync(path.join(checkpoint, 'checkpoints'))) file = resolveCheckpointPath(path.join(checkpoint, 'checkpoints', 'best_model'));
      else throw err;
    }
    const state = readCheckpointState(file);
    if (state.config?.model === undefined) throw new CheckpointError(`${file} has no model configuration; it was not written by mri2ct train.`);
    const preprocessing = checkpointPreprocessing(state, file, options.cacheDir);
    const size = preprocessing.params.resize.size;
    if (size !== state.config.model.imageSize) {
      throw new CheckpointError(`${file}: the model takes ${state.config.model.imageSize}² slices but its preprocessing (${preprocessing.source}) resizes to ${size}²; that cache is not the one this model was trained from.`);
    }
    const w = state.config['ctWindow'] as { minHu?: unknown; maxHu?: unknown } | undefined;
    const ctWindow = typeof w?.minHu === 'number' && typeof w.maxHu === 'number'
      ? { minHu: w.minHu, maxHu: w.maxHu }
      : { minHu: preprocessing.params.clip.ctMinHu, maxHu: preprocessing.params.clip.ctMaxHu };
    if (currentBackend() === undefined) await loadBackend();
    const model = new Pix2Pix(state.config.model, DEFAULT_OPTIMIZER, 0);
    try {
      await loadCheckpoint(file, model, { weightsOnly: true });
    } catch (err) {
      model.dispose();
      throw err;
    }
    return new SctPredictor(file, model, preprocessing, ctWindow, state, batchSize);
  }

  /** sCT of an MRI volume (NIfTI order) on its own grid; see the module header. */
  async predict(mri: Volume<ArrayLike<number>> & { orientation?: string }, options: PredictOptions = {}): Promise<SctPrediction> {
    const id = options.id ?? 'MRI';
    const file = options.file ?? id;
    const t0 = performance.now();
    const data = mri.data instanceof Float32Array ? mri.data : Float32Array.from(mri.data);
    const vol = { ...mri, data };
    const profile = checkVolume(vol, file, 'MRI');
    checkLoneMri(profile, file);
    const canon = reorientToCanonical(vol);
    const oblique = obliquityWarning(canon.reorientation, `MRI ${file}`);
    const warnings = [...this.preprocessing.warnings, ...(oblique !== undefined ? [oblique] : [])];
    const pre = preprocessMri(canon, this.params, { what: `MRI ${file}`, onProgress: wrapStage(options.onProgress, `${id}: preprocess`) });
    const t1 = performance.now();

    const [n, S] = pre.shape;
    const px = S * S;
    const out = new Float32Array(n * px);
    const bs = options.batchSize ?? this.batchSize;
    const batches = Math.ceil(n / bs);
    options.onProgress?.({ stage: `${id}: sCT`, done: 0, total: n, message: `${batches} batch(es) of ≤ ${bs} slices` });
    for (let s = 0, k = 1; s < n; s += bs, k++) {
      const b = Math.min(bs, n - s);
      const y = tf.tidy(() => {
        const x = tf.tensor4d(pre.mri.subarray(s * px, (s + b) * px), [b, S, S, 1]).mul(2).sub(1) as tf.Tensor4D;
        return this.model.predict(x).add(1).div(2);
      });
      try {
        out.set((await y.data()) as Float32Array, s * px);
      } finally {
        y.dispose();
      }
      options.onProgress?.({ stage: `${id}: sCT`, done: s + b, total: n, message: `batch ${k}/${batches}` });
    }
    const t2 = performance.now();

    // back from cache space to the canonical grid, then into the MRI's own storage order
    const rec = canon.reorientation;
    const hu = reorientFromCanonical(restoreCtToOriginalGrid(out, pre.geometry, { ctWindow: this.ctWindow, headMask: pre.headMask, airHu: this.params.ctArtifacts.airHu }), rec);
    const headMask = reorientFromCanonical(pre.headMask, rec);
    const t3 = performance.now();
    const geom = { dims: [...mri.dims] as Vec3, spacing: [...mri.spacing] as Vec3, affine: mri.affine.map((r) => r.slice()) };
    const { mri: cacheMri, mask: cacheMask, headMask: _canonicalMask, ...rest } = pre;
    return {
      id,
      sct: { data: hu, ...geom },
      mask: { data: headMask, ...geom },
      cacheSpace: { mri: cacheMri, sct: out, mask: cacheMask, shape: pre.shape },
      preprocessed: rest,
      timings: { preprocess: (t1 - t0) / 1000, model: (t2 - t1) / 1000, restore: (t3 - t2) / 1000, total: (t3 - t0) / 1000 },
      warnings,
    };
  }

  /**
   * Reads an MRI NIfTI, predicts, writes the sCT (int16 HU by default, the MRI's shape and
   * affine) and optionally the head mask (uint8).
   */
  async predictFile(
    mriPath: string,
    sctPath: string,
    options: PredictOptions & { maskPath?: string; datatype?: 'int16' | 'float32' } = {},
  ): Promise<PredictFileResult> {
    const id = options.id ?? mriInputId(mriPath);
    if (path.resolve(mriPath) === path.resolve(sctPath)) throw new ConfigError(`--out ${sctPath} is the input MRI itself: choose another file name.`);
    const t0 = performance.now();
    const img = await readImage(mriPath);
    if (img.volumeCount > 1) {
      throw new Mri2ctError(`MRI ${mriPath} is ${img.shape.join('×')} (${img.volumeCount} volumes): pass one 3D MRI volume (split the series first).`);
    }
    const tRead = performance.now();
    const p = await this.predict(img, { ...options, id, file: mriPath });
    const tw = performance.now();
    await writeImage(sctPath, p.sct, { datatype: options.datatype ?? 'int16' });
    if (options.maskPath !== undefined) await writeImage(options.maskPath, p.mask, { datatype: 'uint8' });
    const tEnd = performance.now();
    const { cacheSpace: _c, ...rest } = p;
    return {
      ...rest,
      mriPath,
      sctPath,
      ...(options.maskPath !== undefined ? { maskPath: options.maskPath } : {}),
      ioSeconds: (tRead - t0 + tEnd - tw) / 1000,
      timings: { ...p.timings, total: (tEnd - t0) / 1000 },
    };
  }

  /** Frees the model's tensors. */
  dispose(): void {
    this.model.dispose();
  }
}

function wrapStage(cb: ProgressCallback | undefined, stage: string): ProgressCallback | undefined {
  return cb === undefined ? undefined : (e) => cb({ ...e, stage });
}

/** Patient id of an MRI path: the file name without extension, or the folder of a SynthRAD `mr.*` / a DICOM folder's name. */
export function mriInputId(mriPath: string): string {
  const base = path.basename(mriPath);
  const id = volumeFileId(base);
  if (id === 'mr') return path.basename(path.dirname(path.resolve(mriPath)));
  return id ?? base;
}

/** One MRI to predict. */
export interface MriInput {
  id: string;
  mri: string;
}

/**
 * The MRIs of a folder: `<id>.<ext>` files in any readable format (.nii[.gz], .mha, .mhd, .nrrd,
 * .nhdr), `<id>/` DICOM series folders, or SynthRAD-style `<id>/mr.<ext>` subfolders (all kinds
 * are collected). Throws when there is none.
 */
export function discoverMriInputs(dir: string): MriInput[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw new ConfigError(`cannot read the MRI folder ${dir}: ${(err as Error).message}`, { cause: err });
  }
  const out: MriInput[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    if (e.isFile()) {
      const id = volumeFileId(e.name);
      if (id !== undefined && !/\.(raw|zraw)$/i.test(e.name)) out.push({ id, mri: path.join(dir, e.name) });
    } else if (e.isDirectory()) {
      const sub = path.join(dir, e.name);
      const mr = fs.readdirSync(sub).filter((f) => volumeFileId(f) === 'mr').map((f) => path.join(sub, f))[0];
      if (mr !== undefined) out.push({ id: e.name, mri: mr });
      else if (isDicomFolder(sub)) out.push({ id: e.name, mri: sub });
    }
  }
  const ids = new Set<string>();
  for (const i of out) {
    if (ids.has(i.id)) throw new ConfigError(`${dir}: patient id '${i.id}' appears twice (e.g. ${i.id}.nii and ${i.id}.nii.gz); keep one.`);
    ids.add(i.id);
  }
  if (out.length === 0) throw new ConfigError(`no MRI found in ${dir}: expected <id>.nii[.gz] / .mha / .nrrd files, <id>/ DICOM folders or <id>/mr.<ext> folders.`);
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/**
 * Output files of patient `id` in an output folder: `<dir>/<id>.nii.gz` and
 * `<dir>/masks/<id>.nii.gz`, or `.mha` when the input MRI was MetaImage (what SynthRAD2025 expects).
 */
export function predictionPaths(outDir: string, id: string, mriPath?: string): { sct: string; mask: string } {
  const ext = mriPath !== undefined && imageFileId(path.basename(mriPath))?.format === 'metaimage' ? '.mha' : '.nii.gz';
  return { sct: path.join(outDir, `${id}${ext}`), mask: path.join(outDir, 'masks', `${id}${ext}`) };
}

/** Result of {@link predictMany}. */
export interface PredictManyResult {
  done: PredictFileResult[];
  failed: { id: string; mri: string; error: string }[];
  seconds: number;
}

/**
 * Predicts every input into outDir (sCT `<id>.nii.gz`, head mask `masks/<id>.nii.gz`). A patient
 * that fails with an Mri2ctError is reported and the others go on; other errors propagate.
 */
export async function predictMany(
  predictor: SctPredictor,
  inputs: readonly MriInput[],
  outDir: string,
  options: { onProgress?: ProgressCallback; log?: (m: string) => void; writeMasks?: boolean; datatype?: 'int16' | 'float32' } = {},
): Promise<PredictManyResult> {
  const t0 = performance.now();
  const log = options.log ?? ((m: string) => console.log(m));
  const done: PredictFileResult[] = [];
  const failed: PredictManyResult['failed'] = [];
  for (const [k, input] of inputs.entries()) {
    const paths = predictionPaths(outDir, input.id, input.mri);
    try {
      const r = await predictor.predictFile(input.mri, paths.sct, {
        id: input.id,
        ...(options.writeMasks !== false ? { maskPath: paths.mask } : {}),
        ...(options.datatype !== undefined ? { datatype: options.datatype } : {}),
        ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
      });
      done.push(r);
      for (const w of r.warnings) log(`  note: ${w}`);
      log(`[${k + 1}/${inputs.length}] ${input.id}: ${r.sct.dims.join('×')} → ${r.sctPath} (${r.timings.total.toFixed(1)} s: preprocess ${r.timings.preprocess.toFixed(1)}, model ${r.timings.model.toFixed(1)})`);
    } catch (err) {
      if (!(err instanceof Mri2ctError)) throw err;
      failed.push({ id: input.id, mri: input.mri, error: err.message });
      log(`[${k + 1}/${inputs.length}] ${input.id}: FAILED: ${err.message}`);
    }
  }
  return { done, failed, seconds: (performance.now() - t0) / 1000 };
}
