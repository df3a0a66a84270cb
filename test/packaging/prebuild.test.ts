/**
 * The self-contained binary of the npm package: built with `npm run prebuilds` against the
 * static FFmpeg of scripts/build-ffmpeg.sh, then checked as a file (ELF dynamic section, glibc
 * symbol versions, CUDA code objects) and as a package (`npm pack`, install into an empty project,
 * run from there). Slow on the first run (FFmpeg build, cached under .deps/); see docs/binaries.md.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { packageRoot } from '../../src/native/addon';
import { fixturePath, FIXTURES, PATTERN_BLOCK, PATTERN_ROW } from '../helpers/fixtures';
import { compareVersions, maxVersion, readCudaFatbin, readElf } from './elf';
import {
  cleanEnv,
  describeFailure,
  ensurePrebuild,
  PREBUILD_PATH,
  PREBUILD_TIMEOUT_MS,
  RELEASE_PTX_ARCHS,
  RELEASE_SASS_ARCHS,
  run,
  skipPackaging,
} from './prebuild-helpers';

/** The only shared objects a prebuilt binary may need: glibc's libc/libm/loader, libstdc++, libgcc_s. */
const ALLOWED_NEEDED = /^(libc\.so\.6|libm\.so\.6|libstdc\+\+\.so\.6|libgcc_s\.so\.1|ld-linux-x86-64\.so\.2)$/;
/** The glibc the prebuild is documented to need (README "Platforms and binaries"). */
const DOCUMENTED_GLIBC = '2.35';
/** libstdc++ of GCC 12 (Debian 12, Ubuntu 22.04 and later). */
const DOCUMENTED_GLIBCXX = '3.4.30';
/** Shared objects that must never be loaded with the prebuild: everything is linked in statically. */
const FORBIDDEN_LOADED = /\/lib(avcodec|avformat|avutil|swscale|swresample|avfilter|avdevice|postproc|x264|x265|opus|cudart|nvinfer)[^/]*\.so/;

describe.skipIf(skipPackaging)('prebuilt binary (npm run prebuilds)', () => {
  beforeAll(async () => {
    const { seconds } = await ensurePrebuild();
    console.log(`packaging: npm run prebuilds took ${seconds.toFixed(0)} s (static FFmpeg cached under .deps/)`);
  }, PREBUILD_TIMEOUT_MS);

  it('needs only libc, libm, libstdc++, libgcc_s and the loader, glibc <= 2.35, GLIBCXX <= 3.4.30', () => {
    const elf = readElf(PREBUILD_PATH);
    console.log(
      `packaging: NEEDED ${elf.needed.join(' ')}; max GLIBC_${maxVersion(elf, 'GLIBC_')}, ` +
        `GLIBCXX_${maxVersion(elf, 'GLIBCXX_')}, CXXABI_${maxVersion(elf, 'CXXABI_')}, GCC_${maxVersion(elf, 'GCC_')}`,
    );
    expect(elf.needed.filter((n) => !ALLOWED_NEEDED.test(n))).toEqual([]);
    expect(elf.needed).toContain('libc.so.6');
    expect(elf.rpath).toEqual([]);
    const glibc = maxVersion(elf, 'GLIBC_');
    expect(glibc).toBeDefined();
    expect(compareVersions(glibc ?? '0', DOCUMENTED_GLIBC)).toBeLessThanOrEqual(0);
    expect(compareVersions(maxVersion(elf, 'GLIBCXX_') ?? '0', DOCUMENTED_GLIBCXX)).toBeLessThanOrEqual(0);
  });

  it('exports the Node-API entry points and no FFmpeg, x264, opus or CUDA symbol', () => {
    const { exported } = readElf(PREBUILD_PATH);
    expect(exported).toContain('napi_register_module_v1');
    expect(exported.filter((s) => /^(av|avio|avcodec|avformat|sws|swr|x264|opus|cu|cuda|ff|nv)[_A-Z]/.test(s))).toEqual([]);
  });

  it('is stripped and carries SASS for every release CUDA architecture plus PTX', () => {
    const elf = readElf(PREBUILD_PATH);
    expect(elf.sections).not.toContain('.symtab');
    expect(elf.sections).not.toContain('.debug_info');
    const fatbin = readCudaFatbin(PREBUILD_PATH, elf);
    const sass = [...new Set(fatbin.filter((e) => e.kind === 'sass').map((e) => e.arch))].sort((a, b) => a - b);
    const ptx = [...new Set(fatbin.filter((e) => e.kind === 'ptx').map((e) => e.arch))].sort((a, b) => a - b);
    expect(sass).toEqual(RELEASE_SASS_ARCHS);
    expect(ptx).toEqual(RELEASE_PTX_ARCHS);
  });

  it('reports a static FFmpeg with the codecs trickle-rt uses, and the CUDA kernels', async () => {
    const script = `const c = require(${JSON.stringify(PREBUILD_PATH)}).capabilities(); console.log(JSON.stringify(c));`;
    const r = await run(process.execPath, ['-e', script], { env: cleanEnv() });
    expect(r.code, describeFailure('loading the prebuild', r)).toBe(0);
    const caps = JSON.parse(r.stdout) as {
      ffmpeg: { linkage: string; license: string; encoders: Record<string, boolean>; decoders: Record<string, boolean> };
      cuda: { compiled: boolean; architectures?: string };
    };
    expect(caps.ffmpeg.linkage).toBe('static');
    // TRICKLE_X264=0 selects the LGPL build without libx264 (docs/binaries.md).
    const withX264 = process.env['TRICKLE_X264'] !== '0';
    expect(caps.ffmpeg.license).toMatch(withX264 ? /^GPL version 2 or later/ : /^LGPL version 2\.1 or later/);
    expect(caps.ffmpeg.encoders).toEqual({ libx264: withX264, h264_nvenc: true, aac: true, libopus: true });
    expect(caps.ffmpeg.decoders).toEqual({ h264: true, hevc: true, aac: true, opus: true });
    expect(caps.cuda.compiled).toBe(true);
    expect(caps.cuda.architectures).toBe('75-real,80-real,86-real,89-real,90-real,100-real,120');
  });

  describe('installed from the npm tarball into an empty project', () => {
    let scratch = '';
    let app = '';
    let installed = '';
    let installOutput = '';

    beforeAll(async () => {
      await ensurePrebuild();
      scratch = mkdtempSync(join(tmpdir(), 'trickle-rt-pack-'));
      // dist/ was compiled by the global setup; --ignore-scripts keeps prepack from rewriting it
      // under the other test files' feet.
      const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], {
        env: cleanEnv(),
      });
      expect(pack.code, describeFailure('npm pack', pack)).toBe(0);
      const [meta] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as Array<{
        filename: string;
        size: number;
        unpackedSize: number;
        files: Array<{ path: string }>;
      }>;
      if (!meta) throw new Error('npm pack printed no package');
      const files = meta.files.map((f) => f.path);
      expect(files).toContain('prebuilds/linux-x64/trickle-rt.node');
      expect(files).toContain('dist/index.js');
      expect(files).toContain('scripts/install.js');
      expect(files.filter((f) => /^(test|build|build-prebuild|\.deps|node_modules)\//.test(f))).toEqual([]);
      // the bench is its own package in a checkout, never shipped
      expect(files.filter((f) => /(^|\/)bench(\/|$)/.test(f))).toEqual([]);
      console.log(
        `packaging: tarball ${meta.filename} ${(meta.size / 1048576).toFixed(1)} MiB ` +
          `(${(meta.unpackedSize / 1048576).toFixed(1)} MiB unpacked, ${files.length} files)`,
      );

      app = join(scratch, 'app');
      mkdirSync(app);
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
      // Dependencies come from the local npm cache when it has them (offline-safe after npm ci);
      // the package's own install script runs, as it would for a user.
      const install = await run(
        'npm',
        ['install', join(scratch, meta.filename), '--prefer-offline', '--foreground-scripts', '--no-audit', '--no-fund', '--loglevel=error'],
        { cwd: app, env: cleanEnv(), timeoutMs: 10 * 60_000 },
      );
      expect(install.code, describeFailure('npm install <tarball>', install)).toBe(0);
      installed = join(app, 'node_modules', 'trickle-rt');
      installOutput = install.stdout + install.stderr;
    }, PREBUILD_TIMEOUT_MS);

    afterAll(() => {
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    });

    it('used the prebuild: the install script ran and compiled nothing', () => {
      expect(installOutput).toContain('trickle-rt: using prebuilds/linux-x64/trickle-rt.node; nothing to build.');
      expect(existsSync(join(installed, 'prebuilds', 'linux-x64', 'trickle-rt.node'))).toBe(true);
      expect(existsSync(join(installed, 'build'))).toBe(false);
    });

    it('`trickle-rt info` runs from the installed package', async () => {
      const r = await run(join(app, 'node_modules', '.bin', 'trickle-rt'), ['info'], { cwd: app, env: cleanEnv() });
      expect(r.code, describeFailure('trickle-rt info', r)).toBe(0);
      const info = JSON.parse(r.stdout) as { version: string; ffmpeg: { linkage: string }; cuda: { compiled: boolean } };
      const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string };
      expect(info.version).toBe(pkg.version);
      expect(info.ffmpeg.linkage).toBe('static');
      expect(info.cuda.compiled).toBe(true);
    });

    // The LGPL build (TRICKLE_X264=0) has no software H.264 encoder to round-trip with.
    it.skipIf(process.env['TRICKLE_X264'] === '0')('round-trips decode -> x264 + Opus encode -> decode from there, with the static codecs', async () => {
      // The pattern fixture carries its frame index in the pixels (test/helpers/fixtures.ts).
      const fixture = FIXTURES.pattern;
      const script = `
        const fs = require('node:fs');
        const { Decoder, Encoder, capabilities } = require(process.argv[2] || 'trickle-rt');
        const PATTERN_ROW = ${PATTERN_ROW}, PATTERN_BLOCK = ${PATTERN_BLOCK};
        function patternIndex(luma, stride, width, height) {
          const y = Math.floor(PATTERN_ROW * height / 192);
          let v = 0;
          for (let b = 0; b < 8; b++) {
            const x = Math.floor((b * PATTERN_BLOCK + PATTERN_BLOCK / 2) * width / 320);
            if ((luma[y * stride + x] ?? 0) > 125) v |= 1 << b;
          }
          return v;
        }
        async function main() {
          const decoder = Decoder.from(${JSON.stringify(fixturePath('pattern'))}, { device: 'cpu', audio: 'frames' });
          const encoder = new Encoder({ encoder: 'libx264', audio: 'opus', gopSeconds: 1 });
          const feeding = (async () => {
            for await (const item of decoder.frames()) {
              if (item.type === 'video') await encoder.encode(item.frame);
              else if (item.type === 'audio') await encoder.encodeAudio(item.frame);
              if (item.frame) item.frame.close();
            }
            encoder.end();
          })();
          const parts = [];
          let segments = 0;
          for await (const segment of encoder.segments()) {
            segments++;
            for await (const chunk of segment.chunks()) parts.push(chunk);
          }
          await feeding;
          const indices = [];
          let audioSamples = 0, sampleRate = 0;
          for await (const item of Decoder.from(Buffer.concat(parts), { device: 'cpu', audio: 'frames' }).frames()) {
            if (item.type === 'video') {
              const [y] = item.frame.planes();
              indices.push(patternIndex(y.data, y.stride, y.width, y.height));
            } else if (item.type === 'audio') {
              audioSamples += item.frame.samples;
              sampleRate = item.frame.sampleRate;
            }
            if (item.frame) item.frame.close();
          }
          const maps = fs.readFileSync('/proc/self/maps', 'utf8');
          const objects = [...new Set(maps.split('\\n').map((l) => l.trim().split(/\\s+/)[5]).filter((p) => p && p.startsWith('/')))];
          console.log(JSON.stringify({ segments, bytes: Buffer.concat(parts).length, indices, audioSamples, sampleRate,
            linkage: capabilities().ffmpeg.linkage, objects }));
        }
        main().catch((err) => { console.error(err); process.exit(1); });`;
      writeFileSync(join(app, 'roundtrip.js'), script);
      type Result = { segments: number; bytes: number; indices: number[]; audioSamples: number; sampleRate: number; linkage: string; objects: string[] };
      const r = await run(process.execPath, ['roundtrip.js'], { cwd: app, env: cleanEnv() });
      expect(r.code, describeFailure('round trip from the installed package', r)).toBe(0);
      const out = JSON.parse(r.stdout) as Result;
      expect(out.linkage).toBe('static');
      expect(out.objects.filter((o) => FORBIDDEN_LOADED.test(o))).toEqual([]);
      expect(out.objects.filter((o) => o.endsWith('.node'))).toEqual([join(installed, 'prebuilds', 'linux-x64', 'trickle-rt.node')]);
      expect(out.indices).toEqual([...Array(fixture.frames).keys()]);
      // a short first segment (the first audio arrives after the first video frames, so a segment
      // declaring it starts at once: docs/media.md), then a keyframe and segment every second
      expect(out.segments).toBe(4);
      expect(out.sampleRate).toBe(48000);
      expect(out.audioSamples).toBeGreaterThan(0);
      // The same round trip through the development build (system FFmpeg) gives the same media.
      const dev = await run(process.execPath, ['roundtrip.js', join(packageRoot, 'dist', 'index.js')], { cwd: app, env: cleanEnv() });
      expect(dev.code, describeFailure('round trip with the development build', dev)).toBe(0);
      const devOut = JSON.parse(dev.stdout) as Result;
      expect(devOut.linkage).toBe('shared');
      expect(devOut.objects.some((o) => /\/libavcodec\.so/.test(o))).toBe(true); // the check above can fail
      expect({ ...out, linkage: 'x', bytes: 0, objects: [] }).toEqual({ ...devOut, linkage: 'x', bytes: 0, objects: [] });
    });

    it('decodes a clip from there, loading no system FFmpeg, x264 or CUDA runtime', async () => {
      const fixture = FIXTURES.testsrc512;
      const script = `
        const fs = require('node:fs');
        const { summarizeVideo } = require('trickle-rt');
        summarizeVideo(fs.readFileSync(${JSON.stringify(fixturePath('testsrc512'))})).then((summary) => {
          const maps = fs.readFileSync('/proc/self/maps', 'utf8');
          const objects = [...new Set(maps.split('\\n').map((l) => l.trim().split(/\\s+/)[5]).filter((p) => p && p.startsWith('/')))];
          console.log(JSON.stringify({ summary, objects }));
        }, (err) => { console.error(err); process.exit(1); });`;
      const r = await run(process.execPath, ['-e', script], { cwd: app, env: cleanEnv() });
      expect(r.code, describeFailure('decode from the installed package', r)).toBe(0);
      const { summary, objects } = JSON.parse(r.stdout) as {
        summary: { frames: number; width: number; height: number; decodeErrors: number };
        objects: string[];
      };
      expect(summary).toMatchObject({ frames: fixture.frames, width: fixture.width, height: fixture.height, decodeErrors: 0 });
      expect(objects).toContain(join(installed, 'prebuilds', 'linux-x64', 'trickle-rt.node'));
      expect(objects.filter((o) => o.endsWith('.node'))).toEqual([join(installed, 'prebuilds', 'linux-x64', 'trickle-rt.node')]);
      expect(objects.filter((o) => FORBIDDEN_LOADED.test(o))).toEqual([]);
    });
  });
});
