/**
 * Small helpers shared by every layer: an abortable delay, exponential backoff, the abort error and
 * the http(s) URL check.
 * One abort semantic everywhere: `delay` resolves early when its signal aborts and never rejects;
 * a caller that must stop checks `signal.aborted` (or calls `throwIfAborted`) afterwards.
 */
import { ErrorCodes, TrickleError } from './errors';

/** Resolves after `ms`, or at once when `signal` aborts. Never rejects. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Exponential backoff: `initialMs · 2^attempt` (attempt 0 → initialMs), capped at `maxMs`. */
export function backoffMs(attempt: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt));
}

/** The error an aborted operation rejects with (ERR_ABORTED, the signal's reason as cause). */
export function abortError(signal: AbortSignal): TrickleError {
  return new TrickleError(ErrorCodes.ERR_ABORTED, 'the operation was aborted', { cause: signal.reason });
}

/** Throws `abortError(signal)` when the signal has aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/** `text` as a URL when it is an absolute http(s) URL; undefined for anything else (not a string, unparsable, another scheme). */
export function parseHttpUrl(text: unknown): URL | undefined {
  if (typeof text !== 'string' && !(text instanceof URL)) return undefined;
  let url: URL;
  try {
    url = new URL(String(text));
  } catch {
    return undefined;
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
}
