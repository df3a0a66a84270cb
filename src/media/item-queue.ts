import { abortError } from '../util';

/**
 * @internal A single-consumer FIFO between native events (producer, JS thread) and an async
 * iterator (consumer). `take()` waits without polling: the producer wakes it.
 */
export class ItemQueue<T> {
  #items: T[] = [];
  #head = 0;
  #wake: (() => void) | null = null;
  #finished = false;
  #error: Error | null = null;

  get length(): number {
    return this.#items.length - this.#head;
  }

  get finished(): boolean {
    return this.#finished;
  }

  push(item: T): void {
    this.#items.push(item);
    this.#notify();
  }

  /** No more items will come; `error` is thrown by take() once the queued items are taken. */
  finish(error?: Error): void {
    if (this.#finished) return;
    this.#finished = true;
    if (error) this.#error = error;
    this.#notify();
  }

  /** Removes and returns everything queued. */
  drain(): T[] {
    const rest = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return rest;
  }

  /** Next item; `undefined` when finished cleanly; throws the finishing error or ERR_ABORTED. */
  async take(signal?: AbortSignal): Promise<T | undefined> {
    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      if (this.length > 0) {
        const item = this.#items[this.#head] as T;
        this.#items[this.#head] = undefined as T;
        this.#head++;
        if (this.#head > 64 && this.#head * 2 > this.#items.length) {
          this.#items = this.#items.slice(this.#head);
          this.#head = 0;
        }
        return item;
      }
      if (this.#finished) {
        if (this.#error) throw this.#error;
        return undefined;
      }
      await new Promise<void>((resolve) => {
        const onAbort = (): void => resolve();
        this.#wake = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      this.#wake = null;
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}
