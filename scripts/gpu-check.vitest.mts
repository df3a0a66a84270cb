// vitest config of scripts/gpu-check.sh run (the bare GPU machine): the same settings as
// vitest.config.mts, but only the test files in GPU_CHECK_TESTS (space-separated files or folders)
// and no global setup: the fixtures and dist/ come ready-made in .gpu-carry (there is no ffmpeg CLI
// to generate fixtures and no TypeScript compiler there).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('..', import.meta.url));
const selected = (process.env['GPU_CHECK_TESTS'] ?? 'test/gpu').split(/\s+/).filter((s) => s.length > 0);

export default defineConfig({
  root,
  resolve: { alias: { 'trickle-rt': fileURLToPath(new URL('../src/index.ts', import.meta.url)) } },
  test: {
    include: selected.map((s) => (s.endsWith('.ts') ? s : `${s.replace(/\/$/, '')}/**/*.test.ts`)),
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
