/**
 * Versions of installed npm packages, read from their package.json files (works for ESM-only
 * packages, whose package.json is not exported). Reading only.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Version of dependency `pkg` as this project resolves it, or undefined when not installed. */
export function installedVersion(pkg: string): string | undefined {
  for (const dir of module.paths) {
    const file = path.join(dir, pkg, 'package.json');
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown';
  }
  return undefined;
}

/** The mri2ct checkout this module belongs to (the folder of its package.json), or undefined. */
export function projectRoot(): string | undefined {
  for (let d = __dirname; ; d = path.dirname(d)) {
    const f = path.join(d, 'package.json');
    if (fs.existsSync(f) && (JSON.parse(fs.readFileSync(f, 'utf8')) as { name?: string }).name === 'mri2ct') return d;
    if (path.dirname(d) === d) return undefined;
  }
}

/** Version of mri2ct itself (the package.json above this module). */
export function ownVersion(): string {
  const root = projectRoot();
  if (root === undefined) return 'unknown';
  return (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
}
