/**
 * process.exit() while a decoder and an encoder are running: trickle-rt's exit hook (registered
 * when the addon loads) cancels and joins their native threads before the process tears down, so no
 * thread is left inside FFmpeg (on a GPU: inside NVDEC/NVENC) while exit() unloads the CUDA runtime.
 * The script's own exit listener, registered after the addon loaded, runs after trickle-rt's and
 * sees no live pipeline. test/gpu/first-run.test.ts runs the same with NVDEC and NVENC.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { fixturePath } from '../helpers/fixtures';

const root = resolve(__dirname, '..', '..');

describe('process.exit() mid-stream', () => {
  it('stops and joins every running decoder and encoder first', () => {
    const script = `
      const rt = require('./dist/index.js');
      const { native } = require('./dist/native/addon.js');
      (async () => {
        const d = rt.Decoder.from(${JSON.stringify(fixturePath('testsrc512'))}, { device: 'cpu', audio: 'none' });
        const e = new rt.Encoder({ encoder: 'libx264', audio: 'none' });
        (async () => { for await (const c of e.chunks()) void c; })();
        let n = 0;
        for await (const it of d.frames()) {
          if (it.type !== 'video') continue;
          await e.encode(it.frame); it.frame.close();
          if (++n === 5) {
            const before = native().pipelineCount();
            process.on('exit', () => { process.stdout.write(JSON.stringify({ before, atExit: native().pipelineCount() }) + '\\n'); });
            process.exit(0);
          }
        }
      })();`;
    const r = spawnSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toEqual({ before: 2, atExit: 0 });
  });
});
