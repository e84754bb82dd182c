#!/usr/bin/env node
/*
 * Launches this project's tslab (TypeScript) Jupyter kernel so that it also works where the
 * Jupyter server talks to kernels over IPC sockets instead of TCP ports, as Google Colab's runtime
 * does (since December 2022; the reason IJava and other non-Python kernels hang at "Connecting"
 * there). tslab 1.0.22 builds every address as `transport://ip:port`; the Jupyter convention for
 * IPC is `ipc://<ip>-<port>` (a socket file per channel), so a stock tslab binds the wrong files
 * and the server never reaches it. This launcher fixes the address and then runs tslab unchanged.
 *
 * It also starts the kernel in MRI2CT_KERNEL_CWD when that is set (colab/bootstrap.sh sets it to
 * the project's notebooks/ on Colab, where kernels start in /content): the notebooks import
 * `../dist/src` and write `../data_notebooks` etc. relative to the kernel's working directory.
 *
 * Usage (what colab/bootstrap.sh writes into the kernelspec):
 *   node colab/tslab-kernel.js kernel --config-path {connection_file}
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const startDir = process.cwd();
const cwd = process.env.MRI2CT_KERNEL_CWD;
if (cwd && fs.existsSync(cwd)) process.chdir(cwd);

const tslabDir = path.dirname(require.resolve('tslab/package.json', { paths: [root] }));
const jupyter = require(path.join(tslabDir, 'dist', 'jupyter.js'));
const proto = jupyter.ZmqServer && jupyter.ZmqServer.prototype;
if (!proto || typeof proto.bindSocket !== 'function') {
  console.error(`tslab-kernel: unexpected tslab layout in ${tslabDir} (no ZmqServer.bindSocket); starting it unpatched`);
} else {
  proto.bindSocket = async function bindSocket(sock, port) {
    const c = this.connInfo;
    // A relative IPC path is relative to where Jupyter started us, not to MRI2CT_KERNEL_CWD.
    const addr = c.transport === 'ipc' ? `ipc://${path.resolve(startDir, c.ip)}-${port}` : `${c.transport}://${c.ip}:${port}`;
    await sock.bind(addr);
  };
}
// tslab looks for a tslab under the working directory first; it resolves to this same module
// (same file, same require cache), so the patch above holds either way.
require(path.join(tslabDir, 'dist', 'main.js')).main();
