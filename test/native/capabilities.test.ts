import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { capabilities, gpuInventory } from '../../src/native/capabilities';
import { packageRoot } from '../../src/native/addon';
import { gpuAvailable } from '../helpers/gpu';

function pkgConfigVersion(lib: string): string | null {
  try {
    return execFileSync('pkg-config', ['--modversion', lib]).toString().trim();
  } catch {
    return null;
  }
}

function commandExists(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
}

describe('capabilities()', () => {
  const caps = capabilities();

  it('reports the package and Node versions', () => {
    const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string };
    expect(caps.version).toBe(pkg.version);
    expect(caps.node).toBe(process.version);
  });

  it('reports the FFmpeg library versions the addon runs with', () => {
    for (const lib of ['libavformat', 'libavcodec', 'libavutil', 'libswscale'] as const) {
      expect(caps.ffmpeg[lib]).toMatch(/^\d+\.\d+\.\d+$/);
      // with the system FFmpeg, the versions are the ones pkg-config reports for the -dev packages
      const expected = caps.ffmpeg.linkage === 'shared' ? pkgConfigVersion(lib) : null;
      if (expected) expect(caps.ffmpeg[lib]).toBe(expected);
    }
    expect(caps.ffmpeg.decoders.h264).toBe(true);
    expect(caps.ffmpeg.encoders.libx264).toBe(true);
  });

  it('says whether CUDA kernels were compiled in, matching the build environment', () => {
    const expectCuda = process.env['TRICKLE_CUDA'] !== 'OFF' && commandExists('nvcc');
    expect(caps.cuda.compiled).toBe(expectCuda);
    if (caps.cuda.compiled) {
      expect(caps.cuda.runtimeVersion).toBeGreaterThanOrEqual(13000);
      expect(caps.cuda.architectures).toMatch(/\d/);
    } else {
      expect(caps.cuda.status).toBe('built without CUDA');
    }
  });

  it('reports "no device" with reasons, not errors, where there is no GPU', () => {
    if (gpuAvailable()) {
      expect(caps.devices.length).toBeGreaterThan(0);
      for (const d of caps.devices) expect(d.name.length).toBeGreaterThan(0);
      return;
    }
    expect(caps.devices).toEqual([]);
    expect(caps.nvdec.available).toBe(false);
    expect(caps.nvdec.reason).toMatch(/\w/);
    expect(caps.nvenc.available).toBe(false);
    expect(caps.nvenc.reason).toMatch(/\w/);
    if (!caps.driver.loaded) expect(caps.driver.reason).toMatch(/libcuda\.so\.1/);
    if (caps.cuda.compiled) expect(caps.cuda.status).toMatch(/^no CUDA device/);
  });

  it('reports TensorRT with the reason it is unavailable', () => {
    expect(typeof caps.tensorrt.compiled).toBe('boolean');
    if (!caps.tensorrt.available) expect(caps.tensorrt.reason).toMatch(/\w/);
  });
});

describe('gpuInventory: the device list without the NVDEC/NVENC probes', () => {
  it('is capabilities() minus FFmpeg and the per-device NVDEC/NVENC fields', () => {
    const caps = capabilities();
    const inv = gpuInventory();
    expect(Object.keys(inv).sort()).toEqual(['cuda', 'devices', 'driver', 'tensorrt']);
    expect(inv.cuda).toEqual(caps.cuda);
    expect(inv.driver).toEqual(caps.driver);
    expect(inv.tensorrt).toEqual(caps.tensorrt);
    expect(inv.devices).toEqual(caps.devices.map(({ nvdec: _d, nvenc: _e, ...rest }) => rest));
  });
});
