#!/usr/bin/env node
/**
 * Writes dist/vendor/plotly-<version>.min.js: plotly.js-dist's bundle (11.2 MB, unminified; the
 * notebooks inline it so plots render offline) minified by esbuild (a dependency of tsx, already
 * installed), licence comments kept. src/notebook/plotly.ts inlines this copy when it is there, so
 * every notebook that plots is ~6 MB smaller (and on Colab every figure: each output frame carries
 * its own copy). Written atomically; skipped when the file for this version exists. Without
 * esbuild it says so and the notebooks inline the unminified file. Part of `npm run build`.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const version = JSON.parse(fs.readFileSync(require.resolve('plotly.js-dist/package.json'), 'utf8')).version;
const out = path.join(root, 'dist', 'vendor', `plotly-${version}.min.js`);
if (fs.existsSync(out)) process.exit(0);
let esbuild;
try {
  esbuild = require('esbuild');
} catch {
  console.log(`[minify-plotly] esbuild not installed: notebooks will inline plotly.js unminified (11 MB)`);
  process.exit(0);
}
const src = fs.readFileSync(require.resolve('plotly.js-dist/plotly.js'), 'utf8');
const { code } = esbuild.transformSync(src, { minify: true, legalComments: 'inline', charset: 'utf8' });
fs.mkdirSync(path.dirname(out), { recursive: true });
const tmp = `${out}.${process.pid}.tmp`;
fs.writeFileSync(tmp, code);
fs.renameSync(tmp, out);
console.log(`[minify-plotly] ${path.relative(root, out)}: ${(src.length / 1e6).toFixed(1)} MB -> ${(code.length / 1e6).toFixed(1)} MB`);
