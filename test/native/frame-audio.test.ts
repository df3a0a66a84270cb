import { describe, expect, it } from 'vitest';

import { TrickleError } from '../../src/errors';
import { AudioFrame } from '../../src/media/audio-frame';
import { frameStats } from '../../src/media/frame-stats';

describe('AudioFrame (planar float32 in native memory)', () => {
  it('round-trips planar samples, rate, pts and time base', () => {
    const left = Float32Array.from({ length: 1024 }, (_, i) => Math.sin(i / 10));
    const right = Float32Array.from({ length: 1024 }, (_, i) => -i / 1024);
    const before = frameStats().audioFramesAlive;
    const f = AudioFrame.fromChannels([left, right], { sampleRate: 48000, pts: 960, timeBase: [1, 48000] });
    expect([f.sampleRate, f.channels, f.samples, f.pts]).toEqual([48000, 2, 1024, 960]);
    expect(f.timeBase).toEqual([1, 48000]);
    expect(frameStats().audioFramesAlive).toBe(before + 1);
    expect(f.channelData(0)).toEqual(left);
    expect(f.channelData(1)).toEqual(right);
    f.close();
    expect(frameStats().audioFramesAlive).toBe(before);
  });

  it('close() is idempotent, [Symbol.dispose] closes, and a closed frame throws ERR_FRAME_CLOSED', () => {
    let g: AudioFrame;
    {
      using f = AudioFrame.fromChannels([new Float32Array(4)], { sampleRate: 8000 });
      g = f;
      expect(g.closed).toBe(false);
    }
    expect(g.closed).toBe(true);
    g.close();
    g.close();
    const err = (() => {
      try {
        g.channelData(0);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(TrickleError);
    expect((err as TrickleError).code).toBe('ERR_FRAME_CLOSED');
  });

  it('validates channels and rate in TypeScript', () => {
    expect(() => AudioFrame.fromChannels([new Float32Array(4), new Float32Array(5)], { sampleRate: 8000 })).toThrow(
      /channels\[i\]\.length/,
    );
    expect(() => AudioFrame.fromChannels([new Float32Array(4)], { sampleRate: -1 })).toThrow(
      'Expected an integer from 1 to 768000 for sampleRate but received -1',
    );
  });
});
