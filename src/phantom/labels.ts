/**
 * The phantom's label table: the meaning of every value of the `truth/<id>_labels.nii.gz` volume
 * (uint8), also written as `truth/labels.json`. Labels 1–19 are anatomy (the head mask is exactly
 * "label in 1..19"); labels 20+ are scanner hardware seen only on CT (couch, headrest, positioning
 * aids) that artifact removal must delete. Pure constants: no volume code here.
 */

/** Label values of the phantom label volume. */
export const LABEL = {
  /** Air outside the head (and outside every object). */
  AIR: 0,
  /** Skin / scalp (dermis, galea). */
  SKIN: 1,
  /** Subcutaneous fat (also orbital fat around the eyes). */
  FAT: 2,
  /** Cortical bone: outer and inner skull tables, skull base, sinus walls. */
  CORTICAL_BONE: 3,
  /** Diploë: cancellous bone between the skull tables. */
  DIPLOE: 4,
  /** Cerebrospinal fluid around the brain (subarachnoid space, sulci, interhemispheric fissure). */
  CSF: 5,
  /** Grey matter (cortical ribbon). */
  GREY_MATTER: 6,
  /** White matter. */
  WHITE_MATTER: 7,
  /** Lateral ventricles (CSF). */
  VENTRICLE: 8,
  /** Air inside the head: frontal and maxillary sinuses. */
  SINUS_AIR: 9,
  /** Eye globes (vitreous). */
  EYE: 10,
  /** Soft tissue / muscle of the face and neck below the skull base. */
  SOFT_TISSUE: 11,
  /** Headrest foam cushion under the back of the head (CT only). */
  HEADREST_FOAM: 20,
  /** Plastic headrest shell around the foam (CT only). */
  HEADREST_SHELL: 21,
  /** Flat couch / table plate under the headrest (CT only). */
  COUCH: 22,
  /** Positioning frame bar running along z beside the head (CT only). */
  POSITIONING_BAR: 23,
  /** Foam ear cushion beside the head (CT only; not present in every patient). */
  EAR_CUSHION: 24,
} as const;

export type LabelValue = (typeof LABEL)[keyof typeof LABEL];

/** Lookup tables indexed by label value have this length (largest label + 1). */
export const LABEL_VALUE_COUNT = 25;

/** Label values >= this are not anatomy (hardware); anatomy is 1 ≤ label < FIRST_OBJECT_LABEL. */
export const FIRST_OBJECT_LABEL = 20;

/** One row of the label table. */
export interface LabelInfo {
  /** Value in the label volume. */
  value: number;
  /** Constant name (as in LABEL). */
  name: string;
  /** Human-readable description. */
  description: string;
  /** True for anatomy (part of the head mask), false for air and hardware. */
  anatomical: boolean;
  /** True when the structure is visible in the MRI (hardware and air are not). */
  inMri: boolean;
  /** True when the structure is visible in the CT. */
  inCt: boolean;
}

const DESCRIPTIONS: Record<keyof typeof LABEL, string> = {
  AIR: 'air outside the head and objects',
  SKIN: 'skin / scalp',
  FAT: 'subcutaneous and orbital fat',
  CORTICAL_BONE: 'cortical bone (outer/inner skull tables, skull base, sinus walls)',
  DIPLOE: 'diploe (cancellous bone between the skull tables)',
  CSF: 'cerebrospinal fluid around the brain and in the interhemispheric fissure',
  GREY_MATTER: 'grey matter (cortical ribbon)',
  WHITE_MATTER: 'white matter',
  VENTRICLE: 'lateral ventricles (CSF)',
  SINUS_AIR: 'air in frontal and maxillary sinuses',
  EYE: 'eye globes (vitreous)',
  SOFT_TISSUE: 'soft tissue / muscle of face and neck below the skull base',
  HEADREST_FOAM: 'headrest foam cushion (CT only, outside the head)',
  HEADREST_SHELL: 'plastic headrest shell (CT only, outside the head)',
  COUCH: 'couch plate (CT only, outside the head)',
  POSITIONING_BAR: 'positioning frame bar (CT only, outside the head)',
  EAR_CUSHION: 'foam ear cushion (CT only, outside the head; some patients)',
};

/** The full label table, ordered by value. */
export const LABEL_TABLE: readonly LabelInfo[] = (Object.keys(LABEL) as (keyof typeof LABEL)[]).map(
  (name) => {
    const value = LABEL[name];
    const anatomical = value > 0 && value < FIRST_OBJECT_LABEL;
    return {
      value,
      name,
      description: DESCRIPTIONS[name],
      anatomical,
      inMri: anatomical && value !== LABEL.SINUS_AIR,
      inCt: value !== LABEL.AIR,
    };
  },
);

/** True when a label value is anatomy (inside the head mask). */
export function isAnatomical(label: number): boolean {
  return label > 0 && label < FIRST_OBJECT_LABEL;
}

/** Head mask (1 = anatomy, 0 = air or hardware) from a label volume. */
export function headMaskFromLabels(labels: Uint8Array): Uint8Array {
  const mask = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    mask[i] = l > 0 && l < FIRST_OBJECT_LABEL ? 1 : 0;
  }
  return mask;
}
