/**
 * Projective (here: rotation + flip) resampling of image batches on the tf.js backend, with one
 * route per backend:
 *  - 'native-op'  (tfjs-node 'tensorflow' backend, CPU or CUDA build): TensorFlow's own
 *    ImageProjectiveTransformV3 op, run directly through the node backend's executeSingleOutput.
 *    tfjs-node registers no 'Transform' kernel, so tf.image.transform cannot be used there.
 *  - 'tfjs-kernel' (pure-JS 'cpu' backend, or any backend with a 'Transform' kernel):
 *    tf.image.transform, called one sample at a time because the CPU kernel of tfjs 4.22 only
 *    transforms the first image of a batch (it returns from inside its batch loop; the other
 *    images come back as the fill value).
 * Both routes use TensorFlow's convention and agree numerically: a transform is the 8-vector
 * [a0, a1, a2, b0, b1, b2, c0, c1] mapping OUTPUT pixel (x, y) to INPUT point
 * ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k), k = c0 x + c1 y + 1, pixel centres at
 * integer coordinates, x along the width (columns), y along the height (rows, downwards).
 * Points outside the input read `fillValue` (bilinear blends it in at the border).
 * This module must not draw random numbers, dispose its inputs or register kernels globally.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../../errors';
import { asNativeBackend, type NativeOpAttr } from '../../env/native-ops';

/** One projective transform, TensorFlow order: [a0, a1, a2, b0, b1, b2, c0, c1]. */
export type TransformRow = [number, number, number, number, number, number, number, number];

/** How the resampling is executed on the current backend. */
export type TransformRoute = 'native-op' | 'tfjs-kernel';

/** Interpolation: bilinear for images, nearest for label maps. */
export type Interpolation = 'bilinear' | 'nearest';

/** The geometric part of one sample's augmentation. */
export interface GeometryParams {
  /** Rotation in degrees; positive turns the content counter-clockwise as displayed (row 0 on top). */
  angleDeg: number;
  /** Mirror left-right (after the rotation). */
  flipH: boolean;
  /** Mirror top-bottom (after the rotation). */
  flipV: boolean;
}

export const IDENTITY_TRANSFORM: Readonly<TransformRow> = [1, 0, 0, 0, 1, 0, 0, 0];

/**
 * The output-to-input transform that rotates an H x W image by `angleDeg` about its centre
 * ((W-1)/2, (H-1)/2) and then mirrors it as asked. Forward map: p_out = F(R(-θ)(p_in - c)) + c
 * (F = diag(±1, ±1)); the row is its inverse p_in = R(θ) F (p_out - c) + c, with
 * R(θ) = [[cos, -sin], [sin, cos]] in (x, y) pixel coordinates (y downwards), so a positive angle
 * turns content counter-clockwise on screen. Pure flips (angle 0) give integer rows, which map
 * pixel centres exactly onto pixel centres: the resampling is then an exact mirror.
 */
export function geometryTransform(params: GeometryParams, height: number, width: number): TransformRow {
  const theta = (params.angleDeg * Math.PI) / 180;
  // Exact zeros/ones for angle 0 (Math.cos(0) is 1, Math.sin(0) is 0; -0 normalised below).
  const cos = params.angleDeg === 0 ? 1 : Math.cos(theta);
  const sin = params.angleDeg === 0 ? 0 : Math.sin(theta);
  const fx = params.flipH ? -1 : 1;
  const fy = params.flipV ? -1 : 1;
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  // M = R(θ) · diag(fx, fy)
  const a0 = cos * fx;
  const a1 = -sin * fy;
  const b0 = sin * fx;
  const b1 = cos * fy;
  const a2 = cx - a0 * cx - a1 * cy;
  const b2 = cy - b0 * cx - b1 * cy;
  return [a0 + 0, a1 + 0, a2 + 0, b0 + 0, b1 + 0, b2 + 0, 0, 0];
}

/** True when the row leaves every pixel where it is (no resampling needed). */
export function isIdentityTransform(row: Readonly<TransformRow>): boolean {
  return row.every((v, i) => v === IDENTITY_TRANSFORM[i]);
}

/**
 * Which route resampling takes on a backend (default: the current one). Throws ConfigError when
 * the backend offers neither the native op nor a 'Transform' kernel.
 */
export function transformRouteFor(backendName: string = tf.getBackend()): TransformRoute {
  const backend = tf.findBackend(backendName);
  if (asNativeBackend(backend) !== undefined) return 'native-op';
  if (tf.getKernel('Transform', backendName) !== undefined) return 'tfjs-kernel';
  throw new ConfigError(
    `the '${backendName}' backend can neither run TensorFlow's ImageProjectiveTransformV3 nor tf.image.transform; ` +
      'augmentation needs the tensorflow (tfjs-node) or cpu backend.',
  );
}

export interface ProjectiveTransformOptions {
  /** Default 'bilinear'. */
  interpolation?: Interpolation;
  /** Value read outside the input image. Default 0. */
  fillValue?: number;
  /** Force a route (tests compare them); default: the current backend's (transformRouteFor). */
  route?: TransformRoute;
}

function transformsTensor(transforms: tf.Tensor2D | ArrayLike<number>, batch: number): tf.Tensor2D {
  if (transforms instanceof tf.Tensor) {
    if (transforms.rank !== 2 || transforms.shape[1] !== 8 || (transforms.shape[0] !== 1 && transforms.shape[0] !== batch)) {
      throw new ConfigError(`transforms must have shape [1, 8] or [${batch}, 8] (got [${transforms.shape.join(', ')}]).`);
    }
    return transforms.dtype === 'float32' ? transforms : tf.cast(transforms, 'float32');
  }
  const n = transforms.length / 8;
  if (!Number.isInteger(n) || (n !== 1 && n !== batch)) {
    throw new ConfigError(`transforms must hold 8 or ${8 * batch} numbers (got ${transforms.length}).`);
  }
  return tf.tensor2d(Float32Array.from(transforms), [n, 8], 'float32');
}

/**
 * Resamples `images` [B, H, W, C] (float32) through one transform per image (or one shared row),
 * output the same size as the input. Does not dispose its inputs; returns a new tensor.
 */
export function projectiveTransform(
  images: tf.Tensor4D,
  transforms: tf.Tensor2D | ArrayLike<number>,
  options: ProjectiveTransformOptions = {},
): tf.Tensor4D {
  const interpolation = options.interpolation ?? 'bilinear';
  const fillValue = options.fillValue ?? 0;
  if (images.rank !== 4) throw new ConfigError(`images must be [B, H, W, C] (got rank ${images.rank}).`);
  if (images.dtype !== 'float32') throw new ConfigError(`images must be float32 (got ${images.dtype}).`);
  if (!Number.isFinite(fillValue)) throw new ConfigError(`fillValue must be finite (got ${fillValue}).`);
  const [batch, height, width] = images.shape;
  const route = options.route ?? transformRouteFor();
  return tf.tidy(() => {
    const rows = transformsTensor(transforms, batch);
    if (route === 'native-op') {
      const backend = asNativeBackend(tf.backend());
      if (backend === undefined) {
        throw new ConfigError(`route 'native-op' needs the tensorflow backend (current: '${tf.getBackend()}').`);
      }
      const b = backend.binding;
      const attrs: NativeOpAttr[] = [
        { name: 'dtype', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
        { name: 'interpolation', type: b.TF_ATTR_STRING, value: interpolation.toUpperCase() },
        { name: 'fill_mode', type: b.TF_ATTR_STRING, value: 'CONSTANT' },
      ];
      const outputShape = tf.tensor1d([height, width], 'int32');
      const fill = tf.scalar(fillValue, 'float32');
      return backend.executeSingleOutput('ImageProjectiveTransformV3', attrs, [images, rows, outputShape, fill]) as tf.Tensor4D;
    }
    // 'tfjs-kernel': one image per call (tfjs-backend-cpu's Transform kernel only does image 0).
    // Images whose row is the identity are passed through (resampling them would copy them).
    const hostRows = transforms instanceof tf.Tensor ? undefined : transforms;
    const isIdentityAt = (i: number): boolean => {
      if (hostRows === undefined) return false;
      const base = hostRows.length === 8 ? 0 : 8 * i;
      return IDENTITY_TRANSFORM.every((v, j) => hostRows[base + j] === v);
    };
    const shared = rows.shape[0] === 1;
    const parts: tf.Tensor4D[] = [];
    for (let i = 0; i < batch; i++) {
      const one = batch === 1 ? images : tf.slice(images, [i, 0, 0, 0], [1, -1, -1, -1]);
      if (isIdentityAt(i)) {
        parts.push(one);
        continue;
      }
      const row = shared ? rows : tf.slice(rows, [i, 0], [1, 8]);
      parts.push(tf.image.transform(one, row, interpolation, 'constant', fillValue));
    }
    if (parts.length === 1 && parts[0] !== undefined) return parts[0] === images ? tf.clone(images) : parts[0];
    return tf.concat(parts, 0);
  });
}
