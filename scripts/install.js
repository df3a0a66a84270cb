#!/usr/bin/env node
'use strict';
// npm "install" lifecycle script of the published package (node-gyp-build-test || build from
// source): when a binary for this platform exists (prebuilds/<platform>-<arch>/, or an earlier
// build/Release) and loads, nothing happens. Otherwise it builds from source with cmake-js, after
// checking the tools and libraries that needs and listing whatever is missing.
//
//   TRICKLE_RT_SKIP_INSTALL_BUILD=1   never build (e.g. a package manager that builds elsewhere)
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const platform = `${process.platform}-${process.arch}`;
const APT = 'cmake g++ pkg-config libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libffmpeg-nvenc-dev';
const PKG_CONFIG_MODULES = ['libavformat', 'libavcodec', 'libavutil', 'libswscale', 'ffnvcodec'];

function say(line) {
  console.error(`trickle-rt: ${line}`);
}

const SUPPORTED = 'linux-x64';
const MIN_GLIBC = '2.35';

function glibcVersion() {
  try {
    return process.report.getReport().header.glibcVersionRuntime || null;
  } catch {
    return null;
  }
}

/** The binary node-gyp-build would load, when one exists and loads here; otherwise what exactly is wrong. */
function usableBinary() {
  let file;
  try {
    file = require('node-gyp-build').path(root);
  } catch {
    if (platform !== SUPPORTED) {
      return { ok: false, reason: `trickle-rt has a prebuilt binary for ${SUPPORTED} only, and this machine is ${platform}` };
    }
    const hasAny = require('node:fs').existsSync(path.join(root, 'prebuilds'));
    return {
      ok: false,
      reason: hasAny
        ? `this copy of trickle-rt has no prebuilt binary for ${platform}`
        : 'this copy of trickle-rt was packed without its prebuilt binary (prebuilds/ is missing)',
    };
  }
  try {
    require(file);
    return { ok: true, file };
  } catch (err) {
    const message = String((err && err.message) || err).split('\n')[0];
    const rel = path.relative(root, file);
    if (/GLIBC_|GLIBCXX_|CXXABI_/.test(message)) {
      const have = glibcVersion();
      return { ok: false, reason: `the prebuilt binary ${rel} needs glibc >= ${MIN_GLIBC} and libstdc++ of GCC 12 or later; this system has glibc ${have || 'of an unknown version'} (${message})` };
    }
    return { ok: false, reason: `the binary ${rel} does not load here: ${message}` };
  }
}

function works(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return r.status === 0 ? r.stdout : null;
}

/** Everything a source build needs that is missing, each with what provides it. */
function missingPrerequisites() {
  const missing = [];
  const cmake = works('cmake', ['--version']);
  const m = cmake && /cmake version (\d+)\.(\d+)/.exec(cmake);
  if (!m) missing.push('cmake >= 3.18 (apt: cmake)');
  else if (Number(m[1]) < 3 || (Number(m[1]) === 3 && Number(m[2]) < 18)) missing.push(`cmake >= 3.18 (found ${m[1]}.${m[2]})`);
  const cxx = process.env.CXX || 'c++';
  if (works(cxx, ['--version']) === null && works('g++', ['--version']) === null) missing.push('a C++17 compiler (apt: g++)');
  if (works('pkg-config', ['--version']) === null) {
    missing.push('pkg-config (apt: pkg-config)');
    missing.push(`the FFmpeg development files: ${PKG_CONFIG_MODULES.join(', ')} (apt: libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libffmpeg-nvenc-dev)`);
  } else {
    const absent = PKG_CONFIG_MODULES.filter((mod) => works('pkg-config', ['--exists', mod]) === null);
    if (absent.length > 0) missing.push(`pkg-config modules ${absent.join(', ')} (apt: libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libffmpeg-nvenc-dev)`);
  }
  const npmPackages = ['cmake-js', 'node-addon-api'].filter((name) => {
    try {
      require.resolve(`${name}/package.json`, { paths: [root] });
      return false;
    } catch {
      return true;
    }
  });
  if (npmPackages.length > 0) {
    missing.push(`the npm packages ${npmPackages.join(' and ')}, needed only to build from source (npm install --save-dev ${npmPackages.join(' ')})`);
  }
  return missing;
}

function main() {
  const binary = usableBinary();
  if (binary.ok) {
    // npm shows this only with --foreground-scripts (or when something fails).
    say(`using ${path.relative(root, binary.file)}; nothing to build.`);
    return 0;
  }
  if (process.env.TRICKLE_RT_SKIP_INSTALL_BUILD === '1') {
    say(`${binary.reason}; not building from source (TRICKLE_RT_SKIP_INSTALL_BUILD=1).`);
    return 0;
  }
  say(`${binary.reason}.`);
  say('building the native addon from source instead (cmake-js; a few minutes).');
  const missing = missingPrerequisites();
  if (missing.length > 0) {
    say('cannot build from source, missing:');
    for (const item of missing) console.error(`  - ${item}`);
    const elsewhere =
      platform !== SUPPORTED
        ? `  Or install on ${SUPPORTED} with glibc >= ${MIN_GLIBC}, where the prebuilt binary needs none of this.\n`
        : '';
    const systemMissing = missing.some((item) => !item.startsWith('the npm packages'));
    console.error(
      (systemMissing ? `  Debian/Ubuntu: sudo apt-get install ${APT}\n` : '') +
        '  nvcc (CUDA 13) on PATH adds the CUDA kernels; without it the addon builds without them.\n' +
        '  Then run: npm rebuild trickle-rt\n' +
        elsewhere +
        '  To install without the native addon (the trickle protocol parts only): TRICKLE_RT_SKIP_INSTALL_BUILD=1 npm install trickle-rt',
    );
    return 1;
  }
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
  const result = spawnSync(process.execPath, [cmakeJs, 'compile', '--log-level', 'error'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    say('the source build failed; see the compiler messages above, fix what they name, then run: npm rebuild trickle-rt');
    return result.status ?? 1;
  }
  say('built build/Release/trickle_rt.node from source.');
  return 0;
}

process.exitCode = main();
