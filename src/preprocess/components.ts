/**
 * Connected components (6/26-connectivity, queue based, no recursion) and hole filling (3D, or
 * per axial slice in 2D) of 3D binary masks in NIfTI order (x fastest). Inputs are never
 * modified; outputs hold 0/1. Must not know about MRI/CT intensities.
 */
import { ConfigError } from '../errors';
import type { Vec3 } from '../io/volume';
import { checkLength } from './arrays';

/** Voxel neighbourhood of connected components: faces only (6) or faces+edges+corners (26). */
export type Connectivity = 6 | 26;

/** Result of {@link largestComponent}. */
export interface LargestComponent {
  /** 0/1 mask of the largest connected component (all 0 if the input was empty). */
  mask: Uint8Array;
  /** Voxels in the largest component. */
  size: number;
  /** Voxels in the whole input mask. */
  total: number;
  /** Number of connected components in the input mask. */
  components: number;
}

// ───────────────────────────── distance transform ─────────────────────────────

/**
 * Labels the connected components of the "on" voxels: labels[i] = 1..count (0 = background),
 * sizes[label − 1] = voxel count. Breadth-first with one preallocated queue.
 */
export function labelComponents(
  mask: ArrayLike<number>,
  dims: Vec3,
  connectivity: Connectivity = 6,
): { labels: Int32Array; sizes: number[] } {
  const n = checkLength(mask, dims, 'connected components');
  if (connectivity !== 6 && connectivity !== 26) {
    throw new ConfigError(`connectivity must be 6 or 26, got ${String(connectivity)}`);
  }
  const labels = new Int32Array(n);
  const queue = new Int32Array(n);
  const sizes: number[] = [];
  for (let seed = 0; seed < n; seed++) {
    if (mask[seed] === 0 || labels[seed] !== 0) continue;
    const label = sizes.length + 1;
    labels[seed] = label;
    queue[0] = seed;
    const size =
      connectivity === 6 ? flood6(mask, labels, queue, dims, label) : flood26(mask, labels, queue, dims, label);
    sizes.push(size);
  }
  return { labels, sizes };
}

/**
 * Breadth-first flood of one component through 6-neighbours from the seed in queue[0] (already
 * labelled), writing `label` into labels of every "on" voxel reached. Returns its voxel count.
 */
function flood6(mask: ArrayLike<number>, labels: Int32Array, queue: Int32Array, dims: Vec3, label: number): number {
  const [nx, ny, nz] = dims;
  const plane = nx * ny;
  let head = 0;
  let tail = 1;
  const visit = (j: number): void => {
    if (labels[j] === 0 && mask[j] !== 0) {
      labels[j] = label;
      queue[tail++] = j;
    }
  };
  while (head < tail) {
    const i = queue[head++] as number;
    const x = i % nx;
    const yz = (i - x) / nx;
    const y = yz % ny;
    const z = (yz - y) / ny;
    if (x > 0) visit(i - 1);
    if (x < nx - 1) visit(i + 1);
    if (y > 0) visit(i - nx);
    if (y < ny - 1) visit(i + nx);
    if (z > 0) visit(i - plane);
    if (z < nz - 1) visit(i + plane);
  }
  return tail;
}

/** Like flood6, through all 26 neighbours. */
function flood26(mask: ArrayLike<number>, labels: Int32Array, queue: Int32Array, dims: Vec3, label: number): number {
  const [nx, ny, nz] = dims;
  const plane = nx * ny;
  let head = 0;
  let tail = 1;
  while (head < tail) {
    const i = queue[head++] as number;
    const x = i % nx;
    const yz = (i - x) / nx;
    const y = yz % ny;
    const z = (yz - y) / ny;
    const z0 = z > 0 ? -1 : 0;
    const z1 = z < nz - 1 ? 1 : 0;
    const y0 = y > 0 ? -1 : 0;
    const y1 = y < ny - 1 ? 1 : 0;
    const x0 = x > 0 ? -1 : 0;
    const x1 = x < nx - 1 ? 1 : 0;
    for (let dz = z0; dz <= z1; dz++) {
      for (let dy = y0; dy <= y1; dy++) {
        const rowBase = i + dz * plane + dy * nx;
        for (let dx = x0; dx <= x1; dx++) {
          const j = rowBase + dx;
          if (labels[j] === 0 && mask[j] !== 0) {
            labels[j] = label;
            queue[tail++] = j;
          }
        }
      }
    }
  }
  return tail;
}

/** The largest connected component of the "on" voxels (ties: the first found in voxel order). */
export function largestComponent(
  mask: ArrayLike<number>,
  dims: Vec3,
  connectivity: Connectivity = 6,
): LargestComponent {
  const { labels, sizes } = labelComponents(mask, dims, connectivity);
  let best = 0;
  let total = 0;
  for (let l = 0; l < sizes.length; l++) {
    total += sizes[l] as number;
    if ((sizes[l] as number) > (sizes[best] ?? 0)) best = l;
  }
  const out = new Uint8Array(labels.length);
  const size = sizes[best] ?? 0;
  if (size > 0) {
    const label = best + 1;
    for (let i = 0; i < labels.length; i++) out[i] = labels[i] === label ? 1 : 0;
  }
  return { mask: out, size, total, components: sizes.length };
}

// ───────────────────────────── hole filling ─────────────────────────────

const OPEN = 0; // background not reached yet
const WALL = 1; // foreground, or the sentinel layer around the volume
const REACHED = 2; // background connected to the volume's border

/**
 * Copies one x-fastest grid (nx·ny·nz) into the middle of a grid with a one-voxel sentinel layer
 * (WALL) on every side: foreground → WALL, background → OPEN.
 */
function padStatus(mask: ArrayLike<number>, offset: number, nx: number, ny: number, nz: number, out: Uint8Array): void {
  const px = nx + 2;
  const py = ny + 2;
  out.fill(WALL);
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      const src = offset + nx * (y + ny * z);
      const dst = 1 + px * (y + 1 + py * (nz > 1 ? z + 1 : 0));
      for (let x = 0; x < nx; x++) out[dst + x] = mask[src + x] !== 0 ? WALL : OPEN;
    }
  }
}

/** Seeds every OPEN voxel next to the sentinel layer and floods through OPEN neighbours. */
function floodFromBorder(status: Uint8Array, queue: Int32Array, px: number, py: number, pz: number): void {
  const plane = px * py;
  const offsets = pz > 1 ? [1, -1, px, -px, plane, -plane] : [1, -1, px, -px];
  const o0 = offsets[0] as number;
  const o1 = offsets[1] as number;
  const o2 = offsets[2] as number;
  const o3 = offsets[3] as number;
  const o4 = offsets[4] ?? 0;
  const o5 = offsets[5] ?? 0;
  let tail = 0;
  const z0 = pz > 1 ? 1 : 0;
  const z1 = pz > 1 ? pz - 2 : 0;
  for (let z = z0; z <= z1; z++) {
    for (let y = 1; y < py - 1; y++) {
      for (let x = 1; x < px - 1; x++) {
        const onFace = x === 1 || x === px - 2 || y === 1 || y === py - 2 || (pz > 1 && (z === 1 || z === pz - 2));
        if (!onFace) {
          x = px - 3; // jump to the last inner column of this row
          continue;
        }
        const i = x + px * (y + py * z);
        if (status[i] === OPEN) {
          status[i] = REACHED;
          queue[tail++] = i;
        }
      }
    }
  }
  let head = 0;
  const three = pz > 1;
  while (head < tail) {
    const i = queue[head++] as number;
    let j = i + o0;
    if (status[j] === OPEN) (status[j] = REACHED), (queue[tail++] = j);
    j = i + o1;
    if (status[j] === OPEN) (status[j] = REACHED), (queue[tail++] = j);
    j = i + o2;
    if (status[j] === OPEN) (status[j] = REACHED), (queue[tail++] = j);
    j = i + o3;
    if (status[j] === OPEN) (status[j] = REACHED), (queue[tail++] = j);
    if (three) {
      j = i + o4;
      if (status[j] === OPEN) (status[j] = REACHED), (queue[tail++] = j);
      j = i + o5;
      if (status[j] === OPEN) (status[j] = REACHED), (queue[tail++] = j);
    }
  }
}

/** Writes the filled result (everything but REACHED is on) from a padded grid. */
function unpadFilled(status: Uint8Array, out: Uint8Array, offset: number, nx: number, ny: number, nz: number): void {
  const px = nx + 2;
  const py = ny + 2;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      const dst = offset + nx * (y + ny * z);
      const src = 1 + px * (y + 1 + py * (nz > 1 ? z + 1 : 0));
      for (let x = 0; x < nx; x++) out[dst + x] = status[src + x] === REACHED ? 0 : 1;
    }
  }
}

/**
 * 3D hole filling: every "off" voxel not 6-connected (through "off" voxels) to the faces of the
 * volume becomes "on". Returns a new 0/1 mask.
 */
export function fillHoles3d(mask: ArrayLike<number>, dims: Vec3): Uint8Array {
  const n = checkLength(mask, dims, 'fill holes');
  const [nx, ny, nz] = dims;
  if (nz === 1) return fillHolesAxial(mask, dims);
  const status = new Uint8Array((nx + 2) * (ny + 2) * (nz + 2));
  padStatus(mask, 0, nx, ny, nz, status);
  floodFromBorder(status, new Int32Array(n), nx + 2, ny + 2, nz + 2);
  const out = new Uint8Array(n);
  unpadFilled(status, out, 0, nx, ny, nz);
  return out;
}

/**
 * 2D hole filling in every axial slice (fixed z): "off" pixels not 4-connected to the slice's
 * border become "on". Fills cavities that are closed within a slice but open across slices
 * (e.g. sinuses, skull gaps). Returns a new 0/1 mask.
 */
export function fillHolesAxial(mask: ArrayLike<number>, dims: Vec3): Uint8Array {
  const n = checkLength(mask, dims, 'fill holes (axial)');
  const [nx, ny, nz] = dims;
  const out = new Uint8Array(n);
  const status = new Uint8Array((nx + 2) * (ny + 2));
  const queue = new Int32Array(nx * ny);
  for (let z = 0; z < nz; z++) {
    const offset = z * nx * ny;
    padStatus(mask, offset, nx, ny, 1, status);
    floodFromBorder(status, queue, nx + 2, ny + 2, 1);
    unpadFilled(status, out, offset, nx, ny, 1);
  }
  return out;
}
