/**
 * The addon's page memory (native/common/page_memory.cc): what the trickle server's slabs are made
 * of. Mapped pages read as zeros, discarded pages leave the RSS at once and read as zeros again,
 * ranges are checked, and a released ArrayBuffer is detached with its memory freed at once.
 */
import { describe, expect, it } from 'vitest';

import { native } from '../../src/native/addon';

const MiB = 1024 * 1024;

describe('page memory', () => {
  const addon = native();

  it('maps zero-filled, writable pages', () => {
    expect(addon.pageSize).toBeGreaterThanOrEqual(4096);
    const ab = addon.mapPages(4 * MiB);
    expect(ab.byteLength).toBe(4 * MiB);
    const bytes = new Uint8Array(ab);
    expect(bytes.every((b) => b === 0)).toBe(true);
    bytes.fill(0xab);
    expect(bytes[4 * MiB - 1]).toBe(0xab);
  });

  it('discarded pages leave the RSS at once and read as zeros until written again', () => {
    const ab = addon.mapPages(64 * MiB);
    const bytes = new Uint8Array(ab);
    bytes.fill(1);
    const filled = process.memoryUsage.rss();
    addon.discardPages(ab, 0, 64 * MiB);
    const discarded = process.memoryUsage.rss();
    expect(filled - discarded).toBeGreaterThan(48 * MiB);
    expect(bytes[0]).toBe(0);
    expect(bytes[64 * MiB - 1]).toBe(0);
    bytes[123] = 7;
    expect(bytes[123]).toBe(7);
  });

  it('discards only the range asked for', () => {
    const page = addon.pageSize;
    const ab = addon.mapPages(4 * page);
    const bytes = new Uint8Array(ab);
    bytes.fill(9);
    addon.discardPages(ab, page, 2 * page);
    expect([bytes[page - 1], bytes[page], bytes[3 * page - 1], bytes[3 * page]]).toEqual([9, 0, 0, 9]);
  });

  it('refuses sizes and ranges that are not whole pages of the buffer', () => {
    const page = addon.pageSize;
    const ab = addon.mapPages(2 * page);
    expect(() => addon.mapPages(0)).toThrow(/multiple of the page size/);
    expect(() => addon.mapPages(page + 1)).toThrow(/multiple of the page size/);
    expect(() => addon.discardPages(ab, 100, page)).toThrow(/offset must be/);
    expect(() => addon.discardPages(ab, 0, page + 1)).toThrow(/length must be/);
    expect(() => addon.discardPages(ab, page, 2 * page)).toThrow(/outside the buffer/);
  });

  it('releaseArrayBuffer detaches a buffer and frees its memory without a garbage collection', () => {
    const before = process.memoryUsage().arrayBuffers;
    const chunks = Array.from({ length: 64 }, () => Buffer.allocUnsafeSlow(256 * 1024));
    expect(process.memoryUsage().arrayBuffers - before).toBeGreaterThanOrEqual(16 * MiB);
    for (const c of chunks) expect(addon.releaseArrayBuffer(c.buffer as ArrayBuffer)).toBe(true);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(MiB);
    expect(chunks[0]!.buffer.byteLength).toBe(0);
    // WebAssembly memory cannot be detached: it is left alone.
    // (This project's TypeScript libs leave WebAssembly out; node has it.)
    const { WebAssembly: wasmApi } = globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } };
    const wasm = new wasmApi.Memory({ initial: 1 });
    expect(addon.releaseArrayBuffer(wasm.buffer)).toBe(false);
    expect(wasm.buffer.byteLength).toBe(65536);
  });
});
