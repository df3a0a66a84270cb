#!/usr/bin/env node
'use strict';
// The CLI runs the compiled TypeScript in dist/ (built by `npm run build:ts`, part of setup and of
// `npm pack`).
let cli;
try {
  cli = require('../dist/cli/main.js');
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && /dist[\\/]cli[\\/]main/.test(String(err.message))) {
    console.error('trickle-rt: the TypeScript is not compiled (dist/ is missing); run `npm run build:ts` in the trickle-rt folder.');
    process.exit(1);
  }
  throw err;
}
cli.main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    console.error(`trickle-rt: ${err && err.stack ? err.stack : err}`);
    process.exitCode = 1;
  },
);
