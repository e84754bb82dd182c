/**
 * Scanner hardware around the head that only the CT sees (labels 20+): a foam cushion and plastic
 * headrest shell cradling the back of the head, the flat couch plate under them, a positioning
 * frame bar along z beside the head and, for some patients, a foam ear cushion on the other side.
 * Objects live in the scanner frame (they do not rotate with the head) and always keep a gap of
 * at least 1.5 voxels (and ≥ 2 mm) from the head, so that they never touch the head mask; artifact
 * removal must delete them. Must not: change anatomical labels, draw random numbers while
 * rasterising, or know about intensities.
 */

import type { Vec3 } from '../io/volume';
import { HeadEvaluator, type HeadExtent, type HeadModel } from './anatomy';
import type { PhantomGrid } from './grid';
import { LABEL as IMPORTED_LABEL } from './labels';
import type { Rng } from './rng';

/** Local alias: hot loops must not read the import binding (a getter call under some loaders, e.g. tsx). */
const LABEL = IMPORTED_LABEL;

/** Parameters of the hardware around one patient's head (mm, world frame; JSON-serialisable). */
export interface ObjectsModel {
  /** Gap between head surface and foam cushion (along rays from the head centre). */
  foamGap: number;
  /** Foam cushion thickness. */
  foamThickness: number;
  /** Plastic headrest shell thickness. */
  shellThickness: number;
  /** The cradle (foam + shell) exists only posterior to this world y … */
  cradleMaxY: number;
  /** … and below this world z. */
  cradleMaxZ: number;
  /** Gap between the lowest cradle voxel and the couch plate. */
  couchGap: number;
  /** Couch plate thickness. */
  couchThickness: number;
  /** Couch plate half width (x) around the head centre. */
  couchHalfWidth: number;
  /** Positioning bar: side (+1 = +x), radius, gap from the head's x extent, world y of its axis. */
  bar: { side: number; radius: number; gap: number; y: number };
  /** Optional ear cushion on the other side: radius, gap, world y and z of its centre. */
  earCushion: { side: number; radius: number; gap: number; y: number; z: number } | null;
}

/** Where the objects ended up (world mm), for the ground-truth record. */
export interface ObjectsPlacement {
  /** World y of the top surface of the couch plate (null when outside the field of view). */
  couchTopY: number | null;
  /** World x of the bar axis. */
  barX: number;
  /** World x of the ear cushion centre (null when there is none). */
  earCushionX: number | null;
  /** Number of voxels per object label. */
  voxels: Record<string, number>;
}

/** Samples the hardware around a head; gaps are at least 1.5 voxels. */
export function sampleObjects(rng: Rng, head: HeadModel, grid: PhantomGrid): ObjectsModel {
  const minGap = Math.max(2, 1.5 * grid.maxSpacing);
  const thick = (mm: number): number => Math.max(grid.maxSpacing, mm);
  const [, b, c] = head.radii;
  const [, cy, cz] = head.centre;
  const side = rng.sign();
  return {
    foamGap: Math.max(minGap, rng.range(2, 4)),
    foamThickness: thick(rng.range(8, 12)),
    shellThickness: thick(rng.range(4, 6)),
    cradleMaxY: cy - b * rng.range(0.45, 0.55),
    cradleMaxZ: cz + c * rng.range(0.25, 0.4),
    couchGap: rng.range(0, 1.5),
    couchThickness: thick(rng.range(6, 10)),
    couchHalfWidth: rng.range(100, 120),
    bar: { side, radius: thick(rng.range(4, 7)), gap: Math.max(minGap, rng.range(4, 8)), y: cy - b * rng.range(0, 0.3) },
    earCushion:
      rng.uniform() < 0.6
        ? { side: -side, radius: thick(rng.range(7, 10)), gap: Math.max(minGap, rng.range(3, 6)), y: cy + rng.range(-10, 10), z: cz - c * rng.range(0, 0.15) }
        : null,
  };
}

/** World coordinate of voxel index i along an axis. */
function world(grid: PhantomGrid, axis: 0 | 1 | 2, i: number): number {
  return grid.origin[axis] + grid.spacing[axis] * i;
}

/** Index range [lo, hi) of voxels whose world coordinate lies in [a, b]. */
function indexRange(grid: PhantomGrid, axis: 0 | 1 | 2, a: number, b: number): [number, number] {
  const s = grid.spacing[axis];
  const o = grid.origin[axis];
  const lo = Math.max(0, Math.ceil((a - o) / s));
  const hi = Math.min(grid.dims[axis], Math.floor((b - o) / s) + 1);
  return [lo, Math.max(lo, hi)];
}

/** Foam + shell cradle conforming to the back of the head; returns the lowest world y of the shell (or null). */
function rasterizeCradle(m: ObjectsModel, ev: HeadEvaluator, grid: PhantomGrid, labels: Uint8Array): number | null {
  const [nx, ny] = grid.dims;
  const [yLo, yHi] = indexRange(grid, 1, -Infinity, m.cradleMaxY);
  const [zLo, zHi] = indexRange(grid, 2, -Infinity, m.cradleMaxZ);
  const R = ev.inverseRotation;
  const [cx, cy, cz] = ev.model.centre;
  const foamOuter = -(m.foamGap + m.foamThickness);
  const shellOuter = foamOuter - m.shellThickness;
  let lowestY: number | null = null;
  for (let z = zLo; z < zHi; z++) {
    const qz = world(grid, 2, z) - cz;
    for (let y = yLo; y < yHi; y++) {
      const qy = world(grid, 1, y) - cy;
      const row = nx * (y + ny * z);
      for (let x = 0; x < nx; x++) {
        if (labels[row + x] !== LABEL.AIR) continue;
        const qx = world(grid, 0, x) - cx;
        const u = R[0] * qx + R[1] * qy + R[2] * qz;
        const v = R[3] * qx + R[4] * qy + R[5] * qz;
        const w = R[6] * qx + R[7] * qy + R[8] * qz;
        const d = ev.depth(u, v, w);
        if (d >= -m.foamGap || d < shellOuter) continue;
        labels[row + x] = d >= foamOuter ? LABEL.HEADREST_FOAM : LABEL.HEADREST_SHELL;
        if (d < foamOuter) {
          const wy = world(grid, 1, y);
          if (lowestY === null || wy < lowestY) lowestY = wy;
        }
      }
    }
  }
  return lowestY;
}

/** Fills air voxels of a box with a label when `inside(wx, wy, wz)` holds. */
function fillWhere(
  grid: PhantomGrid,
  labels: Uint8Array,
  box: { min: Vec3; max: Vec3 },
  label: number,
  inside: (wx: number, wy: number, wz: number) => boolean,
): void {
  const [nx, ny] = grid.dims;
  const [xLo, xHi] = indexRange(grid, 0, box.min[0], box.max[0]);
  const [yLo, yHi] = indexRange(grid, 1, box.min[1], box.max[1]);
  const [zLo, zHi] = indexRange(grid, 2, box.min[2], box.max[2]);
  for (let z = zLo; z < zHi; z++) {
    const wz = world(grid, 2, z);
    for (let y = yLo; y < yHi; y++) {
      const wy = world(grid, 1, y);
      for (let x = xLo; x < xHi; x++) {
        const i = x + nx * (y + ny * z);
        if (labels[i] === LABEL.AIR && inside(world(grid, 0, x), wy, wz)) labels[i] = label;
      }
    }
  }
}

/** Rasterises the hardware into the label volume (air voxels only) and reports where it went. */
export function rasterizeObjects(
  m: ObjectsModel,
  head: HeadModel,
  extent: HeadExtent,
  grid: PhantomGrid,
  labels: Uint8Array,
): ObjectsPlacement {
  const ev = new HeadEvaluator(head);
  const lowestShellY = rasterizeCradle(m, ev, grid, labels);
  const cx = head.centre[0];

  let couchTopY = (lowestShellY ?? extent.min[1] - m.foamGap) - m.couchGap;
  const fovMinY = grid.origin[1] - 0.5 * grid.spacing[1];
  if (couchTopY - m.couchThickness < fovMinY) {
    // Not enough room under the cradle: lift the couch into the field of view (it then fills the
    // air around the cradle), but never closer to the head than the foam gap.
    couchTopY = Math.min(fovMinY + m.couchThickness, extent.min[1] - m.foamGap);
  }
  fillWhere(grid, labels, { min: [cx - m.couchHalfWidth, couchTopY - m.couchThickness, -Infinity], max: [cx + m.couchHalfWidth, couchTopY, Infinity] }, LABEL.COUCH, () => true);

  const bar = m.bar;
  const barX = bar.side > 0 ? extent.max[0] + bar.gap + bar.radius : extent.min[0] - bar.gap - bar.radius;
  fillWhere(grid, labels, { min: [barX - bar.radius, bar.y - bar.radius, -Infinity], max: [barX + bar.radius, bar.y + bar.radius, Infinity] }, LABEL.POSITIONING_BAR,
    (wx, wy) => (wx - barX) ** 2 + (wy - bar.y) ** 2 <= bar.radius ** 2);

  let earCushionX: number | null = null;
  const ear = m.earCushion;
  if (ear !== null) {
    const ex = ear.side > 0 ? extent.max[0] + ear.gap + ear.radius : extent.min[0] - ear.gap - ear.radius;
    earCushionX = ex;
    const r = ear.radius;
    fillWhere(grid, labels, { min: [ex - r, ear.y - r, ear.z - r], max: [ex + r, ear.y + r, ear.z + r] }, LABEL.EAR_CUSHION,
      (wx, wy, wz) => (wx - ex) ** 2 + (wy - ear.y) ** 2 + (wz - ear.z) ** 2 <= r * r);
  }
  return { couchTopY: couchTopY >= grid.origin[1] ? couchTopY : null, barX, earCushionX, voxels: countObjectVoxels(labels) };
}

/** Voxel count of every object label. */
function countObjectVoxels(labels: Uint8Array): Record<string, number> {
  const counts = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l >= 20) counts.set(l, (counts.get(l) ?? 0) + 1);
  }
  const names: Record<number, string> = {
    [LABEL.HEADREST_FOAM]: 'headrestFoam',
    [LABEL.HEADREST_SHELL]: 'headrestShell',
    [LABEL.COUCH]: 'couch',
    [LABEL.POSITIONING_BAR]: 'positioningBar',
    [LABEL.EAR_CUSHION]: 'earCushion',
  };
  const out: Record<string, number> = {};
  for (const [value, name] of Object.entries(names)) out[name] = counts.get(Number(value)) ?? 0;
  return out;
}
