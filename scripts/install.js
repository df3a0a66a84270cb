#!/usr/bin/env node
'use strict';
// npm "install" lifecycle script of the published package: use the prebuilt binary when one
// matches this platform; otherwise build from source with cmake-js, saying what that needs.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function prebuildMatches() {
  try {
    require('node-gyp-build').path(root);
    return true;
  } catch {
    return false;
  }
}

if (process.env.TRICKLE_RT_SKIP_INSTALL_BUILD === '1' || prebuildMatches()) {
  process.exit(0);
}

console.error(
  `trickle-rt: no prebuilt binary for ${process.platform}-${process.arch}; building from source.\n` +
    '  This needs cmake >= 3.18, g++ (C++17), pkg-config and the FFmpeg development packages\n' +
    '  (Debian/Ubuntu: apt-get install cmake g++ pkg-config libavformat-dev libavcodec-dev libavutil-dev\n' +
    '   libswscale-dev libffmpeg-nvenc-dev); nvcc on PATH adds the CUDA kernels.',
);
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const result = spawnSync(process.execPath, [cmakeJs, 'compile', '--log-level', 'error'], { cwd: root, stdio: 'inherit' });
if (result.status !== 0) {
  console.error('trickle-rt: the source build failed; see the messages above for the missing piece.');
  process.exit(result.status ?? 1);
}
