/**
 * encoder: 'auto' when h264_nvenc fails to open (a consumer GPU's session limit, a level NVENC does
 * not take): the stream goes on with libx264, with a warning and the reason in stats. The failure is
 * injected (TRICKLE_RT_INJECT=nvenc-open-fails, native/common/fault_injection.h), so the fallback
 * path runs here without a GPU; on a GPU test/gpu/first-run.test.ts checks the NVENC path itself.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { Decoder, Encoder, type TrickleError } from '../../src/index';
import { ffmpegLumaFrames, fixturePath, patternIndex } from '../helpers/fixtures';

afterEach(() => {
  delete process.env['TRICKLE_RT_INJECT'];
});

async function encodePattern(): Promise<{ bytes: Buffer; encoder: Encoder; warnings: TrickleError[] }> {
  const warnings: TrickleError[] = [];
  const encoder = new Encoder({ encoder: 'auto', gopSeconds: 1, audio: 'none', onWarning: (w) => warnings.push(w) });
  const feeding = (async () => {
    for await (const item of Decoder.from(fixturePath('patternNoAudio'), { device: 'cpu', audio: 'none' }).frames()) {
      if (item.type !== 'video') continue;
      await encoder.encode(item.frame);
      item.frame.close();
    }
    encoder.end();
  })();
  const parts: Buffer[] = [];
  for await (const c of encoder.chunks()) if (c.type === 'chunk') parts.push(c.data);
  await feeding;
  return { bytes: Buffer.concat(parts), encoder, warnings };
}

describe("encoder 'auto': NVENC failing to open falls back to libx264", () => {
  it('keeps the stream: libx264 output with every frame, a warning and the reason in stats', async () => {
    process.env['TRICKLE_RT_INJECT'] = 'nvenc-open-fails';
    const { bytes, encoder, warnings } = await encodePattern();
    const s = encoder.stats();
    expect(s.encoder).toBe('libx264');
    expect(s.encoderReason).toBe('h264_nvenc failed to open: avcodec_open2(h264_nvenc) failed: injected failure (TRICKLE_RT_INJECT)');
    expect(warnings.map((w) => w.code)).toEqual(['ERR_NVENC_UNAVAILABLE']);
    expect(s.framesEncoded).toBe(60);
    expect(s.encoderHeld).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'trickle-fallback-'));
    try {
      writeFileSync(join(dir, 'out.ts'), bytes);
      expect(ffmpegLumaFrames(join(dir, 'out.ts'), 320, 192).map((y) => patternIndex(y, 320, 320, 192))).toEqual([...Array(60).keys()]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without the injected failure, host frames go to libx264 with the reason and no warning', async () => {
    const { encoder, warnings } = await encodePattern();
    expect(encoder.stats().encoder).toBe('libx264');
    expect(encoder.stats().encoderReason).toBe('the frames are in host memory (NVENC is chosen for CUDA frames)');
    expect(warnings).toEqual([]);
  });
});
