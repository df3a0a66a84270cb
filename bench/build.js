#!/usr/bin/env node
'use strict';
// Builds the bench: links this checkout's trickle-rt package as bench/node_modules/trickle-rt (the
// bench loads the package by name, as a user's code does, so it measures the compiled dist/ that
// users run), then compiles bench/src into bench/dist. The package's own dist/ must be built first
// (`npm run build:ts` at the root; the root `npm run bench` does both).
const { execFileSync } = require('node:child_process');
const { existsSync, lstatSync, mkdirSync, readlinkSync, rmSync, symlinkSync } = require('node:fs');
const { join, resolve } = require('node:path');

const benchDir = __dirname;
const root = resolve(benchDir, '..');
if (!existsSync(join(root, 'dist', 'index.d.ts'))) {
  console.error('bench: the package is not compiled yet; run `npm run build:ts` at the repository root first');
  process.exit(1);
}
const link = join(benchDir, 'node_modules', 'trickle-rt');
mkdirSync(join(benchDir, 'node_modules'), { recursive: true });
let current;
try {
  current = lstatSync(link).isSymbolicLink() ? readlinkSync(link) : 'not a link';
} catch {
  current = undefined;
}
if (current !== '../..') {
  if (current !== undefined) rmSync(link, { recursive: true, force: true });
  symlinkSync('../..', link, 'dir');
}
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc', { paths: [root] }), '-p', join(benchDir, 'tsconfig.json')], {
  stdio: 'inherit',
});
