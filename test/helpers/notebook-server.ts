/**
 * Test helper: the Jupyter server side of the browser tests of the notebooks
 * (test/browser.test.ts, test/jupyterlab.test.ts): a scratch project next to links to this
 * checkout's dist/ and node_modules/, a free local port, waiting for a started server to answer,
 * shutting its kernels down and stopping it, and the tear-down every run ends with.
 * Must not: start a server itself (each test has its own command line and Jupyter dirs), or
 * touch the checkout beyond reading it.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * A temp folder `<prefix>…` holding project/ (with project/notebooks/ and links to `root`'s
 * dist/ and node_modules/: the notebooks import ../dist/src) and the path of jupyter/ for the
 * server's own state (not created).
 */
export function scratchProject(root: string, prefix: string): { tmp: string; proj: string; jdir: string } {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const proj = path.join(tmp, 'project');
  const jdir = path.join(tmp, 'jupyter');
  fs.mkdirSync(path.join(proj, 'notebooks'), { recursive: true });
  fs.symlinkSync(path.join(root, 'dist'), path.join(proj, 'dist'));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(proj, 'node_modules'));
  return { tmp, proj, jdir };
}

/**
 * Polls `${base}/api/status` every 500 ms until it answers; fails when the server exits or after
 * `seconds`, quoting the end of its log. `name` names the server in those messages.
 */
export async function waitForServer(server: ChildProcess, base: string, headers: Record<string, string>, serverLog: string, name: string, seconds: number): Promise<void> {
  for (let i = 0; ; i++) {
    if (server.exitCode !== null) assert.fail(`${name} exited (${server.exitCode}):\n${fs.readFileSync(serverLog, 'utf8').slice(-3000)}`);
    const ok = await fetch(`${base}/api/status`, { headers }).then((r) => r.ok, () => false);
    if (ok) break;
    if (i > seconds * 2) assert.fail(`${name} did not answer within ${seconds} s:\n${fs.readFileSync(serverLog, 'utf8').slice(-3000)}`);
    await sleep(500);
  }
}

/** Shuts down, through the server's API, every kernel session open on it. */
export async function deleteSessions(base: string, headers: Record<string, string>): Promise<void> {
  const sessions = (await fetch(`${base}/api/sessions`, { headers }).then((r) => r.json())) as { id: string }[];
  for (const s of sessions) await fetch(`${base}/api/sessions/${s.id}`, { method: 'DELETE', headers });
}

/** SIGTERM, up to 10 s for it to exit, then SIGKILL to its process group (started detached). */
export async function stopServer(server: ChildProcess | undefined): Promise<void> {
  if (server?.pid !== undefined && server.exitCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (server.exitCode === null && server.signalCode === null) {
      try { process.kill(-server.pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }
}

/**
 * The end of a run, passed or failed: `report` written to `reportFile` (its folder made),
 * Chromium closed, the server stopped, the scratch folder `tmp` removed (kept, and said so
 * through `diagnostic`, when MRI2CT_KEEP_BROWSER_TMP is set).
 */
export async function tearDown(run: {
  reportFile: string; report: unknown; browser: { close(): Promise<void> } | undefined; server: ChildProcess | undefined;
  tmp: string; diagnostic: (message: string) => void;
}): Promise<void> {
  fs.mkdirSync(path.dirname(run.reportFile), { recursive: true });
  fs.writeFileSync(run.reportFile, `${JSON.stringify(run.report, null, 1)}\n`);
  await run.browser?.close().catch(() => undefined);
  await stopServer(run.server);
  if (process.env['MRI2CT_KEEP_BROWSER_TMP'] === undefined) fs.rmSync(run.tmp, { recursive: true, force: true });
  else run.diagnostic(`kept ${run.tmp}`);
}
