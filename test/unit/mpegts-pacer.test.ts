import { describe, expect, it } from 'vitest';

import { MpegTsPacer } from '../../src/trickle/mpegts-pacer';

/** One 188-byte packet on `pid`, with a PCR (90 kHz base) in its adaptation field when given. */
function packet(pid: number, pcr?: number, fill = 0): Buffer {
  const p = Buffer.alloc(188, fill);
  p[0] = 0x47;
  p[1] = (pid >> 8) & 0x1f;
  p[2] = pid & 0xff;
  if (pcr === undefined) {
    p[3] = 0x10; // payload only
    return p;
  }
  p[3] = 0x30; // adaptation field + payload
  p[4] = 7;
  p[5] = 0x10; // PCR flag
  p[6] = Math.floor(pcr / 2 ** 25) & 0xff;
  p[7] = Math.floor(pcr / 2 ** 17) & 0xff;
  p[8] = Math.floor(pcr / 2 ** 9) & 0xff;
  p[9] = Math.floor(pcr / 2) & 0xff;
  p[10] = ((pcr & 1) << 7) | 0x7e;
  return p;
}

/** A packet starting a video PES with a PTS and no PCR. */
function pesPacket(pid: number, pts: number): Buffer {
  const p = Buffer.alloc(188, 0xff);
  p[0] = 0x47;
  p[1] = 0x40 | ((pid >> 8) & 0x1f);
  p[2] = pid & 0xff;
  p[3] = 0x10;
  Buffer.from([0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 5]).copy(p, 4);
  p[13] = 0x21 | ((Math.floor(pts / 2 ** 30) & 7) << 1);
  p[14] = Math.floor(pts / 2 ** 22) & 0xff;
  p[15] = ((Math.floor(pts / 2 ** 15) & 0x7f) << 1) | 1;
  p[16] = Math.floor(pts / 2 ** 7) & 0xff;
  p[17] = ((pts & 0x7f) << 1) | 1;
  return p;
}

/** 2 s of a stream: a PCR every 40 ms (3600 ticks) followed by 3 payload packets. */
function stream(firstPcr: number, steps = 50): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < steps; i++) {
    out.push(packet(256, (firstPcr + i * 3600) % 2 ** 33), packet(256, undefined, i), packet(257, undefined, i), packet(256, undefined, i));
  }
  return Buffer.concat(out);
}

function run(data: Buffer, chunk: number, start = 1000): { bytes: Buffer; dues: Array<[number, number]>; media: number } {
  const pacer = new MpegTsPacer({ now: () => start });
  const parts: Array<{ data: Buffer; dueMs: number }> = [];
  for (let off = 0; off < data.length; off += chunk) parts.push(...pacer.schedule(data.subarray(off, off + chunk)));
  // Due time of every byte offset where the due time changes.
  const dues: Array<[number, number]> = [];
  let off = 0;
  for (const p of parts) {
    if (dues.length === 0 || dues[dues.length - 1]![1] !== p.dueMs) dues.push([off, p.dueMs]);
    off += p.data.length;
  }
  return { bytes: Buffer.concat(parts.map((p) => p.data)), dues, media: pacer.mediaSeconds };
}

describe('MpegTsPacer', () => {
  it('schedules each PCR packet at its clock time from the first one, returning every byte once', () => {
    const data = stream(900_000);
    const { bytes, dues, media } = run(data, data.length);
    expect(bytes.equals(data)).toBe(true);
    expect(dues).toEqual(Array.from({ length: 50 }, (_, i) => [i * 4 * 188, 1000 + i * 40]));
    expect(media).toBeCloseTo(1.96, 6);
  });

  it('gives the same schedule whatever the chunking (packets split across chunks)', () => {
    const data = stream(900_000);
    const whole = run(data, data.length);
    for (const chunk of [1, 100, 187, 189, 1000, 4096]) {
      const r = run(data, chunk);
      expect(r.bytes.equals(data)).toBe(true);
      // A packet split across chunks is due from the start of the chunk that completes it.
      for (const [off, due] of whole.dues) {
        const match = r.dues.find(([o, d]) => d === due && o >= off && o - off < 188);
        expect(match, `chunk ${chunk}, due ${due}`).toBeDefined();
      }
    }
  });

  it('follows the clock across the 33-bit wrap and re-anchors on a jump', () => {
    const wrapping = run(stream(2 ** 33 - 3600 * 10), 1 << 20);
    expect(wrapping.dues.map(([, d]) => d)).toEqual(Array.from({ length: 50 }, (_, i) => 1000 + i * 40));
    const jump = Buffer.concat([stream(90_000, 10), stream(90_000 + 3600 * 10 + 90_000 * 3600, 10)]);
    const r = run(jump, 1 << 20);
    // After the one-hour jump the schedule continues where it was instead of waiting an hour.
    expect(r.dues.map(([, d]) => d)).toEqual([...Array.from({ length: 10 }, (_, i) => 1000 + i * 40), ...Array.from({ length: 9 }, (_, i) => 1400 + i * 40)]);
  });

  it('uses PES timestamps when the stream has no PCR', () => {
    const data = Buffer.concat(Array.from({ length: 10 }, (_, i) => Buffer.concat([pesPacket(300, 1_000_000 + i * 9000), packet(300)])));
    const r = run(data, data.length);
    expect(r.dues).toEqual(Array.from({ length: 10 }, (_, i) => [i * 2 * 188, 1000 + i * 100]));
  });

  it('passes bytes without packets through at once', () => {
    const r = run(Buffer.from('not a transport stream at all'), 7);
    expect(r.bytes.toString()).toBe('not a transport stream at all');
    expect(r.dues).toEqual([[0, 0]]);
  });
});
