/**
 * A bounded FIFO with latest-wins dropping: when full, the oldest item is dropped (handed to
 * `onDrop`, which closes the frame) so the consumer never works on a stale frame behind fresh ones.
 * One consumer; `shift()` waits on a promise (no polling) and resolves `undefined` once closed and empty.
 */
export class LatestQueue<T> {
  private readonly items: T[] = [];
  private waiter: ((item: T | undefined) => void) | undefined;
  private closed = false;

  constructor(
    readonly capacity: number,
    private readonly onDrop: (item: T) => void,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
  }

  get size(): number {
    return this.items.length;
  }

  /** Adds an item (dropping the oldest when full). After close() the item is dropped at once. */
  push(item: T): void {
    if (this.closed) {
      this.onDrop(item);
      return;
    }
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w(item);
      return;
    }
    if (this.items.length >= this.capacity) this.onDrop(this.items.shift() as T);
    this.items.push(item);
  }

  /** The oldest item; waits for one; `undefined` once closed and drained. */
  shift(): Promise<T | undefined> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift());
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
    for (const item of this.items.splice(0)) this.onDrop(item);
  }
}
