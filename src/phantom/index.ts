/**
 * Public surface of src/phantom, the project's built-in default data: a seeded cohort of paired
 * brain MRI/CT phantoms with ground truth (bias field, tissue labels, head mask).
 * Re-exports only: no logic here.
 */

export {
  DEFAULT_PHANTOM_SEED,
  generatePhantomPatient,
  MAX_PHANTOM_PATIENTS,
  PHANTOM_GENERATOR_VERSION,
  phantomPatientId,
  resolvePhantomOptions,
} from './generate';
export type { PhantomOptions, PhantomPatient, PhantomPatientParams, ResolvedPhantomOptions } from './generate';
export { labelsDocument, PHANTOM_LAYOUT, phantomPatientFiles, writePhantomCohort } from './write-cohort';
export type {
  PhantomCohortOptions,
  PhantomCohortResult,
  PhantomPatientFiles,
  PhantomProgressEvent,
} from './write-cohort';
export { FIRST_OBJECT_LABEL, headMaskFromLabels, isAnatomical, LABEL, LABEL_TABLE } from './labels';
export type { LabelInfo, LabelValue } from './labels';
export { DEFAULT_SIZE, FIELD_OF_VIEW_MM, MIN_SIZE } from './grid';
export { BIAS_BOUNDS } from './bias-field';
export { CT_BOUNDS, CT_HU_RANGES } from './ct-contrast';
export { NOMINAL_T1 } from './mri-contrast';
