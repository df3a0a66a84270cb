#!/usr/bin/env node
'use strict';
// prepack check (runs after build:ts, before npm pack / npm publish writes the tarball): a package
// without its prebuilt binary would make every user build the addon from source, so packing stops
// here unless that is what is wanted.
//
//   TRICKLE_RT_PACK_WITHOUT_PREBUILD=1 npm pack   a deliberate source-only package
const { existsSync, readdirSync, readFileSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const platform = 'linux-x64';
const dir = path.join(root, 'prebuilds', platform);

function fail(problem, fix) {
  console.error(`prepack: ${problem}; ${fix}`);
  process.exit(1);
}

for (const file of ['LICENSE', 'THIRD_PARTY_NOTICES.md', 'dist/index.js', 'dist/cli/main.js']) {
  if (!existsSync(path.join(root, file))) fail(`${file} is missing`, 'it must ship in the package (npm run build:ts builds dist/)');
}

if (process.env.TRICKLE_RT_PACK_WITHOUT_PREBUILD === '1') {
  console.error('prepack: TRICKLE_RT_PACK_WITHOUT_PREBUILD=1: packing without a prebuilt binary (users will build from source)');
  process.exit(0);
}

let binaries = [];
try {
  binaries = readdirSync(dir).filter((f) => f.endsWith('.node'));
} catch {
  // reported below
}
if (binaries.length === 0) {
  fail(
    `no prebuilt binary in prebuilds/${platform}/, so every user of this package would have to build the addon from source`,
    'run "npm run prebuilds" first (or set TRICKLE_RT_PACK_WITHOUT_PREBUILD=1 for a deliberate source-only package)',
  );
}
for (const f of binaries) {
  const head = readFileSync(path.join(dir, f)).subarray(0, 20);
  // ELF magic, 64-bit, x86-64 (e_machine 62)
  if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head.readUInt16LE(18) !== 62) {
    fail(`prebuilds/${platform}/${f} is not an x86-64 ELF shared object`, 'rebuild it with "npm run prebuilds"');
  }
}
console.error(`prepack: prebuilt binary ${binaries.map((f) => `prebuilds/${platform}/${f}`).join(', ')} will ship`);
