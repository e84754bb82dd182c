/**
 * Public surface of the batch augmentation (MRI/CT pairs, on the tf.js backend).
 * This module only re-exports; it must not hold logic or state.
 */
export {
  AUGMENT_DEFAULTS,
  createAugmenter,
  drawSamples,
  resolveAugmentOptions,
  toSigned,
  type AugmentedPair,
  type AugmentOptions,
  type Augmenter,
  type ResolvedAugmentOptions,
  type SampleDraw,
} from './augment';
export { createRng, randomSeed, type Rng } from './random';
export {
  geometryTransform,
  IDENTITY_TRANSFORM,
  isIdentityTransform,
  projectiveTransform,
  transformRouteFor,
  type GeometryParams,
  type Interpolation,
  type ProjectiveTransformOptions,
  type TransformRoute,
  type TransformRow,
} from './rotate';
