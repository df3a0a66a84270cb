/**
 * A FIFO bounded in count and in age, with latest-wins dropping: when full, the oldest item is
 * dropped; when the consumer takes an item, the items that waited longer than the age bound are
 * dropped first (the newest is always kept: it is the freshest frame there is). Dropped items go
 * to `onDrop` with the reason (which closes the frame), so the consumer never works on a stale
 * frame behind fresh ones and a frame never waits here much longer than the age bound.
 * One consumer; `shift()` waits on a promise (no polling) and resolves `undefined` once closed and empty.
 */
export type QueueDropReason = 'full' | 'stale';

export interface LatestQueueAgeBound {
  /** The age bound in milliseconds (read at each `shift()`, so it may follow a changing frame rate). */
  maxAgeMs: () => number;
  /** The clock, in milliseconds (default `performance.now()`). */
  now?: () => number;
}

export class LatestQueue<T> {
  private readonly items: Array<{ item: T; at: number }> = [];
  private waiter: ((item: T | undefined) => void) | undefined;
  private closed = false;
  private readonly now: () => number;

  constructor(
    readonly capacity: number,
    private readonly onDrop: (item: T, reason: QueueDropReason) => void,
    private readonly age?: LatestQueueAgeBound,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.now = age?.now ?? (() => performance.now());
  }

  get size(): number {
    return this.items.length;
  }

  /** Adds an item (dropping the oldest when full). After close() the item is dropped at once. */
  push(item: T): void {
    if (this.closed) {
      this.onDrop(item, 'full');
      return;
    }
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w(item);
      return;
    }
    if (this.items.length >= this.capacity) this.onDrop((this.items.shift() as { item: T }).item, 'full');
    this.items.push({ item, at: this.now() });
  }

  /** The oldest item younger than the age bound (else the newest); waits for one; `undefined` once closed and drained. */
  shift(): Promise<T | undefined> {
    if (this.items.length > 0) {
      if (this.age) {
        const limit = this.now() - this.age.maxAgeMs();
        while (this.items.length > 1 && (this.items[0] as { at: number }).at < limit) {
          this.onDrop((this.items.shift() as { item: T }).item, 'stale');
        }
      }
      return Promise.resolve((this.items.shift() as { item: T }).item);
    }
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** No more items; the consumer drains what is queued. */
  close(): void {
    this.closed = true;
    const w = this.waiter;
    this.waiter = undefined;
    w?.(undefined);
  }

  /** Closes and drops everything queued. */
  clear(): void {
    this.close();
    for (const { item } of this.items.splice(0)) this.onDrop(item, 'full');
  }
}
