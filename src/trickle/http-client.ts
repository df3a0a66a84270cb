/**
 * Small HTTP helpers shared by TricklePublisher and TrickleSubscriber (internal, not exported from
 * the package). node:http / node:https (agents: tls.ts); no body is ever copied here.
 */
import { request as httpRequest, type Agent as HttpAgent, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';

import { ErrorCodes, invalidArg, TrickleError } from '../errors';
import { parseHttpUrl } from '../util';

/** Parses and validates a channel URL (`http(s)://host[:port]/base/channel`), without a trailing slash. */
export function parseChannelUrl(url: string | URL, what = 'url'): URL {
  const u = parseHttpUrl(url);
  if (!u) throw invalidArg(what, 'an http(s) URL of a trickle channel', String(url));
  u.pathname = u.pathname.replace(/\/+$/, '');
  if (u.pathname === '') throw invalidArg(what, 'a URL with a channel path', String(url));
  u.search = '';
  u.hash = '';
  return u;
}

/** `{channel}/{suffix}` as a URL string. */
export function segmentUrl(channel: URL, suffix: string | number): string {
  return `${channel.origin}${channel.pathname}/${suffix}`;
}

/** Starts a request (http or https by URL). The caller attaches 'response' and 'error'. */
export function startRequest(url: string, options: RequestOptions): ClientRequest {
  const fn = url.startsWith('https:') ? httpsRequest : httpRequest;
  return fn(url, options);
}

/** Reads a small response body as text (error bodies, `/next`), at most `limit` bytes kept. */
export function readText(res: IncomingMessage, limit = 64 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    res.on('data', (d: Buffer) => {
      if (size < limit) parts.push(d);
      size += d.length;
    });
    res.on('end', () => resolve(Buffer.concat(parts).subarray(0, limit).toString('utf8')));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('response aborted')));
  });
}

/** Sends a request without a body and resolves with status, headers and text body. */
export function simpleRequest(
  url: string,
  method: string,
  agent: HttpAgent | false,
  headers: Record<string, string>,
  signal?: AbortSignal,
): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  return new Promise((resolve, reject) => {
    const req = startRequest(url, { method, agent, headers, signal });
    req.on('response', (res) => {
      readText(res).then((body) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }), reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export function networkError(what: string, cause: unknown): TrickleError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new TrickleError(ErrorCodes.ERR_TRICKLE_NETWORK, `${what}: ${reason}`, { cause });
}

export function httpStatusError(what: string, status: number, body: string): TrickleError {
  const text = body.trim().slice(0, 200);
  return new TrickleError(ErrorCodes.ERR_TRICKLE_HTTP, `${what}: HTTP ${status}${text ? ` (${text})` : ''}`);
}

export function validateCount(what: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw invalidArg(what, min === 0 ? 'a non-negative integer' : 'a positive integer', v);
  return v;
}
