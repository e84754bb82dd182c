/** The model stage's public API. */
export * from './config';
export * from './pix2pix';
export { countParams, type ParamMap } from './params';
export { createAdam, FusedAdam, resolveAdamImplementation, type AdamConfig, type AdamImplementation, type AdamLike } from './adam';
export { type ConvPrecision, convPrecision, withConvPrecision } from './conv16';
export { DynamicLossScale, type LossScaleOptions, type LossScaleState } from './loss-scale';
