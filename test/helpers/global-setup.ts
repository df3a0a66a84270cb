import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

import { ensureFixtures } from './fixtures';

/**
 * Runs once before all test files: generates the media fixtures that are missing, and compiles the
 * TypeScript so that tests of the CLI (bin/trickle-rt.js runs dist/) exercise the current sources.
 */
export default function setup(): void {
  ensureFixtures();
  const root = resolve(__dirname, '..', '..');
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
}
