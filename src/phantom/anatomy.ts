/**
 * The phantom's anatomy: samples one patient's head model (size, shape, pose, layer thicknesses,
 * ventricles, sinuses, eyes) from a seeded RNG, and rasterises it into a uint8 tissue-label volume
 * (see labels.ts). The head is a deformed ellipsoid (low-order polynomial in the direction),
 * layered from the surface inwards: skin, fat, skull (outer table, diploë, inner table), CSF,
 * grey matter (folded ribbon), white matter; a tilted skull base separates the brain from the
 * face/neck soft tissue below it. All anatomy lives in the head frame (u = right, v = anterior,
 * w = superior, mm, origin at the head centre), which is rotated and translated into the world.
 * Every layer is at least one voxel thick so that tiny grids still contain every tissue.
 * Must not: draw random numbers while rasterising, know about intensities, or touch files.
 */

import type { Vec3 } from '../io/volume';
import {
  ellipsoidLevel as importedEllipsoidLevel,
  growEllipsoid,
  rotationFromDegrees,
  transpose,
  type Ellipsoid,
  type Mat3,
  type PhantomGrid,
} from './grid';
import { LABEL as IMPORTED_LABEL } from './labels';
import type { Rng } from './rng';

/** Local alias: hot loops must not read the import binding (a getter call under some loaders, e.g. tsx). */
const LABEL = IMPORTED_LABEL;
const ellipsoidLevel = importedEllipsoidLevel;

/** Nominal head semi-axes (mm): 150 × 190 × 170 mm head (left-right, anterior-posterior, height). */
export const NOMINAL_HEAD_RADII: Vec3 = [75, 95, 85];
/** Largest |relative deformation| of the head surface from its ellipsoid. */
export const MAX_SHAPE_DEFORMATION = 0.12;
/** Number of shape coefficients: all monomials of degree 1–3 in the three direction cosines. */
export const SHAPE_TERMS = 19;

/** Thicknesses (mm) of the head's layers, measured along rays from the head centre. */
export interface LayerThickness {
  /** Skin / scalp. */
  skin: number;
  /** Subcutaneous fat. */
  fat: number;
  /** Outer cortical table of the skull. */
  outerTable: number;
  /** Diploë between the tables. */
  diploe: number;
  /** Inner cortical table. */
  innerTable: number;
  /** Subarachnoid CSF before folding modulation. */
  csf: number;
  /** Cortical grey matter before folding modulation. */
  greyMatter: number;
  /** Each cortical plate of the skull base. */
  baseCortical: number;
  /** Diploë of the skull base. */
  baseDiploe: number;
  /** How far (mm, vertically) the skull shell continues below the skull base over the face/neck. */
  shellBelowBase: number;
  /** Smallest thickness any layer may take after folding modulation (one voxel). */
  floor: number;
}

/** The skull base height in the head frame: w = offset + slope · v − lateralDrop · (u / a)². */
export interface SkullBase {
  /** Height (mm) at u = v = 0. */
  offset: number;
  /** Rise per mm towards anterior (the anterior fossa is higher than the posterior fossa). */
  slope: number;
  /** Drop (mm) at the lateral edge (middle cranial fossae). */
  lateralDrop: number;
}

/** Cortical folding: thickness modulation by a product of three sines. */
export interface Folding {
  /** Spatial period (mm). */
  wavelength: number;
  /** Phases (radians) along u, v, w. */
  phase: Vec3;
  /** Relative CSF thickness modulation (sulci). */
  csfAmplitude: number;
  /** Extra grey-matter depth (mm) where the fold pattern is at its minimum (sulcal fundi). */
  greyDepth: number;
}

/** One patient's head, fully determined (JSON-serialisable; all lengths in mm). */
export interface HeadModel {
  /** World position of the head centre (the nominal centre is the world origin). */
  centre: Vec3;
  /** Head pose: rotation angles (degrees) about world x, y, z; head→world is Rz·Ry·Rx. */
  rotationDeg: Vec3;
  /** Semi-axes of the undeformed head ellipsoid along u, v, w. */
  radii: Vec3;
  /** Overall size factor relative to NOMINAL_HEAD_RADII (also scales inner structures). */
  scale: number;
  /** Surface deformation coefficients (SHAPE_TERMS monomials of the direction cosines). */
  shape: number[];
  /** Layer thicknesses. */
  layers: LayerThickness;
  /** Skull base plane. */
  skullBase: SkullBase;
  /** Cortical folding. */
  folding: Folding;
  /** Half width of the interhemispheric fissure (CSF sheet at u ≈ 0). */
  fissureHalfWidth: number;
  /** The fissure exists above this height w. */
  fissureBottom: number;
  /** Deep grey nuclei (thalamus / basal ganglia; head frame). */
  deepGrey: Ellipsoid[];
  /** Lateral ventricles (head frame). */
  ventricles: Ellipsoid[];
  /** Frontal sinus (head frame). */
  frontalSinus: Ellipsoid;
  /** Maxillary sinuses (head frame). */
  maxillarySinuses: Ellipsoid[];
  /** Bony wall thickness around the sinuses. */
  sinusWall: number;
  /** Eye globes (head frame). */
  eyes: Ellipsoid[];
  /** Orbital fat shell thickness around the eyes. */
  orbitalFat: number;
}

/** World-space bounding box (mm) of the anatomical voxel centres. */
export interface HeadExtent {
  /** Smallest world x, y, z of a head voxel centre. */
  min: Vec3;
  /** Largest world x, y, z of a head voxel centre. */
  max: Vec3;
}

/** Labels of the anatomy plus where it is. */
export interface RasterizedHead {
  /** Tissue labels (LABEL values 0–11), NIfTI order. */
  labels: Uint8Array;
  /** Bounding box of the head voxels. */
  extent: HeadExtent;
}

/** Evaluates a HeadModel at head-frame points: world↔head transforms, surface depth, labels. */
export class HeadEvaluator {
  readonly model: HeadModel;
  /** Head→world rotation. */
  readonly rotation: Mat3;
  /** World→head rotation. */
  readonly inverseRotation: Mat3;
  private readonly ia: number;
  private readonly ib: number;
  private readonly ic: number;
  private readonly s: number[];
  private readonly rhoOutside2: number;
  private readonly tSkin: number;
  private readonly tScalp: number;
  private readonly tOuter: number;
  private readonly tOuterDiploe: number;
  private readonly tSkull: number;
  private readonly tBaseCortical: number;
  private readonly tBaseCorticalDiploe: number;
  private readonly tBase: number;
  private readonly shellBelow: number;
  private readonly maxCortex: number;
  private readonly foldK: number;
  private readonly structures: Array<{ level: Ellipsoid; wall: Ellipsoid | null; kind: StructureKind }>;

  constructor(model: HeadModel) {
    this.model = model;
    this.rotation = rotationFromDegrees(...model.rotationDeg);
    this.inverseRotation = transpose(this.rotation);
    this.ia = 1 / model.radii[0];
    this.ib = 1 / model.radii[1];
    this.ic = 1 / model.radii[2];
    this.s = model.shape.slice();
    const rOut = 1 + MAX_SHAPE_DEFORMATION;
    this.rhoOutside2 = rOut * rOut;
    const L = model.layers;
    this.tSkin = L.skin;
    this.tScalp = L.skin + L.fat;
    this.tOuter = L.outerTable;
    this.tOuterDiploe = L.outerTable + L.diploe;
    this.tSkull = L.outerTable + L.diploe + L.innerTable;
    this.tBaseCortical = L.baseCortical;
    this.tBaseCorticalDiploe = L.baseCortical + L.baseDiploe;
    this.tBase = 2 * L.baseCortical + L.baseDiploe;
    this.shellBelow = L.shellBelowBase;
    const f = model.folding;
    this.maxCortex =
      Math.max(L.floor, L.csf * (1 + f.csfAmplitude)) + Math.max(L.floor, L.greyMatter + f.greyDepth);
    this.foldK = (2 * Math.PI) / f.wavelength;
    this.structures = [
      ...model.deepGrey.map((e) => ({ level: e, wall: null, kind: 'deepGrey' as const })),
      ...model.ventricles.map((e) => ({ level: e, wall: null, kind: 'ventricle' as const })),
      { level: model.frontalSinus, wall: growEllipsoid(model.frontalSinus, model.sinusWall), kind: 'frontal' as const },
      ...model.maxillarySinuses.map((e) => ({ level: e, wall: growEllipsoid(e, model.sinusWall), kind: 'maxillary' as const })),
      ...model.eyes.map((e) => ({ level: e, wall: growEllipsoid(e, model.orbitalFat), kind: 'eye' as const })),
    ];
  }

  /** Relative surface deformation in direction (ex, ey, ez) (unit vector in ellipsoid-normalised coords). */
  shapeDelta(ex: number, ey: number, ez: number): number {
    const s = this.s as [number, number, number, number, number, number, number, number, number, number,
      number, number, number, number, number, number, number, number, number];
    const xx = ex * ex;
    const yy = ey * ey;
    const zz = ez * ez;
    const d =
      s[0] * ex + s[1] * ey + s[2] * ez +
      s[3] * xx + s[4] * yy + s[5] * zz + s[6] * ex * ey + s[7] * ex * ez + s[8] * ey * ez +
      s[9] * xx * ex + s[10] * yy * ey + s[11] * zz * ez + s[12] * xx * ey + s[13] * xx * ez +
      s[14] * yy * ex + s[15] * yy * ez + s[16] * zz * ex + s[17] * zz * ey + s[18] * ex * ey * ez;
    return d > MAX_SHAPE_DEFORMATION ? MAX_SHAPE_DEFORMATION : d < -MAX_SHAPE_DEFORMATION ? -MAX_SHAPE_DEFORMATION : d;
  }

  /**
   * Signed depth (mm) of a head-frame point below the head surface, measured along the ray from
   * the head centre: > 0 inside the head, < 0 outside (−distance to the surface along the ray).
   */
  depth(u: number, v: number, w: number): number {
    const ru = u * this.ia;
    const rv = v * this.ib;
    const rw = w * this.ic;
    const rho2 = ru * ru + rv * rv + rw * rw;
    if (rho2 < 1e-12) return this.model.radii[2] * (1 + this.shapeDelta(0, 0, 1));
    const rho = Math.sqrt(rho2);
    const inv = 1 / rho;
    const delta = this.shapeDelta(ru * inv, rv * inv, rw * inv);
    const mmPerRho = Math.sqrt(u * u + v * v + w * w) * inv;
    return (1 + delta - rho) * mmPerRho;
  }

  /** Height (mm) of the skull base at (u, v). */
  baseHeight(u: number, v: number): number {
    const b = this.model.skullBase;
    const lu = u * this.ia;
    return b.offset + b.slope * v - b.lateralDrop * lu * lu;
  }

  /** Anterior surface position v ≥ 0 of the head at (u, w) (bisection on depth). */
  surfaceV(u: number, w: number): number {
    let lo = 0;
    let hi = this.model.radii[1] * (1 + 2 * MAX_SHAPE_DEFORMATION);
    if (this.depth(u, lo, w) <= 0) return 0;
    for (let i = 0; i < 50; i++) {
      const mid = 0.5 * (lo + hi);
      if (this.depth(u, mid, w) > 0) lo = mid;
      else hi = mid;
    }
    return lo;
  }

  /** Tissue label (LABEL value 0–11) at a head-frame point. */
  classify(u: number, v: number, w: number): number {
    const ru = u * this.ia;
    const rv = v * this.ib;
    const rw = w * this.ic;
    if (ru * ru + rv * rv + rw * rw > this.rhoOutside2) return LABEL.AIR;
    const d = this.depth(u, v, w);
    if (d < 0) return LABEL.AIR;
    if (d < this.tSkin) return LABEL.SKIN;
    let label: number = LABEL.FAT;
    if (d >= this.tScalp) label = this.classifyDeep(u, v, w, d - this.tScalp);
    return this.applyStructures(u, v, w, label);
  }

  /** Label below the scalp; `s` is the depth below the scalp (mm). */
  private classifyDeep(u: number, v: number, w: number, s: number): number {
    const h = w - this.baseHeight(u, v);
    if (s < this.tSkull && h > -this.shellBelow) {
      return s < this.tOuter || s >= this.tOuterDiploe ? LABEL.CORTICAL_BONE : LABEL.DIPLOE;
    }
    if (h < 0) return LABEL.SOFT_TISSUE;
    if (h < this.tBase) {
      return h < this.tBaseCortical || h >= this.tBaseCorticalDiploe ? LABEL.CORTICAL_BONE : LABEL.DIPLOE;
    }
    const m = this.model;
    if (Math.abs(u) < m.fissureHalfWidth && w > m.fissureBottom) return LABEL.CSF;
    const dic = Math.min(s - this.tSkull, h - this.tBase);
    if (dic >= this.maxCortex) return LABEL.WHITE_MATTER;
    const k = this.foldK;
    const ph = m.folding.phase;
    const f = Math.sin(k * u + ph[0]) * Math.sin(k * v + ph[1]) * Math.sin(k * w + ph[2]);
    const L = m.layers;
    const tc = Math.max(L.floor, L.csf * (1 + m.folding.csfAmplitude * f));
    if (dic < tc) return LABEL.CSF;
    const tg = Math.max(L.floor, L.greyMatter + 0.5 * m.folding.greyDepth * (1 - f));
    return dic < tc + tg ? LABEL.GREY_MATTER : LABEL.WHITE_MATTER;
  }

  /** Ventricles, sinuses (with bony walls) and eyes (with orbital fat) override the layers. */
  private applyStructures(u: number, v: number, w: number, label: number): number {
    let out = label;
    for (const st of this.structures) {
      const outer = st.wall ?? st.level;
      const r = outer.radii;
      const c = outer.centre;
      if (Math.abs(u - c[0]) >= r[0] || Math.abs(v - c[1]) >= r[1] || Math.abs(w - c[2]) >= r[2]) continue;
      const inside = ellipsoidLevel(st.level, u, v, w) < 1;
      const inWall = !inside && st.wall !== null && ellipsoidLevel(st.wall, u, v, w) < 1;
      out = structureLabel(st.kind, inside, inWall, out);
    }
    return out;
  }
}

function isIntracranial(label: number): boolean {
  return (
    label === LABEL.CSF || label === LABEL.GREY_MATTER || label === LABEL.WHITE_MATTER || label === LABEL.VENTRICLE
  );
}

/** Inner structures, applied in this order over the layered labels. */
type StructureKind = 'deepGrey' | 'ventricle' | 'frontal' | 'maxillary' | 'eye';

/** What a structure makes of a voxel that currently has `label`. */
function structureLabel(kind: StructureKind, inside: boolean, inWall: boolean, label: number): number {
  const scalp = label === LABEL.SKIN || label === LABEL.FAT || label === LABEL.AIR;
  switch (kind) {
    case 'deepGrey':
      return inside && label === LABEL.WHITE_MATTER ? LABEL.GREY_MATTER : label;
    case 'ventricle':
      return inside && (label === LABEL.GREY_MATTER || label === LABEL.WHITE_MATTER) ? LABEL.VENTRICLE : label;
    case 'frontal':
      if (inside && !scalp && label !== LABEL.EYE) return LABEL.SINUS_AIR;
      return inWall && isIntracranial(label) ? LABEL.CORTICAL_BONE : label;
    case 'maxillary':
      if (inside && !scalp && label !== LABEL.EYE && !isIntracranial(label)) return LABEL.SINUS_AIR;
      return inWall && label === LABEL.SOFT_TISSUE ? LABEL.CORTICAL_BONE : label;
    case 'eye':
      if (inside && label !== LABEL.SKIN && label !== LABEL.AIR && !isIntracranial(label)) return LABEL.EYE;
      return inWall && (label === LABEL.SOFT_TISSUE || label === LABEL.CORTICAL_BONE || label === LABEL.DIPLOE)
        ? LABEL.FAT
        : label;
  }
}

/** Rasterises the anatomy of one head on a grid (labels 0–11) and measures its extent. */
export function rasterizeHead(model: HeadModel, grid: PhantomGrid): RasterizedHead {
  const ev = new HeadEvaluator(model);
  const [nx, ny, nz] = grid.dims;
  const [sx, sy, sz] = grid.spacing;
  const [ox, oy, oz] = grid.origin;
  const [cx, cy, cz] = model.centre;
  const R = ev.inverseRotation;
  const labels = new Uint8Array(nx * ny * nz);
  const min: Vec3 = [Infinity, Infinity, Infinity];
  const max: Vec3 = [-Infinity, -Infinity, -Infinity];
  const du = R[0] * sx;
  const dv = R[3] * sx;
  const dw = R[6] * sx;
  let idx = 0;
  for (let z = 0; z < nz; z++) {
    const qz = oz + z * sz - cz;
    for (let y = 0; y < ny; y++) {
      const qy = oy + y * sy - cy;
      const qx = ox - cx;
      let u = R[0] * qx + R[1] * qy + R[2] * qz;
      let v = R[3] * qx + R[4] * qy + R[5] * qz;
      let w = R[6] * qx + R[7] * qy + R[8] * qz;
      let rowMin = -1;
      let rowMax = -1;
      for (let x = 0; x < nx; x++, idx++, u += du, v += dv, w += dw) {
        const label = ev.classify(u, v, w);
        if (label === LABEL.AIR) continue;
        labels[idx] = label;
        if (rowMin < 0) rowMin = x;
        rowMax = x;
      }
      if (rowMin >= 0) {
        const wy = oy + y * sy;
        const wz = oz + z * sz;
        min[0] = Math.min(min[0], ox + rowMin * sx);
        max[0] = Math.max(max[0], ox + rowMax * sx);
        min[1] = Math.min(min[1], wy);
        max[1] = Math.max(max[1], wy);
        min[2] = Math.min(min[2], wz);
        max[2] = Math.max(max[2], wz);
      }
    }
  }
  return { labels, extent: { min, max } };
}

/** Nominal value × a uniform jitter factor in [1 − spread, 1 + spread]. */
function jitter(rng: Rng, nominal: number, spread: number): number {
  return nominal * rng.range(1 - spread, 1 + spread);
}

/** Samples one patient's head model; thin layers are at least `grid.maxSpacing` thick. */
export function sampleHeadModel(rng: Rng, grid: PhantomGrid): HeadModel {
  const floor = grid.maxSpacing;
  const atLeast = (mm: number): number => Math.max(floor, mm);
  const scale = rng.range(0.9, 1.1);
  const radii = NOMINAL_HEAD_RADII.map((r) => r * scale * rng.range(0.96, 1.04)) as Vec3;
  const rotationDeg: Vec3 = [rng.range(-10, 10), rng.range(-10, 10), rng.range(-10, 10)];
  const centre: Vec3 = [rng.range(-4, 4), rng.range(-4, 4), rng.range(-4, 4)];
  const shapeSigma = [0.025, 0.025, 0.025, 0.03, 0.03, 0.03, 0.03, 0.03, 0.03, ...Array<number>(10).fill(0.015)];
  const shape = shapeSigma.map((sigma) => sigma * rng.normal());
  shape[1] = (shape[1] ?? 0) - 0.02; // occiput fuller than the forehead
  const layers: LayerThickness = {
    skin: atLeast(jitter(rng, 2.0, 0.15)),
    fat: atLeast(jitter(rng, 3.0, 0.2)),
    outerTable: atLeast(jitter(rng, 1.8, 0.15)),
    diploe: atLeast(jitter(rng, 2.6, 0.2)),
    innerTable: atLeast(jitter(rng, 1.4, 0.15)),
    csf: atLeast(jitter(rng, 2.2, 0.2)),
    greyMatter: atLeast(jitter(rng, 2.8, 0.15)),
    baseCortical: atLeast(jitter(rng, 1.6, 0.15)),
    baseDiploe: atLeast(jitter(rng, 2.4, 0.2)),
    shellBelowBase: jitter(rng, 22, 0.15) * scale,
    floor,
  };
  const [, b, c] = radii;
  const skullBase: SkullBase = {
    offset: -c * rng.range(0.3, 0.36),
    slope: (c / b) * rng.range(0.26, 0.32),
    lateralDrop: c * rng.range(0.06, 0.1),
  };
  const folding: Folding = {
    wavelength: Math.max(4 * floor, rng.range(16, 24)),
    phase: [rng.range(0, 2 * Math.PI), rng.range(0, 2 * Math.PI), rng.range(0, 2 * Math.PI)],
    csfAmplitude: 0.5,
    greyDepth: rng.range(7, 10) * scale,
  };
  const partial: Omit<HeadModel, 'deepGrey' | 'ventricles' | 'frontalSinus' | 'maxillarySinuses' | 'eyes' | 'sinusWall' | 'orbitalFat'> = {
    centre, rotationDeg, radii, scale, shape, layers, skullBase, folding,
    fissureHalfWidth: Math.max(0.9, 0.5 * grid.spacing[0]),
    fissureBottom: c * rng.range(0.25, 0.35),
  };
  const placeholder: Ellipsoid = { centre: [0, 0, 0], radii: [1e-6, 1e-6, 1e-6] };
  const model: HeadModel = {
    ...partial,
    deepGrey: [],
    ventricles: [],
    frontalSinus: placeholder,
    maxillarySinuses: [],
    sinusWall: atLeast(1.2),
    eyes: [],
    orbitalFat: atLeast(jitter(rng, 3, 0.2)),
  };
  placeInnerStructures(rng, model, floor);
  return model;
}

/** Places ventricles, eyes and sinuses relative to the sampled surface and skull base. */
function placeInnerStructures(rng: Rng, model: HeadModel, floor: number): void {
  const ev = new HeadEvaluator(model); // structures are still empty: only geometry queries are used
  const [a, b, c] = model.radii;
  const s = model.scale;
  const L = model.layers;
  const atLeast = (mm: number): number => Math.max(floor, mm);
  const scalp = L.skin + L.fat;

  const vOff = rng.range(-6, 0) * s;
  const vW = c * rng.range(0.1, 0.14);
  model.ventricles = [-1, 1].map((side) => ({
    centre: [side * rng.range(6, 9) * s, vOff + rng.range(-2, 2), vW] as Vec3,
    radii: [atLeast(rng.range(5, 7) * s), atLeast(b * rng.range(0.25, 0.29)), atLeast(rng.range(7, 10) * s)] as Vec3,
  }));
  model.deepGrey = [-1, 1].map((side) => ({
    centre: [side * rng.range(17, 21) * s, vOff + rng.range(-3, 3), vW - rng.range(10, 14) * s] as Vec3,
    radii: [atLeast(rng.range(7, 9) * s), atLeast(rng.range(13, 16) * s), atLeast(rng.range(8, 10) * s)] as Vec3,
  }));

  const eyeR = atLeast(rng.range(11, 12.5) * s);
  const eyeU = a * rng.range(0.36, 0.42);
  model.eyes = [-1, 1].map((side) => {
    const u = side * eyeU;
    let w = ev.baseHeight(u, 0.75 * b) - eyeR - 1;
    let v = ev.surfaceV(u, w) - (L.skin + 0.3 * L.fat + eyeR);
    w = ev.baseHeight(u, v - eyeR) - eyeR - 1;
    v = ev.surfaceV(u, w) - (L.skin + 0.3 * L.fat + eyeR);
    return { centre: [u, v, w] as Vec3, radii: [eyeR, eyeR, eyeR] as Vec3 };
  });

  const eyeW = Math.min(...model.eyes.map((e) => e.centre[2]));
  const msR: Vec3 = [atLeast(rng.range(9, 11) * s), atLeast(rng.range(12, 15) * s), atLeast(rng.range(10, 12) * s)];
  const msU = a * rng.range(0.25, 0.32);
  const msW = eyeW - eyeR - model.orbitalFat - msR[2];
  model.maxillarySinuses = [-1, 1].map((side) => {
    const u = side * msU;
    const v = ev.surfaceV(u, msW) - (scalp + L.outerTable + model.sinusWall + msR[1] + 2);
    return { centre: [u, v, msW] as Vec3, radii: [...msR] as Vec3 };
  });

  const fsR: Vec3 = [atLeast(rng.range(9, 13) * s), atLeast(4), atLeast(rng.range(7, 10) * s)];
  const fsW = ev.baseHeight(0, 0.8 * b) + 2 * L.baseCortical + L.baseDiploe + 0.8 * fsR[2];
  const fsV = ev.surfaceV(0, fsW) - (scalp + L.outerTable + fsR[1]);
  model.frontalSinus = { centre: [rng.range(-2, 2), fsV, fsW], radii: fsR };
}
