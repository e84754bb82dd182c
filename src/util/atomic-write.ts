/**
 * Atomic file writes: data goes to a temporary file in the same directory, is flushed to disk,
 * then renamed over the target, so a reader (or a crash, or kill -9) never sees half a file.
 * Only for whole-file writes; it must not be used for appends.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

// Temp entries are named `.<final name>.tmp-<pid>-<hex>` in the target's directory, so they never
// match a committed name, and a killed writer leaves only a hidden leftover that
// removeStaleTemps() cleans up.
const TEMP_RE = /^\.(.+)\.tmp-(\d+)-([0-9a-f]+)(?:-old)?$/;

/** Temporary name next to `file` (a file or a directory), unique per process and call. */
export function tempPathFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
}

/** True for names of temp entries left by (possibly killed) writers. */
export function isTempArtifact(fileName: string): boolean {
  return TEMP_RE.test(fileName);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temp entries in `dir` left by writers that are no longer running (or older than
 * `minAgeMs`, default 1 hour, whatever the pid). Returns the removed names. Never touches
 * committed entries.
 */
export function removeStaleTemps(dir: string, minAgeMs = 3600_000): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = TEMP_RE.exec(name);
    if (m === null) continue;
    const pid = Number(m[2]);
    const full = path.join(dir, name);
    let stale = pid !== process.pid && !processAlive(pid);
    if (!stale) {
      try {
        stale = Date.now() - fs.statSync(full).mtimeMs > minAgeMs;
      } catch {
        continue;
      }
    }
    if (stale) {
      fs.rmSync(full, { recursive: true, force: true });
      removed.push(name);
    }
  }
  return removed;
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
