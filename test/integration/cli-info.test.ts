import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { packageRoot } from '../../src/native/addon';

const bin = join(packageRoot, 'bin', 'trickle-rt.js');

describe('trickle-rt CLI', () => {
  it('`info` prints valid JSON with versions and GPU state', () => {
    const out = execFileSync(process.execPath, [bin, 'info']).toString();
    const info = JSON.parse(out) as {
      version: string;
      node: string;
      ffmpeg: { libavcodec: string };
      cuda: { compiled: boolean };
      devices: unknown[];
      nvdec: { available: boolean };
      nvenc: { available: boolean };
      tensorrt: { compiled: boolean; available: boolean };
    };
    const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string };
    expect(info.version).toBe(pkg.version);
    expect(info.node).toBe(process.version);
    expect(info.ffmpeg.libavcodec).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Array.isArray(info.devices)).toBe(true);
    expect(typeof info.nvdec.available).toBe('boolean');
    expect(typeof info.tensorrt.available).toBe('boolean');
  });

  it('lists commands on help and rejects unknown ones with exit code 2', () => {
    const help = execFileSync(process.execPath, [bin, '--help']).toString();
    expect(help).toContain('info');
    const bad = spawnSync(process.execPath, [bin, 'no-such-command']);
    expect(bad.status).toBe(2);
    expect(bad.stderr.toString()).toContain('unknown command "no-such-command"');
  });
});
