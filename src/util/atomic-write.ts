/**
 * Atomic file writes: data goes to a temporary file in the same directory, is flushed to disk,
 * then renamed over the target, so a reader (or a crash, or kill -9) never sees half a file.
 * Only for whole-file writes; it must not be used for appends.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Temporary name next to `file`, unique per process and call. */
export function tempPathFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
}

/** True for temp files left behind by a killed writer. */
export function isTempArtifact(fileName: string): boolean {
  return /^\..*\.tmp-\d+-[a-z0-9]+$/.test(fileName);
}

/** Writes `chunks` to `file` atomically (parent directories are created). */
export function writeFileAtomicSync(file: string, chunks: Uint8Array | string | (Uint8Array | string)[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = tempPathFor(file);
  const fd = fs.openSync(tmp, 'w');
  try {
    for (const c of Array.isArray(chunks) ? chunks : [chunks]) {
      if (typeof c === 'string') fs.writeSync(fd, c);
      else {
        let off = 0;
        while (off < c.byteLength) off += fs.writeSync(fd, c, off, c.byteLength - off);
      }
    }
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  try {
    const dfd = fs.openSync(path.dirname(file), 'r');
    fs.fsyncSync(dfd);
    fs.closeSync(dfd);
  } catch {
    /* directory fsync is best effort (not supported everywhere) */
  }
}
