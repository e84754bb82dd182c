/**
 * The mri2ct library: what notebooks and other programs import (`import * as m from '../dist/src'`).
 * It re-exports the public API of each pipeline stage and holds no logic of its own.
 */
export * from './errors';
export * from './io/volume';
export * from './env/backend';
export * from './env/check-env';
export * from './dataset/discover';
export * from './notebook/env-table';
export type { ProgressEvent, ProgressCallback } from './util/progress';
