/**
 * N4 bias field correction (Tustison et al. 2010, as in ITK's N4BiasFieldCorrectionImageFilter).
 * Entry point: {@link n4BiasFieldCorrection}.
 */

export { n4BiasFieldCorrection, type N4Result, type N4Timing } from './n4';
export { N4_DEFAULTS, resolveN4Options, type N4Options, type N4ProgressEvent, type ResolvedN4Options } from './options';
export type { ShrinkMethod } from './shrink';
export type { ControlPointLattice } from './lattice';
export { DEFAULT_MASK_OTSU_FRACTION, defaultForegroundMask, otsuThresholdPositive } from './mask';
