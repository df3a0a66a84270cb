import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { TrickleError } from '../../src/errors';
import { loadNativeAddon, nativeAddonPath, packageRoot, type LoadAttempt } from '../../src/native/addon';

const scratch = mkdtempSync(join(tmpdir(), 'trickle-loader-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function loadError(root: string, env: NodeJS.ProcessEnv = {}): TrickleError & { attempts: LoadAttempt[] } {
  try {
    loadNativeAddon(root, env);
  } catch (err) {
    return err as TrickleError & { attempts: LoadAttempt[] };
  }
  throw new Error('expected the load to fail');
}

describe('native loader', () => {
  it('loads the addon of this package', () => {
    const { addon, path } = loadNativeAddon();
    expect(typeof addon.capabilities).toBe('function');
    expect(path.startsWith(packageRoot)).toBe(true);
    expect(nativeAddonPath()).toBe(path);
  });

  it('lists every attempt with a remedy when nothing can be loaded', () => {
    const empty = join(scratch, 'empty');
    mkdirSync(empty);
    const err = loadError(empty);
    expect(err).toBeInstanceOf(TrickleError);
    expect(err.code).toBe('ERR_NATIVE_LOAD');
    expect(err.attempts.map((a) => a.path)).toEqual([
      join(empty, 'build', 'Release', 'trickle_rt.node'),
      join(empty, 'prebuilds', `${process.platform}-${process.arch}`, 'trickle-rt.node'),
    ]);
    // An installed package (no scripts/setup.sh): remedies in npm's words.
    expect(err.attempts[0]?.remedy).toBe('no source build here (normal when the prebuilt binary is used)');
    expect(err.attempts[1]?.remedy).toMatch(/no prebuilt binary for linux-x64; build from source with npm rebuild trickle-rt \(.*cmake-js and node-addon-api\)$/);
    expect(err.message).not.toContain('setup.sh');
    expect(err.message).toContain('1. ');
    expect(err.message).toContain('2. ');
    expect(err.message).toContain('remedy:');
  });

  it('names ./scripts/setup.sh in a source checkout', () => {
    const checkout = join(scratch, 'checkout');
    mkdirSync(join(checkout, 'scripts'), { recursive: true });
    writeFileSync(join(checkout, 'scripts', 'setup.sh'), '#!/bin/sh\n');
    const err = loadError(checkout);
    expect(err.attempts[0]?.remedy).toMatch(/^not built from source: run \.\/scripts\/setup\.sh/);
  });

  it('reports a broken binary with the loader error, then falls through to the next candidate', () => {
    const root = join(scratch, 'broken');
    const prebuildDir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
    mkdirSync(join(root, 'build', 'Release'), { recursive: true });
    mkdirSync(prebuildDir, { recursive: true });
    writeFileSync(join(root, 'build', 'Release', 'trickle_rt.node'), 'not an ELF file');
    copyFileSync(nativeAddonPath(), join(prebuildDir, 'trickle-rt.node'));
    const { path, addon } = loadNativeAddon(root, {});
    expect(path).toBe(join(prebuildDir, 'trickle-rt.node'));
    expect(typeof addon.summarizeVideo).toBe('function');

    rmSync(prebuildDir, { recursive: true });
    const err = loadError(root);
    expect(err.attempts[0]?.error).toMatch(/invalid ELF header|file too short/);
  });

  it('tries TRICKLE_RT_ADDON first', () => {
    const err = loadError(join(scratch, 'empty'), { TRICKLE_RT_ADDON: join(scratch, 'nope.node') });
    expect(err.attempts[0]?.path).toBe(join(scratch, 'nope.node'));
    expect(err.attempts).toHaveLength(3);
  });
});
