/**
 * CT contrast of the phantom in Hounsfield units (stored as int16): per-tissue HU with per-patient
 * jitter (air −1000, fat ≈ −100, skin/soft tissue 30–60, CSF 5–15, GM 35–45, WM 22–30, cortical
 * bone 1350–1650 and diploë 750–950 with a smooth spatial variation, sinuses −1000…−900), the
 * hardware only the CT sees (headrest foam −180…−60, headrest shell 350–550, couch 300–500, bar
 * 400–600, ear cushion −150…−50), then Gaussian noise (σ 5–10 HU). Bone is clamped to
 * [700, 1800] HU, sinus air to [−1000, −900], everything to [−1024, 3071].
 * Must not: blur (HU ranges must stay testable), know about the MRI, or touch files.
 */

import type { Vec3 } from '../io/volume';
import type { PhantomGrid } from './grid';
import { LABEL as IMPORTED_LABEL, LABEL_VALUE_COUNT } from './labels';
import { addGaussianNoise } from './noise';
import type { Rng } from './rng';

/** Local alias: hot loops must not read the import binding (a getter call under some loaders, e.g. tsx). */
const LABEL = IMPORTED_LABEL;

/** HU ranges the generator guarantees (after noise). */
export const CT_BOUNDS = {
  /** Any voxel. */
  all: { min: -1024, max: 3071 },
  /** Cortical bone and diploë. */
  bone: { min: 700, max: 1800 },
  /** Sinus air. */
  sinus: { min: -1000, max: -900 },
} as const;

/** Per-label uniform ranges [lo, hi) from which each patient's mean HU is drawn. */
export const CT_HU_RANGES: Readonly<Record<number, readonly [number, number]>> = {
  [LABEL.AIR]: [-1000, -1000],
  [LABEL.SKIN]: [30, 50],
  [LABEL.FAT]: [-110, -85],
  [LABEL.CORTICAL_BONE]: [1350, 1650],
  [LABEL.DIPLOE]: [750, 950],
  [LABEL.CSF]: [5, 15],
  [LABEL.GREY_MATTER]: [35, 45],
  [LABEL.WHITE_MATTER]: [22, 30],
  [LABEL.SINUS_AIR]: [-990, -950],
  [LABEL.EYE]: [5, 15],
  [LABEL.SOFT_TISSUE]: [45, 60],
  [LABEL.HEADREST_FOAM]: [-180, -60],
  [LABEL.HEADREST_SHELL]: [350, 550],
  [LABEL.COUCH]: [300, 500],
  [LABEL.POSITIONING_BAR]: [400, 600],
  [LABEL.EAR_CUSHION]: [-150, -50],
};

/** One patient's CT contrast (JSON-serialisable). */
export interface CtContrast {
  /** Mean HU per label value (index = label). */
  hu: number[];
  /** Amplitude (HU) of the smooth density variation of cortical bone; diploë gets half. */
  boneVariation: number;
  /** Spatial period (mm) of the bone density variation. */
  boneWavelength: number;
  /** Phases (radians) of the variation along x, y, z. */
  bonePhase: Vec3;
  /** Gaussian noise σ (HU). */
  noiseSigma: number;
}

/** Samples the per-label HU, bone variation and noise level. */
export function sampleCtContrast(rng: Rng): CtContrast {
  const hu = new Array<number>(LABEL_VALUE_COUNT).fill(-1000);
  for (const [label, [lo, hi]] of Object.entries(CT_HU_RANGES)) hu[Number(label)] = rng.range(lo, hi);
  hu[LABEL.VENTRICLE] = hu[LABEL.CSF]!;
  return {
    hu,
    boneVariation: rng.range(80, 150),
    boneWavelength: rng.range(60, 100),
    bonePhase: [rng.range(0, 2 * Math.PI), rng.range(0, 2 * Math.PI), rng.range(0, 2 * Math.PI)],
    noiseSigma: rng.range(5, 10),
  };
}

/** cos(2π·world/λ + φ) / 3 along one axis (the three axes sum to a smooth field in [−1, 1]). */
function axisWave(grid: PhantomGrid, axis: 0 | 1 | 2, wavelength: number, phase: number): Float32Array {
  const n = grid.dims[axis];
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = Math.cos((2 * Math.PI * (grid.origin[axis] + grid.spacing[axis] * i)) / wavelength + phase) / 3;
  }
  return out;
}

/** Noise-free HU per voxel (bone with its smooth density variation). */
function renderHu(labels: Uint8Array, grid: PhantomGrid, c: CtContrast): Float32Array {
  const [nx, ny, nz] = grid.dims;
  const lut = Float32Array.from(c.hu);
  const wx = axisWave(grid, 0, c.boneWavelength, c.bonePhase[0]);
  const wy = axisWave(grid, 1, c.boneWavelength, c.bonePhase[1]);
  const wz = axisWave(grid, 2, c.boneWavelength, c.bonePhase[2]);
  const out = new Float32Array(labels.length);
  let i = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      const yz = wy[y]! + wz[z]!;
      for (let x = 0; x < nx; x++, i++) {
        const l = labels[i]!;
        let v = lut[l]!;
        if (l === LABEL.CORTICAL_BONE) v += c.boneVariation * (wx[x]! + yz);
        else if (l === LABEL.DIPLOE) v += 0.5 * c.boneVariation * (wx[x]! + yz);
        out[i] = v;
      }
    }
  }
  return out;
}

/** The acquired CT (int16 HU): tissue HU + bone variation + Gaussian noise, clamped per CT_BOUNDS. */
export function renderCt(labels: Uint8Array, grid: PhantomGrid, contrast: CtContrast, rng: Rng): Int16Array {
  const hu = renderHu(labels, grid, contrast);
  const ct = new Int16Array(labels.length);
  addGaussianNoise(hu, contrast.noiseSigma, rng, CT_BOUNDS.all, ct);
  for (let i = 0; i < ct.length; i++) {
    const l = labels[i]!;
    if (l === LABEL.CORTICAL_BONE || l === LABEL.DIPLOE) {
      ct[i] = Math.min(CT_BOUNDS.bone.max, Math.max(CT_BOUNDS.bone.min, ct[i]!));
    } else if (l === LABEL.SINUS_AIR) {
      ct[i] = Math.min(CT_BOUNDS.sinus.max, Math.max(CT_BOUNDS.sinus.min, ct[i]!));
    }
  }
  return ct;
}
