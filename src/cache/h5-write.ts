/**
 * Writing the HDF5 cache format (layout in h5-format.ts) with h5wasm: uint16 mri/ct with a
 * `scale` attribute, uint8 mask, one slice per gzip chunk, a checksum attribute per dataset and
 * the root attributes; into a temp file in the same directory, fsynced and renamed into place.
 * Any HDF5 diagnostic during the write counts as a failure (h5wasm does not report them).
 *
 * Must not: leave temp files behind (also on failure), replace the final file before the new
 * one is complete, or load h5wasm other than through h5-wasm.ts.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { CacheError } from '../errors';
import {
  ARRAY_NAMES,
  type CacheAttrs,
  type CacheAttrsInput,
  type PatientArrays,
  type WriteOptions,
  U16_SCALE,
  buildAttrs,
  fsyncPath,
  tempPathFor,
  toStoredU16,
  validateForWrite,
} from './format-common';
import { type H5File, loadH5, withHdf5Diagnostics, withReason } from './h5-wasm';

/** gzip level of every dataset (write speed only; decoding speed does not depend on it). */
export const H5_GZIP_LEVEL = 9;
/** The `writer` root attribute of the files written here. */
const H5_WRITER = 'mri2ct cache/h5-format (h5wasm)';

/** Writes one patient to `file` (atomically); returns the attributes written. Throws CacheError. */
export async function writeH5(file: string, arrays: PatientArrays, input: CacheAttrsInput, options?: WriteOptions): Promise<CacheAttrs> {
  validateForWrite(file, arrays, input);
  const shape = arrays.shape;
  const stored = { mri: toStoredU16(arrays.mri, 'mri', file), ct: toStoredU16(arrays.ct, 'ct', file), mask: arrays.mask, shape };
  const api = await loadH5();
  const attrs = buildAttrs(stored, input, H5_WRITER);
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = tempPathFor(file);
  try {
    withHdf5Diagnostics(api, (diag) => {
      const fail = (what: string, e?: unknown): CacheError =>
        new CacheError(`cannot write cache file ${file}: ${withReason(what, diag(), e)}. Fix: check free disk space and permissions of ${dir}.`, { cause: e });
      let f: H5File;
      try {
        f = new api.mod.File(tmp, 'w', { libver: ['earliest', 'v110'] });
      } catch (e) {
        throw fail('cannot create the HDF5 file', e);
      }
      if (f.file_id < 0n) throw fail('cannot create the HDF5 file');
      let closeStatus = -1;
      try {
        for (const name of ARRAY_NAMES) {
          const ds = f.create_dataset({
            name,
            data: stored[name],
            shape: [shape[0], shape[1], shape[2]],
            chunks: [1, shape[1], shape[2]],
            compression: 'gzip',
            compression_opts: H5_GZIP_LEVEL,
          });
          ds.create_attribute('checksum', attrs.checksums[name], null, 'S');
          if (name !== 'mask') ds.create_attribute('scale', U16_SCALE);
        }
        f.create_attribute('format_version', attrs.formatVersion, null, '<i4');
        const strings: Array<[string, string]> = [
          ['patient_id', attrs.patientId],
          ['source_mri', attrs.sourceFiles.mri],
          ['source_ct', attrs.sourceFiles.ct],
          ['params_hash', attrs.paramsHash],
          ['normalization', JSON.stringify(attrs.normalization)],
          ['checksum', attrs.checksum],
          ['checksum_algorithm', attrs.checksumAlgorithm],
          ['created_at', attrs.createdAt],
          ['writer', attrs.writer],
        ];
        if (attrs.extra !== undefined) strings.push(['extra', JSON.stringify(attrs.extra)]);
        for (const [k, v] of strings) f.create_attribute(k, v, null, 'S');
      } catch (e) {
        if (e instanceof CacheError) throw e;
        throw fail('HDF5 write failed', e);
      } finally {
        closeStatus = f.close();
      }
      // h5wasm's create_dataset does not report H5Dwrite failures: any HDF5 diagnostic counts.
      if (closeStatus < 0 || diag() !== '') throw fail('HDF5 reported an error');
    });
    if (options?.fsync !== false) fsyncPath(tmp);
    fs.renameSync(tmp, file);
    if (options?.fsync !== false) fsyncPath(dir);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    if (e instanceof CacheError) throw e;
    throw new CacheError(
      `cannot write cache file ${file}: ${(e as Error).message}. Fix: check free disk space and permissions of ${dir}.`,
      { cause: e },
    );
  }
  return attrs;
}
