/**
 * The mri2ct library: what notebooks and other programs import (`import * as m from '../dist/src'`).
 * It re-exports the public API of each pipeline stage and holds no logic of its own (inside a
 * tslab kernel, importing it also makes the kernel's output channel queue instead of throwing:
 * notebook/kernel-send-queue).
 */
import './notebook/kernel-send-queue';
export * from './errors';
export * from './io/volume';
export * from './env/backend';
export * from './env/check-env';
export * from './dataset/discover';
export * from './notebook/env-table';
export type { ProgressEvent, ProgressCallback } from './util/progress';
export * from './phantom';
export * from './io';
export * from './preprocess/params';
export { preprocessPatient, type PreprocessedPatient, type PatientGeometry } from './preprocess/pipeline';
export { n4BiasFieldCorrection } from './preprocess/n4';
export { buildCache, formatBuildSummary, type BuildCacheResult } from './cache/build';
export { getCacheFormat } from './cache/format';
export { listPatientMetadata, readCacheParams, type PatientMetadata } from './cache/metadata';
export { CacheLoader } from './data/loader';
export { cacheSpeedTest, formatCacheSpeed } from './data/cache-speed';
export { createAugmenter, toSigned, type AugmentOptions } from './data/augment';
export * from './model';
export { train, type TrainOptions, type TrainResult } from './train/trainer';
export { readMetrics, type MetricRecord } from './train/metrics-log';
export { loadCheckpoint, saveCheckpoint, readCheckpointState } from './train/checkpoint';
export { renderPanelGrid, type Panel } from './viz/panel-grid';
export { CT_WINDOWS, percentileWindow } from './viz/window';
export * from './notebook/plotly';
export { lossCurveFigure, lossCurveSvg } from './notebook/loss-curves';
export * from './notebook/svg-chart';
export * from './notebook/volume-views';
export * from './notebook/progress-display';
export * from './notebook/notebook-data';
export * from './notebook/preprocess-figures';
export * from './notebook/summary-tables';
export * from './notebook/cache-figures';
export * from './notebook/train-display';
export { preprocessMri, type PreprocessedMri } from './preprocess/pipeline';
export * from './infer';
export * from './notebook/inference-figures';
export { resampleToGrid, type Grid, type ResampleOptions } from './preprocess/resample-grid';
export { registerCtToMri, registrationFigures, type RegisterOptions, type RegistrationResult } from './register/register';
export * from './register/known-motion';
export * from './notebook/registration-figure';
export * from './notebook/own-data';
export * from './notebook/slice-viewer';
export * from './notebook/slice-viewers';
