import { ErrorCodes, fromNativeError, TrickleError } from '../errors';
import { abortError } from '../util';
import { ItemQueue } from './item-queue';

/** The lifecycle of Decoder and Encoder (idle is never observed: both start when constructed). */
export type PipelineState = 'running' | 'draining' | 'ended' | 'closed' | 'errored';

/**
 * @internal What Decoder and Encoder share around their native pipeline thread (JS thread only):
 * the lifecycle state and error, the output queue and its single consumer (each item taken gives
 * the native side one credit back through `ack`), the writers waiting for input room, and the
 * `finished` promise settled by the thread's 'end' event.
 */
export class PipelineCore<T> {
  readonly queue = new ItemQueue<T>();
  readonly finished: Promise<void>;
  state: PipelineState = 'running';
  error: TrickleError | undefined;
  iterating = false;
  readonly #what: string;
  readonly #ack: (n: number) => void;
  #resolveFinished!: () => void;
  #writers: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];

  /** `what` names the component in errors ('decoder'); `ack` returns credits to the native side. */
  constructor(what: string, ack: (n: number) => void) {
    this.#what = what;
    this.#ack = ack;
    this.finished = new Promise((resolve) => (this.#resolveFinished = resolve));
  }

  /** Running or draining: the native thread has not been stopped. */
  get active(): boolean {
    return this.state === 'running' || this.state === 'draining';
  }

  /** Moves an active pipeline to errored (with `err`) or closed; false when it was not active. */
  halt(err?: Error): boolean {
    if (!this.active) return false;
    if (err) {
      this.error = err instanceof TrickleError ? err : fromNativeError(err);
      this.state = 'errored';
    } else {
      this.state = 'closed';
    }
    return true;
  }

  /** Resolves at the next 'writable' event; rejects when the pipeline stops first. */
  waitWritable(): Promise<void> {
    return new Promise<void>((resolve, reject) => this.#writers.push({ resolve, reject }));
  }

  settleWriters(): void {
    const waiters = this.#writers;
    this.#writers = [];
    for (const w of waiters) {
      if (this.error) w.reject(this.error);
      else if (this.state === 'closed') w.reject(new TrickleError(ErrorCodes.ERR_CLOSED, `the ${this.#what} was closed`));
      else w.resolve();
    }
  }

  /** The native thread's last event; `payload` is its error, if any. */
  onEnd(payload: unknown): void {
    if (payload instanceof Error && !this.error) {
      this.error = fromNativeError(payload);
      if (this.active) this.state = 'errored';
    } else if (this.active) {
      this.state = 'ended';
    }
    this.queue.finish(this.error);
    this.settleWriters();
    this.#resolveFinished();
  }

  /**
   * The single consumer of the output queue: `take()` acknowledges each item it returns; an aborted
   * `signal` calls `abort` with ERR_ABORTED. `done()` (idempotent) lets another consumer start.
   */
  consumer(
    signal: AbortSignal | undefined,
    busyMessage: string,
    abort: (err: Error) => void,
  ): { take: () => Promise<T | undefined>; done: () => void } {
    if (this.iterating) throw new TrickleError(ErrorCodes.ERR_INVALID_ARG, busyMessage);
    this.iterating = true;
    const onAbort = (): void => abort(abortError(signal as AbortSignal));
    if (signal) {
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
    let finished = false;
    const done = (): void => {
      if (finished) return;
      finished = true;
      signal?.removeEventListener('abort', onAbort);
      this.iterating = false;
    };
    const take = async (): Promise<T | undefined> => {
      try {
        const item = await this.queue.take(signal);
        if (item === undefined) done();
        else this.#ack(1);
        return item;
      } catch (err) {
        done();
        throw err;
      }
    };
    return { take, done };
  }
}
