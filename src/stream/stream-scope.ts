/**
 * The asynchronous scope of one stream: everything a stream starts (its loops, timers, side
 * channels, processor calls) runs inside `streamScope.run(...)`, so an error that escapes all of
 * its error handling can still be traced to the stream it belongs to (the worker's process guard
 * reads the scope of the failing callback or promise).
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface StreamScope {
  readonly streamId: string;
  /** Ends the stream with an error (idempotent; the stream's normal shutdown runs). */
  fail(error: unknown): void;
}

/** The scope store. `streamScope.getStore()` is the current stream, or undefined outside any. */
export const streamScope = new AsyncLocalStorage<StreamScope>();
