/**
 * scripts/install.js, the npm install hook of the published package: it uses a matching binary and
 * builds from source only when none matches or loads, and then first lists what a source build
 * needs. Each case runs the script in a scratch copy of the package layout.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { loadNativeAddon, packageRoot } from '../../src/native/addon';

const scratch = mkdtempSync(join(tmpdir(), 'trickle-rt-install-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A package root holding scripts/install.js, the real node_modules and optionally a prebuild. */
function packageCopy(name: string, prebuild?: 'real' | 'broken', modules: 'all' | 'runtime' = 'all'): string {
  const root = join(scratch, name);
  mkdirSync(join(root, 'scripts'), { recursive: true });
  copyFileSync(join(packageRoot, 'scripts', 'install.js'), join(root, 'scripts', 'install.js'));
  copyFileSync(join(packageRoot, 'package.json'), join(root, 'package.json'));
  if (modules === 'all') {
    symlinkSync(join(packageRoot, 'node_modules'), join(root, 'node_modules'));
  } else {
    // What a user's install has: the runtime dependency, not the source-build tools.
    mkdirSync(join(root, 'node_modules'));
    symlinkSync(join(packageRoot, 'node_modules', 'node-gyp-build'), join(root, 'node_modules', 'node-gyp-build'));
  }
  if (prebuild) {
    const dir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
    mkdirSync(dir, { recursive: true });
    if (prebuild === 'real') copyFileSync(loadNativeAddon().path, join(dir, 'trickle-rt.node'));
    else writeFileSync(join(dir, 'trickle-rt.node'), 'not an ELF file');
  }
  return root;
}

/** A PATH holding node only: no cmake, compiler or pkg-config. */
function bareBinDir(): string {
  const dir = join(scratch, 'bare-bin');
  if (!existsSync(dir)) {
    mkdirSync(dir);
    symlinkSync(process.execPath, join(dir, 'node'));
  }
  return dir;
}

function install(root: string, env: NodeJS.ProcessEnv = {}) {
  const base = { ...process.env };
  delete base['TRICKLE_RT_SKIP_INSTALL_BUILD'];
  delete base['CXX'];
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'install.js')], {
    cwd: root,
    env: { ...base, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('scripts/install.js', () => {
  it('uses a matching prebuild, says so in one line and builds nothing', () => {
    const root = packageCopy('with-prebuild', 'real');
    const r = install(root, { PATH: bareBinDir() });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(`trickle-rt: using prebuilds/${process.platform}-${process.arch}/trickle-rt.node; nothing to build.\n`);
    expect(existsSync(join(root, 'build'))).toBe(false);
  });

  it('without a prebuild, lists what a source build needs and fails before building', () => {
    const root = packageCopy('no-prebuild');
    const r = install(root, { PATH: bareBinDir() });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('trickle-rt: this copy of trickle-rt was packed without its prebuilt binary (prebuilds/ is missing).\n');
    // No contradiction: this is the supported platform, so no advice to move to it.
    expect(r.stderr).not.toContain('glibc');
    expect(r.stderr).not.toContain('setup.sh');
    expect(r.stderr).toContain('Then run: npm rebuild trickle-rt');
    expect(r.stderr).toContain('cannot build from source, missing:');
    expect(r.stderr).toContain('cmake >= 3.18');
    expect(r.stderr).toContain('a C++17 compiler');
    expect(r.stderr).toContain('pkg-config (apt: pkg-config)');
    expect(r.stderr).toContain('sudo apt-get install cmake g++ pkg-config libavformat-dev');
    expect(existsSync(join(root, 'build'))).toBe(false);
  });

  it('names the FFmpeg pkg-config modules that are missing when the tools exist', () => {
    const root = packageCopy('no-ffmpeg-dev');
    const emptyPc = join(scratch, 'empty-pkgconfig');
    mkdirSync(emptyPc, { recursive: true });
    // PKG_CONFIG_LIBDIR replaces pkg-config's default search path: no module is found.
    const r = install(root, { PKG_CONFIG_LIBDIR: emptyPc, PKG_CONFIG_PATH: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('pkg-config modules libavformat, libavcodec, libavutil, libswscale, ffnvcodec');
    expect(r.stderr).not.toContain('cmake >= 3.18');
    expect(existsSync(join(root, 'build'))).toBe(false);
  });

  it('falls back to a source build when the prebuild does not load, saying why', () => {
    const root = packageCopy('broken-prebuild', 'broken');
    const r = install(root, { PATH: bareBinDir() });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/the binary prebuilds\/linux-x64\/trickle-rt\.node does not load here: .*(invalid ELF header|file too short)/);
    expect(r.stderr).toContain('cannot build from source, missing:');
  });

  it('names cmake-js and node-addon-api as needed only for a source build, with the npm command', () => {
    const root = packageCopy('no-build-tools', undefined, 'runtime');
    const r = install(root);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('the npm packages cmake-js and node-addon-api, needed only to build from source (npm install --save-dev cmake-js node-addon-api)');
    // The system tools are here: no apt line to confuse the reader.
    if (!/cmake >= 3.18|C\+\+17|pkg-config/.test(r.stderr)) expect(r.stderr).not.toContain('apt-get install');
  });

  it('TRICKLE_RT_SKIP_INSTALL_BUILD=1 skips the source build with a note', () => {
    const root = packageCopy('skip');
    const r = install(root, { PATH: bareBinDir(), TRICKLE_RT_SKIP_INSTALL_BUILD: '1' });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('not building from source (TRICKLE_RT_SKIP_INSTALL_BUILD=1)');
    expect(existsSync(join(root, 'build'))).toBe(false);
  });
});
