import { describe, expect, it } from 'vitest';

import { FrameRateGate } from '../../src/stream/frame-rate-gate';
import { LatestQueue } from '../../src/stream/latest-queue';

const passCount = (gate: FrameRateGate, times: number[]) => times.filter((t) => gate.accept(t)).length;

describe('FrameRateGate (max_framerate on media time)', () => {
  it('keeps 24 of 60 fps frames per second, evenly', () => {
    const gate = new FrameRateGate(24);
    const times = Array.from({ length: 600 }, (_, i) => i / 60); // 10 s
    const kept = times.filter((t) => gate.accept(t));
    expect(kept.length).toBeGreaterThanOrEqual(238);
    expect(kept.length).toBeLessThanOrEqual(241);
    const gaps = kept.slice(1).map((t, i) => t - kept[i]!);
    expect(Math.max(...gaps)).toBeLessThan(3.01 / 60); // 2.5 input frames per output frame: gaps of 2 and 3
  });
  it('passes everything below the cap', () => {
    expect(passCount(new FrameRateGate(30), Array.from({ length: 100 }, (_, i) => i / 24))).toBe(100);
  });
  it('resynchronises after a backwards timestamp jump instead of dropping until the clock catches up', () => {
    const gate = new FrameRateGate(24);
    passCount(gate, Array.from({ length: 240 }, (_, i) => 1000 + i / 30)); // t ≈ 1000..1008
    // source restarts at t = 0: pytrickle would drop ~1008 s of frames
    expect(passCount(gate, Array.from({ length: 30 }, (_, i) => i / 30))).toBeGreaterThanOrEqual(23);
  });
  it('resynchronises after a forward gap and applies a new rate', () => {
    const gate = new FrameRateGate(10);
    expect(passCount(gate, Array.from({ length: 30 }, (_, i) => i / 30))).toBe(10);
    expect(gate.accept(500)).toBe(true);
    gate.setFps(30);
    expect(passCount(gate, Array.from({ length: 30 }, (_, i) => 501 + i / 30))).toBe(30);
  });
});

describe('LatestQueue', () => {
  it('drops the oldest when full and hands it to onDrop', async () => {
    const dropped: number[] = [];
    const q = new LatestQueue<number>(2, (n) => dropped.push(n));
    for (const n of [1, 2, 3, 4]) q.push(n);
    expect(dropped).toEqual([1, 2]);
    expect(await q.shift()).toBe(3);
    expect(await q.shift()).toBe(4);
  });
  it('wakes a waiting consumer, drains after close, then yields undefined', async () => {
    const q = new LatestQueue<number>(1, () => undefined);
    const waiting = q.shift();
    q.push(7);
    expect(await waiting).toBe(7);
    q.push(8);
    q.close();
    expect(await q.shift()).toBe(8);
    expect(await q.shift()).toBeUndefined();
    const dropped: number[] = [];
    const q2 = new LatestQueue<number>(3, (n) => dropped.push(n));
    q2.push(1);
    q2.push(2);
    q2.clear();
    q2.push(3);
    expect(dropped).toEqual([1, 2, 3]);
  });
  it('drops items older than the age bound when a newer one is queued, never the newest', async () => {
    let t = 0;
    const dropped: Array<[number, string]> = [];
    const q = new LatestQueue<number>(8, (n, reason) => dropped.push([n, reason]), { maxAgeMs: () => 100, now: () => t });
    q.push(1); // at 0
    t = 60;
    q.push(2); // at 60
    t = 150;
    q.push(3); // at 150
    // at 150: 1 waited 150 ms (dropped), 2 waited 90 ms (kept)
    expect(await q.shift()).toBe(2);
    expect(dropped).toEqual([[1, 'stale']]);
    t = 1000;
    // 3 waited 850 ms but is the newest: still handed out
    expect(await q.shift()).toBe(3);
    expect(dropped).toEqual([[1, 'stale']]);
    // the bound is read at each shift
    let bound = 100;
    const q2 = new LatestQueue<number>(8, (n, reason) => dropped.push([n, reason]), { maxAgeMs: () => bound, now: () => t });
    q2.push(4);
    t = 1050;
    q2.push(5);
    bound = 40;
    expect(await q2.shift()).toBe(5);
    expect(dropped).toEqual([[1, 'stale'], [4, 'stale']]);
  });
});
