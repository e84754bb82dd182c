/**
 * The cache formats by name: `getCacheFormat('h5' | 'npy' | 'pt')`, and (re-exported from
 * format-common.ts) the interface, types and helpers the formats share.
 * Must not load h5wasm (only h5-wasm.ts does, lazily) nor touch the filesystem at import time.
 */
import { ConfigError } from '../errors';
import type { CacheFormat } from './format-common';
import { h5Format } from './h5-format';
import { npyFormat } from './npy-format';

export * from './format-common';

/** Names accepted by getCacheFormat. */
export const CACHE_FORMAT_NAMES = ['h5', 'npy', 'pt'] as const;
export type CacheFormatName = (typeof CACHE_FORMAT_NAMES)[number];

/**
 * Returns the cache format called `name`. 'pt' (PyTorch files of the original Python tool)
 * is accepted as an alias of 'npy' and comes back with a `note` to show the user.
 * Throws ConfigError for other names.
 */
export function getCacheFormat(name: string): { format: CacheFormat; note?: string } {
  switch (name.trim().toLowerCase()) {
    case 'h5':
    case 'hdf5':
      return { format: h5Format };
    case 'npy':
      return { format: npyFormat };
    case 'pt':
      return {
        format: npyFormat,
        note:
          "cache format 'pt' (PyTorch tensor files) is not available in Node; using 'npy' instead, " +
          'the fast uncompressed format (one read per array, zero-copy), readable with numpy.load.',
      };
    default:
      throw new ConfigError(
        `unknown cache format '${name}': use one of ${CACHE_FORMAT_NAMES.map((n) => `'${n}'`).join(', ')} ` +
          "('h5' compact HDF5, 'npy' fastest loading, 'pt' = alias of 'npy').",
      );
  }
}
