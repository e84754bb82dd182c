/**
 * Public surface of src/infer: synthetic CT for new MRIs in their own geometry (predict), the
 * SynthRAD2023 image metrics and the evaluation of a folder of predictions. Re-exports only.
 */
export * from './metrics';
export { ssim3d, type Ssim3dOptions, type Ssim3dResult } from './ssim';
export { restoreCtToOriginalGrid, type RestoreOptions } from './restore';
export * from './predict';
export * from './evaluate';
