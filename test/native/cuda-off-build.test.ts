/**
 * CI must compile both variants of the addon. The main build (npm run build:native) has the CUDA
 * kernels when nvcc is present; this test builds the TRICKLE_CUDA=OFF variant into build-nocuda/
 * (incrementally) and checks that it loads, reports "built without CUDA", rejects device work with
 * ERR_CUDA_UNAVAILABLE, and decodes the slice clip exactly like the CUDA build.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { packageRoot } from '../../src/native/addon';
import { fixturePath } from '../helpers/fixtures';

const outDir = join(packageRoot, 'build-nocuda');
const addonPath = join(outDir, 'Release', 'trickle_rt.node');

interface ChildReport {
  cuda: { compiled: boolean; status: string };
  summary: { frames: number; width: number; height: number; firstPts: number | null };
  selfTestError: { code: string; message: string };
}

function runInChild(): ChildReport {
  const script = `
    const { loadNativeAddon } = require(${JSON.stringify(join(packageRoot, 'dist', 'native', 'addon.js'))});
    const { addon, path } = loadNativeAddon(${JSON.stringify(packageRoot)}, { TRICKLE_RT_ADDON: ${JSON.stringify(addonPath)} });
    if (path !== ${JSON.stringify(addonPath)}) throw new Error('loaded ' + path);
    const data = require('fs').readFileSync(${JSON.stringify(fixturePath('testsrc512'))});
    (async () => {
      const summary = await addon.summarizeVideo(data);
      const selfTestError = await addon.cudaColorSelfTest(0, 64, 64).then(() => null, (e) => ({ code: e.code, message: e.message }));
      process.stdout.write(JSON.stringify({ cuda: addon.capabilities().cuda, summary, selfTestError }));
    })();
  `;
  return JSON.parse(execFileSync(process.execPath, ['-e', script]).toString()) as ChildReport;
}

describe('TRICKLE_CUDA=OFF build', () => {
  beforeAll(() => {
    const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
    execFileSync(
      process.execPath,
      [cmakeJs, 'compile', '--log-level', 'error', '-O', outDir, '--CDTRICKLE_CUDA=OFF', '-p', '2'],
      { cwd: packageRoot, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, TRICKLE_CUDA: 'OFF' } },
    );
  }, 900_000);

  it('loads, reports no CUDA and decodes the slice clip', () => {
    const report = runInChild();
    expect(report.cuda.compiled).toBe(false);
    expect(report.cuda.status).toBe('built without CUDA');
    expect(report.summary).toMatchObject({ frames: 60, width: 512, height: 512 });
    expect(report.selfTestError.code).toBe('ERR_CUDA_UNAVAILABLE');
    expect(report.selfTestError.message).toMatch(/built without CUDA/);
  });
});
