/**
 * DICOM series folders: lists the files (non-DICOM files such as a manifest are ignored and
 * reported), groups them by SeriesInstanceUID, sorts slices along the slice normal (row × column
 * cosines) from ImagePositionPatient, and measures slice spacing and gantry tilt from the
 * positions. An even, orthogonal stack is read with itk-wasm (GDCM decodes the pixels and applies
 * RescaleSlope/Intercept, once) in our order, with the affine built from the positions. A tilted
 * or unevenly spaced stack is refused with what was found and what to do: it is never placed on
 * a regular grid silently. Must not resample, reorient or write files.
 */

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { ImageFormatError } from '../errors';
import { hasDicomPreamble, parseDicomHeader, type DicomSliceHeader } from './dicom-header';
import { dicomIo } from './itk-image';
import type { Affine, Vec3 } from './volume';

/** What the series reader found out about a DICOM series. */
export interface DicomSeriesInfo {
  seriesInstanceUid: string;
  seriesDescription: string;
  seriesNumber?: number;
  modality: string;
  sliceCount: number;
  /** The slice files, sorted along the slice normal (first = voxel z 0). */
  files: string[];
  /** Files of the folder that are not DICOM (ignored), e.g. a manifest. */
  ignoredFiles: string[];
  /** Other series in the folder (when one was chosen with `series`). */
  otherSeries: string[];
  /** Distances between consecutive slice positions along the normal, mm. */
  sliceSpacing: { min: number; max: number; mean: number };
  /** True when every gap is within 1 % (and 0.01 mm) of the median gap. */
  uniformSpacing: boolean;
  /** Angle (degrees) between the slice normal and the line through the slice positions. */
  gantryTiltDegrees: number;
  /** The GantryDetectorTilt tag (0018,1120) when present, degrees. */
  gantryTiltTag?: number;
  /** RescaleSlope / RescaleIntercept of the slices (applied once, by GDCM); 1 / 0 when absent. */
  rescaleSlope: number;
  rescaleIntercept: number;
  /** Stored integer type of the pixels, e.g. 'int16', 'uint16'. */
  storedDatatype: string;
  /** Why the series cannot be read onto a regular grid (tilt, uneven spacing); undefined when it can. */
  refusal?: string;
}

/** Options of {@link inspectDicomSeries} and {@link readDicomSeries}. */
export interface DicomSeriesOptions {
  /** SeriesInstanceUID or SeriesNumber of the series to read when the folder holds several. */
  series?: string;
}

const SPACING_REL_TOL = 0.01;
const SPACING_ABS_TOL = 0.01;
const TILT_TOL_DEG = 0.05;

type V3 = [number, number, number];
const dot = (a: V3, b: V3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: V3, b: V3): V3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const sub = (a: V3, b: V3): V3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const norm = (a: V3): number => Math.hypot(a[0], a[1], a[2]);

async function listSlices(folder: string): Promise<{ headers: DicomSliceHeader[]; ignored: string[] }> {
  let names: string[];
  try {
    names = (await readdir(folder)).filter((n) => !n.startsWith('.')).sort();
  } catch (err) {
    throw new ImageFormatError(`cannot list the DICOM folder ${folder}: ${(err as Error).message}. Check the path.`, { cause: err });
  }
  const headers: DicomSliceHeader[] = [];
  const ignored: string[] = [];
  await Promise.all(
    names.map(async (name) => {
      const file = join(folder, name);
      if (!(await stat(file)).isFile()) return ignored.push(file);
      const bytes = await readFile(file);
      if (!hasDicomPreamble(bytes)) return ignored.push(file);
      headers.push(parseDicomHeader(bytes, file));
      return undefined;
    }),
  );
  if (headers.length === 0) {
    throw new ImageFormatError(
      `${folder} holds no DICOM files (none of its ${names.length} entries has the "DICM" signature). ` +
        'Give a folder of one DICOM series, or an image file (.nii.gz, .mha, .nrrd...).',
    );
  }
  headers.sort((a, b) => a.path.localeCompare(b.path));
  ignored.sort();
  return { headers, ignored };
}

function describeSeries(uid: string, hs: DicomSliceHeader[]): string {
  const h = hs[0];
  return `series ${h?.seriesNumber ?? '?'} "${h?.seriesDescription ?? ''}" (${h?.modality ?? '?'}, ${hs.length} files, UID ${uid})`;
}

function chooseSeries(folder: string, headers: DicomSliceHeader[], options: DicomSeriesOptions): { chosen: DicomSliceHeader[]; others: string[] } {
  const groups = new Map<string, DicomSliceHeader[]>();
  for (const h of headers) {
    const uid = h.seriesInstanceUid ?? '(no SeriesInstanceUID)';
    groups.set(uid, [...(groups.get(uid) ?? []), h]);
  }
  const all = [...groups].map(([uid, hs]) => ({ uid, hs, text: describeSeries(uid, hs) }));
  if (options.series !== undefined) {
    const pick = all.find((g) => g.uid === options.series || String(g.hs[0]?.seriesNumber) === options.series);
    if (pick === undefined) {
      throw new ImageFormatError(`${folder}: no DICOM series "${options.series}". The folder holds:\n  ${all.map((g) => g.text).join('\n  ')}`);
    }
    return { chosen: pick.hs, others: all.filter((g) => g !== pick).map((g) => g.text) };
  }
  if (all.length > 1) {
    throw new ImageFormatError(
      `${folder} holds ${all.length} DICOM series:\n  ${all.map((g) => g.text).join('\n  ')}\n` +
        'Move each series into its own folder, or name one (series UID or number) with the series option.',
    );
  }
  return { chosen: all[0]?.hs ?? [], others: [] };
}

function requireSame(folder: string, hs: DicomSliceHeader[], what: string, get: (h: DicomSliceHeader) => number[] | undefined, tol: number): number[] {
  const first = get(hs[0] as DicomSliceHeader);
  if (first === undefined) throw new ImageFormatError(`${hs[0]?.path}: no ${what}; mri2ct needs it to place the slices. Convert the series with dcm2niix.`);
  for (const h of hs) {
    const v = get(h);
    if (v === undefined || v.some((x, i) => Math.abs(x - (first[i] ?? 0)) > tol)) {
      throw new ImageFormatError(
        `${folder}: ${what} differs between slices (${hs[0]?.path}: ${first.join('\\')}; ${h.path}: ${v?.join('\\') ?? 'missing'}). ` +
          'The folder mixes acquisitions: split it, or convert it with dcm2niix.',
      );
    }
  }
  return first;
}

/**
 * Reads the headers of a DICOM series folder and works out its geometry, without decoding pixels.
 * `refusal` is set when the slices are tilted or unevenly spaced.
 * @throws ImageFormatError for a folder without DICOM, several series, mixed or missing geometry,
 *   or slices sharing a position.
 */
export async function inspectDicomSeries(folder: string, options: DicomSeriesOptions = {}): Promise<{ info: DicomSeriesInfo; affine: Affine; dims: Vec3 }> {
  const { headers, ignored } = await listSlices(folder);
  const { chosen, others } = chooseSeries(folder, headers, options);
  const multi = chosen.find((h) => (h.numberOfFrames ?? 1) > 1);
  if (multi !== undefined) {
    throw new ImageFormatError(`${multi.path} is a multi-frame (enhanced) DICOM with ${multi.numberOfFrames} frames, which mri2ct does not read. Convert it with dcm2niix and read the NIfTI.`);
  }
  const iop = requireSame(folder, chosen, 'ImageOrientationPatient', (h) => h.orientation, 1e-4);
  const [rows, cols] = requireSame(folder, chosen, 'Rows/Columns', (h) => (h.rows !== undefined && h.columns !== undefined ? [h.rows, h.columns] : undefined), 0) as [number, number];
  const ps = requireSame(folder, chosen, 'PixelSpacing', (h) => h.pixelSpacing, 1e-4);
  const rowDir: V3 = [iop[0] ?? 0, iop[1] ?? 0, iop[2] ?? 0];
  const colDir: V3 = [iop[3] ?? 0, iop[4] ?? 0, iop[5] ?? 0];
  const normal = cross(rowDir, colDir);
  const missing = chosen.find((h) => h.position === undefined);
  if (missing !== undefined) throw new ImageFormatError(`${missing.path}: no ImagePositionPatient; the slices cannot be placed. Convert the series with dcm2niix.`);
  const sorted = chosen.map((h) => ({ h, d: dot(h.position as V3, normal) })).sort((a, b) => a.d - b.d);
  const gaps = sorted.slice(1).map((s, i) => s.d - (sorted[i]?.d ?? 0));
  const dupe = gaps.findIndex((g) => Math.abs(g) < 1e-3);
  if (dupe >= 0) {
    throw new ImageFormatError(
      `${folder}: ${sorted[dupe]?.h.path} and ${sorted[dupe + 1]?.h.path} are at the same slice position: the series holds several volumes ` +
        '(echoes, phases, time points). Split it with dcm2niix, which writes one NIfTI per volume.',
    );
  }
  const n = sorted.length;
  const first = sorted[0]?.h.position as V3;
  const last = sorted[n - 1]?.h.position as V3;
  const median = [...gaps].sort((a, b) => a - b)[Math.floor(gaps.length / 2)] ?? (chosen[0]?.sliceThickness ?? 1);
  const minGap = gaps.length > 0 ? Math.min(...gaps) : median;
  const maxGap = gaps.length > 0 ? Math.max(...gaps) : median;
  const mean = n > 1 ? (sorted[n - 1]!.d - sorted[0]!.d) / (n - 1) : median;
  const uniformSpacing = gaps.every((g) => Math.abs(g - median) <= Math.max(SPACING_ABS_TOL, SPACING_REL_TOL * median));
  const step: V3 = n > 1 ? (sub(last, first).map((v) => v / (n - 1)) as V3) : (normal.map((v) => v * median) as V3);
  const along = dot(step, normal);
  const across = norm(sub(step, normal.map((v) => v * along) as V3));
  const tilt = (Math.atan2(across, Math.abs(along)) * 180) / Math.PI;
  const h0 = chosen[0] as DicomSliceHeader;
  const problems: string[] = [];
  if (tilt > TILT_TOL_DEG) problems.push(`gantry tilt ${tilt.toFixed(2)}° (slices are sheared: each is offset in-plane from the last)`);
  if (!uniformSpacing) problems.push(`uneven slice spacing ${minGap.toFixed(2)}–${maxGap.toFixed(2)} mm`);
  const info: DicomSeriesInfo = {
    seriesInstanceUid: h0.seriesInstanceUid ?? '',
    seriesDescription: h0.seriesDescription ?? '',
    ...(h0.seriesNumber !== undefined ? { seriesNumber: h0.seriesNumber } : {}),
    modality: h0.modality ?? '',
    sliceCount: n,
    files: sorted.map((s) => s.h.path),
    ignoredFiles: ignored,
    otherSeries: others,
    sliceSpacing: { min: minGap, max: maxGap, mean },
    uniformSpacing,
    gantryTiltDegrees: tilt,
    ...(h0.gantryTilt !== undefined ? { gantryTiltTag: h0.gantryTilt } : {}),
    rescaleSlope: h0.rescaleSlope ?? 1,
    rescaleIntercept: h0.rescaleIntercept ?? 0,
    storedDatatype: `${h0.pixelRepresentation === 1 ? 'int' : 'uint'}${h0.bitsAllocated ?? 16}`,
    ...(problems.length > 0
      ? {
          refusal:
            `${folder}: DICOM ${describeSeries(h0.seriesInstanceUid ?? '', chosen)} has ${problems.join(' and ')}; ` +
            'reading it as a regular stack would misplace slices. Convert it with dcm2niix (it writes a tilt-corrected, ' +
            'equalised *_Tilt_Eq_1.nii / *_Eq_1.nii) and use that NIfTI.',
        }
      : {}),
  };
  // LPS voxel-to-world: x along the row direction (column spacing), y along the column direction
  // (row spacing), z along the normal by the mean slice spacing; then RAS = x and y rows negated.
  const colSpacing = ps[1] ?? 1;
  const rowSpacing = ps[0] ?? 1;
  const zStep: V3 = uniformSpacing && tilt <= TILT_TOL_DEG ? (normal.map((v) => v * mean) as V3) : step;
  const sign = [-1, -1, 1];
  const affine: Affine = [0, 1, 2].map((r) => {
    const s = sign[r] ?? 1;
    return [s * rowDir[r]! * colSpacing, s * colDir[r]! * rowSpacing, s * zStep[r]!, s * first[r]!];
  });
  affine.push([0, 0, 0, 1]);
  return { info, affine, dims: [cols, rows, n] };
}

/**
 * Reads a DICOM series folder: geometry from {@link inspectDicomSeries}, pixels (rescaled to
 * real values, e.g. HU) from itk-wasm in the sorted order.
 * @throws ImageFormatError when the series is refused (tilt, uneven spacing) or itk-wasm fails.
 */
export async function readDicomSeries(folder: string, options: DicomSeriesOptions = {}): Promise<{ info: DicomSeriesInfo; affine: Affine; dims: Vec3; data: Float32Array }> {
  const geo = await inspectDicomSeries(folder, options);
  if (geo.info.refusal !== undefined) throw new ImageFormatError(geo.info.refusal);
  let out;
  try {
    const { readImageDicomFileSeriesNode } = await dicomIo();
    out = (await readImageDicomFileSeriesNode({ inputImages: geo.info.files, singleSortedSeries: true })).outputImage;
  } catch (err) {
    throw new ImageFormatError(`itk-wasm could not decode the DICOM series in ${folder}: ${(err as Error).message ?? err}. Convert it with dcm2niix.`, { cause: err });
  }
  const [nx, ny, nz] = geo.dims;
  if (out.size[0] !== nx || out.size[1] !== ny || (out.size[2] ?? 1) !== nz || out.data === null || out.imageType.components !== 1) {
    throw new ImageFormatError(
      `${folder}: itk-wasm decoded ${out.size.join('×')} (${out.imageType.components} components) where the headers say ${nx}×${ny}×${nz} grey values. ` +
        'Convert the series with dcm2niix.',
    );
  }
  // itk-wasm keeps the given order (singleSortedSeries): check that its origin is our first slice.
  const lpsFirst = [-(geo.affine[0]?.[3] ?? 0), -(geo.affine[1]?.[3] ?? 0), geo.affine[2]?.[3] ?? 0];
  const off = Math.hypot(...lpsFirst.map((v, i) => v - Number(out.origin[i] ?? 0)));
  if (off > 1e-3) {
    throw new ImageFormatError(`${folder}: itk-wasm placed the first slice ${off.toFixed(3)} mm from where its ImagePositionPatient says. Convert the series with dcm2niix.`);
  }
  const data = out.data instanceof Float32Array ? out.data : Float32Array.from(out.data);
  return { ...geo, data };
}
