/**
 * Test helper: runs a Python script with the system interpreter (/usr/bin/python3, where
 * nibabel and numpy are installed) and returns its stdout. Pass bulk data through files
 * (paths in args or a JSON file), never as giant argv strings.
 * Must not be used by library code (src/): it is for tests and reference comparisons only.
 */

import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

/** The interpreter the tests use (the one with nibabel installed). */
export const PYTHON = '/usr/bin/python3';

/** Options of {@link runPython}. */
export interface RunPythonOptions {
  /** Kill the script after this many milliseconds; default 60 000. */
  timeoutMs?: number;
  /** Working directory of the script. */
  cwd?: string;
}

const execFileAsync = promisify(execFile);
const MAX_BUFFER = 256 * 1024 * 1024;

function failure(cause: unknown, args: string[]): Error {
  const stderr = String((cause as { stderr?: unknown } | null)?.stderr ?? '').trim();
  const base = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
  return new Error(`Python script failed (args: ${JSON.stringify(args)}): ${base}\n${stderr}`, { cause });
}

/**
 * Runs `script` (Python source text) as `python3 -c script args...` and returns its stdout.
 * Throws an Error carrying the script's stderr when it exits non-zero.
 */
export function runPython(script: string, args: string[] = [], options: RunPythonOptions = {}): string {
  try {
    return execFileSync(PYTHON, ['-c', script, ...args], {
      encoding: 'utf8',
      cwd: options.cwd,
      timeout: options.timeoutMs ?? 60_000,
      maxBuffer: MAX_BUFFER,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (cause) {
    throw failure(cause, args);
  }
}

/** Async version of {@link runPython}. */
export async function runPythonAsync(script: string, args: string[] = [], options: RunPythonOptions = {}): Promise<string> {
  try {
    const { stdout } = await execFileAsync(PYTHON, ['-c', script, ...args], {
      encoding: 'utf8',
      cwd: options.cwd,
      timeout: options.timeoutMs ?? 60_000,
      maxBuffer: MAX_BUFFER,
    });
    return stdout;
  } catch (cause) {
    throw failure(cause, args);
  }
}

/** Runs `script` and parses its stdout as JSON (the script should print exactly one JSON value). */
export function runPythonJson<T>(script: string, args: string[] = [], options: RunPythonOptions = {}): T {
  return JSON.parse(runPython(script, args, options)) as T;
}
