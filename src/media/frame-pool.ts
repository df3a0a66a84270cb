import { invalidArg } from '../errors';
import { native, type NativeFramePool, type NativeFramePoolStats } from '../native/addon';

/** Statistics of a {@link FramePool}. */
export type FramePoolStats = NativeFramePoolStats;

let handleOf: (pool: FramePool) => NativeFramePool;

/**
 * A bounded count of frames that may be alive at once. Decoders own one per stream (their native
 * thread waits for a free slot: that is the backpressure); user code can make one to bound the
 * frames it creates with `VideoFrame.fromTensor(t, like, { pool })`, which throws
 * `ERR_POOL_EXHAUSTED` when every slot is taken. A slot is freed when the last holder of a frame
 * lets go of it (the JS `close()` plus any in-flight native work).
 *
 * @example
 * const pool = new FramePool(4);
 * using frame = await VideoFrame.fromTensor(tensor, undefined, { pool });
 * console.log(pool.stats()); // { capacity: 4, live: 1, free: 3, leaked: 0, acquiredTotal: 1 }
 */
export class FramePool {
  readonly #handle: NativeFramePool;

  static {
    handleOf = (pool) => pool.#handle;
  }

  constructor(capacity: number) {
    if (typeof capacity !== 'number' || !Number.isInteger(capacity) || capacity < 1 || capacity > 4096) {
      throw invalidArg('capacity', 'an integer from 1 to 4096', capacity);
    }
    this.#handle = new (native().NativeFramePool)(capacity);
  }

  get capacity(): number {
    return this.#handle.stats().capacity;
  }

  /** A snapshot: capacity, live (slots held), free, leaked (frames collected without close()). */
  stats(): FramePoolStats {
    return this.#handle.stats();
  }
}

/** @internal The native handle of a pool (for bindings that take a pool). */
export function framePoolHandle(pool: FramePool): NativeFramePool {
  return handleOf(pool);
}
