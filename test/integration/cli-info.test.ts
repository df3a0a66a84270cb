import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
      cuda: { compiled: boolean; runtimeVersion: number; kernelsUsable: boolean };
      driver: { loaded: boolean; version: number };
      driverFloor?: { needs: string; driverApi: number; thisDriverApi: number; met: boolean; why: string };
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
    // the driver this build's CUDA kernels need, and why, whenever CUDA is compiled in
    if (info.cuda.compiled) {
      const major = Math.floor(info.cuda.runtimeVersion / 1000);
      expect(info.driverFloor).toMatchObject({ driverApi: major * 1000, thisDriverApi: info.driver.version });
      expect(info.driverFloor!.needs).toBe(major >= 13 ? 'R580 (580.65.06 or newer)' : info.driverFloor!.needs);
      expect(info.driverFloor!.why).toContain(`CUDA ${major}.`);
      expect(info.driverFloor!.met).toBe(info.driver.loaded && info.driver.version >= major * 1000);
      if (!info.driverFloor!.met) expect(info.cuda.kernelsUsable).toBe(false);
    } else {
      expect(info.driverFloor).toBeUndefined();
    }
  });

  it('lists commands on help and rejects unknown ones with exit code 2', () => {
    const help = execFileSync(process.execPath, [bin, '--help']).toString();
    expect(help).toContain('info');
    const bad = spawnSync(process.execPath, [bin, 'no-such-command']);
    expect(bad.status).toBe(2);
    expect(bad.stderr.toString()).toContain('unknown command "no-such-command"');
  });

  it('answers each usage mistake with one line and exit code 2, a stack trace only with --debug', () => {
    const bogus = spawnSync(process.execPath, [bin, 'serve', '--bogus']);
    expect([bogus.status, bogus.stderr.toString()]).toEqual([2, 'trickle-rt serve: unknown option --bogus; run "trickle-rt serve --help" for the options\n']);
    const help = spawnSync(process.execPath, [bin, 'serve', '--help']);
    expect([help.status, help.stdout.toString()]).toEqual([0, expect.stringMatching(/^Usage: trickle-rt serve --processor MODULE \[options\]/)]);
    const debug = spawnSync(process.execPath, [bin, 'publish', '--url', 'http://127.0.0.1:9/x', 'missing.ts', '--debug']);
    const lines = debug.stderr.toString().split('\n');
    expect(debug.status).toBe(1);
    expect(lines[0]).toBe('trickle-rt publish: missing.ts: no such file or directory; check the path');
    expect(lines.slice(1).join('\n')).toMatch(/ENOENT[\s\S]*\n\s+at /);
  });

  it('says so in one line when the port is taken', async () => {
    const { createServer } = await import('node:net');
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const port = (holder.address() as { port: number }).port;
    try {
      const r = spawnSync(process.execPath, [bin, 'trickle-server', '--port', String(port), '--host', '127.0.0.1'], { timeout: 20_000 });
      expect([r.status, r.stderr.toString()]).toEqual([
        1,
        `trickle-rt trickle-server: 127.0.0.1:${port} is already in use; choose another port with --port (0 picks a free one) or stop the process using it\n`,
      ]);
    } finally {
      holder.close();
    }
  });

  it('without a loadable addon: `info` reports a degraded install, `demo` and `serve` fail in one line', () => {
    // The package as installed, minus its binary: bin/, dist/, package.json and the dependencies.
    const root = mkdtempSync(join(tmpdir(), 'trickle-rt-degraded-'));
    try {
      for (const part of ['bin', 'dist', 'package.json']) cpSync(join(packageRoot, part), join(root, part), { recursive: true });
      symlinkSync(join(packageRoot, 'node_modules'), join(root, 'node_modules'));
      const env = { ...process.env, TRICKLE_RT_ADDON: '' };
      const info = spawnSync(process.execPath, [join(root, 'bin', 'trickle-rt.js'), 'info'], { env });
      expect(info.status).toBe(0);
      const report = JSON.parse(info.stdout.toString()) as { status: string; addon: null; works: string[]; doesNotWork: string[]; loadAttempts: Array<{ remedy: string }> };
      expect(report.status).toBe('degraded');
      expect(report.addon).toBeNull();
      expect(report.works.join(' ')).toContain('TrickleServer');
      expect(report.doesNotWork.join(' ')).toContain('Decoder');
      expect(report.loadAttempts.map((a) => a.remedy).join(' ')).toContain('npm rebuild trickle-rt');
      expect(info.stderr.toString()).toMatch(/^trickle-rt info: degraded install: the native addon does not load \(.*npm rebuild trickle-rt.*\); the trickle protocol parts work\n$/);
      for (const args of [['demo'], ['serve', '--processor', join(packageRoot, 'examples', 'passthrough.ts'), '--port', '0']]) {
        const r = spawnSync(process.execPath, [join(root, 'bin', 'trickle-rt.js'), ...args], { env, timeout: 20_000 });
        expect(r.status, args[0]).toBe(1);
        expect(r.stderr.toString()).toMatch(new RegExp(`^trickle-rt ${args[0]}: the native addon does not load here: .*npm rebuild trickle-rt.*; "trickle-rt info" shows every attempt\\n$`));
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
