/**
 * Decodes the NIfTI-1 / NIfTI-2 header at the start of (decompressed) file bytes into plain
 * fields, using nifti-reader-js for the field layout and reading the few things it does not
 * expose faithfully (srow_*, description up to the first NUL) directly.
 * Must not read files, decompress, or interpret fields (affine choice, scaling, dims checks):
 * that is nifti-read.ts's job. nifti-reader-js is ESM-only, so it is loaded with importEsm.
 */

import { NiftiFormatError } from '../errors';
import { importEsm } from '../util/esm';
import type { Vec3 } from './volume';

/** The fields of nifti-reader-js's NIFTI1/NIFTI2 header objects that we use. */
interface ReaderHeader {
  littleEndian: boolean;
  dims: number[];
  pixDims: number[];
  datatypeCode: number;
  vox_offset: number;
  scl_slope: number;
  scl_inter: number;
  xyzt_units: number;
  cal_min: number;
  cal_max: number;
  qform_code: number;
  sform_code: number;
  quatern_b: number;
  quatern_c: number;
  quatern_d: number;
  qoffset_x: number;
  qoffset_y: number;
  qoffset_z: number;
  readHeader(data: ArrayBuffer): void;
}

/** The part of the nifti-reader-js module we use (declared here: its package is ESM-only). */
interface NiftiReaderModule {
  NIFTI1: new () => ReaderHeader;
  NIFTI2: new () => ReaderHeader;
}

/** Header fields exactly as stored (no interpretation beyond byte order). */
export interface RawNiftiHeader {
  version: 1 | 2;
  littleEndian: boolean;
  /** Size of the fixed header in bytes (348 or 540). */
  headerSize: number;
  /** dim[0..7]. */
  dim: number[];
  /** pixdim[0..7]. */
  pixdim: number[];
  datatypeCode: number;
  voxOffset: number;
  sclSlope: number;
  sclInter: number;
  xyztUnits: number;
  calMin: number;
  calMax: number;
  qformCode: number;
  sformCode: number;
  quatern: Vec3;
  qoffset: Vec3;
  /** srow_x, srow_y, srow_z. */
  srow: [number[], number[], number[]];
  description: string;
}

interface Layout {
  version: 1 | 2;
  headerSize: number;
  littleEndian: boolean;
}

const NIFTI1_SIZE = 348;
const NIFTI2_SIZE = 540;

function ascii(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end && i < bytes.length; i++) {
    const b = bytes[i] ?? 0;
    if (b === 0) break;
    s += String.fromCharCode(b);
  }
  return s;
}

function notNiftiError(path: string, detail: string, compressed: boolean): NiftiFormatError {
  const gzHint = path.endsWith('.gz') && !compressed ? '; despite its .gz name it is not gzip-compressed' : '';
  return new NiftiFormatError(
    `Not a NIfTI file: ${path} (${detail}${gzHint}). Pass a NIfTI-1 or NIfTI-2 image (.nii or .nii.gz); ` +
      `convert other formats (DICOM, MHA, NRRD) to NIfTI first, e.g. with dcm2niix or SimpleITK.`,
  );
}

/** Works out version and byte order from sizeof_hdr, and checks the magic string. */
function detectLayout(bytes: Uint8Array, path: string, compressed: boolean): Layout {
  const notNifti = (detail: string): NiftiFormatError => notNiftiError(path, detail, compressed);
  if (bytes.length < NIFTI1_SIZE) {
    throw notNifti(`only ${bytes.length} bytes, a NIfTI header needs at least ${NIFTI1_SIZE}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = view.getInt32(0, true);
  const be = view.getInt32(0, false);
  const size = le === NIFTI1_SIZE || le === NIFTI2_SIZE ? le : be;
  if (size !== NIFTI1_SIZE && size !== NIFTI2_SIZE) {
    throw notNifti(`sizeof_hdr is ${le}, expected ${NIFTI1_SIZE} (NIfTI-1) or ${NIFTI2_SIZE} (NIfTI-2)`);
  }
  const version = size === NIFTI1_SIZE ? 1 : 2;
  if (bytes.length < size) throw notNifti(`only ${bytes.length} bytes, a NIfTI-2 header needs ${size}`);
  const magic = ascii(bytes, version === 1 ? 344 : 4, version === 1 ? 348 : 8);
  if (magic === `ni${version}`) {
    throw new NiftiFormatError(
      `Unsupported NIfTI file: ${path} is the header of a .hdr/.img pair (magic "ni${version}"). ` +
        `Convert it to a single .nii or .nii.gz file, e.g. with nibabel: nib.save(nib.load(path), 'out.nii.gz').`,
    );
  }
  if (magic !== `n+${version}`) {
    throw notNifti(`magic is "${magic}", expected "n+${version}"`);
  }
  return { version, headerSize: size, littleEndian: le === size };
}

function readSrow(bytes: Uint8Array, layout: Layout): [number[], number[], number[]] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const row = (r: number): number[] =>
    [0, 1, 2, 3].map((c) =>
      layout.version === 1
        ? view.getFloat32(280 + (r * 4 + c) * 4, layout.littleEndian)
        : view.getFloat64(400 + (r * 4 + c) * 8, layout.littleEndian),
    );
  return [row(0), row(1), row(2)];
}

/**
 * Decodes the header at the start of `bytes` (already decompressed). Throws NiftiFormatError
 * naming `path` when the bytes are not a single-file NIfTI-1/NIfTI-2 header.
 */
export async function decodeNiftiHeader(bytes: Uint8Array, path: string, compressed: boolean): Promise<RawNiftiHeader> {
  const layout = detectLayout(bytes, path, compressed);
  const reader = await importEsm<NiftiReaderModule>('nifti-reader-js');
  const hdr = layout.version === 1 ? new reader.NIFTI1() : new reader.NIFTI2();
  try {
    // Exactly the fixed header: nifti-reader-js then skips extension parsing, which we do not need.
    hdr.readHeader(new Uint8Array(bytes.subarray(0, layout.headerSize)).buffer); // a copy: Buffers share pools
  } catch (cause) {
    throw new NiftiFormatError(
      `Corrupt NIfTI header in ${path}: ${String(cause)}. Re-export the image from its source.`,
      { cause },
    );
  }
  return {
    ...layout,
    dim: [...hdr.dims],
    pixdim: [...hdr.pixDims],
    datatypeCode: hdr.datatypeCode,
    voxOffset: hdr.vox_offset,
    sclSlope: hdr.scl_slope,
    sclInter: hdr.scl_inter,
    xyztUnits: hdr.xyzt_units,
    calMin: hdr.cal_min,
    calMax: hdr.cal_max,
    qformCode: hdr.qform_code,
    sformCode: hdr.sform_code,
    quatern: [hdr.quatern_b, hdr.quatern_c, hdr.quatern_d],
    qoffset: [hdr.qoffset_x, hdr.qoffset_y, hdr.qoffset_z],
    srow: readSrow(bytes, layout),
    description: layout.version === 1 ? ascii(bytes, 148, 228) : ascii(bytes, 240, 320),
  };
}
