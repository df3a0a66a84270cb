/**
 * The trickle server's slab sources (src/trickle-server/slab-memory.ts) against a recording fake of
 * the addon's page memory: regions are carved into slabs, a dropped slab's pages are given back and
 * the slab is taken again before a new region is mapped, and only a body chunk that owns its whole
 * ArrayBuffer is released.
 */
import { describe, expect, it } from 'vitest';

import { HeapSlabs, PageSlabs } from '../../src/trickle-server/slab-memory';

const KiB = 1024;
const MiB = 1024 * KiB;

function fakePages() {
  const calls = { mapped: [] as ArrayBuffer[], discarded: [] as Array<[ArrayBuffer, number, number]>, released: [] as ArrayBuffer[] };
  const pages = {
    pageSize: 4096,
    mapPages: (bytes: number) => {
      const ab = new ArrayBuffer(bytes);
      calls.mapped.push(ab);
      return ab;
    },
    discardPages: (ab: ArrayBuffer, offset: number, length: number) => {
      calls.discarded.push([ab, offset, length]);
      new Uint8Array(ab, offset, length).fill(0);
    },
    releaseArrayBuffer: (ab: ArrayBuffer) => {
      calls.released.push(ab);
      return true;
    },
  };
  return { pages, calls };
}

describe('PageSlabs', () => {
  it('carves 4 MiB regions into slabs of the size asked for, mapping a new region only when none is free', () => {
    const { pages, calls } = fakePages();
    const slabs = new PageSlabs(pages);
    const taken = Array.from({ length: 64 }, () => slabs.take(64 * KiB));
    expect(calls.mapped).toHaveLength(1);
    expect(new Set(taken.map((s) => s.byteOffset)).size).toBe(64);
    expect(taken.every((s) => s.buffer === calls.mapped[0] && s.length === 64 * KiB && s.byteOffset % 4096 === 0)).toBe(true);
    slabs.take(64 * KiB);
    expect(calls.mapped).toHaveLength(2);
    // Another size has regions of its own.
    slabs.take(16 * KiB);
    expect(calls.mapped).toHaveLength(3);
    expect(slabs.mappedBytes).toBe(12 * MiB);
  });

  it('a dropped slab gives its pages back and is the next one taken', () => {
    const { pages, calls } = fakePages();
    const slabs = new PageSlabs(pages);
    const a = slabs.take(64 * KiB);
    a.fill(5);
    slabs.drop(a);
    expect(calls.discarded).toEqual([[a.buffer, a.byteOffset, 64 * KiB]]);
    const b = slabs.take(64 * KiB);
    expect(b.byteOffset).toBe(a.byteOffset);
    expect(b[0]).toBe(0);
    expect(calls.mapped).toHaveLength(1);
  });

  it('when the kernel refuses a mapping, a heap slab serves and dropping it discards nothing', () => {
    const { pages, calls } = fakePages();
    pages.mapPages = () => {
      throw new Error('mmap failed');
    };
    const slabs = new PageSlabs(pages);
    const slab = slabs.take(64 * KiB);
    expect(slab.length).toBe(64 * KiB);
    slabs.drop(slab);
    expect(calls.discarded).toEqual([]);
    expect(slabs.mappedBytes).toBe(0);
  });

  it('refuses slab sizes that are not whole pages dividing a region', () => {
    const slabs = new PageSlabs(fakePages().pages);
    expect(() => slabs.take(1000)).toThrow(RangeError);
    expect(() => slabs.take(3 * 4096)).toThrow(RangeError);
  });

  it('releases a body chunk only when it owns its whole ArrayBuffer', () => {
    const { pages, calls } = fakePages();
    const slabs = new PageSlabs(pages);
    const own = Buffer.from(new ArrayBuffer(100));
    slabs.releaseChunk(own);
    const shared = new ArrayBuffer(100);
    slabs.releaseChunk(Buffer.from(shared, 0, 50));
    slabs.releaseChunk(Buffer.from(shared, 10, 90));
    slabs.releaseChunk(Buffer.from('small')); // a slice of node's shared pool
    expect(calls.released).toEqual([own.buffer]);
  });
});

describe('HeapSlabs', () => {
  it('allocates plain Buffers and leaves dropped ones to the garbage collector', () => {
    const slabs = new HeapSlabs();
    const s = slabs.take(16 * KiB);
    expect(s.length).toBe(16 * KiB);
    expect(slabs.kind).toBe('heap');
    slabs.drop();
    slabs.releaseChunk();
  });
});
