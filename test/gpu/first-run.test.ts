/**
 * First-run probes of the GPU path (issue 16). Each one confirms on a GPU a fix whose decision is
 * unit-tested without one (test/native/gpu-policy.test.ts):
 * - the CUDA primary context has one owner: the CUDA runtime touching the device first (the order
 *   of an engine loaded before any stream) leaves NVDEC usable;
 * - NVDEC stays within its 32 surfaces on a deep-DPB stream at the worker's pool size of 24 while
 *   JavaScript holds frames;
 * - 1080p NVDEC -> toTensor equals CPU decode -> toTensor byte for byte (also full range);
 * - NVENC encodes with every pool slot held and holds nothing once done (delay 0);
 * - process.exit() mid-stream with NVDEC and NVENC threads running exits cleanly.
 * Skipped without a GPU; failing under REQUIRE_GPU=1 (test/helpers/gpu.ts).
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { Decoder, Encoder, VideoFrame, capabilities } from '../../src/index';
import { fixturePath } from '../helpers/fixtures';
import { shouldRunGpuTests } from '../helpers/gpu';

const gpu = shouldRunGpuTests();
const root = resolve(__dirname, '..', '..');

/** Runs `script` in a fresh node process at the package root (dist/ and the addon of this run). */
function child(script: string): { status: number | null; signal: string | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8', timeout: 120_000, env: process.env });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

async function tensorsOf(path: string, device: 'cpu' | 'cuda:0', max = 30): Promise<{ bytes: Uint8Array[]; hardware: boolean }> {
  const decoder = Decoder.from(path, { device, audio: 'none' });
  const bytes: Uint8Array[] = [];
  for await (const item of decoder.frames()) {
    if (item.type !== 'video') continue;
    using f = item.frame;
    if (bytes.length >= max) continue;
    expect(f.location).toBe(device === 'cpu' ? 'cpu' : 'cuda');
    using t = await f.toTensor({ dtype: 'uint8', layout: 'nhwc' });
    using host = await t.toHost();
    bytes.push(new Uint8Array(host.data as Uint8Array));
  }
  return { bytes, hardware: decoder.stats().hardware };
}

describe.skipIf(!gpu)('GPU first run (issue 16 probes)', () => {
  it('the CUDA runtime touching the GPU first (as an engine load does) leaves NVDEC usable', () => {
    const r = child(`
      const rt = require('./dist/index.js');
      const { native } = require('./dist/native/addon.js');
      (async () => {
        const diff = await native().cudaColorSelfTest(0, 64, 64);   // cudart first: the old failing order
        const d = rt.Decoder.from(${JSON.stringify(fixturePath('pattern'))}, { device: 'cuda:0', audio: 'none' });
        let n = 0, cuda = 0;
        for await (const it of d.frames()) { if (it.type === 'video') { n++; if (it.frame.location === 'cuda') cuda++; it.frame.close(); } }
        console.log(JSON.stringify({ diff, n, cuda, hardware: d.stats().hardware }));
      })().catch((e) => { console.log(JSON.stringify({ error: e.code + ': ' + e.message })); });`);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toEqual({ diff: 0, n: 90, cuda: 90, hardware: true });
  });

  it('a deep-DPB stream at pool size 24 stays on NVDEC while JavaScript holds 24 frames', async () => {
    for (const device of ['cuda:0', 'auto'] as const) {
      const decoder = Decoder.from(fixturePath('deepDpb'), { device, audio: 'none', poolSize: 24 });
      const held: VideoFrame[] = [];
      let frames = 0;
      for await (const item of decoder.frames()) {
        if (item.type !== 'video') continue;
        frames++;
        held.push(item.frame);
        if (held.length === 24) held.shift()!.close(); // 23 held + the next one: the whole pool
      }
      for (const f of held) f.close();
      const stats = decoder.stats();
      expect(frames).toBe(60);
      expect(stats.hardware).toBe(true);
      expect(stats.hardwareFallbackReason).toBeUndefined();
    }
  });

  it('1080p NVDEC -> toTensor equals CPU decode -> toTensor byte for byte; full range too', async () => {
    for (const name of ['hd1080', 'fullRange', 'bt709'] as const) {
      const cpu = await tensorsOf(fixturePath(name), 'cpu', 10);
      const gpuRun = await tensorsOf(fixturePath(name), 'cuda:0', 10);
      expect(gpuRun.hardware).toBe(true);
      expect(gpuRun.bytes.length).toBe(cpu.bytes.length);
      for (let i = 0; i < cpu.bytes.length; i++) expect(Buffer.compare(Buffer.from(gpuRun.bytes[i]!), Buffer.from(cpu.bytes[i]!))).toBe(0);
    }
  });

  it('NVENC encodes while every pool slot is held, and holds no frame once the stream is done', async () => {
    const poolSize = 8;
    const decoder = Decoder.from(fixturePath('pattern'), { device: 'cuda:0', audio: 'none', poolSize });
    const encoder = new Encoder({ encoder: 'auto', gopSeconds: 1, audio: 'none' });
    const chunks: Buffer[] = [];
    const reading = (async () => {
      for await (const c of encoder.chunks()) if (c.type === 'chunk') chunks.push(c.data);
    })();
    const held: VideoFrame[] = [];
    for await (const item of decoder.frames()) {
      if (item.type !== 'video') continue;
      await encoder.encode(item.frame);
      held.push(item.frame);
      if (held.length === poolSize) {
        // every slot is held by JS while the encoder has all of them queued or inside NVENC
        for (const f of held.splice(0)) f.close();
      }
    }
    for (const f of held) f.close();
    encoder.end();
    await reading;
    const s = encoder.stats();
    expect(s.framesEncoded).toBe(90);
    expect(s.encoderHeld).toBe(0);
    if (capabilities().devices[0]?.nvenc.available) expect(s.encoder).toBe('h264_nvenc');
    else expect(s.encoderReason).toBeTruthy();
    expect(Buffer.concat(chunks).length).toBeGreaterThan(0);
  });

  it('process.exit() mid-stream with NVDEC and NVENC running exits cleanly (pipelines stopped first)', () => {
    const r = child(`
      const rt = require('./dist/index.js');
      const { native } = require('./dist/native/addon.js');
      (async () => {
        const d = rt.Decoder.from(${JSON.stringify(fixturePath('hd1080'))}, { device: 'cuda:0', audio: 'none' });
        const e = new rt.Encoder({ encoder: 'auto', audio: 'none' });
        (async () => { for await (const c of e.chunks()) void c; })();
        let n = 0;
        for await (const it of d.frames()) {
          if (it.type !== 'video') continue;
          await e.encode(it.frame); it.frame.close();
          if (++n === 10) {
            // registered after the addon loaded: runs after trickle-rt's own exit hook
            process.on('exit', () => { process.stdout.write('live pipelines at exit: ' + native().pipelineCount() + '\\n'); });
            process.exit(0);
          }
        }
      })();`);
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('live pipelines at exit: 0');
    expect(r.stderr).not.toMatch(/Segmentation|Aborted|CUDA error|terminate called/);
  });
});
