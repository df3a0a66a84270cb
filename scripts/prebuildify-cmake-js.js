#!/usr/bin/env node
'use strict';
// Builds prebuilds/linux-x64/trickle-rt.node: the self-contained binary of the npm package (static
// minimal FFmpeg + x264 + libopus from scripts/build-ffmpeg.sh, static CUDA runtime, every CUDA
// architecture of the release list, stripped). See docs/binaries.md.
//
// This one file plays two roles:
//   node scripts/prebuildify-cmake-js.js      (npm run prebuilds) the driver: builds the static
//       FFmpeg if its stamp is stale, then runs prebuildify with this file as its "node-gyp".
//   <this file> rebuild --target=.. --arch=.. --release   (spawned by prebuildify) the shim:
//       prebuildify has no cmake-js backend; it only spawns "node-gyp rebuild" and then takes the
//       .node from <cwd>/build/Release. The shim runs cmake-js instead, in its own build folder
//       (build-prebuild/cmake, incremental), and hands the result to prebuildify there.
//
// The build folder is separate from the development build (build/), which stays untouched: the dev
// loop keeps linking the system FFmpeg while the prebuild links the static one.
//
// Environment: TRICKLE_X264=0 (LGPL build without libx264), TRICKLE_FFMPEG_PREFIX (use this static
// FFmpeg prefix instead of building one), CMAKE_CUDA_ARCHITECTURES (default: the release list),
// TRICKLE_CUDA (default ON: a prebuild without the CUDA kernels is an error unless set to OFF),
// TRICKLE_PREBUILD_CLEAN=1 (configure and compile from scratch), JOBS (default: cores).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const buildRoot = path.join(root, 'build-prebuild');
const stage = path.join(buildRoot, 'stage'); // prebuildify's --cwd: it reads <stage>/build/Release
const cmakeBuild = path.join(buildRoot, 'cmake');
/** Release CUDA architectures (T4/RTX 20 up to B200 and RTX 50): SASS for each, plus compute_120 PTX for newer GPUs. */
const RELEASE_CUDA_ARCHITECTURES = '75-real;80-real;86-real;89-real;90-real;100-real;120';

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    console.error(`prebuildify-cmake-js: ${path.basename(cmd)} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
  return r;
}

function ffmpegPrefix() {
  const script = path.join(root, 'scripts', 'build-ffmpeg.sh');
  if (!process.env.TRICKLE_FFMPEG_PREFIX || !fs.existsSync(path.join(process.env.TRICKLE_FFMPEG_PREFIX, 'lib', 'libavcodec.a'))) {
    run('bash', [script]);
  }
  const r = spawnSync('bash', [script, '--print-prefix'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build-ffmpeg.sh --print-prefix failed: ${r.stderr}`);
  return r.stdout.trim();
}

function driver(extraArgs) {
  const prefix = ffmpegPrefix();
  fs.mkdirSync(stage, { recursive: true });
  const prebuildifyBin = require.resolve('prebuildify/bin.js', { paths: [root] });
  const started = Date.now();
  run(process.execPath, [
    prebuildifyBin,
    '--napi',
    '--strip',
    '--name', 'trickle-rt',
    '--cwd', stage,
    '--out', root,
    '--node-gyp', __filename,
    ...extraArgs,
  ], { env: { ...process.env, TRICKLE_FFMPEG_PREFIX: prefix } });
  const out = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'trickle-rt.node');
  const size = fs.statSync(out).size;
  console.error(`prebuildify-cmake-js: ${path.relative(root, out)} (${(size / 1048576).toFixed(1)} MiB, ${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

function shim(args) {
  const archArg = args.find((a) => a.startsWith('--arch='));
  const arch = archArg ? archArg.slice('--arch='.length) : process.arch;
  const prefix = process.env.TRICKLE_FFMPEG_PREFIX;
  if (!prefix) throw new Error('prebuildify-cmake-js: TRICKLE_FFMPEG_PREFIX is not set (run it through npm run prebuilds)');
  const cudaArchs = process.env.CMAKE_CUDA_ARCHITECTURES || RELEASE_CUDA_ARCHITECTURES;
  const cuda = process.env.TRICKLE_CUDA || 'ON';
  const jobs = process.env.JOBS || String(os.availableParallelism ? os.availableParallelism() : os.cpus().length);
  const defines = [
    `--CDTRICKLE_FFMPEG_PREFIX=${prefix}`,
    `--CDTRICKLE_CUDA=${cuda}`,
    `--CDCMAKE_CUDA_ARCHITECTURES=${cudaArchs}`,
    // TensorRT support is compiled in only when its headers are given (the runtime is dlopen'ed).
    `--CDTRICKLE_TENSORRT_ROOT=${process.env.TRICKLE_TENSORRT_ROOT || ''}`,
    '--CDTRICKLE_SANITIZE=OFF',
  ];
  // cmake-js compile reuses an existing configuration and ignores changed --CD values, so a build
  // folder configured with other values (another FFmpeg prefix, other architectures) starts over.
  const argsFile = path.join(cmakeBuild, '.trickle-prebuild-args');
  const wanted = JSON.stringify({ arch, defines });
  let previous = '';
  try {
    previous = fs.readFileSync(argsFile, 'utf8');
  } catch {
    // not configured yet
  }
  if (process.env.TRICKLE_PREBUILD_CLEAN === '1' || previous !== wanted) fs.rmSync(cmakeBuild, { recursive: true, force: true });
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
  run(process.execPath, [
    cmakeJs, 'compile',
    '--directory', root,
    '--out', cmakeBuild,
    '--arch', arch,
    '--config', 'Release',
    '--parallel', jobs,
    '--log-level', 'error',
    ...defines,
  ]);
  fs.writeFileSync(argsFile, wanted);
  const built = path.join(cmakeBuild, 'Release', 'trickle_rt.node');
  const dest = path.join(process.cwd(), 'build', 'Release');
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  fs.copyFileSync(built, path.join(dest, 'trickle_rt.node'));
}

const argv = process.argv.slice(2);
if (argv[0] === 'rebuild' || argv[0] === 'build') {
  shim(argv.slice(1));
} else {
  driver(argv);
}
