/**
 * The project's error hierarchy: every failure a user can meet is an Mri2ctError whose message
 * says what went wrong, where (file, patient) and what to do. Never return null for failure.
 * This module must not import anything heavy: every other module depends on it.
 */

/** Base class of all mri2ct errors. */
export class Mri2ctError extends Error {
  override name = 'Mri2ctError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A NIfTI file that cannot be read or written as asked. */
export class NiftiFormatError extends Mri2ctError {
  override name = 'NiftiFormatError';
}

/**
 * An image file or DICOM series (any format but NIfTI's own reader) that cannot be read or
 * written as asked: unknown format, corrupt file, several DICOM series, gantry tilt...
 */
export class ImageFormatError extends Mri2ctError {
  override name = 'ImageFormatError';
}

/** MRI and CT of a dataset do not pair up (missing partner, duplicate id, shape mismatch). */
export class PairMismatchError extends Mri2ctError {
  override name = 'PairMismatchError';
}

/** A cache file or its metadata is missing, corrupt or built with other parameters. */
export class CacheError extends Mri2ctError {
  override name = 'CacheError';
}

/** A configuration value, flag or option that cannot be used. */
export class ConfigError extends Mri2ctError {
  override name = 'ConfigError';
}

/** The compute backend asked for cannot be loaded. */
export class BackendError extends Mri2ctError {
  override name = 'BackendError';
}

/** A checkpoint that is missing, corrupt or from an incompatible configuration. */
export class CheckpointError extends Mri2ctError {
  override name = 'CheckpointError';
}

/** A registration that cannot run (no overlap, no body in the CT) or whose result is unusable. */
export class RegistrationError extends Mri2ctError {
  override name = 'RegistrationError';
}
