/**
 * One reader and one writer for every image format the project meets: NIfTI (.nii, .nii.gz,
 * the project's own reader, tested against nibabel), MetaImage (.mha, .mhd + raw) and NRRD
 * (.nrrd, .nhdr) through itk-wasm image-io, and DICOM series folders (dicom-series.ts). Every
 * result is a MedicalImage: float32 voxels x fastest with a RAS+ affine, whatever the file's
 * convention. Writes are atomic. Must not resample, reorient or change values beyond the
 * file's own scaling (NIfTI scl_*, DICOM rescale).
 */

import { mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { ImageFormatError } from '../errors';
import { readDicomSeries, inspectDicomSeries, type DicomSeriesInfo } from './dicom-series';
import { imageIo, itkAffine, itkDims, itkGeometry, type ItkImage } from './itk-image';
import { axisCodes, columnNorms } from './nifti-affine';
import { allocate, inferDatatype, integerRange, type NiftiWritableDatatype } from './nifti-datatypes';
import { readNifti } from './nifti-read';
import { writeNifti } from './nifti-write';
import type { Vec3, Volume } from './volume';

/** File formats readImage understands. */
export type ImageFormat = 'nifti' | 'metaimage' | 'nrrd' | 'dicom';

/** An image read from any supported format. */
export interface MedicalImage extends Volume<Float32Array> {
  path: string;
  format: ImageFormat;
  /** Axis codes of `affine`, e.g. 'RAS', 'LPS', 'LIA'. */
  orientation: string;
  /** Full shape including the 4th dimension, e.g. [256, 256, 160] or [64, 64, 30, 100]. */
  shape: number[];
  /** Number of 3D volumes in the file (>1 for 4D). */
  volumeCount: number;
  /** Which volume `data` holds. */
  volumeIndex: number;
  /** Stored component type, e.g. 'int16' (for DICOM: the stored pixel type before rescale). */
  datatype: string;
  /** DICOM series details (only for DICOM). */
  dicom?: DicomSeriesInfo;
}

/** Options of {@link readImage}. */
export interface ReadImageOptions {
  /** Which 3D volume of a 4D file to read (0-based); default 0. */
  volumeIndex?: number;
  /**
   * Header/geometry only: `data` is an empty array. For a DICOM series that would be refused
   * (tilt, uneven spacing) the information is still returned, with `dicom.refusal` set.
   */
  informationOnly?: boolean;
  /** DICOM folders holding several series: the SeriesInstanceUID or SeriesNumber to read. */
  series?: string;
}

/** Options of {@link writeImage}. */
export interface WriteImageOptions {
  /** Stored datatype; default from the array class (Float32Array → float32...). Integers are rounded and clamped. */
  datatype?: NiftiWritableDatatype;
  /** Compress (.nii.gz is always compressed; .mha/.nrrd zlib when true); default true for .mha/.nrrd. */
  compress?: boolean;
}

const FILE_PATTERNS: [RegExp, ImageFormat][] = [
  [/^(.+)\.nii(\.gz)?$/i, 'nifti'],
  [/^(.+)\.(mha|mhd)$/i, 'metaimage'],
  [/^(.+)\.(nrrd|nhdr)$/i, 'nrrd'],
  [/^(.+)\.dcm$/i, 'dicom'],
];

/**
 * Patient id and format of an image file name ('<id>.nii.gz', '<id>.mha', '<id>.mhd',
 * '<id>.nrrd', '<id>.nhdr', '<id>.dcm'); undefined for other names. A lone `.dcm` file is a slice,
 * not a volume: readImage reads DICOM as folders.
 */
export function imageFileId(name: string): { id: string; format: ImageFormat } | undefined {
  for (const [re, format] of FILE_PATTERNS) {
    const m = re.exec(name);
    if (m?.[1] !== undefined && m[1] !== '' && !m[1].startsWith('.')) return { id: m[1], format };
  }
  return undefined;
}

function sliceVolume(data: ArrayLike<number>, n: number, index: number): Float32Array {
  const out = new Float32Array(n);
  const off = index * n;
  for (let i = 0; i < n; i++) out[i] = Number(data[off + i]);
  return out;
}

async function readItk(path: string, format: ImageFormat, options: ReadImageOptions): Promise<MedicalImage> {
  let img: ItkImage;
  try {
    img = await (await imageIo()).readImageNode(path, { informationOnly: options.informationOnly === true });
  } catch (err) {
    throw new ImageFormatError(`cannot read ${path} as ${format}: ${(err as Error).message ?? err}. Check that the file is complete (for .mhd/.nhdr, that its data file is next to it).`, { cause: err });
  }
  if (img.imageType.components !== 1) {
    throw new ImageFormatError(`${path} has ${img.imageType.components} components per voxel (${img.imageType.pixelType}); mri2ct reads grey-value images only. Extract one channel first.`);
  }
  const shape = [...img.size];
  const dims = itkDims(img);
  const volumeCount = shape.slice(3).reduce((a, b) => a * b, 1);
  const volumeIndex = checkedVolumeIndex(options.volumeIndex, volumeCount, path);
  const n = dims[0] * dims[1] * dims[2];
  const affine = itkAffine(img);
  let data: Float32Array = new Float32Array(0);
  if (options.informationOnly !== true && img.data !== null) {
    data = volumeCount === 1 && img.data instanceof Float32Array ? img.data : sliceVolume(img.data, n, volumeIndex);
  }
  return { path, format, data, dims, spacing: columnNorms(affine), affine, orientation: axisCodes(affine), shape, volumeCount, volumeIndex, datatype: img.imageType.componentType };
}

function checkedVolumeIndex(index: number | undefined, count: number, path: string): number {
  const i = index ?? 0;
  if (!Number.isInteger(i) || i < 0 || i >= count) {
    throw new ImageFormatError(`${path} has ${count} volume(s); volumeIndex ${i} does not exist. Pick 0..${count - 1}.`);
  }
  return i;
}

async function readNiftiImage(path: string, options: ReadImageOptions): Promise<MedicalImage> {
  const o = options.volumeIndex !== undefined ? { volumeIndex: options.volumeIndex } : {};
  const base = { path, format: 'nifti' as const };
  if (options.informationOnly === true) {
    const h = await readNifti(path, { ...o, informationOnly: true });
    const volumeIndex = checkedVolumeIndex(options.volumeIndex, h.volumeCount, path);
    return { ...base, data: new Float32Array(0), dims: h.dims, spacing: h.spacing, affine: h.affine, orientation: h.orientation, shape: h.shape, volumeCount: h.volumeCount, volumeIndex, datatype: h.datatype };
  }
  const h = await readNifti(path, o);
  return { ...base, data: h.data, dims: h.dims, spacing: h.spacing, affine: h.affine, orientation: h.orientation, shape: h.shape, volumeCount: h.volumeCount, volumeIndex: h.volumeIndex, datatype: h.datatype };
}

async function readDicomFolder(path: string, options: ReadImageOptions): Promise<MedicalImage> {
  checkedVolumeIndex(options.volumeIndex, 1, path);
  const o = options.series !== undefined ? { series: options.series } : {};
  const r = options.informationOnly === true ? { ...(await inspectDicomSeries(path, o)), data: new Float32Array(0) } : await readDicomSeries(path, o);
  const spacing = columnNorms(r.affine);
  return {
    path, format: 'dicom', data: r.data, dims: r.dims, spacing, affine: r.affine, orientation: axisCodes(r.affine),
    shape: [...r.dims], volumeCount: 1, volumeIndex: 0, datatype: r.info.storedDatatype, dicom: r.info,
  };
}

/**
 * Reads an image file, or a DICOM series when `path` is a folder.
 * @throws ImageFormatError (NiftiFormatError for NIfTI files) naming the file, what is wrong and what to do.
 */
export async function readImage(path: string, options: ReadImageOptions = {}): Promise<MedicalImage> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (err) {
    throw new ImageFormatError(`${path} does not exist (${(err as NodeJS.ErrnoException).code ?? err}). Check the path.`, { cause: err });
  }
  if (isDir) return readDicomFolder(path, options);
  const kind = imageFileId(basename(path));
  switch (kind?.format) {
    case 'nifti':
      return readNiftiImage(path, options);
    case 'metaimage':
    case 'nrrd':
      return readItk(path, kind.format, options);
    case 'dicom':
      throw new ImageFormatError(`${path} is one DICOM slice; mri2ct reads a DICOM series as a folder. Pass the folder ${dirname(path)} instead.`);
    default:
      throw new ImageFormatError(
        `${path}: unknown image format (by its name). mri2ct reads .nii, .nii.gz, .mha, .mhd, .nrrd, .nhdr files and DICOM series folders; convert the file (e.g. with dcm2niix or 3D Slicer).`,
      );
  }
}

function storedArray(data: ArrayLike<number>, datatype: NiftiWritableDatatype): ArrayLike<number> {
  const out = allocate(datatype, data.length) as unknown as number[];
  const range = integerRange(datatype);
  for (let i = 0; i < data.length; i++) {
    let v = Number(data[i]);
    if (range !== undefined) {
      v = Number.isNaN(v) ? 0 : Math.sign(v) * Math.round(Math.abs(v));
      v = Math.min(range[1], Math.max(range[0], v));
    }
    out[i] = v;
  }
  return out as unknown as ArrayLike<number>;
}

async function writeItk(path: string, volume: Volume<ArrayLike<number>>, options: WriteImageOptions): Promise<void> {
  const datatype = options.datatype ?? inferDatatype(volume.data);
  const geo = itkGeometry(volume.affine, path);
  const n = volume.dims[0] * volume.dims[1] * volume.dims[2];
  if (volume.data.length !== n) throw new ImageFormatError(`cannot write ${path}: ${volume.data.length} values for ${volume.dims.join('×')} voxels.`);
  const image: ItkImage = {
    imageType: { dimension: 3, componentType: datatype, pixelType: 'Scalar', components: 1 },
    name: basename(path),
    ...geo,
    size: [...volume.dims],
    data: storedArray(volume.data, datatype),
    metadata: new Map(),
  };
  // Written into a temporary folder beside the target under the final name (a .mhd/.nhdr names
  // its data file), then renamed: data file(s) first, header last.
  const dir = dirname(path);
  const tmp = await mkdtemp(join(dir, `.${basename(path)}.tmp-${process.pid}-`));
  try {
    await (await imageIo()).writeImageNode(image, join(tmp, basename(path)), { useCompression: options.compress ?? true });
    const names = (await readdir(tmp)).sort((a, b) => Number(a === basename(path)) - Number(b === basename(path)));
    for (const name of names) await rename(join(tmp, name), join(dir, name));
  } catch (err) {
    if (err instanceof ImageFormatError) throw err;
    throw new ImageFormatError(`cannot write ${path}: ${(err as Error).message ?? err}. Check that the folder is writable and the disk is not full.`, { cause: err });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Writes a volume by extension: .nii / .nii.gz (writeNifti), .mha / .mhd (+ .raw/.zraw) and
 * .nrrd / .nhdr (itk-wasm), atomically. The RAS affine becomes ITK's LPS geometry exactly.
 * @throws ImageFormatError for an unknown extension, a sheared affine (MetaImage/NRRD), or a failed write.
 */
export async function writeImage(path: string, volume: Volume<ArrayLike<number>>, options: WriteImageOptions = {}): Promise<void> {
  const kind = imageFileId(basename(path));
  if (kind?.format === 'nifti') {
    return writeNifti(path, volume, options.datatype !== undefined ? { datatype: options.datatype } : {});
  }
  if (kind?.format === 'metaimage' || kind?.format === 'nrrd') return writeItk(path, volume, options);
  throw new ImageFormatError(`cannot write ${path}: unknown extension. Use .nii.gz, .nii, .mha, .mhd, .nrrd or .nhdr.`);
}

/** Voxel spacing of a Volume as a readable string, e.g. '0.41×0.41×1.50 mm'. */
export function formatSpacing(spacing: Vec3): string {
  return `${spacing.map((s) => s.toFixed(3)).join('×')} mm`;
}
