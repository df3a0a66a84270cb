import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { looksLikeMpegTs, MpegTsSplitter } from '../../src/trickle/mpegts-splitter';
import { FIXTURES, fixturePath } from '../helpers/fixtures';

const dir = mkdtempSync(join(tmpdir(), 'trickle-split-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function split(data: Buffer, chunkSize: number, splitter = new MpegTsSplitter()): Buffer[] {
  const segments: Buffer[][] = [];
  const place = (pieces: ReturnType<MpegTsSplitter['push']>): void => {
    for (const p of pieces) {
      if (p.newSegment || segments.length === 0) segments.push([]);
      (segments[segments.length - 1] as Buffer[]).push(p.data);
    }
  };
  for (let off = 0; off < data.length; off += chunkSize) place(splitter.push(data.subarray(off, off + chunkSize)));
  place(splitter.flush());
  return segments.map((s) => Buffer.concat(s));
}

/** ffprobe as the oracle: key_frame flag of every decoded video frame of a standalone file. */
function keyFlags(seg: Buffer, name: string): number[] {
  const path = join(dir, name);
  writeFileSync(path, seg);
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=key_frame', '-of', 'csv=p=0', path]).toString();
  return out.trim().split('\n').filter(Boolean).map((l) => Number(l.split(',')[0]));
}

/** Clears every adaptation-field random_access_indicator, leaving only the H.264 NAL types to find keyframes. */
function withoutRai(ts: Buffer): Buffer {
  const copy = Buffer.from(ts);
  for (let off = 0; off + 188 <= copy.length; off += 188) {
    const afc = ((copy[off + 3] as number) >> 4) & 3;
    if (afc & 2 && (copy[off + 4] as number) > 0) copy[off + 5] = (copy[off + 5] as number) & ~0x40;
  }
  return copy;
}

describe('MpegTsSplitter', () => {
  const ts = readFileSync(fixturePath('testsrc512'));
  const gop = FIXTURES.testsrc512.fps; // keyframe every second = every 30 frames

  it('cuts the fixture at each keyframe; every segment decodes alone starting on a keyframe; bytes preserved', () => {
    expect(looksLikeMpegTs(ts)).toBe(true);
    const segs = split(ts, 65536);
    expect(segs.length).toBe(FIXTURES.testsrc512.frames / gop);
    expect(Buffer.concat(segs).equals(ts)).toBe(true);
    segs.forEach((seg, i) => {
      expect(seg.length % 188).toBe(0);
      const flags = keyFlags(seg, `seg${i}.ts`);
      expect(flags.length).toBe(gop);
      expect(flags[0]).toBe(1);
      expect(flags.slice(1).every((f) => f === 0)).toBe(true);
    });
  });

  it('finds the same cuts from H.264 IDR NAL units alone (no random_access_indicator) and for any chunking', () => {
    const want = split(ts, 65536).map((s) => s.length);
    const bare = withoutRai(ts);
    for (const size of [7, 188, 1000, 1 << 20]) {
      expect([size, split(bare, size).map((s) => s.length)]).toEqual([size, want]);
      expect([size, split(ts, size).map((s) => s.length)]).toEqual([size, want]);
    }
  });

  it('maxSegmentBytes adds packet-aligned cuts; bytes preserved', () => {
    const segs = split(ts, 4096, new MpegTsSplitter({ maxSegmentBytes: 188 * 200 }));
    expect(segs.length).toBeGreaterThan(2);
    expect(segs.every((s) => s.length <= 188 * 200 && s.length % 188 === 0)).toBe(true);
    expect(Buffer.concat(segs).equals(ts)).toBe(true);
  });

  it('passes garbage between packets through unchanged and resyncs', () => {
    const garbage = Buffer.from('not a ts packet at all');
    const cut = 188 * 50;
    const dirty = Buffer.concat([ts.subarray(0, cut), garbage, ts.subarray(cut)]);
    const splitter = new MpegTsSplitter();
    const segs = split(dirty, 3000, splitter);
    expect(Buffer.concat(segs).equals(dirty)).toBe(true);
    expect(splitter.resyncCount).toBeGreaterThan(0);
    expect(segs.length).toBe(2);
  });

  it('recognises non-TS input', () => {
    expect(looksLikeMpegTs(Buffer.from('{"hello":"world"}'))).toBe(false);
    expect(looksLikeMpegTs(Buffer.alloc(0))).toBe(false);
  });
});
