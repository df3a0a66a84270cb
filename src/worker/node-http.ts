/**
 * The node:http side of the worker: turns an IncomingMessage into a RouteRequest (with the body
 * size limit) and a RouteResponse back into bytes. The routes themselves never see a socket.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import { errorBody, json, type RouteRequest, type RouteResponse } from './routes';

/** Reads a request body; rejects with `{ tooLarge: true }` past `limit` bytes. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw Object.assign(new Error('too large'), { tooLarge: true });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** A body parsed by a framework, back as bytes: Buffers and strings as they are, anything else as JSON. */
function bodyBuffer(body: unknown): Buffer {
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.from(JSON.stringify(body), 'utf8');
}

/** Header values as one string each (repeated headers joined with ", "). */
export function flatHeaders(req: IncomingMessage): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
  return headers;
}

/** Writes a RouteResponse: `text` as is, anything else as JSON. */
export function writeRouteResponse(res: ServerResponse, response: RouteResponse): void {
  if (response.text !== undefined) {
    res.writeHead(response.status, { 'content-type': response.contentType ?? 'text/plain; charset=utf-8' });
    res.end(response.text);
    return;
  }
  const payload = JSON.stringify(response.body ?? {});
  res.writeHead(response.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

/**
 * Reads the request (413 past `maxBodyBytes`, declared or streamed), answers it with `handle` and
 * writes the response; `onResponse` sees every answer (request metrics).
 */
export async function serveNodeRequest(
  req: IncomingMessage,
  res: ServerResponse,
  maxBodyBytes: number,
  handle: (request: RouteRequest) => Promise<RouteResponse>,
  onResponse: (request: Pick<RouteRequest, 'method' | 'url'>, response: RouteResponse) => void,
  given: { url?: string; body?: unknown } = {},
): Promise<void> {
  const head = { method: req.method ?? 'GET', url: given.url ?? req.url ?? '/' };
  const reply = (response: RouteResponse): void => {
    onResponse(head, response);
    writeRouteResponse(res, response);
  };
  const tooLarge = json(413, errorBody(`Request body too large (limit ${maxBodyBytes} bytes)`));
  if (given.body !== undefined) {
    // A framework read the body already (express.json(), express.raw(), …).
    const body = bodyBuffer(given.body);
    reply(body.length > maxBodyBytes ? tooLarge : await handle({ ...head, headers: flatHeaders(req), body }));
    return;
  }
  const declared = Number(req.headers['content-length'] ?? '0');
  if (Number.isFinite(declared) && declared > maxBodyBytes) {
    reply(tooLarge);
    req.resume();
    return;
  }
  let body: Buffer;
  try {
    body = await readBody(req, maxBodyBytes);
  } catch (err) {
    if ((err as { tooLarge?: boolean }).tooLarge) {
      reply(tooLarge);
      req.resume();
      return;
    }
    throw err;
  }
  const remoteAddress = req.socket.remoteAddress;
  reply(await handle({ ...head, headers: flatHeaders(req), body, ...(remoteAddress !== undefined ? { remoteAddress } : {}) }));
}
