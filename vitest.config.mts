import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Four projects; `npm test` runs them all, the others one each:
 * - unit (`npm run test:unit`, seconds): pure TypeScript, fakes instead of the addon and sockets
 *   where it can; needs only the cached media fixtures, no tsc pass, no native build step.
 * - integration (`npm run test:integration`): the native addon, real sockets, the CLI (runs dist/,
 *   compiled by the global setup), GPU-tagged tests (skipped without a GPU).
 * - heavy (`npm run test:heavy`): the packaging round trip (static FFmpeg build), the CUDA-off
 *   cmake build and the decoder fuzzer.
 * - hostile (`npm run test:hostile`): the worker and the trickle server attacked as a hostile peer
 *   would (loopback only, every case bounded by the small limits it configures).
 */
const HEAVY = ['test/packaging/**/*.test.ts', 'test/native/cuda-off-build.test.ts', 'test/native/decoder-fuzz.test.ts'];

export default defineConfig({
  // examples/ and the bench import the package by name, as users do
  resolve: { alias: { 'trickle-rt': fileURLToPath(new URL('./src/index.ts', import.meta.url)) } },
  test: {
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], globalSetup: ['test/helpers/fixtures-setup.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/native/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/gpu/**/*.test.ts'],
          exclude: HEAVY,
          globalSetup: ['test/helpers/global-setup.ts'],
        },
      },
      {
        extends: true,
        test: { name: 'heavy', include: HEAVY, globalSetup: ['test/helpers/global-setup.ts'] },
      },
      {
        extends: true,
        test: { name: 'hostile', include: ['test/hostile/**/*.test.ts'], globalSetup: ['test/helpers/global-setup.ts'] },
      },
    ],
  },
});
