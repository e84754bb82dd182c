/**
 * Keeps TensorFlow's start-up log lines out of every CLI run and notebook. The C library prints
 * them from its static initialisers while the binding is `require`d ("WARNING: All log messages
 * before absl::InitializeLog() ...", "oneDNN custom operations are on ...") through absl, which
 * ignores TF_CPP_MIN_LOG_LEVEL at that point; the later "This TensorFlow binary is optimized to
 * use available CPU instructions ..." obeys TF_CPP_MIN_LOG_LEVEL >= 1.
 * So: TF_CPP_MIN_LOG_LEVEL=2 (info and warnings off, errors kept) and, only while the binding
 * loads, file descriptor 2 pointed at /dev/null and then back at the very same open file:
 *  - with dist/native/os-helper.node (dup/dup2; scripts/build-native.sh): exact for any
 *    stderr (pipe, socket as Node's child_process gives, terminal, file);
 *  - without it, on Linux: reopened through /proc/self/fd, only where that is equivalent (pipe,
 *    terminal, file opened with O_APPEND); otherwise nothing is swapped and the lines show.
 * `MRI2CT_TF_VERBOSE=1` (the CLI's --verbose) leaves everything alone.
 * This module must not load TensorFlow itself; it only wraps the caller's load.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The native helper's descriptor functions (see src/env/native/os-helper.c). */
export interface FdDup {
  dup(fd: number): number;
  dup2(from: number, to: number): number;
  close(fd: number): number;
}

/** All of the native helper. */
export interface OsHelper extends FdDup {
  /** dlopen(path, RTLD_NOW | RTLD_GLOBAL), never closed; throws with dlerror()'s text. */
  dlopenGlobal(file: string): boolean;
}

export interface LoadQuietlyOptions {
  /** Environment read and written (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** The dup helper; null forces the /proc fallback (default: dist/native/os-helper.node if built). */
  fdDup?: FdDup | null;
}

/** True when the user asked to see TensorFlow's own log lines. */
export function tfVerbose(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env['MRI2CT_TF_VERBOSE'];
  return v !== undefined && v !== '' && v !== '0' && v !== 'false';
}

/** Sets TF_CPP_MIN_LOG_LEVEL=2 unless the user set it or asked for verbose logs. */
export function quietTfEnv(env: NodeJS.ProcessEnv = process.env): void {
  if (!tfVerbose(env) && env['TF_CPP_MIN_LOG_LEVEL'] === undefined) env['TF_CPP_MIN_LOG_LEVEL'] = '2';
}

let helper: OsHelper | null | undefined;

/** The built helper, or null when it is not there (compiled from dist/ or run from src/ by tsx). */
export function builtOsHelper(): OsHelper | null {
  if (helper !== undefined) return helper;
  helper = null;
  for (const p of [path.join(__dirname, '../../native/os-helper.node'), path.join(__dirname, '../../dist/native/os-helper.node')]) {
    if (!fs.existsSync(p)) continue;
    try {
      helper = require(p) as OsHelper;
      break;
    } catch {
      /* built for another platform: try the next, else the fallback */
    }
  }
  return helper;
}

/** Open flags with which /proc/self/fd/2 is an equivalent stderr, or why there are none. */
function reopenFlags(): number | string {
  if (process.platform !== 'linux') return 'not Linux';
  let st: fs.Stats;
  try {
    st = fs.fstatSync(2);
    fs.fstatSync(0);
    fs.fstatSync(1);
  } catch {
    return 'a standard descriptor is closed';
  }
  const { O_WRONLY, O_APPEND } = fs.constants;
  if (st.isFIFO() || st.isCharacterDevice()) return O_WRONLY;
  if (st.isFile()) {
    const m = /^flags:\s+([0-7]+)/m.exec(fs.readFileSync('/proc/self/fdinfo/2', 'utf8'));
    const flags = m?.[1] !== undefined ? parseInt(m[1], 8) : 0;
    return (flags & O_APPEND) !== 0 ? O_WRONLY | O_APPEND : 'a file opened without O_APPEND';
  }
  return 'a socket';
}

/** Opens `target` so that it lands on fd 2 (the lowest free descriptor once 2 is closed). */
function openOnFd2(target: string, flags: number): void {
  fs.closeSync(2);
  const fd = fs.openSync(target, flags);
  if (fd !== 2) fs.closeSync(fd); // another thread took 2 in between: nothing better to do
}

function withDup<T>(d: FdDup, load: () => T): T {
  const saved = d.dup(2);
  try {
    const nul = fs.openSync('/dev/null', 'w');
    d.dup2(nul, 2);
    fs.closeSync(nul);
    return load();
  } finally {
    d.dup2(saved, 2);
    d.close(saved);
  }
}

function withReopen<T>(flags: number, load: () => T): T {
  let saved: number;
  try {
    saved = fs.openSync('/proc/self/fd/2', flags);
  } catch {
    return load();
  }
  try {
    openOnFd2('/dev/null', fs.constants.O_WRONLY);
    return load();
  } finally {
    openOnFd2(`/proc/self/fd/${saved}`, flags);
    fs.closeSync(saved);
  }
}

/**
 * Runs `load` (a synchronous `require` of the native binding) with TensorFlow's start-up lines
 * hidden as described above. Errors thrown by `load` are rethrown after stderr is restored.
 */
export function loadQuietly<T>(load: () => T, options: LoadQuietlyOptions = {}): T {
  const env = options.env ?? process.env;
  quietTfEnv(env);
  if (tfVerbose(env)) return load();
  const d = options.fdDup !== undefined ? options.fdDup : builtOsHelper();
  if (d !== null) return withDup(d, load);
  const flags = reopenFlags();
  return typeof flags === 'number' ? withReopen(flags, load) : load();
}
