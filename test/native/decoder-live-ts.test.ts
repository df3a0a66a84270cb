/**
 * The decoder's live MPEG-TS path: a frame is decoded as soon as the last TS packet of its PES is
 * in (without waiting for the next frame), stream parameters come from the PMT (no probing
 * window), and no audio is lost at the start. ffprobe is the oracle for what the input holds.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { Decoder, type DecodedItem } from '../../src/media/decoder';
import { fixturePath, patternIndex } from '../helpers/fixtures';
import { pesStarts } from '../helpers/ts-bytes';

function ffprobePackets(path: string, stream: 'v' | 'a'): Array<{ pts: number; size: number }> {
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', `${stream}:0`, '-show_entries', 'packet=pts,size', '-of', 'csv=p=0', path], {
    encoding: 'utf8',
  });
  return out
    .split('\n')
    .filter((line) => /^\d/.test(line)) // side-data entries print as blank lines
    .map((line) => {
      const [pts, size] = line.split(',');
      return { pts: Number(pts), size: Number(size) };
    });
}

/** The next item of `it`, or 'none' when the decoder yields nothing within `ms` (a stall, not a speed). */
async function nextOrStall(it: AsyncIterator<DecodedItem>, ms: number): Promise<IteratorResult<DecodedItem> | 'none'> {
  let timer: NodeJS.Timeout | undefined;
  const stall = new Promise<'none'>((resolve) => {
    timer = setTimeout(() => resolve('none'), ms);
  });
  try {
    return await Promise.race([it.next(), stall]);
  } finally {
    clearTimeout(timer);
  }
}

describe('Decoder: live MPEG-TS path', () => {
  it('hands out frame N once its last TS packet is in, before any byte of frame N+1', async () => {
    const path = fixturePath('patternNoAudio');
    const bytes = readFileSync(path);
    const starts = pesStarts(bytes, 0x100);
    expect(starts.length).toBe(60);
    const decoder = new Decoder({ device: 'cpu', audio: 'none' });
    const it = decoder.frames()[Symbol.asyncIterator]();
    let pushed = 0;
    let next = 0; // index of the next frame expected out
    const stalledAt: number[] = [];
    for (let k = 0; k < starts.length - 1; k++) {
      // Everything up to (not including) the first packet of frame k+1.
      await decoder.push(bytes.subarray(pushed, starts[k + 1]));
      pushed = starts[k + 1]!;
      while (next <= k) {
        const r = await nextOrStall(it, 10_000);
        if (r === 'none') {
          stalledAt.push(k);
          break;
        }
        if (r.done) throw new Error('decoder ended early');
        if (r.value.type !== 'video') continue;
        using f = r.value.frame;
        const [y] = f.planes();
        expect(patternIndex(y!.data, y!.stride, y!.width, y!.height)).toBe(next);
        next++;
      }
      if (stalledAt.length > 0) break;
    }
    // The first PES teach the demuxer that this muxer ends each PES with stuffing; from then on
    // every frame comes out without the next one.
    expect(stalledAt).toEqual([]);
    await decoder.push(bytes.subarray(pushed));
    decoder.end();
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      if (r.value.type === 'video') {
        r.value.frame.close();
        next++;
      }
    }
    expect(next).toBe(60);
    const s = decoder.stats();
    expect(s.liveTs).not.toBeNull();
    expect(s.liveTs!.byStuffing).toBeGreaterThanOrEqual(55);
    expect(s.liveTs!.continuityErrors).toBe(0);
    expect(s.decodeErrors).toBe(0);
  });

  it('passthrough keeps every audio packet from the first one, with the input timestamps', async () => {
    const path = fixturePath('pattern');
    const oracle = ffprobePackets(path, 'a');
    const packets: Array<{ pts: number | null; size: number }> = [];
    let video = 0;
    for await (const item of Decoder.from(path, { device: 'cpu', audio: 'packets' }).frames()) {
      if (item.type === 'video') {
        item.frame.close();
        video++;
      } else if (item.type === 'audioPacket') {
        packets.push({ pts: item.packet.pts, size: item.packet.size });
      }
    }
    expect(video).toBe(90);
    expect(packets.length).toBe(oracle.length);
    expect(packets.map((p) => p.pts)).toEqual(oracle.map((p) => p.pts));
    expect(packets.map((p) => p.size)).toEqual(oracle.map((p) => p.size));
  });

  it('decoded audio starts at the first input packet', async () => {
    const path = fixturePath('audioOnly');
    const oracle = ffprobePackets(path, 'a');
    const pts: Array<number | null> = [];
    const decoder = Decoder.from(path, { device: 'cpu' });
    for await (const item of decoder.frames()) {
      if (item.type === 'audio') {
        pts.push(item.frame.pts);
        item.frame.close();
      }
    }
    expect(pts.length).toBe(oracle.length);
    expect(pts[0]).toBe(oracle[0]!.pts);
    expect(decoder.stats().liveTs).not.toBeNull();
  });

  /** 1 s of 320x240 H.264 with `audio` (ffmpeg encoder args) in MPEG-TS, made with the ffmpeg CLI. */
  function tsWithAudio(audio: string[]): Buffer {
    return execFileSync(
      'ffmpeg',
      ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
        '-t', '1', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '15', '-bf', '0', ...audio, '-f', 'mpegts', '-'],
      { maxBuffer: 64 << 20 },
    );
  }

  async function decodeAll(bytes: Buffer): Promise<{ video: number; audio: number; packets: number; decoder: Decoder }> {
    const decoder = Decoder.from(bytes, { device: 'cpu', audio: 'both' });
    let video = 0;
    let audio = 0;
    let packets = 0;
    for await (const item of decoder.frames()) {
      if (item.type === 'video') video++;
      else if (item.type === 'audio') audio++;
      else packets++;
      if (item.type !== 'audioPacket') item.frame.close();
    }
    return { video, audio, packets, decoder };
  }

  it('AC-3 audio is framed on the live path: every packet, decoded', async () => {
    const bytes = tsWithAudio(['-c:a', 'ac3', '-b:a', '96k']);
    const out = await decodeAll(bytes);
    const expected = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'a:0', '-count_packets', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', '-'], {
      input: bytes,
    })
      .toString()
      .trim()
      .split('\n')[0];
    expect(out.decoder.stats().liveTs).not.toBeNull();
    expect(out.decoder.stats().audioCodec).toBe('ac3');
    expect(out.video).toBe(30);
    expect(out.packets).toBe(Number(expected));
    expect(out.audio).toBe(out.packets);
  });

  it('MPEG audio and Opus in MPEG-TS go to the general demuxer, video and audio alike', async () => {
    for (const [audio, codec] of [
      [['-c:a', 'mp2', '-b:a', '128k'], 'mp2'],
      [['-c:a', 'libopus', '-b:a', '64k'], 'opus'],
    ] as const) {
      const out = await decodeAll(tsWithAudio([...audio]));
      expect(out.decoder.stats().liveTs, codec).toBeNull();
      expect(out.decoder.stats().audioCodec, codec).toBe(codec);
      expect(out.video, codec).toBe(30);
      expect(out.audio, codec).toBeGreaterThan(20);
      expect(out.packets, codec).toBeGreaterThan(20);
    }
  });

  it('inputs that are not MPEG-TS still go through the general demuxer', async () => {
    const mkv = execFileSync('ffmpeg', ['-v', 'error', '-i', fixturePath('patternNoAudio'), '-c', 'copy', '-f', 'matroska', '-'], { maxBuffer: 64 << 20 });
    const decoder = Decoder.from(mkv, { device: 'cpu' });
    let frames = 0;
    for await (const item of decoder.frames()) {
      if (item.type === 'video') {
        item.frame.close();
        frames++;
      }
    }
    expect(frames).toBe(60);
    expect(decoder.stats().liveTs).toBeNull();
  });
});
