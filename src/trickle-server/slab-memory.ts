/**
 * Where the trickle server's segment slabs come from, and how their memory goes back.
 *
 * With the native addon (the normal case), slabs are carved from 4 MiB regions mapped straight
 * from the kernel (`mapPages`). A slab the server no longer wants (over the budget, or idle in the
 * pool) has its pages given back at once (`discardPages`): the RSS falls the moment the server
 * decides, and the slab stays ready for reuse (its pages come back zero-filled when written). Each
 * body chunk node's HTTP parser hands over is released as soon as its bytes are copied into a slab
 * (`releaseArrayBuffer`), so ingest leaves no garbage behind: without that, every uploaded byte is
 * a short-lived 64 KiB Buffer, the garbage collector runs a major collection for about every
 * 64 MiB uploaded (pauses of several ms that every other channel feels), and malloc keeps the
 * memory of the freed chunks, so the RSS keeps the high-water mark of the uploads in flight.
 *
 * Without the addon (a pure TypeScript install), slabs are ordinary Buffers that the garbage
 * collector frees, and chunks are left to it too; `slabMemory` says which applies.
 */
import { native, type NativeAddon } from '../native/addon';

/** Bytes of one mapped region; slabs of one size are carved from it. */
const REGION_BYTES = 4 * 1024 * 1024;

/** Where slabs come from: `take` a slab of `size` bytes, `drop` one the server no longer keeps. */
export interface SlabSource {
  /** `'pages'`: kernel pages given back on `drop`; `'heap'`: Buffers the garbage collector frees. */
  readonly kind: 'pages' | 'heap';
  take(size: number): Buffer;
  drop(slab: Buffer): void;
  /** Lets go of every slab not given out (the server closed): their memory goes with the garbage collector. */
  forget(): void;
  /** Frees a body chunk whose bytes were copied (no-op where that is not possible). */
  releaseChunk(chunk: Buffer): void;
}

/** Ordinary Buffers: a dropped slab is freed by the garbage collector. */
export class HeapSlabs implements SlabSource {
  readonly kind = 'heap';
  take(size: number): Buffer {
    return Buffer.allocUnsafeSlow(size);
  }
  drop(): void {}
  forget(): void {}
  releaseChunk(): void {}
}

type PageMemory = Pick<NativeAddon, 'pageSize' | 'mapPages' | 'discardPages' | 'releaseArrayBuffer'>;

/** Slabs carved from mapped regions; a dropped slab's pages go back to the kernel at once. */
export class PageSlabs implements SlabSource {
  readonly kind = 'pages';
  /** Per slab size: slabs whose pages were given back (or never touched), ready to be taken. */
  private readonly unbacked = new Map<number, Buffer[]>();
  /** The regions mapped so far: only their slabs have pages to give back. */
  private readonly regions = new WeakSet<ArrayBuffer>();
  /** Bytes mapped so far (address space, not RSS). */
  mappedBytes = 0;

  constructor(private readonly pages: PageMemory) {}

  take(size: number): Buffer {
    if (size <= 0 || size % this.pages.pageSize !== 0 || REGION_BYTES % size !== 0) {
      throw new RangeError(`slab size ${size} must divide ${REGION_BYTES} and be a multiple of the page size ${this.pages.pageSize}`);
    }
    let free = this.unbacked.get(size);
    if (!free) this.unbacked.set(size, (free = []));
    const slab = free.pop();
    if (slab) return slab;
    let region: ArrayBuffer;
    try {
      region = this.pages.mapPages(REGION_BYTES);
    } catch {
      // The kernel refused a mapping (address-space or map-count limits): a heap slab serves; it
      // is left to the garbage collector when dropped.
      return Buffer.allocUnsafeSlow(size);
    }
    this.regions.add(region);
    this.mappedBytes += REGION_BYTES;
    // Untouched pages take no memory: the region's other slabs wait in the unbacked list.
    for (let off = REGION_BYTES - size; off > 0; off -= size) free.push(Buffer.from(region, off, size));
    return Buffer.from(region, 0, size);
  }

  drop(slab: Buffer): void {
    const region = slab.buffer;
    if (!(region instanceof ArrayBuffer) || !this.regions.has(region)) return;
    this.pages.discardPages(region, slab.byteOffset, slab.length);
    let free = this.unbacked.get(slab.length);
    if (!free) this.unbacked.set(slab.length, (free = []));
    free.push(slab);
  }

  forget(): void {
    this.unbacked.clear();
  }

  releaseChunk(chunk: Buffer): void {
    // Only a chunk that is its whole ArrayBuffer (node's parser copies each body chunk into its
    // own): releasing a view of a shared buffer would pull the memory from under the others.
    const buffer = chunk.buffer;
    if (buffer instanceof ArrayBuffer && chunk.byteOffset === 0 && chunk.length === buffer.byteLength && chunk.length > 0) this.pages.releaseArrayBuffer(buffer);
  }
}

/** Page slabs where the native addon loads, heap slabs otherwise. */
export function defaultSlabSource(): SlabSource {
  let pages: PageMemory;
  try {
    pages = native();
  } catch {
    return new HeapSlabs();
  }
  return typeof pages.mapPages === 'function' ? new PageSlabs(pages) : new HeapSlabs();
}
