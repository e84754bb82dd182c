/**
 * Minimal DICOM Part 10 header parser: reads the few top-level attributes the series reader
 * needs (series UID, position, orientation, rescale, pixel spacing, tilt...) from a file's bytes,
 * for explicit and implicit VR little endian, skipping sequences. It is ~100× faster than
 * itk-wasm's readDicomTagsNode (one wasm pipeline per file), which matters for 100+ slices.
 * Must not decode pixel data (itk-wasm/GDCM does that) nor interpret geometry (dicom-series.ts).
 */

import { readFile } from 'node:fs/promises';

import { ImageFormatError } from '../errors';

/** Attributes read from one DICOM file; strings are trimmed, missing ones are undefined. */
export interface DicomSliceHeader {
  path: string;
  transferSyntax: string;
  sopClassUid?: string;
  modality?: string;
  seriesInstanceUid?: string;
  seriesDescription?: string;
  seriesNumber?: number;
  instanceNumber?: number;
  /** ImagePositionPatient (LPS mm, centre of the first transmitted pixel). */
  position?: [number, number, number];
  /** ImageOrientationPatient: row then column direction cosines (LPS). */
  orientation?: [number, number, number, number, number, number];
  /** PixelSpacing: [row spacing (between rows), column spacing (between columns)] mm. */
  pixelSpacing?: [number, number];
  sliceThickness?: number;
  gantryTilt?: number;
  rows?: number;
  columns?: number;
  numberOfFrames?: number;
  bitsAllocated?: number;
  pixelRepresentation?: number;
  rescaleSlope?: number;
  rescaleIntercept?: number;
  imageType?: string;
}

const PREAMBLE = 128;
const IMPLICIT_LE = '1.2.840.10008.1.2';
const EXPLICIT_BE = '1.2.840.10008.1.2.2';
const DEFLATED = '1.2.840.10008.1.2.1.99';
/** VRs whose explicit encoding has 2 reserved bytes and a 4-byte length. */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
/** Tags stored as binary US (needed for implicit VR, where no VR is written). */
const US_TAGS = new Set([0x00280010, 0x00280011, 0x00280100, 0x00280103]);
const PIXEL_DATA = 0x7fe00010;

/** True when the bytes start with a Part 10 preamble ("DICM" at offset 128). */
export function hasDicomPreamble(bytes: Uint8Array): boolean {
  return bytes.length >= PREAMBLE + 4 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

class Reader {
  pos: number;
  readonly view: DataView;
  constructor(readonly bytes: Uint8Array, start: number) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get left(): number {
    return this.bytes.length - this.pos;
  }
  u16(): number {
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(): number {
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  text(len: number): string {
    const s = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.pos, len).toString('latin1');
    this.pos += len;
    return s.replace(/[\0 ]+$/, '').trim();
  }
}

interface Element {
  tag: number;
  vr: string;
  /** Value length; 0xffffffff = undefined length. */
  length: number;
}

function readElementHeader(r: Reader, explicit: boolean): Element {
  const group = r.u16();
  const element = r.u16();
  const tag = ((group << 16) | element) >>> 0;
  if (group === 0xfffe) return { tag, vr: '', length: r.u32() }; // item / delimiters: never VR
  if (!explicit) return { tag, vr: '', length: r.u32() };
  const vr = String.fromCharCode(r.bytes[r.pos] ?? 0, r.bytes[r.pos + 1] ?? 0);
  r.pos += 2;
  if (LONG_VRS.has(vr)) {
    r.pos += 2;
    return { tag, vr, length: r.u32() };
  }
  return { tag, vr, length: r.u16() };
}

/** Skips an undefined-length sequence or item list up to its delimiter (nested ones too). */
function skipUndefined(r: Reader, explicit: boolean): void {
  while (r.left >= 8) {
    const e = readElementHeader(r, explicit);
    if (e.tag === 0xfffee0dd || e.tag === 0xfffee00d) return; // sequence / item delimitation
    if (e.tag === 0xfffee000) {
      if (e.length === 0xffffffff) skipUndefined(r, explicit);
      else r.pos += e.length;
      continue;
    }
    if (e.length === 0xffffffff) skipUndefined(r, explicit);
    else r.pos += e.length;
  }
}

function numbers(s: string): number[] {
  return s.split('\\').map((v) => Number(v.trim()));
}

function numberOrUndefined(s: string): number | undefined {
  const v = Number(s.split('\\')[0]?.trim());
  return s.trim() !== '' && Number.isFinite(v) ? v : undefined;
}

function fixed<N extends number>(s: string, n: N): number[] | undefined {
  const v = numbers(s);
  return v.length === n && v.every(Number.isFinite) ? v : undefined;
}

function store(h: DicomSliceHeader, tag: number, r: Reader, length: number): void {
  if (US_TAGS.has(tag)) {
    const v = length >= 2 ? r.view.getUint16(r.pos, true) : undefined;
    r.pos += length;
    if (tag === 0x00280010) h.rows = v;
    else if (tag === 0x00280011) h.columns = v;
    else if (tag === 0x00280100) h.bitsAllocated = v;
    else h.pixelRepresentation = v;
    return;
  }
  const s = r.text(length);
  switch (tag) {
    case 0x00080016: h.sopClassUid = s; break;
    case 0x00080008: h.imageType = s; break;
    case 0x00080060: h.modality = s; break;
    case 0x0008103e: h.seriesDescription = s; break;
    case 0x0020000e: h.seriesInstanceUid = s; break;
    case 0x00200011: h.seriesNumber = numberOrUndefined(s); break;
    case 0x00200013: h.instanceNumber = numberOrUndefined(s); break;
    case 0x00200032: h.position = fixed(s, 3) as DicomSliceHeader['position']; break;
    case 0x00200037: h.orientation = fixed(s, 6) as DicomSliceHeader['orientation']; break;
    case 0x00280030: h.pixelSpacing = fixed(s, 2) as DicomSliceHeader['pixelSpacing']; break;
    case 0x00180050: h.sliceThickness = numberOrUndefined(s); break;
    case 0x00181120: h.gantryTilt = numberOrUndefined(s); break;
    case 0x00280008: h.numberOfFrames = numberOrUndefined(s); break;
    case 0x00281052: h.rescaleIntercept = numberOrUndefined(s); break;
    case 0x00281053: h.rescaleSlope = numberOrUndefined(s); break;
    default: break;
  }
}

const WANTED = new Set([
  0x00080008, 0x00080016, 0x00080060, 0x0008103e, 0x0020000e, 0x00200011, 0x00200013, 0x00200032, 0x00200037,
  0x00280030, 0x00180050, 0x00181120, 0x00280008, 0x00281052, 0x00281053, ...US_TAGS,
]);

/**
 * Parses the header of a DICOM Part 10 file held in `bytes` (up to the pixel data).
 * @throws ImageFormatError when it is not Part 10 DICOM or uses big-endian / deflated encoding.
 */
export function parseDicomHeader(bytes: Uint8Array, path: string): DicomSliceHeader {
  if (!hasDicomPreamble(bytes)) {
    throw new ImageFormatError(`${path} is not a DICOM Part 10 file (no "DICM" at byte 128). Remove it from the series folder.`);
  }
  const r = new Reader(bytes, PREAMBLE + 4);
  const h: DicomSliceHeader = { path, transferSyntax: '' };
  try {
    // File meta group (0002): always explicit VR little endian.
    while (r.left >= 8 && r.view.getUint16(r.pos, true) === 0x0002) {
      const e = readElementHeader(r, true);
      if (e.tag === 0x00020010) h.transferSyntax = r.text(e.length);
      else r.pos += e.length;
    }
    if (h.transferSyntax === EXPLICIT_BE || h.transferSyntax === DEFLATED) {
      throw new ImageFormatError(
        `${path} uses transfer syntax ${h.transferSyntax} (big-endian or deflated), which mri2ct does not read. ` +
          'Convert the series with dcm2niix (or gdcmconv --raw) and read the result.',
      );
    }
    const explicit = h.transferSyntax !== IMPLICIT_LE;
    while (r.left >= 8) {
      const e = readElementHeader(r, explicit);
      if (e.tag === PIXEL_DATA) break;
      if (e.length === 0xffffffff) {
        skipUndefined(r, explicit);
        continue;
      }
      if (e.length > r.left) throw new ImageFormatError(`${path}: element (${e.tag.toString(16)}) runs past the end of the file: the file is truncated. Copy it again.`);
      if (WANTED.has(e.tag) && e.vr !== 'SQ') store(h, e.tag, r, e.length);
      else r.pos += e.length;
    }
  } catch (err) {
    if (err instanceof ImageFormatError) throw err;
    throw new ImageFormatError(`${path}: cannot parse the DICOM header (${(err as Error).message}). The file may be truncated or corrupt.`, { cause: err });
  }
  return h;
}

/** Reads and parses the header of one DICOM file. */
export async function readDicomHeader(path: string): Promise<DicomSliceHeader> {
  return parseDicomHeader(await readFile(path), path);
}
