/**
 * The compact HDF5 cache format (`brain_001.h5`), written and read with h5wasm.
 *
 * Layout (readable by h5py / any HDF5 >= 1.10 reader; written with libver ['earliest','v110']):
 *   /mri, /ct   uint16 [slices, h, w], value = stored * attrs['scale'] (1/65535)
 *   /mask       uint8  [slices, h, w], 0/1
 *   every dataset: chunks [1, h, w] (one slice per chunk), gzip level 9, attr `checksum`
 *   root attrs: format_version (int32), patient_id, source_mri, source_ct, params_hash,
 *               normalization (JSON), extra (JSON, optional), checksum, checksum_algorithm,
 *               created_at, writer (all strings unless noted; UTF-8)
 * Reading also accepts files from other writers (e.g. h5py) with the same names and root
 * attributes but other dtypes: float32/float64 values in [0,1], bool/int mask; missing
 * checksums only matter with `verify`.
 *
 * The code: h5-write.ts (writing), h5-read.ts (reading, incl. the superblock and decode checks),
 * h5-wasm.ts (loading h5wasm, capturing HDF5's diagnostics). Robustness: h5wasm ignores HDF5
 * read failures (a corrupt gzip chunk comes back as garbage) and prints HDF5's error stack to
 * stderr. So the reader checks the superblock itself (signature, truncation), calls the
 * low-level read and checks its status, and points the wasm module's stderr at a private file
 * while it runs, turning any HDF5 diagnostic into a CacheError that names the file and the fix
 * (quoting HDF5's innermost message). A wasm abort inside HDF5 (corrupt metadata) discards the
 * h5wasm instance; the next call loads a fresh one.
 * Known limits (HDF5 itself, h5py behaves the same): a few specific metadata corruptions (e.g.
 * in the global heap holding the string attributes) make HDF5 loop forever; emscripten still
 * prints "Aborted(...)" / UTF-8 warnings to stderr on such files. Data corruption is caught.
 *
 * Must not: import h5wasm statically (it is ESM-only; loaded with importEsm('h5wasm/node'),
 * whose Node build uses the real filesystem), leave temp files behind, or return data HDF5
 * failed to decode.
 */

import * as fs from 'node:fs';
import { type CacheFormat, entryPath } from './format-common';
import { readH5, readH5Attrs, readH5Raw } from './h5-read';
import { writeH5 } from './h5-write';

export { H5_GZIP_LEVEL } from './h5-write';

const H5_EXTENSION = '.h5';

/** The HDF5 cache format: compact (uint16 + gzip 9, one slice per chunk), readable by h5py. */
export const h5Format: CacheFormat = {
  name: 'h5',
  extension: H5_EXTENSION,
  pathFor: (dir, patientId) => entryPath(dir, patientId, H5_EXTENSION),
  write: writeH5,
  read: readH5,
  readRaw: readH5Raw,
  readAttrs: readH5Attrs,
  exists(file: string): boolean {
    try {
      const st = fs.statSync(file);
      return st.isFile() && st.size > 0;
    } catch {
      return false;
    }
  },
};
