#!/usr/bin/env node
// Runs the whole test suite: type-checks and builds the library (dist/ is what the CLI and the
// notebooks load; plus the small native helper, scripts/build-native.sh), then runs every
// test/**/*.test.ts with Node's test runner through tsx.
// Extra arguments are passed on as test files (e.g. `node scripts/run-tests.js test/nifti.test.ts`).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
function findTests(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return findTests(p);
    return e.name.endsWith('.test.ts') ? [path.relative(root, p)] : [];
  });
}

const files = process.argv.slice(2);
run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json']);
run('bash', [path.join(root, 'scripts', 'build-native.sh')]);
const tests = files.length > 0 ? files : findTests(path.join(root, 'test')).sort();
run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...tests]);
