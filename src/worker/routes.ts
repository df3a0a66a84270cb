/**
 * Request/response shapes of the HTTP layer, independent of sockets, so that routes can be tested
 * with an app factory (`server.handle(request)`) and served by node:http alike.
 */

export interface RouteRequest {
  method: string;
  /** Path and query, e.g. `/stream/stop?stream_id=x`. */
  url: string;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  body: Buffer;
  /** The peer's IP address; undefined for in-process calls (`server.handle()`), which are trusted. */
  remoteAddress?: string;
}

export interface RouteResponse {
  status: number;
  /** JSON-serialised unless `text` is set. */
  body?: unknown;
  /** A text body (Prometheus exposition); sent with `contentType`. */
  text?: string;
  contentType?: string;
}

export function json(status: number, body: unknown): RouteResponse {
  return { status, body };
}

export function errorBody(message: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { status: 'error', message, ...extra };
}

/** `Content-Type` starts with application/json (pytrickle's check). */
export function isJsonContentType(value: string | undefined): boolean {
  return typeof value === 'string' && value.trim().toLowerCase().startsWith('application/json');
}

/** Parses a JSON body; throws an Error whose message is the reason. */
export function parseJsonBody(body: Buffer): unknown {
  const text = body.toString('utf8');
  if (text.trim() === '') throw new Error('Request body is empty');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`Invalid JSON body: ${(err as Error).message}`);
  }
}

export function splitUrl(url: string): { path: string; query: URLSearchParams } {
  const q = url.indexOf('?');
  if (q < 0) return { path: url, query: new URLSearchParams() };
  return { path: url.slice(0, q), query: new URLSearchParams(url.slice(q + 1)) };
}
