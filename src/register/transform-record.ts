/**
 * The rigid transform as a user-readable JSON record: rotation in degrees about RAS x/y/z
 * (ITK Euler order, R = Rz·Rx·Ry), translation in mm, centre of rotation, the 4×4 RAS matrix
 * mapping MRI-world points to CT-world points, and elastix's parameter maps. Builds the record
 * from elastix's LPS result, writes it atomically, reads and validates it (matrix rigid, angles
 * and matrix consistent).
 * Must not run registration or resample images.
 */

import { readFileSync } from 'node:fs';

import { Mri2ctError } from '../errors';
import { matrixToEuler, rigidAffine } from '../io/affine-math';
import { isFiniteAffine, linearPart } from '../io/nifti-affine';
import type { Affine, Vec3 } from '../io/volume';
import { writeFileAtomicSync } from '../util/atomic-write';
import type { ElastixRigidResult, ParameterMap } from './elastix';
import type { RegistrationQuality } from './quality';

export const TRANSFORM_FORMAT = 'mri2ct-rigid-transform';
export const TRANSFORM_VERSION = 1;

/** x, y, z components (RAS+). */
export interface Xyz {
  x: number;
  y: number;
  z: number;
}

/** A rigid CT-to-MRI transform as stored in `--transform t.json` and in patient metadata. */
export interface RigidTransformRecord {
  format: typeof TRANSFORM_FORMAT;
  version: typeof TRANSFORM_VERSION;
  /** What `matrix` does, in words. */
  description: string;
  /** Rotation angles in degrees about RAS x, y, z; matrix rotation part = Rz·Rx·Ry. */
  rotationDegrees: Xyz;
  /** Translation in mm (RAS), applied after rotating about `centerMm`. */
  translationMm: Xyz;
  /** Centre of rotation in MRI world coordinates (RAS mm). */
  centerMm: Xyz;
  /** Row-major 4×4 RAS matrix: CT-world point = matrix · MRI-world point. */
  matrix: Affine;
  /** elastix's parameter map and returned transform parameter map (LPS, radians), when elastix made it. */
  elastix?: { parameterMap: ParameterMap; transformParameterMap: ParameterMap };
  /** Quality figures of the registration that produced it (written by `mri2ct register`). */
  quality?: RegistrationQuality;
}

const DESCRIPTION =
  'Rigid transform from registration of the CT (moving) to the MRI (fixed): matrix maps a point of the ' +
  'MRI world (NIfTI RAS+ mm) to the CT world; p_ct = R (p_mri - center) + center + translation, ' +
  'R = Rz Rx Ry from rotationDegrees (ITK Euler3D order).';

/** {x, y, z} of a vector; −0 becomes 0 so that JSON round trips are exact. */
const xyz = (v: Vec3): Xyz => ({ x: v[0] + 0, y: v[1] + 0, z: v[2] + 0 });
const vec = (v: Xyz): Vec3 => [v.x, v.y, v.z];
const deg = 180 / Math.PI;

/** A record from Euler angles (radians, RAS), translation and centre (RAS mm). */
export function rigidRecord(anglesRad: Vec3, translation: Vec3, center: Vec3, elastix?: RigidTransformRecord['elastix']): RigidTransformRecord {
  return {
    format: TRANSFORM_FORMAT,
    version: TRANSFORM_VERSION,
    description: DESCRIPTION,
    rotationDegrees: xyz(anglesRad.map((a) => a * deg) as Vec3),
    translationMm: xyz(translation),
    centerMm: xyz(center),
    matrix: rigidAffine(anglesRad, translation, center),
    ...(elastix !== undefined ? { elastix } : {}),
  };
}

/**
 * The record of an elastix Euler result (LPS). LPS ↔ RAS negates x and y: a rotation by a about
 * x (or y) becomes −a, about z stays a; translation and centre negate x and y.
 */
export function recordFromElastix(e: ElastixRigidResult): RigidTransformRecord {
  const flip = (v: Vec3): Vec3 => [-v[0], -v[1], v[2]];
  return rigidRecord(flip(e.anglesLps), flip(e.translationLps), flip(e.centerLps), {
    parameterMap: e.parameterMap,
    transformParameterMap: e.transformParameterMap,
  });
}

/** The same transform with an extra world shift applied after it: p ↦ shift + T(p). */
export function shiftRecord(record: RigidTransformRecord, shift: Vec3): RigidTransformRecord {
  const t = vec(record.translationMm);
  const angles = vec(record.rotationDegrees).map((a) => a / deg) as Vec3;
  return rigidRecord(angles, [t[0] + shift[0], t[1] + shift[1], t[2] + shift[2]], vec(record.centerMm), record.elastix);
}

/** Checks a parsed record (rigid, angles consistent with the matrix) and returns it typed. */
export function validateTransformRecord(value: unknown, where: string): RigidTransformRecord {
  const bad = (why: string): Mri2ctError =>
    new Mri2ctError(`${where} is not a usable mri2ct rigid transform: ${why}; write it again with \`mri2ct register --transform\``);
  const r = value as Partial<RigidTransformRecord> | null;
  if (r === null || typeof r !== 'object' || r.format !== TRANSFORM_FORMAT) throw bad(`"format" must be "${TRANSFORM_FORMAT}"`);
  if (r.version !== TRANSFORM_VERSION) throw bad(`unsupported version ${String(r.version)} (this build reads ${TRANSFORM_VERSION})`);
  if (!isFiniteAffine(r.matrix) || r.matrix[3]?.join() !== '0,0,0,1') throw bad('"matrix" must be a finite 4×4 affine with last row 0 0 0 1');
  const isXyz = (v: unknown): v is Xyz =>
    typeof v === 'object' && v !== null && ['x', 'y', 'z'].every((k) => Number.isFinite((v as Record<string, unknown>)[k]));
  for (const k of ['rotationDegrees', 'translationMm', 'centerMm'] as const) if (!isXyz(r[k])) throw bad(`"${k}" must be {x, y, z} numbers`);
  const m = linearPart(r.matrix);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      const dot = m.reduce((acc, row) => acc + (row[i] ?? 0) * (row[j] ?? 0), 0);
      if (Math.abs(dot - (i === j ? 1 : 0)) > 1e-6) throw bad('the rotation part of "matrix" is not orthonormal (not a rigid transform)');
    }
  }
  const rebuilt = rigidAffine(
    vec(r.rotationDegrees as Xyz).map((a) => a / deg) as Vec3,
    vec(r.translationMm as Xyz),
    vec(r.centerMm as Xyz),
  );
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 4; j++) {
      if (Math.abs((rebuilt[i]?.[j] ?? 0) - (r.matrix[i]?.[j] ?? 0)) > 1e-6 * (j === 3 ? 100 : 1)) {
        throw bad('rotationDegrees/translationMm/centerMm do not give "matrix" (edited by hand?)');
      }
    }
  }
  return r as RigidTransformRecord;
}

/** Rotation angles (degrees, RAS, ITK order) of any rigid matrix. */
export function matrixRotationDegrees(matrix: Affine): Xyz {
  return xyz(matrixToEuler(linearPart(matrix)).map((a) => a * deg) as Vec3);
}

/** Writes the record as indented JSON, atomically. */
export function writeTransformRecord(path: string, record: RigidTransformRecord): void {
  writeFileAtomicSync(path, `${JSON.stringify(record, null, 2)}\n`);
}

/** Reads and validates a record written by {@link writeTransformRecord}. */
export function readTransformRecord(path: string): RigidTransformRecord {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new Mri2ctError(`cannot read the transform file ${path}: ${(cause as Error).message}; check the path`, { cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new Mri2ctError(`the transform file ${path} is not valid JSON (${(cause as Error).message}); write it again`, { cause });
  }
  return validateTransformRecord(parsed, `the transform file ${path}`);
}
